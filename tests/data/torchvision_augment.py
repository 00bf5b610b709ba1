#!/usr/bin/python3
"""torchvision's AutoAugment / RandAugment ops on uint8 image tensors, for comparison with the engine's.

usage: torchvision_augment.py CASES.json PIXELS.bin OUT.bin MAGNITUDES.json

CASES.json: a list of {"offset", "height", "width", "op", "magnitude"}: u8 RGB pixels (HWC) at that byte offset of
PIXELS.bin, one op of torchvision.transforms.autoaugment._apply_op (nearest interpolation, no fill) with that
signed magnitude. Writes the u8 HWC results one after another to OUT.bin, and to MAGNITUDES.json the magnitude
tables of AutoAugment (10 bins) and RandAugment (31 bins) for a 224x224 image.
"""
import json
import sys

import numpy as np
import torch
import torchvision.transforms as T
from torchvision.transforms.autoaugment import _apply_op


def main():
    cases = json.load(open(sys.argv[1]))
    pixels = np.fromfile(sys.argv[2], dtype=np.uint8)
    outputs = []
    for case in cases:
        h, w = case["height"], case["width"]
        image = torch.from_numpy(pixels[case["offset"]:case["offset"] + h * w * 3].reshape(h, w, 3).copy())
        out = _apply_op(image.permute(2, 0, 1).contiguous(), case["op"], case["magnitude"],
                        interpolation=T.InterpolationMode.NEAREST, fill=None)
        outputs.append(out.permute(1, 2, 0).contiguous().numpy().ravel())
    np.concatenate(outputs).tofile(sys.argv[3])
    tables = {}
    for name, augment, bins in [("autoaugment", T.AutoAugment(), 10), ("randaugment", T.RandAugment(), 31)]:
        space = augment._augmentation_space(bins, (224, 224))
        tables[name] = {op: [float(v) for v in values.reshape(-1)] for op, (values, _) in space.items()
                        if values.ndim > 0}
    json.dump(tables, open(sys.argv[4], "w"))


if __name__ == "__main__":
    main()
