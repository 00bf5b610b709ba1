#!/usr/bin/python3
"""PyTorch peer of bench/gpu_bench.cpp, on cuda:0: the same training steps (forward, loss, backward, AdamW), same
shapes and batches, in f32 or under torch.autocast(bfloat16). The sequence models are tests/parity/reference_models.py
(the bundle carries it beside this file), the plain fairseq / Hugging Face definitions that the parity tests hold ours
to, so both sides run one model: the Wikitext-103 LM with fairseq's tied adaptive input and softmax, RoBERTa-base with
its LM head on the masked tokens only. Their attention is fused (F.scaled_dot_product_attention, flash or
memory-efficient kernels) by default: the fastest form PyTorch offers for training here, the one
nn.TransformerEncoderLayer also calls, where the explicit softmax of the parity tests stores every (T, T) score
matrix (8 x 3072^2 per LM layer); --explicit-attention runs that instead. EfficientNet-B3 is torchvision's."""
import argparse
import json
import os
import sys
import time

import torch
import torchvision
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "parity"))
import reference_models  # noqa: E402 - beside this file in the bundle, else through the path above

DEVICE = "cuda"


def wiki103_lm(fused):
    """fairseq's transformer_lm_wiki103 with the paper's dropout, as ours (transformer_lm_wiki103)."""
    return reference_models.TransformerLM(267744, 1024, 16, 8, 4096, pre_ln=True, final_norm=False,
                                          cutoffs=[20000, 60000], dropout=0.2, attention_dropout=0.1,
                                          activation_dropout=0.1, adaptive_softmax_dropout=0.2, fused_attention=fused)


def roberta_base(fused):
    return reference_models.Roberta(50265, 768, 12, 12, 3072, 514, hidden_dropout=0.1, attention_probs_dropout=0.1,
                                    fused_attention=fused)


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


# key: (label, make_model(fused attention), the model's loss method, make_batch, unit)
STEPS = {
    "lm": ("Wikitext-103 LM, 3072 tokens", wiki103_lm, "loss", lm_batch, "tokens/s"),
    "roberta": ("RoBERTa-base MLM, 32 x 512", roberta_base, "mlm_loss", roberta_batch, "tokens/s"),
    "efficientnet_b3": ("EfficientNet-B3, 64 x 300x300", lambda fused: EfficientNetB3(), "loss", efficientnet_batch,
                        "images/s"),
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


def time_step(make_model, loss_name, make_batch, amp, min_time=10.0, fused=True):
    torch.manual_seed(0)
    model = make_model(fused).to(DEVICE).train()
    loss_of = getattr(model, loss_name)
    inputs, targets, per_step = make_batch()
    inputs, targets = inputs.to(DEVICE), targets.to(DEVICE)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    def step():
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = loss_of(inputs, targets)
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
    parser.add_argument("--explicit-attention", action="store_true",
                        help="the sequence models' attention as the parity tests run it, not fused")
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
    for key, (label, make_model, loss_name, make_batch, unit) in STEPS.items():
        if args.only not in (None, key):
            continue
        for amp in (False, True):
            seconds, per_step, parameters = time_step(make_model, loss_name, make_batch, amp, args.min_time,
                                                      not args.explicit_attention)
            row = {"work": key, "precision": "bf16" if amp else "f32", "ms": seconds * 1e3, "rate": per_step / seconds}
            line = f"{label} {'bf16' if amp else 'f32 '}: {seconds * 1e3:9.1f} ms, {per_step / seconds:10.1f} {unit}"
            if unit == "tokens/s":
                row["mfu"] = 6 * parameters * per_step / seconds / (args.peak_tflops * 1e12)
                line += f", MFU {row['mfu']:.3f}"
            record(row, line)


if __name__ == "__main__":
    main()
