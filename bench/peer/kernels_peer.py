#!/usr/bin/python3
"""PyTorch peer of bench/kernels_bench.cpp: the same workloads, timed the same way (median of runs).

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/peer/kernels_peer.py --threads 2
"""
import torch

from peer_common import median_ms, setup


def main():
    setup(__doc__)
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
