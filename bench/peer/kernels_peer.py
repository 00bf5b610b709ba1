#!/usr/bin/python3
"""PyTorch peer of bench/kernels_bench.cpp: the same workloads, timed the same way (median of runs).

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/peer/kernels_peer.py --threads 2
"""
import argparse
import os
import statistics
import time

import torch


def median_ms(fn, min_time=0.5, repetitions=5):
    fn()  # warm-up
    medians = []
    for _ in range(repetitions):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_time / repetitions or count == 0:
            fn()
            count += 1
        medians.append((time.perf_counter() - start) / count * 1e3)
    return statistics.median(medians)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    with torch.no_grad():
        for n in (256, 512, 1024, 2048):
            a, b = torch.randn(n, n), torch.randn(n, n)
            ms = median_ms(lambda: torch.mm(a, b))
            print(f"matmul {n:5d}: {ms:8.3f} ms  {2 * n ** 3 / ms * 1e-6:7.1f} GFLOP/s")
        elements = 1 << 24
        a, b, out = torch.randn(elements), torch.randn(elements), torch.empty(elements)
        for name, fn in (("add_out", lambda: torch.add(a, b, out=out)), ("add", lambda: torch.add(a, b))):
            ms = median_ms(fn)
            print(f"{name:12s}: {ms:8.3f} ms  {3 * elements * 4 / ms * 1e-6:7.1f} GB/s")
        for cols in (1024, 32768):
            x = torch.randn(elements // cols, cols)
            ms = median_ms(lambda: torch.softmax(x, -1))
            print(f"softmax {cols:5d}: {ms:8.3f} ms  {3 * elements * 4 / ms * 1e-6:7.1f} GB/s")


if __name__ == "__main__":
    main()
