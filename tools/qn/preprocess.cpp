// qn preprocess --only-source --trainpref TRAIN [--validpref V] [--testpref T] --destdir DIR [--srcdict dict.txt]
//               [--thresholdsrc N] [--nwordssrc N] [--padding-factor 8] [--bpe-dir GPT2_BPE_DIR]
// fairseq-preprocess for a monolingual corpus: a dictionary from the training text (or the one given), then each
// split as DIR/{train,valid,test}.tok, a token file the loaders memory-map (data/token_file.h). With --bpe-dir
// the text is first encoded with GPT-2's BPE into DIR/{split}.bpe (fairseq's multiprocessing_bpe_encoder), the
// RoBERTa pipeline: the dictionary's words are then BPE ids.
#include <cstdio>
#include <filesystem>

#include "data/binarize.h"
#include "data/dictionary.h"
#include "tools/qn/commands.h"

namespace qn::tools {
namespace {

std::string train, valid, test, destdir, srcdict, bpe_dir;
int64_t threshold = 0, nwords = -1, padding_factor = 8;
bool only_source = false;

void preprocess() {
  if (!bpe_dir.empty()) {
    const std::filesystem::path dir = bpe_dir;
    const data::Gpt2Bpe bpe = data::Gpt2Bpe::load((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
    for (auto [split, path] :
         {std::pair<const char*, std::string*>{"train", &train}, {"valid", &valid}, {"test", &test}}) {
      if (path->empty()) continue;
      const std::string out = (std::filesystem::path(destdir) / (std::string(split) + ".bpe")).string();
      const int64_t lines = data::bpe_encode_text(*path, bpe, out);
      std::printf("%s: %lld lines encoded with GPT-2 BPE -> %s\n", split, static_cast<long long>(lines), out.c_str());
      *path = out;
    }
  }
  const data::Dictionary dictionary = srcdict.empty()
                                          ? data::Dictionary::build({train}, threshold, nwords, padding_factor)
                                          : data::Dictionary::load(srcdict);
  const std::string dict_path = (std::filesystem::path(destdir) / "dict.txt").string();
  dictionary.save(dict_path);
  std::printf("dictionary: %lld symbols -> %s\n", static_cast<long long>(dictionary.size()), dict_path.c_str());
  for (const auto& [split, path] :
       {std::pair<const char*, std::string>{"train", train}, {"valid", valid}, {"test", test}}) {
    if (path.empty()) continue;
    const std::string out = (std::filesystem::path(destdir) / (std::string(split) + ".tok")).string();
    const data::BinarizeStats stats = data::binarize_text(path, dictionary, out);
    std::printf("%s: %lld lines, %lld tokens, %.2f%% replaced by <unk> -> %s\n", split,
                static_cast<long long>(stats.lines), static_cast<long long>(stats.tokens),
                stats.tokens ? 100.0 * static_cast<double>(stats.unknown) / static_cast<double>(stats.tokens) : 0.0,
                out.c_str());
  }
}

}  // namespace

void add_preprocess_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("preprocess", "build a dictionary and binarize text splits (fairseq-preprocess)");
  cmd->add_flag("--only-source", only_source,
                "monolingual data (the only kind supported; accepted for fairseq's sake)");
  cmd->add_option("--trainpref", train, "training text (plain or .gz), one sentence per line")->required();
  cmd->add_option("--validpref", valid, "validation text");
  cmd->add_option("--testpref", test, "test text");
  cmd->add_option("--destdir", destdir, "output folder")->required();
  cmd->add_option("--srcdict", srcdict, "reuse this dict.txt instead of building one");
  cmd->add_option("--thresholdsrc", threshold, "keep words seen at least this often (built dictionary)");
  cmd->add_option("--nwordssrc", nwords, "at most this many symbols, special ones included (-1: all)");
  cmd->add_option("--padding-factor", padding_factor, "pad the dictionary size to a multiple of this");
  cmd->add_option("--bpe-dir", bpe_dir,
                  "encode the text with GPT-2's BPE first: the folder of encoder.json and vocab.bpe");
  cmd->callback([] {
    // A folder this run creates goes again if the run fails (a missing input leaves nothing behind).
    const bool created = std::filesystem::create_directories(destdir);
    try {
      preprocess();
    } catch (...) {
      if (created) std::filesystem::remove_all(destdir);
      throw;
    }
  });
}

}  // namespace qn::tools
