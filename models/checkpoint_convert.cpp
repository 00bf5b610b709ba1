#include "models/checkpoint_convert.h"

#include <map>
#include <optional>
#include <regex>
#include <set>

#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace qn::models {

namespace {

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool equal_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return kernels::sum(kernels::compare(kernels::CompareOp::ne, a, b).to(DType::i64)).item<int64_t>() == 0;
}

// fairseq's per-layer module names -> Hugging Face's, below `roberta.encoder.layer.L.`.
const std::map<std::string, std::string>& fairseq_layer_names() {
  static const std::map<std::string, std::string> names = {
      {"self_attn.q_proj", "attention.self.query"},
      {"self_attn.k_proj", "attention.self.key"},
      {"self_attn.v_proj", "attention.self.value"},
      {"self_attn.out_proj", "attention.output.dense"},
      {"self_attn_layer_norm", "attention.output.LayerNorm"},
      {"fc1", "intermediate.dense"},
      {"fc2", "output.dense"},
      {"final_layer_norm", "output.LayerNorm"},
  };
  return names;
}

const std::map<std::string, std::string>& fairseq_encoder_names() {
  static const std::map<std::string, std::string> names = {
      {"embed_tokens", "roberta.embeddings.word_embeddings"},
      {"embed_positions", "roberta.embeddings.position_embeddings"},
      {"layernorm_embedding", "roberta.embeddings.LayerNorm"},
      {"emb_layer_norm", "roberta.embeddings.LayerNorm"},
      {"quant_noise", "roberta.embeddings.quant_noise"},
  };
  return names;
}

// "module.rest.weight" -> ("module.rest", "weight") at the last dot.
std::pair<std::string, std::string> split_last(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return {name, ""};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

[[noreturn]] void unknown(const std::string& name, const char* format) {
  throw_error("convert", detail::concat("'", name, "' is not a ", format,
                                        " RoBERTa parameter this converter knows; nothing was written"));
}

ConvertedCheckpoint from_fairseq(const std::vector<NamedTensor>& tensors, const ConvertOptions& options) {
  ConvertedCheckpoint out;
  const std::regex layer_re(R"(encoder\.sentence_encoder\.layers\.(\d+)\.(.+)\.(weight|bias))");
  const std::regex in_proj_re(R"(encoder\.sentence_encoder\.layers\.(\d+)\.self_attn\.in_proj_(weight|bias))");
  const std::regex head_re(R"(classification_heads\.([^.]+)\.(dense|out_proj)\.(weight|bias))");
  std::set<std::string> heads;
  for (const NamedTensor& t : tensors) {
    std::smatch m;
    if (std::regex_match(t.name, m, head_re)) heads.insert(m[1]);
  }
  QN_CHECK(heads.size() <= 1 || !options.classification_head.empty(), "convert", "the checkpoint has ", heads.size(),
           " classification heads; choose one with --classification-head (", joined(heads), ")");
  const std::string chosen_head =
      options.classification_head.empty() && !heads.empty() ? *heads.begin() : options.classification_head;
  QN_CHECK(chosen_head.empty() || heads.count(chosen_head), "convert", "no classification head '", chosen_head,
           "' in the checkpoint (", joined(heads), ")");

  const Tensor* word_embeddings = nullptr;
  std::optional<Tensor> lm_weight;
  for (const NamedTensor& t : tensors) {
    std::string name = t.name;
    if (name.starts_with("decoder.")) name = "encoder." + name.substr(8);  // fairseq < 0.9
    if (name.ends_with(".version") || name.ends_with("._float_tensor")) {
      out.notes.push_back("dropped fairseq bookkeeping entry " + t.name);
      continue;
    }
    std::smatch m;
    if (std::regex_match(name, m, in_proj_re)) {  // q, k, v stacked along rows
      QN_CHECK(t.tensor.dim() >= 1 && t.tensor.size(0) % 3 == 0, "convert", t.name,
               " should stack q, k and v along its first dim, got ", t.tensor.describe());
      const int64_t rows = t.tensor.size(0) / 3;
      const char* parts[] = {"query", "key", "value"};
      for (int i = 0; i < 3; ++i) {
        out.tensors.push_back({"roberta.encoder.layer." + m[1].str() + ".attention.self." + parts[i] + "." + m[2].str(),
                               t.tensor.narrow(0, i * rows, rows).contiguous()});
      }
      out.notes.push_back("split " + t.name + " into query, key and value");
      continue;
    }
    if (std::regex_match(name, m, layer_re)) {
      const std::string prefix = "roberta.encoder.layer." + m[1].str() + ".";
      const std::string module = m[2], kind = m[3];
      auto it = fairseq_layer_names().find(module);
      if (it == fairseq_layer_names().end()) unknown(t.name, "fairseq");
      out.tensors.push_back({prefix + it->second + "." + kind, t.tensor});
      continue;
    }
    if (std::regex_match(name, m, head_re)) {
      if (m[1] != chosen_head) {
        out.notes.push_back("dropped " + t.name + " (classification head '" + m[1].str() + "' not chosen)");
        continue;
      }
      out.tensors.push_back({"classifier." + m[2].str() + "." + m[3].str(), t.tensor});
      continue;
    }
    if (name == "encoder.lm_head.weight") {
      lm_weight = t.tensor;
      continue;
    }
    if (name.starts_with("encoder.lm_head.")) {
      out.tensors.push_back({"lm_head." + name.substr(16), t.tensor});
      continue;
    }
    if (name.starts_with("encoder.sentence_encoder.")) {
      const auto [module, kind] = split_last(name.substr(25));
      auto it = fairseq_encoder_names().find(module);
      if (it == fairseq_encoder_names().end() || kind.empty()) unknown(t.name, "fairseq");
      out.tensors.push_back({it->second + "." + kind, t.tensor});
      if (module == "embed_tokens") word_embeddings = &t.tensor;
      continue;
    }
    unknown(t.name, "fairseq");
  }
  if (lm_weight) {
    if (word_embeddings && equal_values(*lm_weight, *word_embeddings)) {
      out.notes.push_back("dropped encoder.lm_head.weight: the word embeddings (tied)");
    } else {
      out.tensors.push_back({"lm_head.decoder.weight", *lm_weight});
      out.notes.push_back(
          "encoder.lm_head.weight differs from the word embeddings: kept as lm_head.decoder.weight "
          "(load with untie_lm_head)");
    }
  }
  return out;
}

ConvertedCheckpoint from_hf(const std::vector<NamedTensor>& tensors) {
  ConvertedCheckpoint out;
  std::map<std::string, Tensor> by_name;
  for (const NamedTensor& t : tensors) {
    std::string name = t.name;
    if (name.starts_with("embeddings.") || name.starts_with("encoder.") || name.starts_with("pooler.")) {
      name = "roberta." + name;  // a bare RobertaModel
    }
    QN_CHECK(by_name.emplace(name, t.tensor).second, "convert", "two entries become '", name, "'");
  }
  const std::string type_name = "roberta.embeddings.token_type_embeddings.weight";
  const std::string position_name = "roberta.embeddings.position_embeddings.weight";
  if (auto type = by_name.find(type_name); type != by_name.end()) {
    auto position = by_name.find(position_name);
    QN_CHECK(position != by_name.end(), "convert", "the checkpoint has ", type_name, " but no ", position_name);
    QN_CHECK(type->second.dim() == 2 && type->second.size(0) == 1 && position->second.dim() == 2 &&
                 type->second.size(1) == position->second.size(1),
             "convert", "can fold only a one-row ", type_name, " of the positions' width into them, got ",
             type->second.describe(), " and ", position->second.describe());
    position->second = kernels::add(position->second, type->second.to(position->second.dtype()));
    by_name.erase(type);
    out.notes.push_back("added the token-type row into every position row (load with type_vocab_size 0)");
  }
  if (by_name.erase("roberta.embeddings.position_ids")) {
    out.notes.push_back("dropped the buffer roberta.embeddings.position_ids");
  }
  for (auto it = by_name.begin(); it != by_name.end();) {
    if (it->first.starts_with("roberta.pooler.")) {
      out.notes.push_back("dropped " + it->first + " (the pooler is unused by RoBERTa's heads)");
      it = by_name.erase(it);
    } else {
      ++it;
    }
  }
  const auto words = by_name.find("roberta.embeddings.word_embeddings.weight");
  if (auto decoder = by_name.find("lm_head.decoder.weight");
      decoder != by_name.end() && words != by_name.end() && equal_values(decoder->second, words->second)) {
    by_name.erase(decoder);
    out.notes.push_back("dropped lm_head.decoder.weight: the word embeddings (tied)");
  }
  if (auto decoder_bias = by_name.find("lm_head.decoder.bias"); decoder_bias != by_name.end()) {
    auto bias = by_name.find("lm_head.bias");
    QN_CHECK(bias != by_name.end() && equal_values(decoder_bias->second, bias->second), "convert",
             "lm_head.decoder.bias differs from lm_head.bias; this model has one output bias");
    by_name.erase(decoder_bias);
    out.notes.push_back("dropped lm_head.decoder.bias: lm_head.bias (tied)");
  }
  const std::regex known(
      R"((roberta\.embeddings\.(word_embeddings|position_embeddings|LayerNorm|quant_noise)|)"
      R"(roberta\.encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.(dense|LayerNorm)|)"
      R"(intermediate\.dense|output\.(dense|LayerNorm))|lm_head\.(dense|layer_norm|decoder)|classifier\.(dense|out_proj))\.(weight|bias)|lm_head\.bias)");
  for (auto& [name, tensor] : by_name) {
    if (!std::regex_match(name, known)) unknown(name, "Hugging Face");
    out.tensors.push_back({name, tensor});
  }
  return out;
}

}  // namespace

CheckpointFormat parse_checkpoint_format(const std::string& name) {
  if (name == "fairseq-roberta") return CheckpointFormat::fairseq_roberta;
  if (name == "hf-roberta") return CheckpointFormat::hf_roberta;
  throw_error("convert", detail::concat("unknown checkpoint format '", name, "' (fairseq-roberta, hf-roberta)"));
}

ConvertedCheckpoint convert_checkpoint(const std::vector<NamedTensor>& tensors, CheckpointFormat from,
                                       const ConvertOptions& options) {
  return from == CheckpointFormat::fairseq_roberta ? from_fairseq(tensors, options) : from_hf(tensors);
}

}  // namespace qn::models
