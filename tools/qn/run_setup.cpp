#include "tools/qn/run_setup.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/parallel.h"
#include "core/parse_integer.h"
#include "core/safetensors.h"
#include "kernels/determinism.h"
#include "nn/quant/compressed.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/ipq.h"
#include "train/nag.h"
#include "train/rmsprop.h"
#include "train/sgd.h"

namespace qn::tools {
namespace {

namespace fs = std::filesystem;

// "(0.9, 0.98)" or "0.9,0.98" -> {0.9, 0.98}.
std::pair<double, double> parse_betas(const std::string& text) {
  static const std::regex pattern(R"(\s*\(?\s*([0-9.eE+-]+)\s*,\s*([0-9.eE+-]+)\s*\)?\s*)");
  std::smatch match;
  QN_CHECK(std::regex_match(text, match, pattern), "optimizer",
           "--adam-betas takes two numbers as '(0.9, 0.98)', got '", text, "'");
  return {std::stod(match[1].str()), std::stod(match[2].str())};
}

// The JSON object of --model-config: inline when it starts with '{', else a file.
nlohmann::json parse_model_config(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json config = models::load_overrides(text);
  QN_CHECK(config.is_object(), "config", "--model-config must be a JSON object, got ", config.dump());
  return config;
}

}  // namespace

void add_task_flags(CLI::App& cmd, tasks::TaskOptions& task, bool training) {
  cmd.add_option("data", task.data, "the data set: a directory or archive (see --task)")->required();
  cmd.add_option("--task", task.task, "language_modeling | masked_lm | sentence_prediction | image_classification")
      ->required();
  cmd.add_option("--seed", task.seed, "seed of every random draw (data order, augmentation, dropout, noise)");
  cmd.add_option("--num-workers", task.workers, "loader threads making batches ahead (0: on the training thread)");
  cmd.add_option("--batch-size", task.batch_size, "samples per batch (text: 0 = bounded by --max-tokens only)");
  cmd.add_option("--max-tokens", task.max_tokens, "text: tokens per batch, padding included");
  cmd.add_option("--batch-size-valid", task.eval_batch_size, "samples per evaluation batch");
  cmd.add_option("--tokens-per-sample", task.tokens_per_sample,
                 "text: tokens per block (language_modeling, masked_lm)");
  cmd.add_option("--sample-break-mode", task.sample_break_mode, "text blocks: none | complete | complete_doc | eos");
  cmd.add_option("--context-window", task.context_window,
                 "language_modeling evaluation: tokens of earlier context each scored block keeps (fairseq-eval-lm)");
  cmd.add_option("--bpe-dir", task.bpe_dir, "sentence_prediction: the folder of encoder.json, vocab.bpe and dict.txt");
  if (training) {
    cmd.add_option("--mask-prob", task.mask_prob, "masked_lm: fraction of tokens masked");
    cmd.add_option("--min-crop-scale", task.min_crop_scale, "image_classification: RandomResizedCrop's smallest area");
    cmd.add_option("--augment", task.augment, "image_classification: none | autoaugment | randaugment");
  }
  cmd.add_option("--resize-size", task.resize_size,
                 "image_classification evaluation: short side before the center crop (default size * 8 / 7)");
}

void add_model_flags(CLI::App& cmd, ModelFlags& model) {
  cmd.add_option("--arch", model.arch,
                 "the model, e.g. efficientnet_b3, efficientnet_tiny, roberta_base, "
                 "transformer_lm_wiki103 (qn size --model NAME shows its size)")
      ->required();
  cmd.add_option("--model-config", model.model_config,
                 "model config overrides: a JSON object, inline ('{\"layers\": 2}') or a file");
  cmd.add_option("--dropout", model.dropout, "dropout probability (the arch's default when not given)");
  cmd.add_option("--quant-noise-pq", model.quant_noise_pq,
                 "Quant-Noise rate p on the quantizable layers (proxy blocks)");
  cmd.add_option("--quant-noise-pq-block-size", model.quant_noise_pq_block_size, "Quant-Noise block size");
  cmd.add_option("--quant-noise-scalar", model.quant_noise_scalar, "int8 (--quant-bits 4: int4) Quant-Noise rate p");
  cmd.add_option("--quant-bits", model.quant_bits, "bits of --quant-noise-scalar: 8 or 4");
}

void add_optimizer_flags(CLI::App& cmd, OptimizerFlags& o) {
  cmd.add_option("--optimizer", o.optimizer, "adam | adamw | sgd | nag | rmsprop");
  cmd.add_option("--lr", o.lr, "learning rate (the peak, with a schedule)");
  cmd.add_option("--momentum", o.momentum, "sgd, nag and rmsprop momentum");
  cmd.add_option("--adam-betas", o.adam_betas, "Adam's betas, '(0.9, 0.999)'");
  cmd.add_option("--adam-eps", o.adam_eps, "Adam's epsilon");
  cmd.add_option("--rmsprop-alpha", o.rmsprop_alpha, "RMSProp's smoothing constant (TensorFlow's decay)");
  cmd.add_option("--rmsprop-eps", o.rmsprop_eps, "RMSProp's epsilon");
  cmd.add_option("--weight-decay", o.weight_decay, "weight decay (decoupled for adamw)");
  cmd.add_option("--lr-scheduler", o.lr_scheduler, "fixed | inverse_sqrt | cosine | polynomial_decay | step");
  cmd.add_option("--warmup-updates", o.warmup_updates, "linear warmup updates");
  cmd.add_option("--warmup-init-lr", o.warmup_init_lr, "lr at the start of warmup (inverse_sqrt, cosine)");
  cmd.add_option("--min-lr", o.min_lr, "cosine: the lr at the end of the cycle");
  cmd.add_option("--end-learning-rate", o.end_learning_rate, "polynomial_decay: the final lr");
  cmd.add_option("--power", o.power, "polynomial_decay: the power");
  cmd.add_option("--total-num-update", o.total_num_update,
                 "polynomial_decay: updates to decay over (default --max-update)");
  cmd.add_option("--lr-step-updates", o.lr_step_updates, "step: updates between decays");
  cmd.add_option("--lr-gamma", o.lr_gamma, "step: the decay factor");
}

void add_loop_flags(CLI::App& cmd, LoopFlags& l) {
  cmd.add_option("--max-update", l.max_update, "stop after this many updates (0: --max-epoch decides)");
  cmd.add_option("--max-epoch", l.max_epoch, "stop after this many epochs (0: --max-update decides)");
  cmd.add_option("--update-freq", l.update_freq, "micro-batches accumulated into each update");
  cmd.add_flag("--detect-anomaly", l.detect_anomaly,
               "stop at the first op whose output is NaN or whose backward makes NaN/Inf, naming it (slow)");
  cmd.add_flag("--deterministic", l.deterministic,
               "GPU kernels that would sum in an unspecified order take ordered paths and cuDNN only deterministic "
               "algorithms, so that a run repeats bit for bit (PyTorch's use_deterministic_algorithms; slower)");
  cmd.add_option("--amp", l.amp,
                 "mixed precision: bf16, or fp16 with dynamic loss scaling (the forward under autocast, the "
                 "parameters in f32)")
      ->check(CLI::IsMember({"bf16", "fp16"}));
  cmd.add_flag("--sync-bn", l.sync_bn,
               "under mpirun: BatchNorm normalizes with the statistics of all processes' batches together");
  cmd.add_option("--clip-norm", l.clip_norm, "clip the gradient's global L2 norm (0: no clipping)");
  cmd.add_option("--save-dir", l.save_dir, "checkpoints and train_log.jsonl; a run resumes from checkpoint_last here");
  cmd.add_option(
      "--restore-file", l.restore_file,
      "start from this model's weights (a checkpoint or state dict) unless --save-dir has a checkpoint_last");
  cmd.add_option("--log-interval", l.log_interval, "updates between progress lines");
  cmd.add_option("--save-interval-updates", l.save_interval_updates, "updates between checkpoints (0: each epoch)");
  cmd.add_option("--validate-interval-updates", l.validate_interval_updates,
                 "updates between validations (0: each epoch)");
  cmd.add_option("--log-file", l.log_file, "the JSONL log (default <save-dir>/train_log.jsonl)");
  cmd.add_flag("--no-progress-bar", l.no_progress_bar, "plain progress lines even on a terminal");
  cmd.add_option("--threads", l.threads, "compute threads (default: all cores, or QN_NUM_THREADS)");
  cmd.add_option("--device", l.device, kDeviceHelp);
}

nlohmann::json model_config(const ModelFlags& flags, const tasks::Task& task) {
  nlohmann::json config = task.model_defaults(flags.arch);
  const nlohmann::json overrides = parse_model_config(flags.model_config);
  for (const auto& [key, value] : overrides.items()) config[key] = value;
  if (flags.dropout >= 0) config["dropout"] = flags.dropout;
  if (flags.quant_noise_pq > 0) {
    config["quant_noise_pq"] = flags.quant_noise_pq;
    config["quant_noise_pq_block_size"] = flags.quant_noise_pq_block_size;
  }
  if (flags.quant_noise_scalar > 0) {
    config["quant_noise_scalar"] = flags.quant_noise_scalar;
    config["quant_bits"] = flags.quant_bits;
  }
  return config;
}

std::unique_ptr<train::Optimizer> make_optimizer(const OptimizerFlags& f, const nn::Module& model) {
  std::vector<train::ParamGroup> groups = {{model.parameters(), f.lr, f.weight_decay}};
  if (f.optimizer == "adam" || f.optimizer == "adamw") {
    const auto [beta1, beta2] = parse_betas(f.adam_betas);
    return std::make_unique<train::Adam>(groups, train::AdamOptions{beta1, beta2, f.adam_eps, f.optimizer == "adamw"});
  }
  if (f.optimizer == "sgd") return std::make_unique<train::Sgd>(groups, train::SgdOptions{f.momentum, 0.0, false});
  if (f.optimizer == "nag") return std::make_unique<train::Nag>(groups, f.momentum > 0 ? f.momentum : 0.99);
  if (f.optimizer == "rmsprop") {
    train::RmsPropOptions o;
    o.momentum = f.momentum;
    o.alpha = f.rmsprop_alpha;
    o.eps = f.rmsprop_eps;
    return std::make_unique<train::RmsProp>(groups, o);
  }
  throw_error("optimizer", detail::concat("unknown --optimizer '", f.optimizer, "' (adam, adamw, sgd, nag, rmsprop)"));
}

std::unique_ptr<train::LrSchedule> make_schedule(const OptimizerFlags& f, int64_t max_update) {
  if (f.lr_scheduler == "fixed") {
    return f.warmup_updates > 0 ? std::make_unique<train::FixedSchedule>(f.lr, f.warmup_updates) : nullptr;
  }
  if (f.lr_scheduler == "inverse_sqrt") {
    return std::make_unique<train::InverseSqrtSchedule>(f.lr, std::max<int64_t>(f.warmup_updates, 1), f.warmup_init_lr);
  }
  if (f.lr_scheduler == "cosine") {
    QN_CHECK(max_update > 0, "lr schedule", "--lr-scheduler cosine needs --max-update");
    train::CosineScheduleOptions o;
    o.max_lr = f.lr;
    o.min_lr = f.min_lr;
    o.warmup_updates = f.warmup_updates;
    o.warmup_init_lr = f.warmup_init_lr;
    o.max_update = max_update;
    return std::make_unique<train::CosineSchedule>(o);
  }
  if (f.lr_scheduler == "polynomial_decay") {
    const int64_t total = f.total_num_update > 0 ? f.total_num_update : max_update;
    QN_CHECK(total > f.warmup_updates, "lr schedule",
             "--lr-scheduler polynomial_decay needs --total-num-update or --max-update beyond the warmup");
    return std::make_unique<train::PolynomialDecaySchedule>(f.lr, f.warmup_updates, total, f.end_learning_rate,
                                                            f.power);
  }
  if (f.lr_scheduler == "step") {
    QN_CHECK(f.lr_step_updates > 0, "lr schedule", "--lr-scheduler step needs --lr-step-updates");
    return std::make_unique<train::StepSchedule>(f.lr, f.lr_step_updates, f.lr_gamma);
  }
  throw_error("lr schedule", detail::concat("unknown --lr-scheduler '", f.lr_scheduler,
                                            "' (fixed, inverse_sqrt, cosine, polynomial_decay, step)"));
}

train::TrainerOptions trainer_options(const LoopFlags& l, const tasks::Task& task) {
  QN_CHECK(l.max_update > 0 || l.max_epoch > 0, "train", "give --max-update or --max-epoch");
  QN_CHECK(l.update_freq >= 1, "train", "--update-freq must be at least 1, got ", l.update_freq);
  train::TrainerOptions o;
  o.max_epochs = l.max_epoch;  // 0: --max-update decides
  o.max_updates = l.max_update;
  o.update_freq = l.update_freq;
  o.detect_anomaly = l.detect_anomaly;
  if (l.amp == "bf16") o.amp = DType::bf16;
  if (l.amp == "fp16") {
    o.amp = DType::f16;
    o.loss_scale = train::LossScalerOptions{};  // f16's range needs it, as PyTorch's GradScaler and fairseq's --fp16
  }
  o.clip_norm = l.clip_norm;
  o.log_interval = l.log_interval;
  o.eval_interval_updates = l.validate_interval_updates;
  o.save_interval_updates = l.save_interval_updates;
  o.save_dir = l.save_dir;
  o.log_path = l.log_file;
  o.resume = !l.save_dir.empty();
  std::tie(o.best_metric, o.maximize_best_metric) = task.best_metric();
  o.progress = l.no_progress_bar ? train::ProgressStyle::kLines : train::ProgressStyle::kAuto;
  return o;
}

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  for (const auto& [name, type] : {std::pair{"cuda", DeviceType::cuda}, std::pair{"sim", DeviceType::sim}}) {
    const std::string_view rest = std::string_view(text).substr(std::min(text.size(), std::strlen(name)));
    if (!text.starts_with(name)) continue;
    if (rest.empty()) return Device{type, 0};
    const std::optional<int> index = rest.starts_with(':') ? parse_integer<int>(rest.substr(1)) : std::nullopt;
    if (index && *index >= 0 && *index < 1000) return Device{type, *index};
  }
  throw_error("device", detail::concat("unknown device '", text, "' (cpu, cuda, cuda:N, sim or sim:N)"));
}

void apply_threads(int threads) {
  QN_CHECK(threads >= 0, "threads", "--threads must be positive, got ", threads);
  if (threads > 0) set_num_threads(threads);
}

void apply_loop_settings(const LoopFlags& loop) {
  apply_threads(loop.threads);
  kernels::set_deterministic_algorithms(loop.deterministic);
}

nlohmann::json model_info(const std::string& arch, const nlohmann::json& config) {
  return {{"arch", arch}, {"config", config}};
}

SavedModel describe_saved_model(const std::string& path) {
  QN_CHECK(fs::is_regular_file(path), "model", "no model file at '", path, "'");
  const std::map<std::string, std::string> metadata = load_safetensors_metadata(path);
  SavedModel saved;
  try {
    if (const auto found = metadata.find(nn::quant::kCompressedMetadataKey); found != metadata.end()) {
      const nlohmann::json meta = nlohmann::json::parse(found->second);
      saved.arch = meta.at("model").at("arch").get<std::string>();
      saved.config = meta.at("model").at("config");
      saved.compressed = true;
    } else if (const auto info = metadata.find("quantnoise"); info != metadata.end()) {
      const nlohmann::json meta = nlohmann::json::parse(info->second);
      saved.arch = meta.at("model_name").get<std::string>();
      saved.config = meta.at("model_config");
    } else {
      throw_error(
          "model",
          detail::concat("'", path, "' is neither a qn checkpoint nor a compressed model (no quantnoise metadata)"));
    }
  } catch (const nlohmann::json::exception& e) {
    throw_error("model", detail::concat("'", path, "' has malformed metadata: ", e.what()));
  }
  QN_CHECK(!saved.arch.empty(), "model", "'", path, "' names no model");
  return saved;
}

nn::quant::IpqConfig load_ipq_stages(const std::string& path, const nn::Module& model) {
  nn::quant::IpqConfig stages = nn::quant::IpqConfig::load(path);
  for (int64_t stage = 0; stage < stages.num_stages(); ++stage) (void)nn::quant::select_stage(model, stages, stage);
  return stages;
}

models::BuiltModel load_saved_model(const std::string& path, const SavedModel& saved) {
  models::BuiltModel built = models::build_model(saved.arch, models::without_quant_noise(saved.arch, saved.config));
  if (saved.compressed) {
    nn::quant::load_compressed(path, *built.module);
    return built;
  }
  const SafetensorsContent content = load_safetensors(path);
  nlohmann::json extra;
  try {
    extra = nlohmann::json::parse(content.metadata.at("quantnoise")).value("extra", nlohmann::json());
  } catch (const nlohmann::json::exception& e) {
    throw_error("model", detail::concat("'", path, "' has malformed metadata: ", e.what()));
  }
  if (extra.is_object() && extra.contains("ipq")) train::restore_pq_layers(*built.module, extra);
  std::vector<NamedTensor> state;
  for (const NamedTensor& t : content.tensors) {
    if (t.name.starts_with("model.")) state.push_back({t.name.substr(6), t.tensor});
  }
  built.module->load_state_dict(state, true);
  return built;
}

}  // namespace qn::tools

namespace qn::tools {

std::string format_metrics(const train::Metrics& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    char text[64];
    std::snprintf(text, sizeof text, "%.4f", value);
    out += (out.empty() ? "" : " | ") + name + " " + text;
  }
  return out;
}

nlohmann::json metrics_json(const train::Metrics& metrics) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : metrics) out[name] = value;
  return out;
}

train::Metrics evaluate(tasks::Task& task, nn::Module& model, const std::string& split) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const train::Metrics metrics = task.evaluate_split(split);
  if (was_training) model.train();
  return metrics;
}

}  // namespace qn::tools
