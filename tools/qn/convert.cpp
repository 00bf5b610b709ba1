// qn convert --from fairseq-roberta|hf-roberta IN.safetensors OUT.safetensors [--classification-head NAME]:
// a released checkpoint's parameters under this engine's names (models/checkpoint_convert.h), written
// atomically. fairseq's model.pt is a pickle: export its "model" dict to safetensors first
// (tools/export_state_dict.py does it with PyTorch alone).
#include <cstdio>

#include "models/checkpoint_convert.h"
#include "tools/qn/commands.h"

namespace qn::tools {

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "rename a released RoBERTa checkpoint's parameters to this engine's");
  static std::string from, in, out, head;
  cmd->add_option("--from", from, "the checkpoint's layout: fairseq-roberta or hf-roberta")->required();
  cmd->add_option("in", in, "the checkpoint (.safetensors)")->required();
  cmd->add_option("out", out, "where to write the converted parameters (.safetensors)")->required();
  cmd->add_option("--classification-head", head, "fairseq: which classification head becomes `classifier`");
  cmd->callback([] {
    const models::CheckpointFormat format = models::parse_checkpoint_format(from);
    const SafetensorsContent content = load_safetensors(in);
    const models::ConvertedCheckpoint converted =
        models::convert_checkpoint(content.tensors, format, models::ConvertOptions{head});
    save_safetensors(out, converted.tensors, content.metadata);
    for (const std::string& note : converted.notes) std::printf("%s\n", note.c_str());
    std::printf("wrote %zu tensors to %s\n", converted.tensors.size(), out.c_str());
  });
}

}  // namespace qn::tools
