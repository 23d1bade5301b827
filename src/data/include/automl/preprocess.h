// The preprocessing a pipeline learns on training rows: each family's encoding and
// the data-processing design applied column by column.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/features.h"
#include "automl/table.h"

namespace automl {

// How one column is prepared beyond its encoding's defaults: one column's entry of a
// data-processing design (the planner's vocabulary, applied; planner.h maps the
// vocabulary's operators to it). Empty fields keep the encoding's default.
struct ColumnOps {
  bool drop = false;        // left out of the features (`drop_reason` says why)
  std::string drop_reason;
  // Variance selection: left out when fit() finds one value (missing counts as one) in
  // more than 99.5% of the training rows; the saved preprocessor says which were.
  bool drop_if_near_constant = false;
  bool codes = false;       // a numeric column of integer codes read as categories
  // Categories (and codes): "" = the encoding's (native codes for trees, one-hot for the
  // others); "ordinal" (one number: the level's rank by name or value); "frequency" (the
  // level's share of the training rows); "target" (the mean target of the level's rows,
  // shrunk towards the overall mean; out-of-fold on the rows it was fitted on).
  std::string categories;
  int rare_below = 0;       // levels with fewer training rows than this join one level, "(rare)"
  std::string transform;    // numbers: "" or "log" (log1p of the size, sign kept) or "quantile" (to [0, 1])
  bool clip = false;        // numbers: to the training rows' 1st and 99th percentiles
  // Numbers: "" (native: kept missing; one-hot: the median), "median", "mean",
  // "most_frequent", or any other value (impute_constant's): 0.
  std::string impute;
  int missing_indicator = -1;  // numbers: -1 = the encoding's default (one-hot: when any was missing), 0 or 1

  bool is_default() const;
  nlohmann::json to_json() const;
  static ColumnOps from_json(const nlohmann::json& j);
  bool operator==(const ColumnOps& o) const { return to_json() == o.to_json(); }
};
// Column name -> its operators (columns absent keep their encoding's defaults).
using ColumnDesign = std::map<std::string, ColumnOps>;
// One text per distinct design (default entries ignored): a cache key for encoded data.
std::string design_key(const ColumnDesign& design);

// Turns table columns into a FeatureMatrix. Everything it learns (levels, medians,
// scales, target means) comes from the rows passed to fit(), so a validation fold
// never leaks.
class Preprocessor {
 public:
  Preprocessor() = default;
  explicit Preprocessor(Encoding encoding) : encoding_(encoding) {}
  // The data-processing design it applies (set before fit; saved with the rest).
  void set_design(ColumnDesign design) { design_ = std::move(design); }
  const ColumnDesign& design() const { return design_; }
  // Numeric columns whose values are codes (user ids, product types): each distinct value
  // of the training rows becomes a category level, encoded as the encoding encodes
  // categories (native codes, one-hot); a value the training rows never showed is missing.
  void set_codes_as_categories(const std::vector<std::string>& columns);
  std::vector<std::string> codes_as_categories() const;

  // `y` (indexed by table row) is needed only by target encoding; without it such a
  // column falls back to frequency encoding.
  void fit(const Table& table, const std::vector<std::string>& features, const std::vector<std::size_t>& rows,
           const std::vector<double>* y = nullptr);
  // `rows` == nullptr means every row. Rows of the table fit() saw that it was fitted on
  // get their out-of-fold target encoding.
  FeatureMatrix transform(const Table& table, const std::vector<std::size_t>* rows = nullptr) const;

  nlohmann::json to_json() const;
  static Preprocessor from_json(const nlohmann::json& j);  // throws kInvalidInput when inconsistent
  std::size_t n_outputs() const;
  // The input column each FeatureMatrix column comes from, in the order transform()
  // writes them (one-hot levels and missing indicators name their column; text columns
  // have none: they become documents).
  std::vector<std::string> output_columns() const;
  // The columns variance selection (ColumnOps::drop_if_near_constant) left out in fit().
  const std::vector<std::string>& near_constant() const { return near_constant_; }

 private:
  void check_saved() const;
  struct Feature {
    std::string name;
    ColumnType type = ColumnType::kNumeric;
    ColumnOps ops;
    double fill = 0, mean = 0, scale = 1;  // numbers; and one-number category encodings (mean, scale)
    bool missing_indicator = false;
    double clip_lo = 0, clip_hi = 0;       // ops.clip
    std::vector<double> quantiles;         // ops.transform == "quantile": 101 training quantiles
    std::vector<std::string> levels;       // categorical: code order
    std::vector<double> code_values;       // ops.codes: the levels' values, in code order
    bool other_level = false;              // ops.rare_below: the last level is "(rare)" for every other value
    std::vector<double> level_values;      // ordinal / frequency / target: one number per level
    double unseen = 0;                     // ... and for a value without a level
    // Target encoding's out-of-fold values on the rows fit() saw (NaN elsewhere); not saved.
    std::shared_ptr<const std::vector<float>> oof;
    bool one_number() const { return !ops.categories.empty(); }
    bool categorical() const { return type == ColumnType::kCategorical || ops.codes; }
  };
  Encoding encoding_ = Encoding::kNative;
  ColumnDesign design_;
  std::vector<Feature> features_;
  std::vector<std::string> near_constant_;  // columns variance selection left out in fit()
  const Table* fit_table_ = nullptr;  // the table fit() saw (for the out-of-fold values)
  void fit_categories(Feature& f, const Column& col, const std::vector<std::size_t>& rows, const std::vector<double>* y);
  void fit_numbers(Feature& f, const Column& col, const std::vector<std::size_t>& rows);
  // Encoding::kImage: features_ holds the pixel columns in channel-major order; values
  // are divided by the training rows' largest pixel (255, 16, ...).
  void fit_image(const Table& table, const std::vector<std::string>& features, const std::vector<std::size_t>& rows);
  FeatureMatrix transform_image(const Table& table, const std::vector<std::size_t>* rows) const;
  double image_scale_ = 1;
  int image_channels_ = 0, image_height_ = 0, image_width_ = 0;
};

}  // namespace automl
