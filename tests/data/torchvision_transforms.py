#!/usr/bin/python3
"""torchvision's transforms on images decoded by the engine, for comparison with its fused resampling.

usage: torchvision_transforms.py CASES.json PIXELS.bin OUT.bin

CASES.json: a list of {"offset", "height", "width"} (u8 RGB pixels at that byte offset of PIXELS.bin) plus
either {"kind": "train", "top", "left", "crop_height", "crop_width", "size", "flip"} -> resized_crop (+ hflip)
or {"kind": "eval", "resize", "size"} -> Resize(resize) + CenterCrop(size); each followed by ToTensor's
scaling and ImageNet's Normalize. Resizing is torchvision's bilinear with antialias=True on float tensors (what
PIL computes, without PIL's rounding to u8 between passes). Writes the f32 CHW outputs one after another.
"""
import json
import sys

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def main():
    cases = json.load(open(sys.argv[1]))
    pixels = np.fromfile(sys.argv[2], dtype=np.uint8)
    outputs = []
    bilinear = T.InterpolationMode.BILINEAR
    for case in cases:
        h, w = case["height"], case["width"]
        image = pixels[case["offset"]:case["offset"] + h * w * 3].reshape(h, w, 3)
        x = torch.from_numpy(image.copy()).permute(2, 0, 1).to(torch.float64)
        if case["kind"] == "train":
            y = F.resized_crop(x, case["top"], case["left"], case["crop_height"], case["crop_width"],
                               [case["size"], case["size"]], interpolation=bilinear, antialias=True)
            if case["flip"]:
                y = F.hflip(y)
        else:
            y = T.Compose([T.Resize(case["resize"], interpolation=bilinear, antialias=True),
                           T.CenterCrop(case["size"])])(x)
        y = F.normalize(y / 255.0, MEAN, STD)
        outputs.append(y.to(torch.float32).numpy().ravel())
    np.concatenate(outputs).astype("<f4").tofile(sys.argv[3])


if __name__ == "__main__":
    main()
