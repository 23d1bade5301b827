// A fitted pipeline: the preprocessing learned on training rows plus one model.
// It is what a run saves under model/ and what `automl-gpt predict` reloads.
//
//   Pipeline p = Pipeline::load("runs/abc/model");
//   Table t = read_csv("new.csv", p.read_options());
//   std::vector<double> proba = p.predict(t);   // rows x n_outputs
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/ensemble.h"
#include "automl/model.h"
#include "automl/table.h"
#include "automl/task.h"

namespace automl {

// Turns table columns into a FeatureMatrix. Everything it learns (levels, medians,
// scales) comes from the rows passed to fit(), so a validation fold never leaks.
class Preprocessor {
 public:
  Preprocessor() = default;
  explicit Preprocessor(Encoding encoding) : encoding_(encoding) {}
  // Numeric columns whose values are codes (user ids, product types): each distinct value
  // of the training rows becomes a category level, encoded as the encoding encodes
  // categories (native codes, one-hot); a value the training rows never showed is missing.
  // Set before fit; saved with the rest.
  void set_codes_as_categories(std::vector<std::string> columns) { codes_as_categories_ = std::move(columns); }
  const std::vector<std::string>& codes_as_categories() const { return codes_as_categories_; }

  void fit(const Table& table, const std::vector<std::string>& features, const std::vector<std::size_t>& rows);
  // `rows` == nullptr means every row.
  FeatureMatrix transform(const Table& table, const std::vector<std::size_t>* rows = nullptr) const;

  nlohmann::json to_json() const;
  static Preprocessor from_json(const nlohmann::json& j);
  std::size_t n_outputs() const;

 private:
  struct Feature {
    std::string name;
    ColumnType type = ColumnType::kNumeric;
    double fill = 0, mean = 0, scale = 1;  // numeric (one-hot encoding)
    bool missing_indicator = false;        // numeric (one-hot encoding)
    std::vector<std::string> levels;       // categorical: code order
    // A numeric column read as codes (set_codes_as_categories): its levels are values.
    bool codes = false;
    std::vector<double> code_values;  // code order, as `levels`
  };
  Encoding encoding_ = Encoding::kNative;
  std::vector<std::string> codes_as_categories_;
  std::vector<Feature> features_;
  // Encoding::kImage: features_ holds the pixel columns in channel-major order; values
  // are divided by the training rows' largest pixel (255, 16, ...).
  void fit_image(const Table& table, const std::vector<std::string>& features, const std::vector<std::size_t>& rows);
  FeatureMatrix transform_image(const Table& table, const std::vector<std::size_t>* rows) const;
  double image_scale_ = 1;
  int image_channels_ = 0, image_height_ = 0, image_width_ = 0;
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
};

// Writes predictions as CSV: "prediction" (the class or the value) and, for
// classes, one "proba_<class>" column each. Numbers are printed to round-trip.
void write_predictions(std::ostream& out, const Target& target, const std::vector<double>& pred, std::size_t rows);

}  // namespace automl
