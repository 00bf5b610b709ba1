"""The fuzzers' seeds cut from real files: make_seeds.py OUT SOURCE_DIR SHARED_DATA.

Each seed is a real file, or its start re-counted so that it stays valid, kept small so that the fuzzer
mutates quickly. Data sets that are absent (a checkout without ../shared) are passed over with a note."""
import gzip
import io
import json
import shutil
import struct
import sys
import tarfile
import zlib
from pathlib import Path

out, source, shared = (Path(a) for a in sys.argv[1:4])


def write(name, filename, data):
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_bytes(data)


def have(path):
    if path.exists():
        return True
    print(f"make_seeds: {path} is absent; its seeds are left out", file=sys.stderr)
    return False


# iPQ configs: the recipes as shipped.
for recipe in sorted((source / "tools" / "recipes").glob("*.yaml")):
    write("ipq_config", recipe.name, recipe.read_bytes())

# dict.txt: the first 60 words of GPT-2's, and a line that overwrites a word.
dict_txt = shared / "gpt2-bpe" / "dict.txt"
if have(dict_txt):
    lines = dict_txt.read_bytes().splitlines(keepends=True)[:60]
    write("dictionary", "gpt2_head.txt", b"".join(lines))
    write("dictionary", "overwrite.txt", b"".join(lines[:5]) + lines[0].split(b" ")[0] + b" 3 #fairseq:overwrite\n")

# BPE: roberta-base's vocabulary cut to the byte symbols and its first merges' products, as vocab.json NUL
# merges.txt, and the same as a tokenizer.json.
roberta = shared / "gpt2-bpe" / "roberta-base"
if have(roberta / "vocab.json"):
    vocab = json.loads((roberta / "vocab.json").read_text(encoding="utf-8"))
    merge_lines = (roberta / "merges.txt").read_text(encoding="utf-8").splitlines()
    merges = [m for m in merge_lines[1:80] if m.strip()]
    products = {"".join(m.split()) for m in merges}
    kept = {t: i for t, i in vocab.items() if len(t) == 1 or t in products}  # the 256 byte symbols are single characters
    vocab_bytes = json.dumps(kept, ensure_ascii=False).encode("utf-8")
    merges_bytes = ("\n".join([merge_lines[0]] + merges) + "\n").encode("utf-8")
    write("bpe", "vocab_merges.bin", vocab_bytes + b"\0" + merges_bytes)
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": kept, "merges": merges}}
    write("bpe", "tokenizer.json", json.dumps(tokenizer, ensure_ascii=False).encode("utf-8"))

# GLUE: the header and first rows of each file (labelled and test splits).
for task in ("rte", "mrpc"):
    for split in ("train", "test"):
        tsv = shared / "glue" / task / f"{split}.tsv"
        if have(tsv):
            write("glue_tsv", f"{task}_{split}.tsv", b"".join(tsv.read_bytes().splitlines(keepends=True)[:8]))

# IDX: MNIST's first labels and images, the count in the header made to match, plain and gzipped.
for kind, keep in (("labels-idx1", 40), ("images-idx3", 2)):
    path = shared / "mnist" / f"t10k-{kind}-ubyte.gz"
    if have(path):
        raw = gzip.decompress(path.read_bytes())
        dims = raw[3]
        shape = list(struct.unpack(f">{dims}I", raw[4 : 4 + 4 * dims]))
        shape[0] = keep
        header = raw[:4] + struct.pack(f">{dims}I", *shape)
        item = 1
        for side in shape[1:]:
            item *= side
        data = header + raw[4 + 4 * dims : 4 + 4 * dims + keep * item]
        write("idx", f"{kind}.idx", data)
        write("idx", f"{kind}.idx.gz", gzip.compress(data, mtime=0))


# Images: the smallest real JPEGs, and small PNG, BMP and PNM files written here.
def png(width, height, color_type, pixel):
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    rows = b"".join(b"\0" + bytes(pixel(x, y, c) for x in range(width) for c in range(channels)) for y in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def bmp(width, height):
    row = bytes((x * 40 + c * 90) % 256 for x in range(width) for c in range(3))
    row += b"\0" * ((4 - len(row) % 4) % 4)
    pixels = row * height
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


images = shared / "imagenette-224" / "val"
if have(images):
    jpegs = sorted(images.rglob("*.JPEG"), key=lambda p: (p.stat().st_size, p.name))[:2]
    for jpeg in jpegs:
        write("image", jpeg.name, jpeg.read_bytes())
write("image", "rgb.png", png(7, 5, 2, lambda x, y, c: (x * 30 + y * 7 + c * 80) % 256))
write("image", "gray_alpha.png", png(4, 3, 4, lambda x, y, c: (x + y) * 20 if c == 0 else 255))
write("image", "rgb.bmp", bmp(5, 3))
write("image", "gray.pgm", b"P5\n4 2\n255\n" + bytes(range(0, 240, 30)))
write("image", "rgb.ppm", b"P6\n2 2\n255\n" + bytes(range(12)))


# Tar: ustar, GNU long names and pax, plain and gzipped.
def tar(fmt, names, compress):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        folder = tarfile.TarInfo("images")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for i, name in enumerate(names):
            body = bytes((i * 31 + k) % 256 for k in range(100 + 37 * i))
            info = tarfile.TarInfo(name)
            info.size = len(body)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(body))
    data = buffer.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


long_name = "images/" + "n" * 120 + ".JPEG"
write("tar", "ustar.tar", tar(tarfile.USTAR_FORMAT, ["images/a.JPEG", "./images/b.JPEG"], False))
write("tar", "gnu_long.tar", tar(tarfile.GNU_FORMAT, [long_name, "c.png"], False))
write("tar", "pax.tar.gz", tar(tarfile.PAX_FORMAT, [long_name + "x", "d.png"], True))
