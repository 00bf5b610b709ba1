#!/usr/bin/python3
"""PyTorch peer of bench/distributed_bench.cpp: the transformer_lm_nn step of models_peer.py (batch 8 x 256 per
process, dropout 0.1, AdamW) under DistributedDataParallel on the gloo backend (Debian's PyTorch has no MPI
backend), one process per rank started by torch.multiprocessing on this machine. Like ours, a warm-up step and
then a fixed number of steps (every rank must run the same number); rank 0 prints the mean step time."""
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from models_peer import LanguageModel
from peer_common import setup


def run(rank, world, threads, steps, port):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = DistributedDataParallel(LanguageModel().train())  # bucket_cap_mb 25, as ours
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(1 + rank)  # each process its own batch
    tokens = torch.randint(4, 32000, (8, 257), generator=generator)
    inputs, targets = tokens[:, :256].contiguous(), tokens[:, 1:].contiguous()

    def step():
        optimizer.zero_grad()
        logits = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()

    step()  # warm-up
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = (time.perf_counter() - start) / steps * 1e3
    if rank == 0:
        print(f"transformer_lm ddp step batch 8x256 per process, {world} processes: {elapsed:10.1f} ms")
    dist.destroy_process_group()


if __name__ == "__main__":
    def arguments(parser):
        parser.add_argument("--processes", type=int, default=2)
        parser.add_argument("--steps", type=int, default=3)
        parser.add_argument("--port", type=int, default=29517)

    args = setup("PyTorch peer of bench_distributed", arguments)
    mp.spawn(run, args=(args.processes, args.threads, args.steps, args.port), nprocs=args.processes)
