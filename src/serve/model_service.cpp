// The model behind `automl-gpt serve`: request bodies become tables checked
// against the training columns, and tables become the predictions `predict` prints.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/serve.h"
#include "automl/strings.h"

namespace automl {

namespace {

using Json = nlohmann::json;

// A JSON file of the run folder, or null when the folder has none (a bare model/ folder).
Json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded()) throw_invalid(path.string() + " is damaged: it is not valid JSON");
  return j;
}

Json pipeline_json(const Pipeline& p) {
  Json j = {{"family", p.family}, {"params", p.params}};
  if (p.is_ensemble()) {
    j["blend"] = p.blend.to_json();
    j["members"] = Json::array();
    for (const auto& m : p.members) j["members"].push_back(pipeline_json(*m));
  }
  return j;
}

// What a JSON value is, for an error message.
std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return quote_value(v.get_ref<const std::string&>());
    default: return v.dump();
  }
}

// Builds one column of the request's table from the rows' values.
class ColumnFromJson {
 public:
  ColumnFromJson(const std::string& name, ColumnType type, std::size_t rows,
                 const std::vector<std::string>& missing_tokens)
      : missing_tokens_(missing_tokens) {
    col_.name = name;
    col_.type = type;
    if (type == ColumnType::kNumeric) col_.numeric.reserve(rows);
    if (type == ColumnType::kCategorical) col_.codes.reserve(rows);
    if (type == ColumnType::kText) {
      col_.text.reserve(rows);
      col_.text_missing.reserve(rows);
    }
  }

  // `row` counts from 1, for the messages.
  void add(const Json& v, std::size_t row) {
    if (col_.type == ColumnType::kNumeric) {
      add_number(v, row);
      return;
    }
    std::string text;
    bool missing = false;
    switch (v.type()) {
      case Json::value_t::null: missing = true; break;
      case Json::value_t::string:
        text = v.get<std::string>();
        missing = is_missing_token(text, missing_tokens_);
        break;
      case Json::value_t::boolean:
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float: text = v.dump(); break;
      default:
        throw_invalid(fmt::format("row {}, column {}: expected a string (the column is {}), got {}", row,
                                  quote_value(col_.name), column_type_name(col_.type), describe(v)));
    }
    if (missing) ++col_.n_missing;
    if (col_.type == ColumnType::kText) {
      col_.text.push_back(missing ? std::string() : std::move(text));
      col_.text_missing.push_back(missing ? 1 : 0);
      return;
    }
    if (missing) {
      col_.codes.push_back(-1);
      return;
    }
    auto [it, fresh] = level_codes_.try_emplace(text, static_cast<int32_t>(col_.levels.size()));
    if (fresh) col_.levels.push_back(text);
    col_.codes.push_back(it->second);
  }

  Column take() { return std::move(col_); }

 private:
  void add_number(const Json& v, std::size_t row) {
    double value = std::numeric_limits<double>::quiet_NaN();
    if (v.is_number()) {
      value = v.get<double>();
    } else if (v.is_string() && !is_missing_token(v.get_ref<const std::string&>(), missing_tokens_)) {
      if (!parse_number_cell(v.get_ref<const std::string&>(), value)) {
        throw_invalid(fmt::format("row {}, column {}: expected a number, got {}", row, quote_value(col_.name),
                                  describe(v)));
      }
    } else if (!v.is_null() && !v.is_string()) {
      throw_invalid(fmt::format("row {}, column {}: expected a number, got {}", row, quote_value(col_.name),
                                describe(v)));
    }
    // As the CSV reader reads a file: infinities and magnitudes past the float range the
    // feature matrices hold (1e308) are missing cells.
    if (std::abs(value) > static_cast<double>(std::numeric_limits<float>::max())) {
      value = std::numeric_limits<double>::quiet_NaN();
    }
    if (std::isnan(value)) ++col_.n_missing;
    col_.numeric.push_back(value);
  }

  const std::vector<std::string>& missing_tokens_;
  Column col_;
  std::unordered_map<std::string, int32_t> level_codes_;
};

}  // namespace

ModelService::ModelService(const std::filesystem::path& run) {
  std::filesystem::path dir = run.lexically_normal();
  if (!dir.has_filename() && dir.has_parent_path()) dir = dir.parent_path();  // "runs/abc/"
  if (!std::filesystem::exists(run)) throw_not_found("no such run folder: " + run.string());
  if (std::filesystem::exists(dir / "model" / "pipeline.json")) dir /= "model";
  pipeline_ = Pipeline::load(dir);

  read_options_.n_threads = 1;  // the server's workers are the parallelism
  read_options_.types_declared_by = "the model";  // a cell that does not fit names the model, as predict does
  Json schema = Json::array();
  for (const auto& f : pipeline_.features) {
    auto it = pipeline_.schema.find(f);
    const ColumnType type = it == pipeline_.schema.end() ? ColumnType::kNumeric : it->second;
    read_options_.declared_types[f] = type;
    schema.push_back({{"name", f}, {"type", column_type_name(type)}});
  }

  // The run folder is the model folder's parent when given the run, or when
  // given model/ directly and the run's files sit beside it.
  const std::filesystem::path run_dir = dir.parent_path();
  Json summary = read_json_file(run_dir / "summary.json");
  Json card = read_json_file(run_dir / "data_card.json");
  Json metric = nullptr;
  if (summary.is_object() && summary.contains("metric")) {
    metric = {{"name", summary["metric"]},
              {"higher_is_better", summary.value("higher_is_better", Json())},
              {"validation_score", summary.value("validation_score", Json())},
              {"test_score", summary.value("test_score", Json())}};
  } else if (card.is_object() && card.contains("metric")) {
    metric = {{"name", card["metric"]}};
  }
  const Target& t = pipeline_.target;
  description_ = {
      {"run", run_dir.string()},
      {"model_dir", dir.string()},
      {"target", {{"name", t.name}, {"task", task_name(t.task)}, {"classes", t.classes}}},
      {"metric", metric},
      {"input_schema", schema},
      {"pipeline", pipeline_json(pipeline_)},
      {"data_card", card},
  };
}

Table ModelService::rows_from_json(std::string_view body) const {
  if (trim(body).empty()) throw_invalid("the body is empty: send a JSON list of rows, or {\"rows\": [...]}");
  if (const std::size_t bad = first_invalid_utf8(body); bad != std::string_view::npos) {
    throw_invalid(fmt::format("the body holds a byte that is not UTF-8 (0x{:02X}) at byte {}; JSON must be UTF-8 text",
                              static_cast<unsigned char>(body[bad]), bad + 1));
  }
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::parse_error& e) {
    throw_invalid(std::string("the body is not valid JSON: ") + e.what());
  }
  const Json* rows = &j;
  if (j.is_object()) {
    if (!j.contains("rows")) {
      throw_invalid("the JSON body is an object without \"rows\": send a list of rows, or {\"rows\": [...]}");
    }
    rows = &j["rows"];
  }
  if (!rows->is_array()) {
    throw_invalid("the JSON rows are " + describe(*rows) + ", not a list of objects (one per row)");
  }
  if (rows->empty()) throw_invalid("the JSON body holds no rows");

  const auto& features = pipeline_.features;
  std::vector<ColumnFromJson> columns;
  columns.reserve(features.size());
  for (const auto& f : features) {
    columns.emplace_back(f, read_options_.declared_types.at(f), rows->size(), read_options_.missing_tokens);
  }
  std::size_t row = 0;
  for (const Json& r : *rows) {
    ++row;
    if (!r.is_object()) {
      throw_invalid(fmt::format("row {} is {}, not an object with the column names as keys", row, describe(r)));
    }
    for (std::size_t c = 0; c < features.size(); ++c) {
      auto it = r.find(features[c]);
      if (it == r.end()) {
        std::vector<std::string> keys;
        for (const auto& item : r.items()) keys.push_back(item.key());
        std::string hint = did_you_mean(features[c], keys);
        throw_invalid(fmt::format("row {} has no column {}, which the model uses (GET /model lists them){}", row,
                                  quote_value(features[c]), hint.empty() ? "" : "; " + hint));
      }
      columns[c].add(*it, row);
    }
  }
  Table t;
  t.source = "the JSON body";
  t.n_rows = rows->size();
  for (auto& c : columns) t.columns.push_back(c.take());
  return t;
}

Table ModelService::rows_from_csv(std::string_view body) const {
  const std::string source = "the CSV body";
  if (trim(body).empty()) throw_invalid("the body is empty: send a CSV header row and at least one row");
  std::vector<std::string> header = read_csv_header(body, source, read_options_);
  for (const auto& f : pipeline_.features) {
    if (std::find(header.begin(), header.end(), f) == header.end()) {
      std::string hint = did_you_mean(f, header);
      throw_invalid(fmt::format("{} has no column {}, which the model uses (GET /model lists them){}", source,
                                quote_value(f), hint.empty() ? "" : "; " + hint));
    }
  }
  return read_csv_buffer(body, source, read_options_);
}

std::string ModelService::predict(const Table& rows, PredictionFormat format) const {
  const std::vector<double> pred = pipeline_.predict(rows);
  const Target& t = pipeline_.target;
  if (format == PredictionFormat::kCsv) {
    std::ostringstream out;
    write_predictions(out, t, pred, rows.n_rows);
    return out.str();
  }
  Json out = {{"n_rows", rows.n_rows}, {"target", t.name}, {"task", task_name(t.task)}};
  if (!is_classification(t.task)) {
    out["predictions"] = std::vector<double>(pred.begin(), pred.begin() + static_cast<std::ptrdiff_t>(rows.n_rows));
    return out.dump();
  }
  const int k = t.n_outputs();
  Json labels = Json::array();
  Json proba = Json::array();
  for (std::size_t i = 0; i < rows.n_rows; ++i) {
    const double* p = pred.data() + i * static_cast<std::size_t>(k);
    labels.push_back(t.classes[static_cast<std::size_t>(predicted_class(p, k))]);
    proba.push_back(std::vector<double>(p, p + k));
  }
  out["classes"] = t.classes;
  out["predictions"] = std::move(labels);
  out["probabilities"] = std::move(proba);
  return out.dump();
}

}  // namespace automl
