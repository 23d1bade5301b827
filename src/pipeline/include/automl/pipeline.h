// A fitted pipeline: the preprocessing learned on training rows plus one model.
// It is what a run saves under model/ and what `automl-gpt predict` reloads.
//
//   Pipeline p = Pipeline::load("runs/abc/model");
//   Table t = read_csv("new.csv", p.read_options());
//   std::vector<double> proba = p.predict(t);   // rows x n_outputs
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/model.h"
#include "automl/preprocess.h"
#include "automl/table.h"
#include "automl/task.h"

namespace automl {

// The smallest probability a stacking blend takes the log of.
constexpr double kMinProba = 1e-7;

// How member predictions (each rows x n_outputs) become one prediction.
//   "ensemble": the weighted mean of the members' probabilities or values
//               (weights sum to 1: Caruana's selection counts / steps).
//   "stacking": a linear meta-model. Classification: softmax over classes c of
//               bias[c] + sum_m weights[m] * log p_m[c] (a weighted log-opinion pool);
//               regression: bias[0] + sum_m weights[m] * value_m.
struct Blend {
  std::string kind;
  std::vector<double> weights;  // one per member
  std::vector<double> bias;     // stacking only: one per class, or one for regression

  std::vector<double> apply(const std::vector<const std::vector<double>*>& member_preds, Task task,
                            int n_outputs) const;
  nlohmann::json to_json() const;
  static Blend from_json(const nlohmann::json& j);  // throws kInvalidInput
};

class Pipeline {
 public:
  std::string family;
  nlohmann::json params;
  Target target;  // classes and task; y is left empty
  std::map<std::string, ColumnType> schema;  // every feature column's type, as trained
  std::vector<std::string> features;         // the columns the model uses
  Preprocessor preprocessor;
  std::shared_ptr<Model> model;  // shared: the best trial's fold model can become the pipeline's
  // An ensemble (family "ensemble" or "stacking"): no preprocessor or model of its
  // own, but member pipelines, saved in member-<i>/ subfolders, whose predictions
  // `blend` combines (one blend weight per member).
  std::vector<std::shared_ptr<const Pipeline>> members;
  Blend blend;

  bool is_ensemble() const { return !members.empty(); }

  // How to read a new file so its columns type as the training file's did.
  CsvOptions read_options(const CsvOptions& base = {}) const;
  std::vector<double> predict(const Table& table) const;
  void save(const std::filesystem::path& dir) const;
  static Pipeline load(const std::filesystem::path& dir);

 private:
  static Pipeline load_fields(const std::filesystem::path& dir, const std::filesystem::path& path,
                              const nlohmann::json& j);
};

// The predicted class of one row of probabilities: the most probable, the first
// of equals (what write_predictions prints).
int predicted_class(const double* proba, int n_classes);

// Writes predictions as CSV: "prediction" (the class or the value) and, for
// classes, one "proba_<class>" column each. Numbers are printed to round-trip.
void write_predictions(std::ostream& out, const Target& target, const std::vector<double>& pred, std::size_t rows);

}  // namespace automl
