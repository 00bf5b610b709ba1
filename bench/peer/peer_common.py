"""What every PyTorch peer script shares: the timing rule and the set-up line it prints."""
import argparse
import os
import statistics
import time

import torch


def median_ms(fn, min_time=0.5, repetitions=5):
    """Median over `repetitions` of the mean time of fn in ms, each repetition running min_time/repetitions."""
    fn()  # warm-up
    medians = []
    for _ in range(repetitions):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_time / repetitions or count == 0:
            fn()
            count += 1
        medians.append((time.perf_counter() - start) / count * 1e3)
    return statistics.median(medians)


def setup(description, add_arguments=None):
    """Parses --threads (and what add_arguments adds), sets torch's thread count and prints torch's version,
    threads, OpenBLAS core and OpenMP wait policy (PyTorch's best 2-core setting is OMP_WAIT_POLICY=PASSIVE,
    which must be in the environment before the process starts)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=2)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    return args
