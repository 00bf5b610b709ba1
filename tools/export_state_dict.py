#!/usr/bin/env python3
"""Writes a PyTorch checkpoint's tensors as safetensors, with PyTorch alone (no safetensors package needed).

Usage: /usr/bin/python3 tools/export_state_dict.py model.pt out.safetensors

fairseq checkpoints keep the parameters under "model"; a plain state dict is taken as it is. Shared tensors
(fairseq's tied lm_head.weight) are written once per name; `qn convert` drops the tied copy.
"""
import json
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: export_state_dict.py CHECKPOINT.pt OUT.safetensors")
    source, target = sys.argv[1], sys.argv[2]
    checkpoint = torch.load(source, map_location="cpu")
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        sys.exit(f"export_state_dict.py: {source} holds no state dict")
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        if not torch.is_tensor(tensor):
            continue
        if tensor.dtype not in DTYPES:
            sys.exit(f"export_state_dict.py: {name} has dtype {tensor.dtype}, which safetensors cannot hold here")
        data = tensor.detach().contiguous().cpu().view(-1).view(torch.uint8).numpy().tobytes() \
            if tensor.numel() else b""
        header[name] = {"dtype": DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned
    partial = target + ".partial"
    with open(partial, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(partial, target)
    print(f"wrote {len(header)} tensors to {target}")


if __name__ == "__main__":
    main()
