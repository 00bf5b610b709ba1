#!/usr/bin/env python3
"""Writes a small labelled image set in IDX files (the layout of MNIST and Fashion-MNIST: train-images-idx3-ubyte,
train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte) for the GPU check's training run, so that
no data set has to travel with the bundle.

Ten classes of 28x28 grey images: class c is a bright 8x8 square at the c-th of ten places on the image, moved by up
to 2 pixels, over uniform noise. A small convolutional network separates them within a few hundred updates, so a
test accuracy far below 100% means the training run did not learn.

  make_idx.py OUT_DIR [--train 6400] [--test 1000] [--seed 0]"""
import argparse
import os
import random
import struct

PLACES = [(2 + 6 * (c % 4), 2 + 8 * (c // 4)) for c in range(10)]  # (column, row) of each class's square


NOISE = bytes(b * 96 // 256 for b in range(256))  # uniform bytes to uniform noise in 0..95


def images(count, rng):
    """count images (28 x 28 bytes each, one after another) and their labels."""
    labels = bytes(rng.randrange(10) for _ in range(count))
    pixels = bytearray(rng.randbytes(count * 784).translate(NOISE))
    for i, label in enumerate(labels):
        column, row = PLACES[label]
        column = min(max(column + rng.randrange(-2, 3), 0), 20)
        row = min(max(row + rng.randrange(-2, 3), 0), 20)
        for y in range(row, row + 8):
            start = i * 784 + y * 28 + column
            pixels[start:start + 8] = b"\xff" * 8
    return bytes(pixels), labels


def write_idx(path, data, shape):
    with open(path, "wb") as out:
        out.write(struct.pack(">HBB", 0, 0x08, len(shape)))  # 0x08: unsigned bytes
        out.write(struct.pack(f">{len(shape)}I", *shape))
        out.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--train", type=int, default=6400)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    for prefix, count in (("train", args.train), ("t10k", args.test)):
        pixels, labels = images(count, rng)
        write_idx(os.path.join(args.out, f"{prefix}-images-idx3-ubyte"), pixels, (count, 28, 28))
        write_idx(os.path.join(args.out, f"{prefix}-labels-idx1-ubyte"), labels, (count,))
    print(f"make_idx: {args.train} training and {args.test} test images of 28x28 in {args.out}")


if __name__ == "__main__":
    main()
