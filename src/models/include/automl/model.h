// Model families: the executor interface and the registry in which each family
// declares, once, its Model Card (name, structure, description, tasks, parameters).
//
//   const ModelEntry& e = model_registry().get("xgboost");
//   auto model = e.create(with_defaults(e.params, {{"max_depth", 4}}));
//   model->fit(train_x, train_y, &valid_x, &valid_y, ctx);   // ctx.on_iteration gets the log
//   std::vector<double> p = model->predict(test_x);          // rows x n_outputs
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/features.h"
#include "automl/params.h"
#include "automl/registry.h"
#include "automl/task.h"

namespace automl {

struct FitContext {
  Task task = Task::kRegression;
  int n_classes = 0;
  std::string metric;             // the run's metric (roc_auc, rmse, ...)
  int threads = 2;
  uint64_t seed = 0;
  Clock::time_point deadline = Clock::time_point::max();
  int max_iterations = -1;        // resource cap for iterative families (-1 = declared)
  int fixed_iterations = -1;      // train exactly this many (refit); disables early stopping
  // Called after each iteration; return false to stop training now.
  std::function<bool(const IterationLog&)> on_iteration;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix* valid_x,
                   const std::vector<double>* valid_y, const FitContext& ctx) = 0;
  // rows x n_outputs, row-major: class probabilities, or the value for regression.
  virtual std::vector<double> predict(const FeatureMatrix& x) const = 0;
  virtual void save(const std::filesystem::path& dir) const = 0;
  virtual void load(const std::filesystem::path& dir) = 0;
  // Iterations kept after early stopping (0 for non-iterative families).
  virtual int iterations() const { return 0; }
  // Why training stopped: "completed", "early stopping", "deadline".
  virtual std::string stop_reason() const { return "completed"; }
  // Name of the metric in the training log ("" when there is no log).
  virtual std::string log_metric() const { return ""; }
};

// What a fitted model will cost, estimated before any fit: its saved size and
// its prediction time per row.
struct Footprint {
  double model_mb = 0;
  double predict_ms_per_row = 0;
};

struct ModelEntry {
  std::string name;
  std::string structure;
  std::string description;
  std::vector<Task> tasks;
  std::vector<ParamSpec> params;
  Encoding encoding = Encoding::kNative;
  std::string resource_param;  // the iteration count successive halving scales ("" if none)
  bool explainable = false;    // a person can read how it decides (coefficients, a constant)
  bool baseline = false;       // the reference every model must beat (it ignores the features)
  // From the training rows and encoded features; unset where the cost does not grow
  // with the data (a run leaves out a family whose estimate breaks a requirement).
  std::function<Footprint(double rows, double features)> footprint;
  std::function<std::unique_ptr<Model>(const nlohmann::json& params, Task task)> create;

  bool supports(Task t) const;
  const ParamSpec* param(const std::string& key) const;
  // The printed Model Card.
  nlohmann::json card() const;
};

Registry<ModelEntry>& model_registry();

}  // namespace automl
