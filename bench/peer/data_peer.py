#!/usr/bin/python3
"""PyTorch peer of bench/data_bench.cpp: torchvision's ImageFolder on the Imagenette validation folder with
RandomResizedCrop(224), RandomHorizontalFlip, ToTensor and Normalize, through a DataLoader with batch 64,
shuffling and N workers. Prints images per second over batches 2..21 of an epoch, median over epochs."""
import os
import statistics
import time

import torch
import torchvision
import torchvision.transforms as T

from peer_common import setup

BATCH = 64
TIMED_BATCHES = 20


def main():
    args = setup(__doc__, lambda p: (p.add_argument("--workers", type=int, default=2),
                                     p.add_argument("--epochs", type=int, default=3)))
    root = os.path.join(os.environ.get("QN_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data")),
                        "imagenette-224", "val")
    transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    dataset = torchvision.datasets.ImageFolder(root, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=args.workers)
    rates = []
    for _ in range(args.epochs):
        batches = iter(loader)
        next(batches)  # the pipeline fills; not timed (as in the engine's benchmark)
        start = time.perf_counter()
        for _ in range(TIMED_BATCHES):
            next(batches)
        rates.append(TIMED_BATCHES * BATCH / (time.perf_counter() - start))
        del batches
    print(f"imagenette_train_pipeline workers={args.workers}: {statistics.median(rates):.1f} images/s")


if __name__ == "__main__":
    main()
