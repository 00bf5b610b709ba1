"""An independent reference for Dictionary::build: fairseq's Dictionary.add_file_to_dictionary and finalize
(fairseq/data/dictionary.py), written from their published definitions with the standard library only.

Usage: fairseq_dictionary.py OUT_DICT_TXT THRESHOLD NWORDS PADDING_FACTOR CORPUS [CORPUS ...] (.gz read too)
"""
import collections
import gzip
import re
import sys

SPACE_NORMALIZER = re.compile(r"\s+")


def tokenize_line(line):
    return SPACE_NORMALIZER.sub(" ", line).strip().split()


def main():
    out, threshold, nwords, padding_factor = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    symbols, counts = list(specials), [1, 1, 1, 1]
    counter = collections.Counter()
    for path in sys.argv[5:]:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", newline="\n") as f:
            for line in f:
                for word in tokenize_line(line):
                    counter.update([word])
                counter.update(["</s>"])
    for word, c in sorted(counter.items()):  # add_symbol in sorted order, as add_file_to_dictionary does
        if word in symbols:
            counts[symbols.index(word)] += c
        else:
            symbols.append(word)
            counts.append(c)
    # finalize
    if nwords <= 0:
        nwords = len(symbols)
    new_symbols, new_counts = symbols[:4], counts[:4]
    c = collections.Counter(dict(sorted(zip(symbols[4:], counts[4:]))))
    for symbol, count in c.most_common(nwords - 4):
        if count >= threshold:
            new_symbols.append(symbol)
            new_counts.append(count)
        else:
            break
    i = 0
    while padding_factor > 1 and len(new_symbols) % padding_factor != 0:
        new_symbols.append("madeupword{:04d}".format(i))
        new_counts.append(0)
        i += 1
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for symbol, count in zip(new_symbols[4:], new_counts[4:]):
            f.write(f"{symbol} {count}\n")


if __name__ == "__main__":
    main()
