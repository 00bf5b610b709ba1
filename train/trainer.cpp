#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "autograd/anomaly.h"
#include "autograd/ops.h"
#include "core/atomic_file.h"
#include "core/autograd_meta.h"
#include "kernels/join.h"
#include "nn/quant/quant_noise.h"
#include "train/clip.h"
#include "train/progress.h"
#include "train/stop_signal.h"

namespace qn::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

Trainer::Trainer(nn::Module& model, Optimizer& optimizer, const LrSchedule* schedule, Generator& generator,
                 TrainingTask& task, CheckpointInfo identity, TrainerOptions options)
    : model_(model),
      optimizer_(optimizer),
      schedule_(schedule),
      generator_(generator),
      task_(task),
      identity_(std::move(identity)),
      options_(std::move(options)),
      out_(&std::cerr) {
  QN_CHECK(options_.update_freq >= 1, "Trainer", "update_freq must be >= 1, got ", options_.update_freq);
  QN_CHECK(options_.max_epochs >= 1 || options_.max_updates > 0, "Trainer",
           "nothing to do: max_epochs and max_updates are both 0");
  QN_CHECK(options_.log_interval >= 1, "Trainer", "log_interval must be >= 1, got ", options_.log_interval);
  QN_CHECK(!options_.resume || !options_.save_dir.empty(), "Trainer", "resume needs a save_dir to resume from");
  if (options_.log_path.empty() && !options_.save_dir.empty()) {
    options_.log_path = (fs::path(options_.save_dir) / "train_log.jsonl").string();
  }
  const distributed::ProcessGroup* group = options_.process_group;
  if (group != nullptr && group->runs_data_parallel()) {
    rank_ = group->rank();
    world_ = group->world_size();
    task_.set_data_parallel_rank(rank_, world_);
    take_rank0_model();
    if (rank_ != 0) {  // one display, one log
      options_.progress = ProgressStyle::kNone;
      options_.log_path.clear();
    }
  }
}

void Trainer::take_rank0_model() {
  distributed::ProcessGroup& group = *options_.process_group;
  for (NamedTensor& t : model_.named_parameters()) group.broadcast(t.tensor, 0);
  for (NamedTensor& t : model_.named_buffers()) group.broadcast(t.tensor, 0);
  reducer_.reset();  // its hooks go quiet; the new one hooks the current parameters
  reducer_ = std::make_unique<distributed::GradientReducer>(group, model_.parameters());
}

int64_t Trainer::rank_batches() const { return task_.batches_per_epoch() / world_; }

bool Trainer::stop_requested() const { return world_ > 1 ? stop_agreed_ : StopSignalGuard::requested(); }

std::string Trainer::checkpoint_path(const std::string& name) const {
  return (fs::path(options_.save_dir) / (name + ".safetensors")).string();
}

void Trainer::log_json(const std::string& event, const std::vector<std::pair<std::string, double>>& fields) {
  if (!log_) return;
  nlohmann::ordered_json record = {{"event", event}, {"epoch", progress_.epoch + 1}, {"update", progress_.num_updates}};
  for (const auto& [key, value] : fields) {
    if (std::isfinite(value)) {
      record[key] = value;
    } else {
      record[key] = std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");  // JSON has no NaN/Inf
    }
  }
  *log_ << record.dump() << '\n' << std::flush;
}

void Trainer::save(const std::string& name) {
  if (options_.save_dir.empty()) return;
  const std::string path = checkpoint_path(name);
  if (rank_ == 0) {
    save_checkpoint(path, model_, &optimizer_, generator_,
                    {identity_.model_name, identity_.model_config, progress_,
                     hooks_ ? hooks_->state() : nlohmann::json(), scaler_ ? scaler_->state() : nlohmann::json()});
  }
  if (name == "checkpoint_last") {
    last_checkpoint_ = path;
    last_checkpoint_update_ = progress_.num_updates;
  }
  log_json("checkpoint", {});
}

void Trainer::diverged(const std::string& what, double value) {
  log_json("diverged", {{what, value}});
  if (display_) display_->finish();
  std::string where = last_checkpoint_.empty() ? "no checkpoint was written yet"
                                               : "last good checkpoint: " + last_checkpoint_ + " (update " +
                                                     std::to_string(last_checkpoint_update_) + ")";
  throw_error(
      "Trainer",
      detail::concat(what, " is ", value, " at update ", progress_.num_updates + 1, " (epoch ", progress_.epoch + 1,
                     ", batch ", progress_.data_position, "); ", where,
                     ". Resume from it with a lower learning rate, or skip such updates (on_non_finite = skip)"));
}

// Micro-batch m = update * update_freq + i draws its weight noise from blocks 2^63 + m 2^32 of the run's
// seed: past the ranks' own streams (2^48 r, see fit()), the same on every rank and after any resume.
void Trainer::weight_noise_stream(int64_t micro_batch) {
  constexpr uint64_t kFirst = uint64_t{1} << 63, kBlocksPerMicroBatch = uint64_t{1} << 32;
  const uint64_t m = static_cast<uint64_t>(progress_.num_updates * options_.update_freq + micro_batch);
  QN_CHECK(m < (uint64_t{1} << 31), "Trainer", "weight-noise stream exhausted at micro-batch ", m);
  weight_noise_.manual_seed(generator_.seed());
  weight_noise_.set_offset(kFirst + m * kBlocksPerMicroBatch);
}

bool Trainer::run_update() {
  const int64_t available = rank_batches() - progress_.data_position;
  const int64_t micro_batches = std::min<int64_t>(options_.update_freq, available);
  if (hooks_) {
    hooks_->before_update(progress_.num_updates, optimizer_);
    // An iPQ stage switch replaced weights by centroids and codes, clustered on rank 0 (the others only
    // took their shapes, IpqScheduleOptions::cluster): rank 0's go to all, and the reducer follows the new
    // parameters.
    if (reducer_ && !reducer_->reduces(model_.parameters())) take_rank0_model();
  }
  if (schedule_) schedule_->apply(optimizer_, progress_.num_updates);
  optimizer_.zero_grad();

  UpdateOutcome update = accumulate_gradients(micro_batches);
  settle(update);
  progress_.data_position += micro_batches;
  if (!update.finite || update.overflowed) {
    optimizer_.zero_grad();
    ++result_.skipped_updates;
    if (update.overflowed) {
      ++result_.overflowed_updates;
      log_json("overflow", {{"loss_scale", scaler_->scale()}});
    } else {
      log_json("skip", {});
    }
    return false;
  }
  optimizer_.step();
  ++progress_.num_updates;
  window_.loss_sum += update.loss_sum;
  window_.samples += update.samples;
  window_.last_grad_norm = update.grad_norm;
  return true;
}

Trainer::UpdateOutcome Trainer::accumulate_gradients(int64_t micro_batches) {
  UpdateOutcome update;
  // With several ranks every micro-batch runs even after a non-finite loss: each rank must issue the same
  // collectives; the ranks agree on the outcome in settle().
  for (int64_t i = 0; i < micro_batches && (update.finite || world_ > 1); ++i) {
    weight_noise_stream(i);
    const nn::quant::WeightNoiseGeneratorScope noise_scope(&weight_noise_);
    MicroBatchLoss out;
    {
      const AutocastGuard autocast(options_.amp);
      out = task_.train_loss((progress_.data_position + i) * world_ + rank_);
    }
    const double value = out.loss.item<double>();  // the micro-batch's one read
    if (!std::isfinite(value) && world_ == 1) {
      if (options_.on_non_finite == NonFiniteLoss::kStop) {
        progress_.data_position += i;
        diverged("loss", value);
      }
      update.finite = false;
      break;
    }
    update.finite = update.finite && std::isfinite(value);
    update.loss_sum += value * static_cast<double>(out.samples);
    update.samples += out.samples;
    if (reducer_) reducer_->set_sync(i + 1 == micro_batches);
    Tensor loss = micro_batches == 1 ? out.loss : mul(out.loss, 1.0 / static_cast<double>(micro_batches));
    if (scaler_) loss = scaler_->scale_loss(loss);
    loss.backward();
  }
  return update;
}

// What the host must know before stepping, gathered on the device and read back once: the ranks' agreement (their
// loss, and whether any saw a non-finite loss or a stop signal), whether the gradients overflowed the loss scale,
// and their norm for clipping. The gradients reduced over ranks are the same on each, so every rank sees the same
// overflow and norm.
void Trainer::settle(UpdateOutcome& update) {
  std::vector<Tensor> status;
  if (reducer_) {
    reducer_->finish();
    Tensor agreed =
        from_vector(std::vector<double>{update.finite ? update.loss_sum : 0.0, static_cast<double>(update.samples),
                                        update.finite ? 0.0 : 1.0, StopSignalGuard::requested() ? 1.0 : 0.0})
            .to(options_.process_group->device());
    distributed::all_reduce_sum(*options_.process_group, agreed);
    status.push_back(agreed);
  }
  const bool unscaled = update.finite && scaler_;
  if (unscaled) status.push_back(scaler_->unscale(model_.parameters()).reshape({1}));
  const bool clipped = update.finite && options_.clip_norm > 0;
  if (clipped) status.push_back(clip_grad_norm_(model_.parameters(), options_.clip_norm).reshape({1}));
  if (status.empty()) return;
  const Tensor host = kernels::cat(status, 0).to(Device::cpu());  // the update's one read
  const double* read = host.data_ptr<double>();
  if (reducer_) {
    update.loss_sum = read[0];
    update.samples = static_cast<int64_t>(read[1]);
    update.finite = read[2] == 0.0;
    stop_agreed_ = read[3] > 0.0;
    read += 4;
    if (!update.finite && options_.on_non_finite == NonFiniteLoss::kStop) {
      diverged("loss on some rank", std::nan(""));
    }
  }
  if (unscaled) {
    const double peak = *read++;
    if (update.finite) {
      update.overflowed = !std::isfinite(peak);
      scaler_->update(update.overflowed);
    }
  }
  if (clipped && update.finite && !update.overflowed) {
    update.grad_norm = *read;
    if (!std::isfinite(update.grad_norm)) {
      if (options_.on_non_finite == NonFiniteLoss::kStop) diverged("gradient norm", update.grad_norm);
      update.finite = false;
    }
  }
}

void Trainer::after_update(int64_t batches_per_epoch) {
  const int64_t n = progress_.num_updates;
  if (display_) display_->show(progress_state(batches_per_epoch));
  if (n % options_.log_interval == 0) {
    const ProgressState s = progress_state(batches_per_epoch);
    std::vector<std::pair<std::string, double>> fields = {{"loss", s.loss},
                                                          {"lr", s.lr},
                                                          {"grad_norm", window_.last_grad_norm},
                                                          {"samples_per_s", s.samples_per_second},
                                                          {"elapsed_s", seconds_since(run_start_)}};
    if (scaler_) fields.emplace_back("loss_scale", scaler_->scale());
    log_json("train", fields);
    if (display_ && !display_->is_bar()) display_->line(ProgressDisplay::format(s));
    window_ = Window{};
  }
  if (options_.eval_interval_updates > 0 && n % options_.eval_interval_updates == 0) evaluate();
  if (options_.save_interval_updates > 0 && n % options_.save_interval_updates == 0) save("checkpoint_last");
}

// Evaluation and its log lines belong to the epoch just finished; the checkpoint starts the next.
void Trainer::end_epoch() {
  if (options_.eval_each_epoch && last_eval_update_ != progress_.num_updates) evaluate();
  ++progress_.epoch;
  progress_.data_position = 0;
  save("checkpoint_last");
}

void Trainer::evaluate() {
  model_.eval();
  Metrics metrics;
  {
    NoGradGuard no_grad;
    const AutocastGuard autocast(options_.amp);
    metrics = task_.evaluate();
  }
  model_.train();
  last_eval_update_ = progress_.num_updates;
  result_.last_eval = metrics;
  log_json("valid", {metrics.begin(), metrics.end()});
  std::string text =
      "valid | epoch " + std::to_string(progress_.epoch + 1) + " | update " + std::to_string(progress_.num_updates);
  for (const auto& [name, value] : metrics) {
    char buffer[96];
    std::snprintf(buffer, sizeof(buffer), " | %s %.6g", name.c_str(), value);
    text += buffer;
  }
  say(text);
  maybe_save_best(metrics);
}

void Trainer::maybe_save_best(const Metrics& metrics) {
  if (options_.best_metric.empty()) return;
  for (const auto& [name, value] : metrics) {
    if (name != options_.best_metric || !std::isfinite(value)) continue;
    const bool better = !best_value_ || (options_.maximize_best_metric ? value > *best_value_ : value < *best_value_);
    if (better) {
      best_value_ = value;
      save("checkpoint_best");
    }
  }
}

ProgressState Trainer::progress_state(int64_t batches_per_epoch) const {
  ProgressState s;
  s.epoch = progress_.epoch + 1;
  s.batch = progress_.data_position;
  s.batches_per_epoch = batches_per_epoch;
  s.num_updates = progress_.num_updates;
  s.loss = window_.samples > 0 ? window_.loss_sum / static_cast<double>(window_.samples) : std::nan("");
  s.lr = optimizer_.groups().empty() ? 0.0 : optimizer_.groups()[0].lr;
  const double window_seconds = seconds_since(window_.start);
  s.samples_per_second = window_seconds > 0 ? static_cast<double>(window_.samples) / window_seconds : 0.0;
  // ETA: this run's pace so far times the updates left.
  const int64_t done = progress_.num_updates - first_update_;
  if (done > 0) {
    const int64_t f = options_.update_freq;
    // In doubles: a huge max_epochs (no real limit) must not overflow into "nothing left".
    double left = std::numeric_limits<double>::infinity();
    if (options_.max_epochs > 0) {
      const auto per_epoch = static_cast<double>((batches_per_epoch + f - 1) / f);
      left = static_cast<double>(options_.max_epochs - progress_.epoch) * per_epoch -
             static_cast<double>(progress_.data_position / f);
    }
    if (options_.max_updates > 0)
      left = std::min(left, static_cast<double>(options_.max_updates - progress_.num_updates));
    if (std::isfinite(left))
      s.eta_seconds = seconds_since(run_start_) / static_cast<double>(done) * std::max(left, 0.0);
  }
  return s;
}

void Trainer::say(const std::string& text) {
  if (display_) display_->line(text);
}

void Trainer::resume_if_asked() {
  if (!options_.resume) return;
  // A run killed while writing a checkpoint left its temporary; the checkpoint it was replacing is whole.
  if (rank_ == 0 && fs::is_directory(options_.save_dir)) remove_unfinished_writes(options_.save_dir, "checkpoint");
  const std::string path = checkpoint_path("checkpoint_last");
  if (!fs::exists(path)) {
    say("no checkpoint in " + options_.save_dir + " to resume from; starting from scratch");
    return;
  }
  // The scaler's state is checked before anything changes. A checkpoint of a run without one leaves it at
  // init_scale.
  std::optional<DynamicLossScaler> scaler = scaler_;
  const auto prepare = [&](const CheckpointInfo& info) {
    if (scaler && !info.loss_scale.is_null()) scaler->load_state(info.loss_scale);
    if (hooks_) hooks_->restore(info.extra, optimizer_);
  };
  progress_ =
      load_checkpoint(path, model_, &optimizer_, generator_, identity_.model_name, identity_.model_config, prepare)
          .progress;
  scaler_ = scaler;
  last_checkpoint_ = path;
  last_checkpoint_update_ = progress_.num_updates;
  say("resumed from " + path + " at update " + std::to_string(progress_.num_updates) + " (epoch " +
      std::to_string(progress_.epoch + 1) + ", batch " + std::to_string(progress_.data_position) + ")");
}

// A resumed run appends to its log; a fresh one starts it anew.
void Trainer::open_log(bool append) {
  log_.reset();
  if (options_.log_path.empty()) return;
  // A run killed mid-line left half a JSON line: the resumed run's lines start on a fresh one.
  if (append && fs::exists(options_.log_path)) drop_unfinished_last_line(options_.log_path);
  log_ = std::make_unique<std::ofstream>(options_.log_path, append ? std::ios::app : std::ios::trunc);
  QN_CHECK(log_->good(), "Trainer", "cannot open the log '", options_.log_path, "' for writing");
}

TrainingResult Trainer::stop(TrainingOutcome outcome) {
  if (display_) display_->finish();
  result_.outcome = outcome;
  result_.progress = progress_;
  result_.last_checkpoint = last_checkpoint_;
  return result_;
}

TrainingResult Trainer::fit() {
  std::optional<StopSignalGuard> signals;
  if (options_.handle_signals) signals.emplace();
  std::optional<autograd::DetectAnomaly> anomaly;
  if (options_.detect_anomaly) anomaly.emplace(model_.named_parameters());
  result_ = {};
  progress_ = {};
  last_checkpoint_.clear();
  best_value_.reset();
  last_eval_update_ = -1;
  display_.reset();
  if (options_.progress != ProgressStyle::kNone) {
    const bool bar = options_.progress == ProgressStyle::kBar ||
                     (options_.progress == ProgressStyle::kAuto && out_ == &std::cerr && stderr_is_terminal());
    display_ = std::make_unique<ProgressDisplay>(*out_, bar);
  }
  if (!options_.save_dir.empty()) fs::create_directories(options_.save_dir);
  scaler_.reset();
  if (options_.loss_scale) scaler_.emplace(*options_.loss_scale);
  resume_if_asked();
  // Each rank draws its Quant-Noise masks and dropout from its own part of the seed's Philox stream: rank r
  // from 2^48 r blocks past rank 0, which draws what one process would (also after a resume, which restores
  // rank 0's position on every rank).
  if (world_ > 1) generator_.set_offset(generator_.offset() + (static_cast<uint64_t>(rank_) << 48));
  open_log(!last_checkpoint_.empty());

  run_start_ = Clock::now();
  first_update_ = progress_.num_updates;
  window_ = Window{};
  model_.train();
  const auto limit_reached = [&] { return options_.max_updates > 0 && progress_.num_updates >= options_.max_updates; };
  while ((options_.max_epochs == 0 || progress_.epoch < options_.max_epochs) && !limit_reached()) {
    task_.begin_epoch(progress_.epoch);
    const int64_t batches = rank_batches();
    QN_CHECK(batches > 0, "Trainer", "the task has no batches in epoch ", progress_.epoch + 1,
             world_ > 1 ? detail::concat(" for each of ", world_, " ranks (", task_.batches_per_epoch(), " in all)")
                        : std::string());
    while (progress_.data_position < batches && !limit_reached()) {
      if (run_update()) after_update(batches);
      if (stop_requested()) {
        say("signal " + std::to_string(StopSignalGuard::signal_number()) + " received: saved at update " +
            std::to_string(progress_.num_updates) + " and stopped");
        save("checkpoint_last");
        return stop(TrainingOutcome::kInterrupted);
      }
    }
    if (progress_.data_position >= batches) end_epoch();
  }
  const bool evaluates = options_.eval_each_epoch || options_.eval_interval_updates > 0;
  if (evaluates && last_eval_update_ != progress_.num_updates) evaluate();
  if (last_checkpoint_.empty() || last_checkpoint_update_ != progress_.num_updates) save("checkpoint_last");
  return stop(TrainingOutcome::kFinished);
}

}  // namespace qn::train
