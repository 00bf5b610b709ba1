#!/usr/bin/env python3
"""docs/READING.md names code as `path:symbol`, files as `path` and members as `Class::member`. Every file must
exist; a `path:Class::member` must be defined in that file (the text "Class::member" in a .cpp or .cu, both names in
a header); a `path:name` must be declared there (`name(`, `name<`, or `class`/`struct name`); and a bare
`Class::member` must be defined somewhere in the sources. So renaming or moving code without updating the reading
fails this test (label unit).

  reading_refs_test.py SOURCE_DIR [DOC]"""
import os
import re
import sys

REFERENCE = re.compile(r"`([\w./-]+\.(?:h|cpp|cu|cuh|md|py|sh|yaml))(?::([\w:~]+))?`")


QUALIFIED = re.compile(r"`((?:[A-Za-z_]\w*::)+[A-Za-z_~]\w*)`")


def declares(code, name):
    """Whether code declares or defines name: a function (name( or name<...>() or a class or struct."""
    word = re.escape(name)
    return re.search(r"(?<![\w:])" + word + r"\s*[(<]", code) or re.search(r"\b(class|struct)\s+" + word + r"\b", code)


def defines(code, symbol, header):
    parts = symbol.split("::")
    if len(parts) == 1:
        return declares(code, parts[0])
    if header:  # a class's member is declared inside the class, not as Class::member
        return all(re.search(r"(?<![\w])" + re.escape(part) + r"(?![\w])", code) for part in parts)
    return re.search(r"(?<![\w])" + re.escape(symbol) + r"\s*[(<]", code)


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
        if not defines(code, symbol, path.endswith((".h", ".cuh"))):
            problems.append(f"{path}:{symbol}: not defined in {path}")
    # Bare Class::member references: defined somewhere in the sources (in a .cpp or .cu, or inside the class in a
    # header); a bare namespace::Class, declared somewhere.
    sources, headers = [], []
    for folder in ("core", "kernels", "autograd", "nn", "models", "data", "train", "tools"):
        for root, _, files in os.walk(os.path.join(source_dir, folder)):
            for name in files:
                if name.endswith((".cpp", ".cu", ".h", ".cuh")):
                    with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                        (headers if name.endswith((".h", ".cuh")) else sources).append(f.read())
    for match in QUALIFIED.finditer(text):
        count += 1
        parts = match.group(1).split("::")
        while len(parts) > 1 and parts[0].islower():  # namespaces (nn::, kernels::) name no definition
            parts = parts[1:]
        symbol = "::".join(parts)
        found = any(defines(code, symbol, False) for code in sources) or any(
            defines(code, symbol, True) and (len(parts) == 1 or declares(code, parts[-1])) for code in headers)
        if not found:
            problems.append(f"{match.group(1)}: not defined in the sources")
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
