#include "train/ipq.h"

#include <cmath>

namespace qn::train {
namespace {

constexpr const char* kOp = "iPQ";

}  // namespace

std::vector<int64_t> ipq_stage_updates(int64_t max_updates, int64_t stages) {
  QN_CHECK(stages >= 1, kOp, "needs at least one stage, got ", stages);
  QN_CHECK(max_updates > 0 && max_updates % stages == 0, kOp, "max_updates (", max_updates,
           ") must be a positive multiple of the number of stages (", stages, "): each stage fine-tunes for ",
           "max_updates / stages updates");
  std::vector<int64_t> updates;
  for (int64_t k = 0; k < stages; ++k) updates.push_back(k * (max_updates / stages));
  return updates;
}

IpqSchedule::IpqSchedule(nn::Module& model, nn::quant::IpqConfig config, IpqScheduleOptions options)
    : model_(model), config_(std::move(config)), options_(std::move(options)) {
  if (options_.max_updates > 0) stage_updates_ = ipq_stage_updates(options_.max_updates, config_.num_stages());
  if (!options_.param_groups) {
    options_.param_groups = [](const nn::Module& m, const Optimizer& previous) {
      ParamGroup all;
      all.params = m.parameters();
      if (!previous.groups().empty()) {
        all.lr = previous.groups()[0].lr;
        all.weight_decay = previous.groups()[0].weight_decay;
      }
      return std::vector<ParamGroup>{all};
    };
  }
}

void IpqSchedule::before_update(int64_t num_updates, Optimizer& optimizer) {
  // Catches up when a run resumes past a boundary it had not reached in its checkpoint.
  while (stages_done_ < static_cast<int64_t>(stage_updates_.size()) &&
         num_updates >= stage_updates_[static_cast<size_t>(stages_done_)]) {
    quantize_next_stage(&optimizer, num_updates);
  }
}

const IpqStageReport& IpqSchedule::quantize_next_stage(Optimizer* optimizer, int64_t update) {
  QN_CHECK(stages_done_ < config_.num_stages(), kOp, "all ", config_.num_stages(), " stages are done");
  IpqStageReport report;
  report.stage = stages_done_;
  report.update = update;
  for (const auto& [name, layer] : nn::quant::select_stage(model_, config_, stages_done_)) {
    nn::PqOptions pq = config_.options_for(name, *layer);
    if (!options_.cluster) {
      layer->make_product_quantized(pq.block_size, pq.kmeans.n_centroids, pq.mean_gradient);
      report.layers.push_back({name, pq.block_size, pq.kmeans.n_centroids, std::nan(""), false});
      continue;
    }
    pq.kmeans.generator = options_.generator;
    const nn::quant::PqCodebook book = layer->quantize(pq);
    report.layers.push_back({name, pq.block_size, pq.kmeans.n_centroids,
                             book.objective.empty() ? 0.0 : book.objective.back(), book.repair_failed});
  }
  ++stages_done_;
  if (optimizer) reset_optimizer(*optimizer);
  reports_.push_back(std::move(report));
  return reports_.back();
}

void IpqSchedule::reset_optimizer(Optimizer& optimizer) const {
  optimizer.reset(options_.param_groups(model_, optimizer));
}

nlohmann::json IpqSchedule::state() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& [name, layer] : nn::quantizable_layers(model_)) {
    if (!layer->is_product_quantized()) continue;
    const nn::PqWeight& pq = layer->pq();
    layers.push_back({{"name", name},
                      {"block_size", pq.layout.block_size},
                      {"n_centroids", pq.n_centroids()},
                      {"mean_gradient", pq.mean_gradient}});
  }
  return {{"ipq", {{"stages_done", stages_done_}, {"layers", layers}}}};
}

int64_t restore_pq_layers(nn::Module& model, const nlohmann::json& state) {
  QN_CHECK(state.is_object() && state.contains("ipq"), kOp,
           "the checkpoint holds no iPQ state: it was not written by a run with a quantization config");
  const nlohmann::json& ipq = state.at("ipq");
  try {
    const auto done = ipq.at("stages_done").get<int64_t>();
    const auto layers = nn::quantizable_layers(model);
    for (const nlohmann::json& entry : ipq.at("layers")) {
      const auto name = entry.at("name").get<std::string>();
      const auto found = layers.find(name);
      QN_CHECK(found != layers.end(), kOp, "the checkpoint's PQ layer '", name, "' is not a quantizable layer here");
      if (found->second->is_product_quantized()) continue;
      found->second->make_product_quantized(entry.at("block_size").get<int64_t>(),
                                            entry.at("n_centroids").get<int64_t>(),
                                            entry.at("mean_gradient").get<bool>());
    }
    return done;
  } catch (const nlohmann::json::exception& e) {
    throw_error(kOp, detail::concat("malformed iPQ state in the checkpoint: ", e.what()));
  }
}

void IpqSchedule::restore(const nlohmann::json& state, Optimizer& optimizer) {
  const int64_t done = restore_pq_layers(model_, state);
  QN_CHECK(done >= 0 && done <= config_.num_stages(), kOp, "the checkpoint is at stage ", done, " of a config with ",
           config_.num_stages(), " stages");
  stages_done_ = done;
  reset_optimizer(optimizer);
}

}  // namespace qn::train
