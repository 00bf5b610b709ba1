// Small data sets for every task, written by the test itself (no download, nothing from outside the repository):
// a text corpus as a `qn preprocess` folder (language modeling, masked LM), GPT-2 BPE files learned from it with a
// GLUE SST-2 folder (sentence prediction), and an IDX folder of 28x28 images in 10 classes (image classification).
// Each is a pure function of nothing: the same bytes in every run.
#pragma once

#include <string>

namespace qn::testing {

struct TinyData {
  std::string text;    // dict.txt, {train,valid,test}.tok
  std::string bpe;     // encoder.json, vocab.bpe, dict.txt
  std::string glue;    // .../SST-2 with train.tsv, dev.tsv
  std::string images;  // {train,t10k}-{images-idx3,labels-idx1}-ubyte
};

// Writes the data sets under dir (created) and returns their folders.
TinyData write_tiny_data(const std::string& dir);

}  // namespace qn::testing
