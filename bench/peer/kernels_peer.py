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

    for channels, size, kernel, stride in ((96, 14, 3, 2), (144, 7, 5, 1), (240, 4, 3, 2), (672, 2, 5, 1),
                                           (1152, 1, 3, 1)):
        depthwise(channels, size, kernel, stride)
    for channels, out_channels, size in ((16, 96, 14), (144, 40, 4), (80, 480, 2), (672, 192, 1), (320, 1280, 1),
                                         (1152, 48, 1)):
        pointwise(channels, out_channels, size)


def depthwise(channels, size, kernel, stride):
    """Forward and both gradients of a depthwise convolution with TensorFlow 'same' padding, batch 64."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    pad = (total // 2, total - total // 2)
    x = torch.randn(64, channels, size, size, requires_grad=True)
    w = torch.randn(channels, 1, kernel, kernel, requires_grad=True)

    def step():
        y = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (pad[0], pad[1], pad[0], pad[1])), w,
                                       stride=stride, groups=channels)
        gx, gw = torch.autograd.grad(y, (x, w), torch.ones_like(y))
        return gx, gw

    ms = median_ms(step)
    flops = 3 * 2 * 64 * channels * out * out * kernel * kernel
    print(f"depthwise {channels}/{size}/{kernel}/{stride}: {ms:8.3f} ms  {flops / ms * 1e-6:7.1f} GFLOP/s")



def pointwise(channels, out_channels, size):
    """Forward and both gradients of a 1x1 convolution, batch 64."""
    x = torch.randn(64, channels, size, size, requires_grad=True)
    w = torch.randn(out_channels, channels, 1, 1, requires_grad=True)

    def step():
        y = torch.nn.functional.conv2d(x, w)
        return torch.autograd.grad(y, (x, w), torch.ones_like(y))

    ms = median_ms(step)
    flops = 3 * 2 * 64 * out_channels * size * size * channels
    print(f"pointwise {channels}/{out_channels}/{size}: {ms:8.3f} ms  {flops / ms * 1e-6:7.1f} GFLOP/s")


if __name__ == "__main__":
    main()
