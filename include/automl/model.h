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

#include "automl/params.h"
#include "automl/registry.h"
#include "automl/task.h"

namespace automl {

// Dense row-major features as a model sees them: NaN is missing; a column with
// n_categories[j] > 0 holds category codes 0..n-1.
struct FeatureMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<float> values;
  std::vector<std::string> names;
  std::vector<int> n_categories;
  // Encoding::kText: one document per row (the row's text columns joined by a newline).
  std::vector<std::string> texts;
  // Encoding::kImage: `values` holds each row's pixels, channel-major (c, y, x), scaled to [0, 1].
  int image_channels = 0, image_height = 0, image_width = 0;

  float at(std::size_t r, std::size_t c) const { return values[r * cols + c]; }
};

// How a family wants its features prepared (src/data/preprocess.cpp).
enum class Encoding {
  kNative,    // numbers as they are (NaN kept), categories as codes: trees
  kOneHot,    // imputed, standardised numbers and one-hot categories: linear models
  kText,      // the raw documents in FeatureMatrix::texts: text models tokenise them themselves
  kImage,     // pixel columns as an image tensor (FeatureMatrix::image_*): convolutional networks
};

using Clock = std::chrono::steady_clock;

// One line of a real training log.
struct IterationLog {
  int iteration = 0;
  double train_metric = 0;
  double valid_metric = 0;  // NaN when there is no validation set
  double seconds = 0;       // since fit started
};

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
