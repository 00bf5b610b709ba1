#!/usr/bin/python3
"""PyTorch peer of bench/quant_bench.cpp's KMeans: the same k-means (docs/METHOD.md) on a 2048x512 weight,
blocks of 8, K 256, 20 iterations, timed as the median of runs. Two E-steps are timed: fairseq's (the
L2 norm of differences, in chunks, as fairseq/modules/quantization/pq/em.py computes it) and a GEMM one
(||c||^2 - 2 x.c, as ours).

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/peer/quant_peer.py --threads 2
"""
import torch

from peer_common import median_ms, setup


def assign_fairseq(x, c, chunk=16384):
    # fairseq's compute_distances: (W[:, None, :] - centroids[:, :, None]).norm(p=2, dim=0), in chunks
    return torch.cat([torch.cdist(x[i:i + chunk], c).argmin(dim=1) for i in range(0, x.shape[0], chunk)])


def assign_gemm(x, c, chunk=16384):
    half_norm = (c * c).sum(dim=1) / 2
    return torch.cat([(x[i:i + chunk] @ c.t() - half_norm).argmax(dim=1) for i in range(0, x.shape[0], chunk)])


def kmeans(x, k, n_iter, assign, generator):
    c = x[torch.randint(0, x.shape[0], (k,), generator=generator)].clone()
    objective = []
    for _ in range(n_iter):
        a = assign(x, c)
        counts = torch.bincount(a, minlength=k)
        sums = torch.zeros_like(c).index_add_(0, a, x)
        nonempty = counts > 0  # (the repair step never triggers on random weights)
        c[nonempty] = sums[nonempty] / counts[nonempty, None].to(x.dtype)
        objective.append((c[a] - x).norm().item())
    return objective


def main():
    setup(__doc__)
    g = torch.Generator().manual_seed(0)
    w = torch.randn(2048, 512, generator=g)
    blocks = w.reshape(2048, 64, 8).permute(1, 0, 2).reshape(-1, 8).contiguous()  # the block order of docs/METHOD.md
    with torch.no_grad():
        for name, assign in (("fairseq E-step", assign_fairseq), ("GEMM E-step", assign_gemm)):
            ms = median_ms(lambda: kmeans(blocks, 256, 20, assign, g), min_time=5.0)
            print(f"kmeans 2048x512 bs 8 K 256 20 iterations, {name}: {ms:9.1f} ms")


if __name__ == "__main__":
    main()
