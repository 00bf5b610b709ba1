#!/usr/bin/env bash
# ImageNet-1k (ILSVRC 2012) as an image folder for tools/recipes/efficientnet_b3_imagenet.sh: DEST/train/WNID/*.JPEG
# and DEST/val/WNID/*.JPEG (default DEST data-bin/imagenet). ImageNet has no open download: get
# ILSVRC2012_img_train.tar (138 GiB), ILSVRC2012_img_val.tar (6.3 GiB) and ILSVRC2012_devkit_t12.tar.gz from
# https://image-net.org/download-images after accepting its terms, into one folder (SRC). The validation images
# are sorted into class folders by the devkit's ground truth (its IDs are mapped to WordNet ids through
# meta.mat, read with SciPy). Checked: 1,000 classes, 1,281,167 training and 50,000 validation images, 50 per class.
# Needs ~300 GiB of disk; an hour or two, mostly tar.
# Usage: bash tools/recipes/prepare_imagenet.sh SRC [DEST]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/recipes/fetch.sh

[[ $# -ge 1 ]] || die "usage: prepare_imagenet.sh SRC [DEST] (SRC holds the three ILSVRC2012 archives)"
src=$1
dest=${2:-data-bin/imagenet}
for file in ILSVRC2012_img_train.tar ILSVRC2012_img_val.tar ILSVRC2012_devkit_t12.tar.gz; do
  [[ -s $src/$file ]] || die "no $src/$file: download it from https://image-net.org/download-images"
done
need_packages python3-scipy
work=$dest.tmp
rm -rf "$work"
mkdir -p "$work/train" "$work/val" "$work/devkit"

echo "unpacking the training images (one tar per class)"
tar -xf "$src/ILSVRC2012_img_train.tar" -C "$work/train"
for class_tar in "$work"/train/*.tar; do
  class_dir=${class_tar%.tar}
  mkdir -p "$class_dir"
  tar -xf "$class_tar" -C "$class_dir"
  rm "$class_tar"
done

echo "unpacking the validation images and sorting them by the devkit's labels"
tar -xzf "$src/ILSVRC2012_devkit_t12.tar.gz" -C "$work/devkit"
tar -xf "$src/ILSVRC2012_img_val.tar" -C "$work/val"
/usr/bin/python3 - "$work/devkit/ILSVRC2012_devkit_t12/data" "$work/val" <<'PY'
import os, sys
import scipy.io
data, val = sys.argv[1], sys.argv[2]
synsets = scipy.io.loadmat(os.path.join(data, "meta.mat"), squeeze_me=True)["synsets"]
wnid = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
labels = [int(line) for line in open(os.path.join(data, "ILSVRC2012_validation_ground_truth.txt"))]
if len(wnid) != 1000 or len(labels) != 50000:
    sys.exit(f"error: the devkit has {len(wnid)} classes and {len(labels)} validation labels, expected 1000 and 50000")
for index, label in enumerate(labels, start=1):
    name = f"ILSVRC2012_val_{index:08d}.JPEG"
    os.makedirs(os.path.join(val, wnid[label]), exist_ok=True)
    os.rename(os.path.join(val, name), os.path.join(val, wnid[label], name))
PY
rm -rf "$work/devkit"

classes=$(find "$work/train" -mindepth 1 -maxdepth 1 -type d | wc -l)
train_images=$(find "$work/train" -name '*.JPEG' | wc -l)
val_images=$(find "$work/val" -name '*.JPEG' | wc -l)
[[ $classes -eq 1000 ]] || die "$classes training classes, expected 1000"
[[ $train_images -eq 1281167 ]] || die "$train_images training images, expected 1,281,167"
[[ $val_images -eq 50000 ]] || die "$val_images validation images, expected 50,000"
for class_dir in "$work"/val/*/; do
  [[ $(find "$class_dir" -name '*.JPEG' | wc -l) -eq 50 ]] || die "$class_dir does not hold 50 validation images"
done
rm -rf "$dest"
mv "$work" "$dest"
echo "ImageNet is ready in $dest"
