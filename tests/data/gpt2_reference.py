"""A reference GPT-2 byte-level BPE encoder, written from the published algorithm (OpenAI's gpt-2
src/encoder.py: bytes_to_unicode, get_pairs, bpe, encode) with the `regex` module it uses.

Usage: gpt2_reference.py VOCAB_JSON MERGES_TXT TEXT_FILE OUT_FILE [--strip]
Encodes each line of TEXT_FILE (without its newline; "\\n" written in a line stands for a newline inside the
text) and writes its ids, space-separated, one line per input line. With --strip each line is encoded as
fairseq's multiprocessing_bpe_encoder does: line.strip(), no escapes.
"""
import json
import sys

import regex

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def get_pairs(word):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class Encoder:
    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.byte_encoder = bytes_to_unicode()
        self.ranks = dict(zip(merges, range(len(merges))))
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return [token]
        while True:
            bigram = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        self.cache[token] = list(word)
        return self.cache[token]

    def encode(self, text):
        ids = []
        for token in regex.findall(PATTERN, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token))
        return ids


def main():
    vocab_json, merges_txt, text_file, out_file = sys.argv[1:5]
    strip = sys.argv[5:] == ["--strip"]
    with open(vocab_json, encoding="utf-8") as f:
        encoder = json.load(f)
    with open(merges_txt, encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:] if line]
    bpe = Encoder(encoder, merges)
    with open(text_file, encoding="utf-8", newline="\n") as f, open(out_file, "w") as out:
        for line in f.read().split("\n")[:-1]:
            text = line.strip() if strip else line.replace("\\n", "\n")
            out.write(" ".join(map(str, bpe.encode(text))) + "\n")


if __name__ == "__main__":
    main()
