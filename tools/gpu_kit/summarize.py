#!/usr/bin/env python3
"""The GPU check's summary sections (run.sh appends what this prints to summary.md).

  summarize.py training OUT_DIR --updates N   the two models' sizes and test accuracies on the device and on the
                                              CPU, from eval.log and eval_cpu.log (`qn eval --json`); exits 1 if
                                              they disagree, or if after 300 updates or more the float model is
                                              under 90% or the compressed one under 80% (ten synthetic classes
                                              that a small network separates almost perfectly)
  summarize.py bench OUT_DIR                  bench_gpu (bench_*.json) against the PyTorch peer (peer.json): time per
                                              step or product, ours over PyTorch's, and the MFU of each"""
import argparse
import json
import os
import sys

# Accuracies (percent) on the device and on the CPU may differ by the few test images whose logits nearly tie.
AGREEMENT = 0.5


def read_json_after(path, opening):
    """The first JSON value in the file that starts with `opening` (logs may hold other lines before it)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    start = text.find(opening)
    while start >= 0:
        try:
            return json.JSONDecoder().raw_decode(text[start:])[0]
        except ValueError:
            start = text.find(opening, start + 1)
    return None


def training(out, updates):
    on_device = read_json_after(os.path.join(out, "eval.log"), "[")
    on_cpu = read_json_after(os.path.join(out, "eval_cpu.log"), "[")
    if not on_device or not on_cpu or len(on_device) != 2 or len(on_cpu) != 2:
        print("- FAILED: no evaluation to summarize (see eval.log and eval_cpu.log)")
        return 1
    problems = []
    print()
    print("| model | size MiB | ratio | test accuracy % (device) | test accuracy % (CPU) |")
    print("|---|---|---|---|---|")
    for device_row, cpu_row in zip(on_device, on_cpu):
        name = "iPQ" if device_row["compressed"] else "float"
        size = device_row["size"]
        accuracy, accuracy_cpu = device_row["metrics"]["accuracy"], cpu_row["metrics"]["accuracy"]
        print(f"| {name} | {size['total_bytes'] / 2**20:.3f} | {size['ratio']:.1f}x | {accuracy:.2f} | "
              f"{accuracy_cpu:.2f} |")
        if abs(accuracy - accuracy_cpu) > AGREEMENT:
            problems.append(f"the {name} model's accuracy differs between the device and the CPU")
        floor = 80.0 if device_row["compressed"] else 90.0
        if updates >= 300 and accuracy < floor:
            problems.append(f"the {name} model's accuracy is under {floor:.0f}%")
    print()
    for problem in problems:
        print(f"- FAILED: {problem}")
    return 1 if problems else 0


# bench_gpu's benchmark names and the peer's keys for the same work.
STEP_NAMES = {"BM_GpuLmStep": "lm", "BM_GpuRobertaStep": "roberta", "BM_GpuEfficientNetB3Step": "efficientnet_b3"}
MATMUL_PRECISIONS = {"0": "f32", "1": "tf32", "2": "bf16"}
STEP_PRECISIONS = {"0": "f32", "1": "bf16"}


def ours_by_key(bench):
    rows = {}
    for b in bench.get("benchmarks", []):
        parts = b["name"].split("/")
        if parts[0] == "BM_GpuMatmul":
            key = ("matmul", MATMUL_PRECISIONS[parts[1]], parts[2])
        elif parts[0] in STEP_NAMES:
            key = (STEP_NAMES[parts[0]], STEP_PRECISIONS[parts[1]], "")
        else:
            continue
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
        rows[key] = {"error": b.get("error_message") if b.get("error_occurred") else None,
                     "ms": b.get("real_time", 0.0) * scale, "mfu": b.get("MFU"), "tflops": b.get("TFLOP/s")}
    return rows


def cell(value, pattern):
    return pattern.format(value) if value is not None else "-"


def bench(out):
    ours = {"benchmarks": [], "context": {}}
    for name in sorted(os.listdir(out)):  # one file a benchmark family (run.sh)
        if name.startswith("bench_") and name.endswith(".json"):
            part = read_json_after(os.path.join(out, name), "{") or {}
            ours["benchmarks"] += part.get("benchmarks", [])
            ours["context"] = part.get("context", ours["context"])
    peer = read_json_after(os.path.join(out, "peer.json"), "{") or {}
    rows = ours_by_key(ours)
    peer_rows = {(r["work"], r["precision"], str(r.get("n", ""))): r for r in peer.get("rows", [])}
    if not rows and not peer_rows:
        print("- FAILED: no benchmark results (see bench_*.log and peer.log)")
        return 1
    context = ours.get("context", {})
    print(f"- bench_gpu: {context.get('date', '?')}; PyTorch {peer.get('torch', '?')} on {peer.get('device', '?')}")
    print()
    print("| work | precision | ours ms | PyTorch ms | ours / PyTorch | ours MFU or TFLOP/s | PyTorch MFU or TFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(set(rows) | set(peer_rows)):
        work, precision, n = key
        mine, theirs = rows.get(key, {}), peer_rows.get(key, {})
        label = f"matmul {n}^3" if work == "matmul" else work
        if mine.get("error"):
            print(f"| {label} | {precision} | {mine['error']} | {cell(theirs.get('ms'), '{:.2f}')} | - | - | - |")
            continue
        ratio = mine["ms"] / theirs["ms"] if mine.get("ms") and theirs.get("ms") else None
        rate = "tflops" if work == "matmul" else "mfu"
        pattern = "{:.0f}" if work == "matmul" else "{:.3f}"
        print(f"| {label} | {precision} | {cell(mine.get('ms'), '{:.2f}')} | {cell(theirs.get('ms'), '{:.2f}')} | "
              f"{cell(ratio, '{:.2f}x')} | {cell(mine.get(rate), pattern)} | {cell(theirs.get(rate), pattern)} |")
    print()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=["training", "bench"])
    parser.add_argument("out")
    parser.add_argument("--updates", type=int, default=300)
    args = parser.parse_args()
    return training(args.out, args.updates) if args.section == "training" else bench(args.out)


if __name__ == "__main__":
    sys.exit(main())
