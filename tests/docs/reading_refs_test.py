#!/usr/bin/env python3
"""docs/READING.md names code as `path:symbol` (and files as `path`): every file must exist, and every part of a
symbol (Trainer::run_update: "Trainer" and "run_update") must appear in that file as a whole word, so that renaming
or moving code without updating the reading fails this test (label unit).

  reading_refs_test.py SOURCE_DIR [DOC]"""
import os
import re
import sys

REFERENCE = re.compile(r"`([\w./-]+\.(?:h|cpp|cu|cuh|md|py|sh|yaml))(?::([\w:~]+))?`")


def check(source_dir, doc):
    with open(os.path.join(source_dir, doc), encoding="utf-8") as f:
        text = f.read()
    problems, count = [], 0
    for match in REFERENCE.finditer(text):
        path, symbol = match.group(1), match.group(2)
        count += 1
        full = os.path.join(source_dir, path)
        if not os.path.isfile(full):
            problems.append(f"{path}: no such file")
            continue
        if symbol is None:
            continue
        with open(full, encoding="utf-8", errors="replace") as f:
            code = f.read()
        for part in filter(None, symbol.split("::")):
            if not re.search(r"(?<![\w])" + re.escape(part) + r"(?![\w])", code):
                problems.append(f"{path}:{symbol}: '{part}' does not appear in {path}")
    return problems, count


def main():
    source_dir = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) > 2 else "docs/READING.md"
    problems, count = check(source_dir, doc)
    for problem in problems:
        print(f"{doc}: {problem}")
    if count < 20:
        problems.append("too few references")
        print(f"{doc}: only {count} references found: the pattern no longer matches the page")
    print(f"{doc}: {count} references, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
