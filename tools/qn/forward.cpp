// qn forward (--model NAME [--config cfg.json] --weights W.safetensors | --path MODEL) --inputs I.safetensors
//            --out O.safetensors [--train] [--grad] [--seed N] [--device D]
// One forward (and with --grad one backward) of a named model on given weights, or of a model qn saved (a checkpoint
// or a compressed file), on given inputs, on the CPU or a device; writes `logits`,
// `loss` (when the inputs hold targets) and `grad.<parameter>` for every parameter. The inputs file holds
// `input_ids` (i64 (B, T)) with optional `target` or `labels`, or `images` (f32 (B, C, H, W)) with optional
// `labels`. It is how other programs (PyTorch scripts among them) check this engine against theirs.
#include <set>

#include "core/generator.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "tools/qn/commands.h"
#include "tools/qn/run_setup.h"

namespace qn::tools {
namespace {

struct ForwardArgs {
  std::string model, config, weights, path, inputs, out;
  std::string device = "cpu";
  bool train = false, grad = false;
  uint64_t seed = 1;
};

// The model named with its weights, or the model saved at --path.
models::BuiltModel load_model(const ForwardArgs& a) {
  QN_CHECK(a.path.empty() != a.model.empty(), "forward",
           "give either --model with --weights, or --path with a checkpoint or compressed model");
  if (!a.path.empty()) return load_saved_model(a.path, describe_saved_model(a.path));
  QN_CHECK(!a.weights.empty(), "forward", "--model needs --weights");
  models::BuiltModel built = models::build_model(a.model, models::load_overrides(a.config));
  built.module->load_state_dict(load_safetensors(a.weights).tensors, /*strict=*/true);
  return built;
}

std::string names_of(const SafetensorsContent& content) {
  std::string names;
  for (const NamedTensor& t : content.tensors) names += (names.empty() ? "" : ", ") + t.name;
  return names.empty() ? "nothing" : names;
}

// The model's input and optional targets from the inputs file, checked against the model's family.
std::pair<Tensor, Tensor> read_inputs(const std::string& path, models::ModelFamily family) {
  const SafetensorsContent content = load_safetensors(path);
  const bool images = family == models::ModelFamily::kImage;
  const std::string input_name = images ? "images" : "input_ids";
  const std::set<std::string> allowed =
      images ? std::set<std::string>{"images", "labels"} : std::set<std::string>{"input_ids", "target", "labels"};
  Tensor input, targets;
  for (const NamedTensor& t : content.tensors) {
    QN_CHECK(allowed.count(t.name), "forward", path, ": unexpected tensor '", t.name, "' (this model reads ",
             images ? "images and labels" : "input_ids and target or labels", ")");
    if (t.name == input_name) {
      input = t.tensor;
    } else {
      QN_CHECK(!targets.defined(), "forward", path, ": give either 'target' or 'labels', not both");
      targets = t.tensor;
    }
  }
  QN_CHECK(input.defined(), "forward", path, " lacks '", input_name, "' (it holds ", names_of(content), ")");
  if (images) {
    QN_CHECK(input.dtype() == DType::f32 && input.dim() == 4, "forward", path,
             ": 'images' must be f32 (B, C, H, W), got ", input.describe());
  } else {
    QN_CHECK(input.dtype() == DType::i64 && input.dim() == 2, "forward", path, ": 'input_ids' must be i64 (B, T), got ",
             input.describe());
  }
  QN_CHECK(!targets.defined() || targets.dtype() == DType::i64, "forward", path, ": targets must be i64, got ",
           targets.describe());
  return {input, targets};
}

void run_forward(const ForwardArgs& a) {
  const Device device = parse_device(a.device);
  models::BuiltModel built = load_model(a);
  built.to(device);
  const auto [host_input, host_targets] = read_inputs(a.inputs, built.family);
  const Tensor input = host_input.to(device);
  const Tensor targets = host_targets.defined() ? host_targets.to(device) : host_targets;
  QN_CHECK(!a.grad || targets.defined(), "forward", "--grad needs targets in ", a.inputs,
           " (the gradient is the loss's)");
  manual_seed(a.seed);
  built.module->train(a.train);
  std::vector<NamedTensor> out;
  if (a.grad) {
    const models::ModelOutputs result = built.run(input, targets);
    result.loss.backward();
    out = {{"logits", result.logits.detach()}, {"loss", result.loss.detach()}};
    for (const NamedTensor& p : built.module->named_parameters()) {
      const Tensor g = p.tensor.grad();
      out.push_back({"grad." + p.name, g.defined() ? g : zeros(p.tensor.shape(), p.tensor.dtype())});
    }
  } else {
    NoGradGuard no_grad;
    const models::ModelOutputs result = built.run(input, targets);
    out = {{"logits", result.logits}};
    if (result.loss.defined()) out.push_back({"loss", result.loss});
  }
  for (NamedTensor& t : out) t.tensor = t.tensor.to(Device::cpu());
  save_safetensors(a.out, out);
}

}  // namespace

void add_forward_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("forward", "run one forward (and backward) of a model on given weights and inputs");
  static ForwardArgs args;
  cmd->add_option("--model", args.model, "transformer_lm_*, roberta_*, efficientnet_b0..b7");
  cmd->add_option("--config", args.config, "JSON object overriding config fields, e.g. {\"layers\": 2}");
  cmd->add_option("--weights", args.weights, "the model's parameters and buffers (.safetensors)");
  cmd->add_option("--path", args.path, "instead of --model and --weights: a checkpoint or compressed model qn saved");
  cmd->add_option("--inputs", args.inputs, "input_ids [+ target | labels], or images [+ labels] (.safetensors)")
      ->required();
  cmd->add_option("--out", args.out, "where to write logits, loss and grad.<parameter> (.safetensors)")->required();
  cmd->add_flag("--train", args.train, "training mode (dropout, batch statistics)");
  cmd->add_flag("--grad", args.grad, "also write the loss's gradient for every parameter");
  cmd->add_option("--seed", args.seed, "seed of dropout and other randomness (default 1)");
  cmd->add_option("--device", args.device, kDeviceHelp);
  cmd->callback([] { run_forward(args); });
}

}  // namespace qn::tools
