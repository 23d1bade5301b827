// Why a pipeline predicts what it does, always on the user's own input columns (the
// encoded features that came from one column, such as its one-hot levels or its
// missing indicator, are summed back into it).
//
//   Pipeline p = Pipeline::load("runs/abc/model");
//   Table t = read_csv("new.csv", p.read_options());
//   ColumnContributions c = explain_rows(p, t);          // tree SHAP or sampled Shapley values
//   write_contributions(std::cout, c);
//
//   FeatureImportance fi = permutation_importance(p, valid_table, rows, y, "roc_auc", {});
//   write_feature_importance(run_dir / "feature_importance.csv", fi);
#pragma once

#include <cmath>
#include <filesystem>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/features.h"
#include "automl/pipeline.h"
#include "automl/table.h"

namespace automl {

// ---------------------------------------------------------------------------------
// Per-row contributions (`automl-gpt explain`).

struct ExplainOptions {
  // "auto": the model's exact method where it has one (tree SHAP for boosted trees),
  // otherwise "sampling"; "sampling": the model-agnostic estimate for every model.
  std::string method = "auto";
  // Sampling: random orders of the columns per row; an odd count is rounded up, since
  // each order is paired with its reverse.
  int permutations = 10;
  // Sampling: reference rows drawn (seeded) from `background`, or from the explained
  // table itself when it is null.
  std::size_t background_rows = 100;
  const Table* background = nullptr;
  uint64_t seed = 0;
};

// Contributions of each input column to each row's output, plus a bias: for every row
// and output, bias + the columns' values = `total`, the model's output on `scale`.
struct ColumnContributions {
  std::vector<std::string> columns;  // the pipeline's input columns, in its order
  std::vector<std::string> outputs;  // what each output is: a class, or the target's name
  std::size_t rows = 0;
  // rows x outputs x (columns + 1), row-major; the last of each group is the bias.
  std::vector<double> values;
  std::string method;  // "tree_shap" or "sampling_shapley"
  std::string scale;   // what the outputs are: "log-odds of class \"yes\"", "probability of class ...", ...

  double at(std::size_t row, std::size_t output, std::size_t column) const {
    return values[(row * outputs.size() + output) * (columns.size() + 1) + column];
  }
  double bias(std::size_t row, std::size_t output) const { return at(row, output, columns.size()); }
  double total(std::size_t row, std::size_t output) const;
};

// Throws kNotFound naming every column the pipeline was trained on that `table`
// (read from `source`) lacks, with the closest names it has.
void check_input_columns(const Pipeline& p, const Table& table);

// Contributions for every row of `table`.
//  - tree_shap (method "auto", a single model whose family computes exact values, as
//    boosted trees do): the model's own exact tree SHAP values on its margin (the
//    log-odds of the positive class, each class's raw score, or the value); they sum
//    to the margin exactly. Columns the model does not use get 0.
//  - sampling_shapley (every other model, ensembles, or method "sampling"): Shapley
//    values of the prediction (the positive class's probability, each class's
//    probability, or the value) estimated by permutation sampling with a reference row:
//    for each of `permutations` orders of the columns (each with its reverse) and a
//    reference row z drawn from the background, the columns are switched from z's
//    values to the row's one at a time and each is credited with the change in the
//    prediction; the bias is the mean prediction at the references. The values sum to
//    the row's prediction exactly; each is an estimate of the interventional Shapley
//    value. Cost: rows x permutations x (columns + 1) predictions.
ColumnContributions explain_rows(const Pipeline& p, const Table& table, const ExplainOptions& opt = {});

// CSV: row (0 = the first data row), output, one column per input column, bias, total.
// A reserved name an input column already has gets a leading "_" until it is unique.
void write_contributions(std::ostream& out, const ColumnContributions& c);

// ---------------------------------------------------------------------------------
// Permutation importance (a run's feature_importance.csv).

struct ImportanceOptions {
  int repeats = 5;              // shuffles of each column
  // More whole repeats, up to this many, while one more still fits before the deadline
  // at the measured pace (a run gives importance the time its end did not need: more
  // repeats make each column's mean drop and its spread more exact). At most `repeats`
  // when it is smaller.
  int max_repeats = 0;
  std::size_t max_rows = 2000;  // rows scored (a seeded sample)
  std::size_t shap_rows = 500;  // rows whose tree SHAP values are averaged (models that have them)
  uint64_t seed = 0;
  // Everything ends by then: fewer rows, then fewer repeats, then fewer columns are
  // measured, and the result says so.
  Clock::time_point deadline = Clock::time_point::max();
};

struct ColumnImportance {
  std::string column;
  // The drop in the metric when the column's values are shuffled among the rows (signed
  // so that positive means the column helps, whichever way the metric points): the mean
  // and the standard deviation over the repeats (NaN: not measured, or one repeat).
  double importance_mean = std::numeric_limits<double>::quiet_NaN();
  double importance_std = std::numeric_limits<double>::quiet_NaN();
  int repeats = 0;
  // Boosted trees: total split gain of the column's encoded features, and the mean over
  // rows of |its SHAP value| on the margin (summed over classes); NaN elsewhere.
  double gain = std::numeric_limits<double>::quiet_NaN();
  double shap_abs_mean = std::numeric_limits<double>::quiet_NaN();
};

struct FeatureImportance {
  std::vector<ColumnImportance> columns;  // by importance_mean, highest first; unmeasured last
  std::string metric;
  double base_score = std::numeric_limits<double>::quiet_NaN();  // the metric on the unshuffled rows
  std::size_t rows = 0;                                           // rows scored
  std::size_t shap_rows = 0;                                      // rows behind shap_abs_mean (0: none)
  int repeats = 0;                                                // repeats every measured column got
  int repeats_asked = 0;                                          // ImportanceOptions::repeats
  std::size_t columns_measured = 0;
  std::string measured_on;  // which model and rows (the caller says; saved in the summary)
  std::string cut;          // what the deadline cut ("" = nothing)
  double seconds = 0;

  // The summary's part: everything but the columns.
  nlohmann::json to_json() const;
};

// How many shuffled blocks (`rows` rows each, `columns` columns shuffled one at a time)
// permutation_importance predicts in one call: about 4M cells, at least one block.
std::size_t importance_blocks_per_call(std::size_t rows, std::size_t columns);

// Permutation importance of each input column of `p` on the rows `rows` of `table`,
// whose encoded targets are `y` (one per entry of `rows`), under `metric`.
FeatureImportance permutation_importance(const Pipeline& p, const Table& table, const std::vector<std::size_t>& rows,
                                         const std::vector<double>& y, const std::string& metric,
                                         const ImportanceOptions& opt = {});

// CSV: feature,importance_mean,importance_std,repeats,gain,shap_abs_mean (empty where
// not applicable), in the order of `fi.columns`.
void write_feature_importance(const std::filesystem::path& file, const FeatureImportance& fi);

}  // namespace automl
