#!/usr/bin/python3
"""PyTorch peer of bench/gpu_bench.cpp, on cuda:0: the same training steps (forward, loss, backward, AdamW), same
shapes and batches, in f32 or under torch.autocast(bfloat16). What a PyTorch user writes for these models:
torchvision's EfficientNet-B3; RoBERTa-base and the Wikitext-103 LM from nn.TransformerEncoderLayer, the LM with an
adaptive input (fairseq's bands: 20000 words at 1024 dims, 40000 at 256, the rest at 64, each projected to 1024)
and nn.AdaptiveLogSoftmaxWithLoss over the same cutoffs (not tied to the input, unlike fairseq's)."""
import argparse
import json
import math
import os
import time

import torch
import torchvision
from torch import nn

from models_peer import Roberta, sinusoidal

DEVICE = "cuda"


class AdaptiveInput(nn.Module):
    def __init__(self, vocab=267744, dim=1024, cutoffs=(20000, 60000), factor=4):
        super().__init__()
        edges = [0, *cutoffs, vocab]
        self.edges = edges
        self.embeddings = nn.ModuleList()
        self.projections = nn.ModuleList()
        for i in range(len(edges) - 1):
            band_dim = dim // factor**i
            self.embeddings.append(nn.Embedding(edges[i + 1] - edges[i], band_dim))
            self.projections.append(nn.Linear(band_dim, dim, bias=False))
        self.dim = dim

    def forward(self, tokens):
        out = torch.zeros(*tokens.shape, self.dim, device=tokens.device)
        for i, (embed, project) in enumerate(zip(self.embeddings, self.projections)):
            band = (tokens >= self.edges[i]) & (tokens < self.edges[i + 1])
            out[band] = project(embed(tokens[band] - self.edges[i])).to(out.dtype)
        return out


class Wiki103LanguageModel(nn.Module):
    def __init__(self, vocab=267744, dim=1024, heads=8, ffn=4096, layers=16, length=3072):
        super().__init__()
        self.embed = AdaptiveInput(vocab, dim)
        self.register_buffer("positions", sinusoidal(length + 2, dim)[2:])
        layer = nn.TransformerEncoderLayer(dim, heads, ffn, dropout=0.2, activation="relu", batch_first=True,
                                           norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.dropout = nn.Dropout(0.2)
        self.scale = math.sqrt(dim)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(length))
        self.softmax = nn.AdaptiveLogSoftmaxWithLoss(dim, vocab, [20000, 60000], div_value=4.0)

    def loss(self, tokens, targets):
        x = self.dropout(self.scale * self.embed(tokens) + self.positions[: tokens.shape[1]])
        x = self.layers(x, mask=self.mask)
        return self.softmax(x.reshape(-1, x.shape[-1]).float(), targets.reshape(-1)).loss


class RobertaMlm(Roberta):
    """The peer's RoBERTa with its LM head on the masked positions only, as fairseq's (and ours) run it."""

    def loss(self, ids, targets):
        position_ids = torch.arange(2, ids.shape[1] + 2, device=ids.device).unsqueeze(0)
        x = self.dropout(self.embed_norm(self.embed(ids) + self.positions(position_ids)))
        x = self.layers(x)
        masked = targets != -100
        h = self.head_norm(nn.functional.gelu(self.dense(x[masked])))
        logits = nn.functional.linear(h, self.embed.weight) + self.bias
        return nn.functional.cross_entropy(logits.float(), targets[masked])


class EfficientNetB3(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torchvision.models.efficientnet_b3()

    def loss(self, images, labels):
        return nn.functional.cross_entropy(self.net(images).float(), labels)


def lm_batch():
    tokens = torch.randint(4, 267744, (1, 3073))
    return tokens[:, :3072].contiguous(), tokens[:, 1:].contiguous(), 3072


def roberta_batch():
    ids = torch.randint(4, 50265, (32, 512))
    targets = torch.where(torch.rand(32, 512) < 0.15, ids, torch.full_like(ids, -100))
    return ids, targets, 32 * 512


def efficientnet_batch():
    return torch.randn(64, 3, 300, 300), torch.randint(0, 1000, (64,)), 64


STEPS = {
    "lm": ("Wikitext-103 LM, 3072 tokens", lambda: Wiki103LanguageModel(), lm_batch, "tokens/s"),
    "roberta": ("RoBERTa-base MLM, 32 x 512", lambda: RobertaMlm(50265, 768, 12, 3072, 12, 514), roberta_batch,
                "tokens/s"),
    "efficientnet_b3": ("EfficientNet-B3, 64 x 300x300", EfficientNetB3, efficientnet_batch, "images/s"),
}


def time_matmul(n, precision, min_time):
    """N x N x N products, as BM_GpuMatmul: f32, TF32 or bf16 operands."""
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=generator).to(DEVICE, dtype)
    b = torch.randn(n, n, generator=generator).to(DEVICE, dtype)
    torch.matmul(a, b)
    torch.cuda.synchronize()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time or count == 0:
        torch.matmul(a, b)
        torch.cuda.synchronize()
        count += 1
    torch.backends.cuda.matmul.allow_tf32 = False
    return (time.perf_counter() - start) / count


def time_step(make_model, make_batch, amp, min_time=10.0):
    torch.manual_seed(0)
    model = make_model().to(DEVICE).train()
    inputs, targets, per_step = make_batch()
    inputs, targets = inputs.to(DEVICE), targets.to(DEVICE)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    def step():
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = model.loss(inputs, targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time or count == 0:
        step()
        count += 1
    seconds = (time.perf_counter() - start) / count
    parameters = sum(p.numel() for p in model.parameters())
    return seconds, per_step, parameters


def main():
    parser = argparse.ArgumentParser(description="PyTorch peer of bench_gpu")
    parser.add_argument("--only", choices=sorted(STEPS) + ["matmul"])
    parser.add_argument("--peak-tflops", type=float, default=float(os.environ.get("QN_GPU_PEAK_TFLOPS", 989.0)),
                        help="the GPU's dense bf16 peak, for the MFU (as bench_gpu: QN_GPU_PEAK_TFLOPS, 989)")
    parser.add_argument("--min-time", type=float, default=10.0, help="seconds of timed work for each row")
    parser.add_argument("--json", help="also write the rows to this file (tools/gpu_kit/summarize.py reads it)")
    parser.add_argument("--matmul-sizes", default="4096,8192", help="N of the N x N x N products, comma-separated")
    parser.add_argument("--matmul-min-time", type=float, help="seconds of timed work for each product (--min-time)")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False  # f32 convolutions exact, as bench_gpu's (PyTorch's default is TF32)
    report = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "rows": []}
    print(f"torch {report['torch']}, {report['device']}")

    def record(row, line):
        print(line, flush=True)
        report["rows"].append(row)
        if args.json:  # rewritten after every row, so a run cut off still leaves what it measured
            with open(args.json, "w", encoding="utf-8") as out:
                json.dump(report, out, indent=1)

    if args.only in (None, "matmul"):
        for precision in ("f32", "tf32", "bf16"):
            for n in (int(size) for size in args.matmul_sizes.split(",")):
                seconds = time_matmul(n, precision, args.matmul_min_time or args.min_time)
                tflops = 2 * n**3 / seconds * 1e-12
                record({"work": "matmul", "precision": precision, "n": n, "ms": seconds * 1e3, "tflops": tflops},
                       f"matmul {n}^3 {precision:4}: {seconds * 1e3:9.2f} ms, {tflops:6.1f} TFLOP/s")
    for key, (label, make_model, make_batch, unit) in STEPS.items():
        if args.only not in (None, key):
            continue
        for amp in (False, True):
            seconds, per_step, parameters = time_step(make_model, make_batch, amp, args.min_time)
            row = {"work": key, "precision": "bf16" if amp else "f32", "ms": seconds * 1e3, "rate": per_step / seconds}
            line = f"{label} {'bf16' if amp else 'f32 '}: {seconds * 1e3:9.1f} ms, {per_step / seconds:10.1f} {unit}"
            if unit == "tokens/s":
                row["mfu"] = 6 * parameters * per_step / seconds / (args.peak_tflops * 1e12)
                line += f", MFU {row['mfu']:.3f}"
            record(row, line)


if __name__ == "__main__":
    main()
