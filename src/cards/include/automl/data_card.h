// The Data Card: what the system knows about a dataset before training, inferred
// from the table and the target, optionally overridden by a card file the user
// wrote (the format of ../shared/datasets/*/card.json is accepted as is).
//
//   Table t = read_csv("train.csv");
//   DataCard card = infer_data_card(t, "income", "adult");
//   apply_card_override(&card, load_card_file("card.json"));
//   std::cout << card.to_json().dump(2);
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/table.h"
#include "automl/task.h"

namespace automl {

struct ColumnProfile {
  std::string name;
  ColumnType type = ColumnType::kNumeric;
  double missing_share = 0;
  std::size_t cardinality = 0;       // distinct non-missing values
  double min = 0, max = 0, mean = 0, std = 0;  // numeric columns
  double skew = 0;                             // numeric columns: the third standardised moment
  std::vector<std::pair<std::string, std::size_t>> top_levels;  // categorical: up to 5 most frequent
  double mean_length = 0;            // text columns: mean characters
  std::size_t max_length = 0;        // text columns: most characters in one cell
  double mean_words = 0;             // text columns: mean word tokens (tokenize() in text.h)
  std::size_t vocabulary = 0;        // text columns: distinct lower-cased word tokens
  // Numeric columns whose preparation is open: integer values that may be codes (ids,
  // types) rather than amounts. `open_choice` says why ("" = nothing open); the planner
  // proposes numbers or categories, and the search tries both.
  // The kind of choice: "codes" (numbers or category codes) or "skewed" (as it is or its
  // logarithm, for families that weigh sizes).
  std::string open_choice;
  std::string open_kind;
  bool id_like_name = false;  // the name reads like an identifier or a code (userId, zip_code)
};

struct DataCard {
  std::string name;
  std::string description;
  std::string modality = "tabular";  // tabular, text or image
  int image_channels = 0, image_height = 0, image_width = 0;  // image: the pixel grid (0 otherwise)
  std::string target;
  Task task = Task::kBinary;
  std::string metric;
  std::string positive_class;                       // binary only
  std::vector<std::pair<std::string, std::size_t>> classes;  // label space with counts (classification)
  std::map<std::string, double> target_stats;       // regression: min, max, mean, std
  std::vector<ColumnProfile> columns;               // features only, in file order
  std::map<std::string, double> meta_features;
  std::vector<std::string> notes;                   // what was assumed or dropped, for people

  nlohmann::json to_json() const;
  static DataCard from_json(const nlohmann::json& j);
  // The declared type of every feature, for reading other files of the same data.
  std::map<std::string, ColumnType> feature_types() const;
};

// Infers the card. Throws kNotFound for a missing target (with the closest column
// names) and kInvalidInput for a target with a single class or no values.
DataCard infer_data_card(const Table& table, const std::string& target, const std::string& name,
                         const nlohmann::json& overrides = nlohmann::json::object());

// Reads a card file (JSON or YAML). Throws kNotFound / kInvalidInput with the path.
nlohmann::json load_card_file(const std::string& path);
// The same from the text of a card (JSON or YAML); `source` names it in errors.
// Throws kInvalidInput for bad syntax or a field of the wrong shape.
nlohmann::json parse_card_text(const std::string& text, const std::string& source);

// Feature types a card file declares ("feature_types": {col: numeric|categorical|text}).
std::map<std::string, ColumnType> declared_feature_types(const nlohmann::json& overrides);

// Encodes the target column of `table` by the card (classes sorted as the card
// lists them). Rows whose target is missing get NaN. A class the card does not
// list throws, unless `unknown_to_nan` (scoring a test file): then it is NaN too.
Target encode_target(const Table& table, const DataCard& card, bool unknown_to_nan = false);

// A dataset's name from its file: the file's stem, or its folder's name when the
// file is called train.csv or data.csv.
std::string dataset_name_from_path(const std::string& path);

// JSON to YAML text, for people.
std::string to_yaml(const nlohmann::json& j);

}  // namespace automl
