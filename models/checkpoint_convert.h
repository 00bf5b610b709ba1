// Released RoBERTa checkpoints into this engine's parameter names (models/roberta.h, Hugging Face's layout).
//
//   fairseq   encoder.sentence_encoder.embed_tokens        -> roberta.embeddings.word_embeddings
//             encoder.sentence_encoder.embed_positions     -> roberta.embeddings.position_embeddings
//             encoder.sentence_encoder.layernorm_embedding -> roberta.embeddings.LayerNorm (older: emb_layer_norm)
//             encoder.sentence_encoder.quant_noise         -> roberta.embeddings.quant_noise
//             ...layers.L.self_attn.{q,k,v}_proj           -> roberta.encoder.layer.L.attention.self.{query,key,value}
//             ...layers.L.self_attn.in_proj_{weight,bias}  -> the same, split in q, k, v order (fairseq < 0.9)
//             ...layers.L.self_attn.out_proj               -> ...attention.output.dense
//             ...layers.L.self_attn_layer_norm             -> ...attention.output.LayerNorm
//             ...layers.L.fc1 / fc2 / final_layer_norm     -> ...intermediate.dense / output.dense / output.LayerNorm
//             encoder.lm_head.{dense, layer_norm, bias}    -> lm_head.{dense, layer_norm, bias}
//             encoder.lm_head.weight                       -> dropped when it equals the word embeddings (tied),
//                                                             else lm_head.decoder.weight (untie_lm_head)
//             classification_heads.NAME.{dense, out_proj}  -> classifier.{dense, out_proj}
//   The prefix `decoder.` of checkpoints before fairseq 0.9 reads as `encoder.`; `*.version` and
//   `*._float_tensor` bookkeeping entries are dropped.
//
//   Hugging Face  names kept (a bare RobertaModel's `embeddings.*` gains `roberta.`); the one-row
//                 token_type_embeddings is added into every position row (the same sum reaches every token),
//                 so the result loads with type_vocab_size 0 as fairseq's layout and the paper's count have;
//                 `position_ids` and the unused pooler are dropped; a tied lm_head.decoder copy is dropped.
//
// A name neither table knows is an error that names it: nothing is dropped silently.
#pragma once

#include <string>
#include <vector>

#include "core/safetensors.h"

namespace qn::models {

enum class CheckpointFormat { fairseq_roberta, hf_roberta };

// "fairseq-roberta" / "hf-roberta"; throws listing both for anything else.
CheckpointFormat parse_checkpoint_format(const std::string& name);

struct ConvertOptions {
  // fairseq checkpoints may hold several classification heads; which one becomes `classifier`. Empty: the only
  // one there is (an error when there are several).
  std::string classification_head;
};

struct ConvertedCheckpoint {
  std::vector<NamedTensor> tensors;
  std::vector<std::string> notes;  // one line per dropped or reshaped entry, for the user
};

ConvertedCheckpoint convert_checkpoint(const std::vector<NamedTensor>& tensors, CheckpointFormat from,
                                       const ConvertOptions& options = {});

}  // namespace qn::models
