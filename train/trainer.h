// The training loop: updates from micro-batches a task supplies, with gradient accumulation, clipping, LR
// schedule, evaluation, logging, checkpoints and resume. What a batch is and how its loss is computed is the
// task's business; everything about the run's bookkeeping is the Trainer's.
//
// One update = update_freq micro-batches, each loss scaled by 1/update_freq before backward, so the
// accumulated gradient is the mean of the micro-batch gradients (the last update of an epoch may take fewer
// micro-batches; it is scaled by its own count). The run's position is (epoch, micro-batches consumed in
// it, updates done); a checkpoint stores it with the model, optimizer and generator, so a resumed run
// replays the uninterrupted one bit for bit provided the task's batches are a pure function of
// (epoch, index).
//
// Data parallelism (options.process_group with more than one rank): rank r of W takes the task's batches
// r, r + W, r + 2W, ... (an epoch is batches_per_epoch / W micro-batches per rank), so W ranks with batch B see
// what one process with batch W*B sees; gradients are averaged during backward (distributed/gradient_reducer.h),
// and the ranks agree each update on the loss, on a non-finite one and on a stop signal. Parameters and buffers
// start from rank 0's, and so do iPQ's centroids and codes at each stage switch (TrainingHooks); rank 0 alone
// writes checkpoints, the log and the progress display. Tasks are built unsharded (the Trainer picks the rank's
// batches) and must not draw their batches from the generator, which gives each rank its own stream for
// dropout and other activation noise (see fit()). Quant-Noise on the weights draws from a stream of its own,
// a function of (seed, update, micro-batch) that every rank shares (see weight_noise_stream), so W ranks with
// batch B train exactly as one process with batch W*B, noise included.
#pragma once

#include <chrono>
#include <cmath>
#include <fstream>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/generator.h"
#include "nn/module.h"
#include "train/checkpoint.h"
#include "train/distributed/gradient_reducer.h"
#include "train/loss_scaler.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/progress.h"

namespace qn::train {

// Named evaluation results in a fixed order ("loss", "accuracy", ...).
using Metrics = std::vector<std::pair<std::string, double>>;

struct MicroBatchLoss {
  Tensor loss;          // a scalar still attached to the graph
  int64_t samples = 1;  // for throughput and loss averaging
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  // Called before the first micro-batch of every epoch (also a resumed one), e.g. to reshuffle from
  // (seed, epoch).
  virtual void begin_epoch(int64_t epoch) { (void)epoch; }
  virtual int64_t batches_per_epoch() const = 0;
  // The forward pass and loss of micro-batch `index` of the current epoch, in training mode.
  virtual MicroBatchLoss train_loss(int64_t index) = 0;
  // Metrics on held-out data. The Trainer has put the model in eval mode and turned off graph recording.
  virtual Metrics evaluate() { return {}; }
  // Under data parallelism, before the first epoch: this process will ask only for micro-batches rank,
  // rank + world_size, ... of each epoch, so a loader can make those, and only those, ahead of time.
  virtual void set_data_parallel_rank(int rank, int world_size) {
    (void)rank;
    (void)world_size;
  }
};

// Changes to the model at set updates (iPQ's stages), with state of their own that checkpoints carry.
class TrainingHooks {
 public:
  virtual ~TrainingHooks() = default;
  // Before each update, given the number of updates done (0 before the first); may change the model and
  // reset the optimizer.
  virtual void before_update(int64_t num_updates, Optimizer& optimizer) = 0;
  // Stored in checkpoints, and handed to restore before a resumed run's tensors load so that the model and
  // optimizer can take the shapes they were saved with.
  virtual nlohmann::json state() const = 0;
  virtual void restore(const nlohmann::json& state, Optimizer& optimizer) = 0;
};

enum class NonFiniteLoss { kStop, kSkip };
enum class ProgressStyle { kAuto, kBar, kLines, kNone };  // kAuto: a bar on a terminal, lines otherwise

struct TrainerOptions {
  int64_t max_epochs = 1;
  int64_t max_updates = 0;  // 0: no limit beyond max_epochs
  int update_freq = 1;
  double clip_norm = 0.0;  // 0: no clipping
  int64_t log_interval = 100;
  int64_t eval_interval_updates = 0;  // 0: only at the end of each epoch
  bool eval_each_epoch = true;
  int64_t save_interval_updates = 0;  // 0: only at the end of each epoch and of the run
  std::string save_dir;               // empty: no checkpoints
  std::string log_path;               // JSONL; empty: <save_dir>/train_log.jsonl when save_dir is set
  bool resume = false;                // continue from <save_dir>/checkpoint_last.safetensors when present
  // Metric whose improvement writes checkpoint_best.safetensors (empty: none), and which way is better.
  std::string best_metric;
  bool maximize_best_metric = false;
  NonFiniteLoss on_non_finite = NonFiniteLoss::kStop;
  // Mixed precision: each forward (training and evaluation) under autocast to bf16 or f16 (autograd/autocast.h);
  // the parameters stay f32. nullopt: f32 throughout.
  std::optional<DType> amp;
  // Dynamic loss scaling (train/loss_scaler.h), for narrow float types (f16 needs it): an update whose gradients
  // overflow is skipped and the scale backs off; a non-finite loss is still on_non_finite's. nullopt: none.
  std::optional<LossScalerOptions> loss_scale;
  ProgressStyle progress = ProgressStyle::kAuto;
  bool handle_signals = true;  // SIGINT/SIGTERM: save a checkpoint at the next update boundary and stop
  // Anomaly detection through the run (autograd/anomaly.h): the first op making NaN in forward, or NaN/Inf in
  // backward, stops it with an error naming the op and its module. Slow: for finding where a run diverges.
  bool detect_anomaly = false;
  distributed::ProcessGroup* process_group = nullptr;  // data parallelism (must outlive the Trainer); null: one process
};

enum class TrainingOutcome { kFinished, kInterrupted };

struct TrainingResult {
  TrainingOutcome outcome = TrainingOutcome::kFinished;
  TrainingProgress progress;
  int64_t skipped_updates = 0;     // for a non-finite loss or gradient norm, or an overflow under loss scaling
  int64_t overflowed_updates = 0;  // of those, for an overflow under loss scaling
  Metrics last_eval;
  std::string last_checkpoint;  // empty when none was written
};

class Trainer {
 public:
  // The references must outlive the Trainer. schedule may be null (the optimizer's lr stays as set).
  Trainer(nn::Module& model, Optimizer& optimizer, const LrSchedule* schedule, Generator& generator, TrainingTask& task,
          CheckpointInfo identity, TrainerOptions options);

  // Runs to max_epochs / max_updates or until SIGINT/SIGTERM. Throws qn::Error naming the update and the
  // last good checkpoint when a loss or gradient norm is NaN/Inf under NonFiniteLoss::kStop.
  TrainingResult fit();

  // Where progress lines and the bar go (default std::cerr).
  void set_output(std::ostream& out) { out_ = &out; }
  // Hooks run before each update and saved with checkpoints (must outlive the Trainer; null: none).
  void set_hooks(TrainingHooks* hooks) { hooks_ = hooks; }

  std::string checkpoint_path(const std::string& name) const;

 private:
  // Statistics since the last log line.
  struct Window {
    double loss_sum = 0.0;  // over micro-batches, of loss * samples
    int64_t samples = 0;
    double last_grad_norm = 0.0;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };

  int64_t rank_batches() const;  // micro-batches of this rank in an epoch
  void take_rank0_model();       // parameters and buffers from rank 0, and a reducer over them
  bool stop_requested() const;
  void resume_if_asked();
  void open_log(bool append);
  // What an update's micro-batches came to, and what the host learns before stepping.
  struct UpdateOutcome {
    bool finite = true;
    double loss_sum = 0.0;  // over micro-batches, of loss * samples
    int64_t samples = 0;
    bool overflowed = false;          // the gradients overflowed the loss scale
    double grad_norm = std::nan("");  // when clipping
  };
  bool run_update();                                          // false when the update was skipped
  UpdateOutcome accumulate_gradients(int64_t micro_batches);  // forward and backward of each micro-batch
  void settle(UpdateOutcome& update);  // the ranks' agreement, loss scale and clipping, read back once
  // Positions weight_noise_ for micro-batch `micro_batch` of the current update.
  void weight_noise_stream(int64_t micro_batch);
  void after_update(int64_t batches_per_epoch);
  void end_epoch();
  void evaluate();
  TrainingResult stop(TrainingOutcome outcome);
  ProgressState progress_state(int64_t batches_per_epoch) const;
  void say(const std::string& text);
  void save(const std::string& name);
  void log_json(const std::string& event, const std::vector<std::pair<std::string, double>>& fields);
  void maybe_save_best(const Metrics& metrics);
  [[noreturn]] void diverged(const std::string& what, double value);

  nn::Module& model_;
  Optimizer& optimizer_;
  const LrSchedule* schedule_;
  Generator& generator_;
  Generator weight_noise_;  // Quant-Noise masks: see weight_noise_stream
  TrainingTask& task_;
  CheckpointInfo identity_;
  TrainerOptions options_;
  std::ostream* out_;
  TrainingHooks* hooks_ = nullptr;

  // The state of one fit().
  TrainingProgress progress_;
  TrainingResult result_;
  Window window_;
  std::unique_ptr<ProgressDisplay> display_;
  std::unique_ptr<std::ofstream> log_;
  std::chrono::steady_clock::time_point run_start_;
  int64_t first_update_ = 0;  // of this fit(), for the ETA
  int64_t last_eval_update_ = -1;
  std::optional<double> best_value_;
  std::string last_checkpoint_;
  int64_t last_checkpoint_update_ = 0;
  std::optional<DynamicLossScaler> scaler_;  // options.loss_scale's

  // Data parallelism.
  int rank_ = 0;
  int world_ = 1;
  std::unique_ptr<distributed::GradientReducer> reducer_;
  bool stop_agreed_ = false;  // a stop signal reached some rank, as of the last update
};

}  // namespace qn::train
