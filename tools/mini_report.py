#!/usr/bin/python3
"""Writes the miniature Table 1 measured by tools/reproduce_mini.sh: docs/RESULTS.md and a gnuplot plot.

    mini_report.py RESULTS_TSV --minutes MINUTES_TSV --markdown docs/RESULTS.md --plot docs/mini_table1.svg

RESULTS_TSV holds one line per evaluated file: task, variant (none | noise), row, size MiB, ratio, metric.
MINUTES_TSV one line per task run: task, QN_MINI_SCALE, minutes.
"""
import argparse
import os
import subprocess
import sys
import tempfile

TASKS = {
    "lm": ("Transformer LM, WikiText-2", "test perplexity", "lower is better"),
    "cifar10": ("EfficientNet (efficientnet_tiny), CIFAR-10", "test top-1 %", "higher is better"),
    "rte": ("RoBERTa (4 layers, d 128), MLM on WikiText-2 then RTE", "dev accuracy %", "higher is better"),
}
ROWS = ["float", "int8", "int4", "iPQ", "iPQ & int8"]
SCALAR_FLOAT = "float, int4-noise model"  # with Quant-Noise, the model int8 and int4 come from, in float


def tsv_lines(path, width):
    """The lines of a tab-separated file, each split into exactly `width` fields."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != width:
                sys.exit(f"mini_report: {path} line {number}: expected {width} tab-separated fields")
            yield fields


def read(path):
    results = {}
    for task, variant, row, size, ratio, metric in tsv_lines(path, 6):
        results[(task, variant, row)] = (float(size), float(ratio), float(metric))
    return results


def read_minutes(path):
    return {task: (scale, int(minutes)) for task, scale, minutes in tsv_lines(path, 3)}


def describe_run(minutes):
    """The command line(s) and the minutes each task took."""
    scales = sorted({scale for scale, _ in minutes.values()})
    parts = ", ".join(f"{task} {m} min" for task, (_, m) in minutes.items())
    total = sum(m for _, m in minutes.values())
    command = " or ".join(f"`QN_MINI_SCALE={scale} bash tools/reproduce_mini.sh`" for scale in scales)
    return f"Run: {command}, {total} minutes on this machine (2 cores; {parts})."


def drop(task, float_metric, metric):
    """How much worse than float, in the metric's own units (positive = worse)."""
    return metric - float_metric if task == "lm" else float_metric - metric


def markdown(results, minutes):
    lines = [
        "# A miniature of the paper's Table 1, measured",
        "",
        "Written by `tools/reproduce_mini.sh` (through `tools/mini_report.py`); do not edit by hand.",
        "",
        describe_run(minutes) + " Every number below is `qn eval --json` of the file named in the script.",
        "",
        "Without Quant-Noise every row comes from one model trained without noise. With Quant-Noise, float is the",
        "model trained with iPQ noise (p 0.1), int8 and int4 come from a model trained with scalar int4 noise",
        "(p 0.1; its float score is the row after float), and iPQ and iPQ & int8 from the iPQ-noise model,",
        "fine-tuned during iPQ as the paper does.",
        "Sizes count as the paper counts them (docs/METHOD.md, size accounting): MiB of the stored model, ratio to float.",
        "",
    ]
    verdicts = []
    for task, (title, metric_name, direction) in TASKS.items():
        if not any(key[0] == task for key in results):
            continue
        lines += [f"## {title}", "", f"{metric_name} ({direction})", ""]
        lines += ["| row | size MiB | ratio | without Quant-Noise | with Quant-Noise |", "|---|---|---|---|---|"]
        for row in ROWS:
            none = results.get((task, "none", row))
            noise = results.get((task, "noise", row))
            if not none or not noise:
                continue
            lines.append(f"| {row} | {none[0]:.3f} | {none[1]:.1f}x | {none[2]:.2f} | {noise[2]:.2f} |")
            scalar_float = results.get((task, "noise", SCALAR_FLOAT))
            if row == "float" and scalar_float:
                lines.append(f"| {SCALAR_FLOAT} | {scalar_float[0]:.3f} | {scalar_float[1]:.1f}x | | "
                             f"{scalar_float[2]:.2f} |")
        lines.append("")
        for row in ("int4", "iPQ"):
            keys = [(task, v, r) for v in ("none", "noise") for r in ("float", row)]
            if not all(k in results for k in keys):
                continue
            # Each row drops from the float model it was compressed from.
            noise_float = "float"
            if row == "int4":
                if (task, "noise", SCALAR_FLOAT) not in results:
                    continue
                noise_float = SCALAR_FLOAT
            without_metric = results[(task, "none", row)][2]
            with_metric = results[(task, "noise", row)][2]
            without = drop(task, results[(task, "none", "float")][2], without_metric)
            with_noise = drop(task, results[(task, "noise", noise_float)][2], with_metric)
            claim = ("smaller with Quant-Noise, as the paper claims" if with_noise < without else
                     "NOT smaller: the paper’s claim does not hold here")
            better = drop(task, without_metric, with_metric) < 0
            verdicts.append(
                f"- {title}, {row}: the drop from the float model it was compressed from is {without:+.2f} without "
                f"Quant-Noise and {with_noise:+.2f} with it — {claim}. The {row} model itself scores "
                f"{without_metric:.2f} without and {with_metric:.2f} with Quant-Noise "
                f"({'better' if better else 'not better'} with it).")
    lines += ["## What the paper claims, checked", "",
              "With Quant-Noise the drop after iPQ and after int4 should be smaller than without.", ""]
    lines += verdicts or ["- (no complete task in this run)"]
    lines.append("")
    lines += ["![size against metric](mini_table1.svg)", ""]
    return "\n".join(lines)


def plot(results, path):
    tasks = [task for task in TASKS if any(key[0] == task for key in results)]
    with tempfile.TemporaryDirectory() as tmp:
        script = [f"set terminal svg size {400 * len(tasks)},400 dynamic", f"set output '{path}.tmp'",
                  f"set multiplot layout 1,{len(tasks)}", "set logscale x", "set xlabel 'size (MiB)'",
                  "set key bottom right", "set grid"]
        for task in tasks:
            title, metric_name, _ = TASKS[task]
            for variant in ("none", "noise"):
                with open(os.path.join(tmp, f"{task}-{variant}.dat"), "w", encoding="utf-8") as f:
                    for row in ROWS:
                        if (task, variant, row) in results:
                            size, _, metric = results[(task, variant, row)]
                            f.write(f"{size} {metric} \"{row}\"\n")
            script += [f"set title '{title}' noenhanced", f"set ylabel '{metric_name}'",
                       f"plot '{tmp}/{task}-none.dat' using 1:2 with points pt 7 title 'without Quant-Noise', "
                       f"'{tmp}/{task}-noise.dat' using 1:2 with points pt 5 title 'with Quant-Noise', "
                       f"'{tmp}/{task}-noise.dat' using 1:2:3 with labels offset 0,1 font ',8' notitle"]
        script.append("unset multiplot")
        subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--minutes", required=True, help="the minutes.tsv of the run")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--plot", required=True)
    args = parser.parse_args()
    results = read(args.results)
    for path in (args.markdown, args.plot):  # docs/ is not in a fresh clone until the first full run
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    plot(results, args.plot)
    text = markdown(results, read_minutes(args.minutes))
    with open(args.markdown + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(args.markdown + ".tmp", args.markdown)


if __name__ == "__main__":
    main()
