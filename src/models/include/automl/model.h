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
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
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
  // The caller predicts every row of valid_x after fit and `deadline` does not allow for
  // that yet (the family's prediction pace is not known): a model that can time its own
  // prediction stops training early enough for it.
  bool predict_valid_after = false;
  int max_iterations = -1;        // resource cap for iterative families (-1 = declared)
  int fixed_iterations = -1;      // train exactly this many (refit); disables early stopping
  // Called after each iteration; return false to stop training now.
  std::function<bool(const IterationLog&)> on_iteration;
};

// Exact additive contributions of each feature to a model's margin, for the rows of a
// FeatureMatrix (Model::contributions). `values` is rows x outputs x (features + 1),
// row-major, the last entry of each group the bias (the margin with no feature known);
// each group sums to the margin. Outputs: one for regression and binary (the log-odds
// of class index 1), one per class for multiclass (the raw score before the softmax).
struct Contributions {
  std::size_t rows = 0, features = 0;
  int outputs = 1;
  std::vector<double> values;
  // rows x outputs: the margin as the model itself predicts it (not summed from `values`).
  std::vector<double> margin;
  std::string scale;  // what the margin is, in words ("log-odds of class index 1", ...)
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
  virtual FitStop stop_reason() const { return FitStop::kCompleted; }
  // False when the deadline came before a non-iterative fit learned anything, so the
  // model would only predict its prior (the search counts such a fold as one that never
  // ran, as it does an iterative fit cut before its first round).
  virtual bool learned() const { return true; }
  // Name of the metric in the training log ("" when there is no log).
  virtual std::string log_metric() const { return ""; }
  // Exact per-feature contributions (tree SHAP for boosted trees). Unset by default:
  // the family has no exact method, and callers fall back to a model-agnostic one.
  virtual std::optional<Contributions> contributions(const FeatureMatrix& x) const {
    (void)x;
    return std::nullopt;
  }
  // Total split gain of each of `n_features` feature columns over the trees a
  // prediction uses (empty: the family has no such measure).
  virtual std::vector<double> feature_gain(std::size_t n_features) const {
    (void)n_features;
    return {};
  }
  // About how many bytes save() writes, when that can be known for far less than a save
  // costs (0: small or not known). The run prices saving its final model by it.
  virtual double saved_bytes() const { return 0; }
};

// What a fitted model will cost, estimated before any fit: its saved size and
// its prediction time per row.
struct Footprint {
  double model_mb = 0;
  double predict_ms_per_row = 0;
};

// The data a family would train on, for its memory estimate (ModelEntry::memory_bytes).
struct DataShape {
  double rows = 0;        // training rows
  double columns = 0;     // feature columns in the family's encoding (one-hot: a column a level)
  double text_bytes = 0;  // bytes of free text over those rows (what a text family reads)
};

// Bytes of memory a family's search and refit add beyond the encoded matrices the run
// holds for it when the family declares no estimate: a float per cell and row, doubled.
inline double default_memory_bytes(const DataShape& s) { return 2.0 * 4.0 * s.rows * s.columns + (16 << 20); }

// Tables up to this many rows are "small": families whose cost grows with rows^2
// (a kernel SVM, nearest neighbours) declare it as their row limit.
constexpr std::size_t kSmallTableRows = 3000;

// A user's limits on a fitted model (<= 0: none).
struct ModelLimits {
  double max_model_mb = -1;
  double max_predict_ms_per_row = -1;
};

// How a family's resource (ModelEntry::resource_param) is counted.
enum class ResourceUnit { kNone, kRounds, kEpochs };

// What a family's opening settings are chosen from. Without a card (the search's
// own opening) only the task and the rows are known.
struct PortfolioContext {
  Task task = Task::kRegression;
  std::size_t rows = 0;
  const DataCard* card = nullptr;
  bool images = false;  // the image opening: a family that reads images is assigned
  ModelLimits limits;
};

// One opening setting. `order` places it among every family's settings, cheap
// first, on one shared scale: 0 the baseline; 10 a text model's first setting, 15
// the text networks, 20 more text settings; 30 the linear opening; 40 the
// small-table references; 45 the image networks; 50 boosted trees (a warm start
// from the knowledge base follows its family's first setting); 60 and 70 the
// second settings of the cheaper families; 100 the table networks.
struct PortfolioSetting {
  double order = 0;
  nlohmann::json params = nlohmann::json::object();
  std::string why;
};

// The built-in planner's assignment of a family to a Data Card: its rank (lower
// first) and the reason it gives.
struct PlannerRank {
  int rank = 2;
  std::string why = "registered family that supports the task";
};

// A prior on a family's final score before its first trial, as the share of the gap
// to a perfect score it closes over the best finished model (else over the
// baseline), for metrics bounded by 1 that grow upwards.
struct GapPrior {
  double over_best = 0, over_best_sd = 0;
  std::string why_best;
  double over_baseline = 0, over_baseline_sd = 0;
  std::string why_baseline;
};

// The validation fits one trial makes at this many rows (the plan
// make_validation_plan chooses by size).
inline double planned_fits_per_trial(double rows) {
  return rows <= 1000 ? 10 : rows <= 3000 ? 5 : rows <= 10000 ? 3 : 1;
}

// What a family's search range may depend on: the task, the rows one validation fold
// trains on, and for classes their shares of the rows.
struct SearchData {
  Task task = Task::kRegression;
  double fit_rows = 0;
  std::vector<double> class_shares;
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
  bool network = false;        // trained by the networks' module (automl/networks.h), loaded on first use
  // From the training rows and encoded features; unset where the cost does not grow
  // with the data (a run leaves out a family whose estimate breaks a requirement).
  std::function<Footprint(double rows, double features)> footprint;
  std::function<std::unique_ptr<Model>(const nlohmann::json& params, Task task)> create;
  // Narrows the range the random search draws its tuned parameters from on this data
  // (unset: the declared tuning ranges), where part of a range cannot fit these rows (a
  // leaf weight no fold's rows can reach makes a tree with no split). Values set by hand,
  // a planner or the knowledge base are only checked against the hard bounds.
  std::function<void(const SearchData& data, std::vector<ParamSpec>& specs)> narrow_search;
  // Bytes a fit on `shape` holds beyond its encoded input matrix (the library's own
  // copy of the data, gradients, tensors, the fitted model), calibrated against peak
  // resident memory measured on real fits; the family's file says where its constants
  // come from. The run leaves out a family, or trains on fewer rows, when this would
  // break its memory limit (--memory). Unset: default_memory_bytes.
  std::function<double(const DataShape& shape)> memory_bytes;

  // What the planners and the search know of the family; no code outside the
  // family's file names it.
  // The kinds of data (a Data Card's modality: tabular, text, image) its opening
  // settings are for.
  std::vector<std::string> modalities = {"tabular", "text", "image"};
  // Rows above which the built-in planner neither assigns nor proposes it (0 = no
  // limit), unless nothing else can run; its `rank` says why.
  std::size_t max_rows = 0;
  // The built-in planner's rank and reason for it on a Data Card (unset: a text
  // family ranks by `text_rank`, behind where text is not the main feature; any
  // other gets the default PlannerRank).
  std::function<PlannerRank(const DataCard& card)> rank;
  int text_rank = 0;
  // Its opening settings, cheap first (see PortfolioSetting::order); the network
  // families size theirs to the Data Card and the limits here.
  std::function<std::vector<PortfolioSetting>(const PortfolioContext& ctx)> portfolio;
  // The knowledge base's best settings of the family on the nearest datasets join
  // the opening.
  bool warm_start = false;
  // Seconds a whole trial takes before any of its trials has finished, from the
  // Data Card (unset, or 0: no rule).
  std::function<double(const DataCard& card, const nlohmann::json& params)> cost_prior_seconds;
  ResourceUnit resource_unit = ResourceUnit::kNone;
  // The step size whose halving gives a slower, finer fit of the best setting (the
  // planner's refinement; "" = none), and its default for the learned curves.
  std::string step_param;
  // Floating-point operations per row of one forward pass, for a network's first
  // guess of the seconds (params with defaults filled in).
  std::function<double(const DataCard& card, const nlohmann::json& params)> flops_per_row;
  std::optional<GapPrior> gap_prior;
  // The random search: whether it samples the family, whether it can be the family
  // most random settings go to (the planner's first choice with a large space),
  // whether it takes that place when the planner names none, the share it then
  // gets, and the most random settings it gets (-1 = no cap; a space of one knob is
  // covered by a few).
  bool random_search = true;
  bool search_lead = true;
  bool search_lead_by_default = false;
  double search_lead_share = 0.85;
  int random_max = -1;
  // Settings under which the family serves as the brain's regressor over
  // meta-features (null: it does not).
  nlohmann::json meta_learner_params;
  // Its training log's metric names: which lie on a run metric's own scale (log
  // name, run metric), and which grow upwards.
  std::vector<std::pair<std::string, std::string>> log_metric_scale;
  std::vector<std::string> log_metrics_higher;

  bool serves(const std::string& modality) const;

  bool supports(Task t) const;
  const ParamSpec* param(const std::string& key) const;
  // The printed Model Card.
  nlohmann::json card() const;
};

Registry<ModelEntry>& model_registry();

// Whether `family` is a registered baseline (a name the registry does not know is not).
bool is_baseline_family(const std::string& family);

// A setting of `e` as a point for comparing settings of one family: each tuned int or
// real parameter scaled to [0, 1] over its tuning range (log where declared), each
// choice as 0/1 per level, each boolean as 0/1, then the data-processing variant
// (kPrepParam) as 0/1 per variant. The round or epoch cap is left to the caller.
std::vector<double> tuning_point(const ModelEntry& e, const nlohmann::json& params);

// Whether a training log's metric, as some family names it, lies on the scale of
// the run metric `metric`, and whether it grows upwards.
bool log_on_metric_scale(const std::string& log_metric, const std::string& metric);
bool log_metric_higher(const std::string& log_metric);

}  // namespace automl
