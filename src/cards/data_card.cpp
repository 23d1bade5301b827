#include "automl/data_card.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "automl/error.h"
#include "automl/image.h"
#include "automl/level_label.h"
#include "automl/metrics.h"
#include "automl/text.h"
#include "automl/strings.h"

namespace automl {
namespace {

std::string number_text(double v) { return fmt::format("{}", v); }

// Distinct target values with counts, sorted (numerically for numbers).
std::vector<std::pair<std::string, std::size_t>> count_classes(const Column& col) {
  std::vector<std::pair<std::string, std::size_t>> out;
  if (col.type == ColumnType::kNumeric) {
    std::map<double, std::size_t> counts;
    for (double v : col.numeric) {
      if (!std::isnan(v)) ++counts[v];
    }
    for (auto& [v, c] : counts) out.emplace_back(number_text(v), c);
    return out;
  }
  std::map<std::string, std::size_t> counts;
  for (std::size_t i = 0; i < col.size(); ++i) {
    if (!col.is_missing(i)) ++counts[col.cell_string(i)];
  }
  for (auto& [v, c] : counts) out.emplace_back(v, c);
  return out;
}

bool all_integers(const Column& col) {
  for (double v : col.numeric) {
    if (!std::isnan(v) && std::floor(v) != v) return false;
  }
  return true;
}

std::string pick_positive(const std::vector<std::pair<std::string, std::size_t>>& classes) {
  std::set<std::string> names;
  for (auto& [n, c] : classes) names.insert(n);
  for (const char* p : {"1", "yes", "Yes", "YES", "true", "True", "TRUE", "pos", "positive"}) {
    if (names.count(p)) return p;
  }
  // Otherwise the rarer class, the one people usually want to find.
  return classes[0].second < classes[1].second ? classes[0].first : classes[1].first;
}

// Whether a column's name reads like an identifier or a code: "id", "userId", "user_id",
// "ZIP", "zip_code", "product_type", ... (the last word of the name, in any case style).
bool reads_like_code(const std::string& name) {
  std::vector<std::string> words;
  std::string w;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool boundary = std::isupper(static_cast<unsigned char>(c)) && i > 0 &&
                          std::islower(static_cast<unsigned char>(name[i - 1]));
    if (!std::isalnum(static_cast<unsigned char>(c)) || boundary) {
      if (!w.empty()) words.push_back(w);
      w.clear();
      if (!std::isalnum(static_cast<unsigned char>(c))) continue;
    }
    w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!w.empty()) words.push_back(w);
  if (words.empty()) return false;
  static const std::set<std::string> code_words = {"id",    "ids",   "code",  "zip",     "zipcode", "postcode",
                                                   "key",   "type",  "class", "category", "cat",    "group",
                                                   "brand", "store", "user",  "item",    "product", "customer"};
  return code_words.count(words.back()) > 0;
}

// Why a numeric column may be category codes rather than an amount ("" = it is not open):
// every value an integer, at least 3 of them, and at most a quarter as many as rows (so a
// level has rows to learn from).
std::string open_codes_choice(const Column& col, ColumnProfile& p, std::size_t rows) {
  if (col.type != ColumnType::kNumeric || p.cardinality < 3 || p.cardinality * 4 > rows) return "";
  for (double v : col.numeric) {
    if (!std::isnan(v) && (!std::isfinite(v) || std::floor(v) != v)) return "";
  }
  p.id_like_name = reads_like_code(col.name);
  return fmt::format("{} distinct integer values in {} rows{}: numbers or category codes", p.cardinality, rows,
                     p.id_like_name ? ", and the name reads like an identifier or a code" : "");
}

ColumnProfile profile_column(const Column& col) {
  ColumnProfile p;
  p.name = col.name;
  p.type = col.type;
  std::size_t n = col.size();
  p.missing_share = n ? static_cast<double>(col.n_missing) / static_cast<double>(n) : 0.0;
  if (col.type == ColumnType::kNumeric) {
    std::unordered_map<double, int> distinct;
    double s = 0, s2 = 0, lo = INFINITY, hi = -INFINITY;
    std::size_t k = 0;
    for (double v : col.numeric) {
      if (!std::isfinite(v)) continue;
      if (distinct.size() < 100000) distinct[v] = 1;
      s += v;
      s2 += v * v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      ++k;
    }
    p.cardinality = distinct.size();
    if (k) {
      p.min = lo;
      p.max = hi;
      p.mean = s / k;
      p.std = std::sqrt(std::max(0.0, s2 / k - p.mean * p.mean));
      if (p.std > 0) {
        double m3 = 0;
        for (double v : col.numeric) {
          if (std::isfinite(v)) m3 += std::pow((v - p.mean) / p.std, 3);
        }
        p.skew = m3 / static_cast<double>(k);
      }
    }
  } else if (col.type == ColumnType::kCategorical) {
    std::vector<std::size_t> counts(col.levels.size());
    for (int32_t c : col.codes) {
      if (c >= 0) ++counts[c];
    }
    std::vector<std::size_t> order(counts.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return counts[a] > counts[b]; });
    for (std::size_t i = 0; i < order.size(); ++i) p.cardinality += counts[order[i]] > 0;
    for (std::size_t i = 0; i < order.size() && i < 5; ++i) {
      if (counts[order[i]]) p.top_levels.emplace_back(level_label(col.levels[order[i]]), counts[order[i]]);
    }
  } else {
    std::set<std::string> distinct;
    std::unordered_set<std::string> vocabulary;
    double len = 0, words = 0;
    std::size_t k = 0;
    const TokenizerOptions lower_words;  // lower case, punctuation dropped
    for (std::size_t i = 0; i < n; ++i) {
      if (col.is_missing(i)) continue;
      distinct.insert(col.text[i]);
      len += static_cast<double>(col.text[i].size());
      p.max_length = std::max(p.max_length, col.text[i].size());
      auto tokens = tokenize(col.text[i], lower_words);
      words += static_cast<double>(tokens.size());
      for (auto& t : tokens) vocabulary.insert(std::move(t));
      ++k;
    }
    p.cardinality = distinct.size();
    p.mean_length = k ? len / k : 0.0;
    p.mean_words = k ? words / k : 0.0;
    p.vocabulary = vocabulary.size();
  }
  return p;
}

}  // namespace

DataCard infer_data_card(const Table& table, const std::string& target, const std::string& name,
                         const nlohmann::json& overrides) {
  const Column& y = table.column(target);  // throws kNotFound naming close columns
  DataCard card;
  card.name = overrides.value("name", name);
  card.description = overrides.value("description", std::string());
  card.target = target;

  card.classes = count_classes(y);
  if (card.classes.empty()) {
    throw_invalid(fmt::format("target column \"{}\" in {} has no values (every cell is missing)", target, table.source));
  }
  if (overrides.contains("task")) {
    card.task = parse_task(overrides["task"].get<std::string>());
  } else if (y.type != ColumnType::kNumeric) {
    card.task = card.classes.size() == 2 ? Task::kBinary : Task::kMulticlass;
  } else if (card.classes.size() == 2) {
    card.task = Task::kBinary;
  } else if (all_integers(y) && card.classes.size() <= 20 &&
             static_cast<double>(card.classes.size()) < 0.05 * static_cast<double>(table.n_rows)) {
    card.task = Task::kMulticlass;
    card.notes.push_back(fmt::format("target \"{}\" holds {} integer values: read as classes (pass a card with "
                                     "\"task\": \"regression\" to predict it as a number)",
                                     target, card.classes.size()));
  } else {
    card.task = Task::kRegression;
  }
  if (card.task == Task::kRegression && y.type != ColumnType::kNumeric) {
    // Name the first value that is not a number.
    std::string example;
    for (std::size_t r = 0; r < y.size() && example.empty(); ++r) {
      if (y.is_missing(r)) continue;
      const std::string cell = y.cell_string(r);
      double value;
      if (!parse_number_cell(cell, value)) {
        example = fmt::format(" (data row {} holds \"{}\")", r + 1, cell.size() > 40 ? cell.substr(0, 40) + "..." : cell);
      }
    }
    throw_invalid(fmt::format("target column \"{}\" in {} is {}{}, but the task is regression: it needs numbers",
                              target, table.source, column_type_name(y.type), example));
  }
  if (is_classification(card.task)) {
    if (card.classes.size() < 2) {
      throw_invalid(fmt::format("target column \"{}\" in {} has a single class (\"{}\", {} rows): there is nothing "
                                "to learn; pick another target",
                                target, table.source, card.classes[0].first, card.classes[0].second));
    }
    if (card.task == Task::kBinary && card.classes.size() != 2) {
      throw_invalid(fmt::format("the card says binary, but target \"{}\" has {} classes", target, card.classes.size()));
    }
    if (card.task == Task::kBinary) {
      card.positive_class = overrides.contains("positive_class") ? overrides["positive_class"].get<std::string>()
                                                                 : pick_positive(card.classes);
      bool known = card.classes[0].first == card.positive_class || card.classes[1].first == card.positive_class;
      if (!known) {
        throw_invalid(fmt::format("positive_class \"{}\" is not a class of \"{}\" (classes: {}, {})",
                                  card.positive_class, target, card.classes[0].first, card.classes[1].first));
      }
    }
  } else {
    card.classes.clear();
    auto p = profile_column(y);
    card.target_stats = {{"min", p.min}, {"max", p.max}, {"mean", p.mean}, {"std", p.std}};
  }
  card.metric = overrides.value("metric", default_metric(card.task));
  check_metric_for_task(card.metric, card.task);

  std::size_t n_num = 0, n_cat = 0, n_text = 0, n_pixel = 0;
  double missing = 0;
  for (const auto& col : table.columns) {
    if (col.name == target) continue;
    card.columns.push_back(profile_column(col));
    missing += static_cast<double>(col.n_missing);
    n_num += col.type == ColumnType::kNumeric;
    n_cat += col.type == ColumnType::kCategorical;
    n_text += col.type == ColumnType::kText;
    n_pixel += col.name.rfind("pixel", 0) == 0 && col.type == ColumnType::kNumeric;
  }
  const double n_feat = static_cast<double>(card.columns.size());
  if (overrides.contains("modality")) {
    card.modality = overrides["modality"].get<std::string>();
  } else if (n_text > 0 && n_text * 2 >= card.columns.size()) {
    card.modality = "text";
  } else if (n_pixel >= 16 && n_pixel == card.columns.size()) {
    card.modality = "image";
  }
  if (card.modality == "image") {
    std::vector<std::string> names;
    for (const auto& c : card.columns) names.push_back(c.name);
    try {
      const ImageShape shape = image_shape(names);
      card.image_channels = shape.channels;
      card.image_height = shape.height;
      card.image_width = shape.width;
    } catch (const Error& e) {
      card.notes.push_back(std::string("the pixel columns are not a full image grid: ") + e.what());
    }
  }

  auto& m = card.meta_features;
  const double rows = static_cast<double>(table.n_rows);
  m["n_rows"] = rows;
  m["n_features"] = n_feat;
  m["n_numeric"] = static_cast<double>(n_num);
  m["n_categorical"] = static_cast<double>(n_cat);
  m["n_text"] = static_cast<double>(n_text);
  m["share_categorical"] = n_feat ? static_cast<double>(n_cat) / n_feat : 0.0;
  m["missing_share"] = n_feat && rows ? missing / (n_feat * rows) : 0.0;
  m["log_rows"] = std::log10(std::max(1.0, rows));
  m["features_per_row"] = rows ? n_feat / rows : 0.0;
  if (n_text > 0) {
    // Text: sizes of the documents (a row's text columns together) and the words they use.
    double chars = 0, words = 0, longest = 0, vocabulary = 0;
    for (const auto& c : card.columns) {
      if (c.type != ColumnType::kText) continue;
      chars += c.mean_length * (1.0 - c.missing_share);
      words += c.mean_words * (1.0 - c.missing_share);
      longest = std::max(longest, static_cast<double>(c.max_length));
      vocabulary += static_cast<double>(c.vocabulary);
    }
    m["text_mean_chars"] = chars;
    m["text_max_chars"] = longest;
    m["text_mean_words"] = words;
    m["text_vocabulary"] = vocabulary;
  }
  if (is_classification(card.task)) {
    double total = 0, entropy = 0, minority = INFINITY;
    for (auto& [c, k] : card.classes) total += static_cast<double>(k);
    for (auto& [c, k] : card.classes) {
      double p = static_cast<double>(k) / total;
      if (p > 0) entropy -= p * std::log2(p);
      minority = std::min(minority, p);
    }
    m["n_classes"] = static_cast<double>(card.classes.size());
    m["class_entropy"] = entropy;
    m["class_entropy_normalised"] = entropy / std::log2(static_cast<double>(card.classes.size()));
    m["minority_class_share"] = minority;
  }
  for (const auto& col : table.columns) {
    if (col.name != target && col.type == ColumnType::kText) {
      card.notes.push_back(fmt::format("column \"{}\" reads as free text", col.name));
    }
    if (col.n_out_of_range > 0) {
      card.notes.push_back(fmt::format("column \"{}\": {} cells beyond the float range (inf, 1e308 and the like) "
                                       "read as missing",
                                       col.name, col.n_out_of_range));
    }
  }
  // Integer columns may be codes: the choice stays open unless the card declared the type.
  const auto declared = declared_feature_types(overrides);
  std::size_t i = 0;
  for (const auto& col : table.columns) {
    if (col.name == target) continue;
    ColumnProfile& p = card.columns[i++];
    if (card.modality == "image") continue;
    if (!declared.count(col.name)) p.open_choice = open_codes_choice(col, p, table.n_rows);
    if (!p.open_choice.empty()) {
      p.open_kind = "codes";
    } else if (col.type == ColumnType::kNumeric && p.min >= 0 && p.skew > 3 && p.cardinality > 10) {
      p.open_kind = "skewed";
      p.open_choice = fmt::format("skewed (skew {:.1f}, no negative values): as it is or its logarithm", p.skew);
    }
  }
  return card;
}

nlohmann::json DataCard::to_json() const {
  nlohmann::json j;
  j["name"] = name;
  if (!description.empty()) j["description"] = description;
  j["modality"] = modality;
  if (image_channels > 0) j["image"] = {{"channels", image_channels}, {"height", image_height}, {"width", image_width}};
  j["target"] = target;
  j["task"] = task_name(task);
  j["metric"] = metric;
  if (!positive_class.empty()) j["positive_class"] = positive_class;
  if (!classes.empty()) {
    j["label_space"] = nlohmann::json::array();
    for (auto& [c, k] : classes) j["label_space"].push_back({{"class", c}, {"count", k}});
  }
  if (!target_stats.empty()) j["target_stats"] = target_stats;
  j["feature_types"] = nlohmann::json::object();
  j["columns"] = nlohmann::json::array();
  for (const auto& c : columns) {
    j["feature_types"][c.name] = column_type_name(c.type);
    nlohmann::json cj = {{"name", c.name}, {"type", column_type_name(c.type)}, {"missing_share", c.missing_share},
                         {"cardinality", c.cardinality}};
    if (c.type == ColumnType::kNumeric) {
      cj["min"] = c.min;
      cj["max"] = c.max;
      cj["mean"] = c.mean;
      cj["std"] = c.std;
      cj["skew"] = c.skew;
    } else if (c.type == ColumnType::kCategorical) {
      cj["top_levels"] = nlohmann::json::array();
      for (auto& [l, k] : c.top_levels) cj["top_levels"].push_back({{"level", l}, {"count", k}});
    } else {
      cj["mean_length"] = c.mean_length;
      cj["max_length"] = c.max_length;
      cj["mean_words"] = c.mean_words;
      cj["vocabulary"] = c.vocabulary;
    }
    if (!c.open_choice.empty()) {
      cj["open_choice"] = c.open_choice;
      cj["open_kind"] = c.open_kind;
      cj["id_like_name"] = c.id_like_name;
    }
    j["columns"].push_back(cj);
  }
  j["meta_features"] = meta_features;
  if (!notes.empty()) j["notes"] = notes;
  return j;
}

DataCard DataCard::from_json(const nlohmann::json& j) {
  DataCard c;
  c.name = j.value("name", "");
  c.description = j.value("description", "");
  c.modality = j.value("modality", "tabular");
  if (j.contains("image")) {
    c.image_channels = j["image"].value("channels", 0);
    c.image_height = j["image"].value("height", 0);
    c.image_width = j["image"].value("width", 0);
  }
  c.target = j.at("target").get<std::string>();
  c.task = parse_task(j.at("task").get<std::string>());
  c.metric = j.value("metric", default_metric(c.task));
  c.positive_class = j.value("positive_class", "");
  if (j.contains("label_space")) {
    for (const auto& e : j["label_space"]) c.classes.emplace_back(e.at("class").get<std::string>(), e.at("count").get<std::size_t>());
  }
  if (j.contains("target_stats")) c.target_stats = j["target_stats"].get<std::map<std::string, double>>();
  if (j.contains("columns")) {
    for (const auto& cj : j["columns"]) {
      ColumnProfile p;
      p.name = cj.at("name").get<std::string>();
      p.type = parse_column_type(cj.at("type").get<std::string>());
      p.missing_share = cj.value("missing_share", 0.0);
      p.cardinality = cj.value("cardinality", std::size_t{0});
      p.min = cj.value("min", 0.0);
      p.max = cj.value("max", 0.0);
      p.mean = cj.value("mean", 0.0);
      p.std = cj.value("std", 0.0);
      p.skew = cj.value("skew", 0.0);
      p.mean_length = cj.value("mean_length", 0.0);
      p.max_length = cj.value("max_length", std::size_t{0});
      p.mean_words = cj.value("mean_words", 0.0);
      p.vocabulary = cj.value("vocabulary", std::size_t{0});
      p.open_choice = cj.value("open_choice", "");
      p.open_kind = cj.value("open_kind", p.open_choice.empty() ? "" : "codes");
      p.id_like_name = cj.value("id_like_name", false);
      if (cj.contains("top_levels")) {
        for (const auto& l : cj["top_levels"]) p.top_levels.emplace_back(l.at("level"), l.at("count"));
      }
      c.columns.push_back(p);
    }
  }
  if (j.contains("meta_features")) c.meta_features = j["meta_features"].get<std::map<std::string, double>>();
  if (j.contains("notes")) c.notes = j["notes"].get<std::vector<std::string>>();
  return c;
}

std::map<std::string, ColumnType> DataCard::feature_types() const {
  std::map<std::string, ColumnType> out;
  for (const auto& c : columns) out[c.name] = c.type;
  return out;
}

namespace {

// YAML aliases make a graph, not a tree: `&a {e: *a}` refers to itself, and aliases of
// aliases grow exponentially when expanded. A card is small and shallow, so the
// conversion stops at 64 levels or 100,000 values (`budget` counts them down).
constexpr int kMaxYamlDepth = 64;
constexpr long kMaxYamlValues = 100000;

nlohmann::json yaml_to_json(const YAML::Node& n, const std::string& source, int depth, long* budget) {
  if (depth > kMaxYamlDepth) {
    throw_invalid(fmt::format("{}: nested deeper than {} levels (a YAML alias that refers to itself?)", source,
                              kMaxYamlDepth));
  }
  if (--*budget < 0) {
    throw_invalid(fmt::format("{}: more than {} values once its YAML aliases are expanded", source, kMaxYamlValues));
  }
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = yaml_to_json(kv.second, source, depth + 1, budget);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& e : n) j.push_back(yaml_to_json(e, source, depth + 1, budget));
      return j;
    }
    case YAML::NodeType::Scalar: {
      std::string s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "false") return s == "true";
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0') return d;
      return s;
    }
    default: return nullptr;
  }
}

void emit(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    bool flat = std::all_of(j.begin(), j.end(), [](const auto& e) { return e.is_primitive(); });
    out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& e : j) emit(out, e);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else if (j.is_number_integer() || j.is_number_unsigned()) {
    out << j.dump();
  } else if (j.is_number()) {
    out << fmt::format("{:.6g}", j.get<double>());
  } else {
    out << YAML::Null;
  }
}

}  // namespace

nlohmann::json load_card_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw_not_found("no such card file: " + path);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_card_text(ss.str(), path);
}

nlohmann::json parse_card_text(const std::string& text, const std::string& source) {
  if (const auto bad = first_invalid_utf8(text); bad != std::string::npos) {
    throw_invalid(fmt::format("{}: byte {} is not UTF-8 (0x{:02X}); a card must be UTF-8 text", source, bad + 1,
                              static_cast<unsigned char>(text[bad])));
  }
  nlohmann::json j;
  auto first = text.find_first_not_of(" \t\r\n");
  try {
    if (first != std::string::npos && text[first] == '{') {
      j = nlohmann::json::parse(text);
    } else {
      long budget = kMaxYamlValues;
      j = yaml_to_json(YAML::Load(text), source, 0, &budget);
    }
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(source + ": not valid JSON: " + e.what());
  } catch (const YAML::Exception& e) {
    throw_invalid(source + ": not valid YAML: " + e.what());
  }
  if (!j.is_object()) throw_invalid(source + ": a card file must hold a mapping of fields (name, task, metric, ...)");
  // A YAML escape or a NUL can still make text that is not UTF-8: no card may hold it.
  std::function<void(const nlohmann::json&)> check_text = [&](const nlohmann::json& v) {
    if (v.is_string() && first_invalid_utf8(v.get_ref<const std::string&>()) != std::string::npos) {
      throw_invalid(source + ": a value is not UTF-8 text");
    }
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (first_invalid_utf8(it.key()) != std::string::npos) throw_invalid(source + ": a field name is not UTF-8 text");
        check_text(it.value());
      }
    } else if (v.is_array()) {
      for (const auto& e : v) check_text(e);
    }
  };
  check_text(j);
  // The fields the program reads must have the shape it reads them as; other fields
  // (a benchmark card's counts, say) are the card's own business.
  for (const char* key : {"name", "description", "target", "task", "metric", "positive_class", "modality"}) {
    if (j.contains(key) && !j[key].is_string()) {
      throw_invalid(fmt::format("{}: field \"{}\" must be text, not {}", source, key, j[key].dump()));
    }
  }
  if (j.contains("feature_types")) {
    const auto& types = j["feature_types"];
    if (!types.is_object()) {
      throw_invalid(fmt::format("{}: field \"feature_types\" must map column names to numeric, categorical or text",
                                source));
    }
    for (auto it = types.begin(); it != types.end(); ++it) {
      if (!it.value().is_string()) {
        throw_invalid(fmt::format("{}: feature_types: the type of column \"{}\" must be numeric, categorical or text, "
                                  "not {}",
                                  source, it.key(), it.value().dump()));
      }
      parse_column_type(it.value().get<std::string>());
    }
  }
  return j;
}

std::map<std::string, ColumnType> declared_feature_types(const nlohmann::json& overrides) {
  std::map<std::string, ColumnType> out;
  if (!overrides.contains("feature_types")) return out;
  for (auto it = overrides["feature_types"].begin(); it != overrides["feature_types"].end(); ++it) {
    out[it.key()] = parse_column_type(it.value().get<std::string>());
  }
  return out;
}

Target encode_target(const Table& table, const DataCard& card, bool unknown_to_nan) {
  const Column& col = table.column(card.target);
  Target t;
  t.name = card.target;
  t.task = card.task;
  t.y.assign(table.n_rows, std::nan(""));
  if (card.task == Task::kRegression) {
    if (col.type != ColumnType::kNumeric) {
      throw_invalid(fmt::format("target \"{}\" in {} must be numeric for regression", card.target, table.source));
    }
    t.y = col.numeric;
    return t;
  }
  std::unordered_map<std::string, int> index;
  for (const auto& [c, k] : card.classes) {
    index[c] = static_cast<int>(t.classes.size());
    t.classes.push_back(c);
  }
  t.positive = card.task == Task::kBinary ? index.at(card.positive_class) : 0;
  for (std::size_t i = 0; i < table.n_rows; ++i) {
    if (col.is_missing(i)) continue;
    std::string v = col.type == ColumnType::kNumeric ? number_text(col.numeric[i]) : col.cell_string(i);
    auto it = index.find(v);
    if (it == index.end() && unknown_to_nan) continue;
    if (it == index.end()) {
      throw_invalid(fmt::format("{}: row {}: target \"{}\" has class {} that the training data does not have "
                                "(classes: {})",
                                table.source, i + 1, card.target, quote_value(v), join(t.classes, ", ")));
    }
    t.y[i] = it->second;
  }
  return t;
}

std::string dataset_name_from_path(const std::string& path) {
  std::filesystem::path p(path);
  if (!p.has_filename()) p = p.parent_path();  // an image folder written "photos/"
  std::string stem = p.stem().string();
  if ((stem == "train" || stem == "data") && p.has_parent_path()) stem = p.parent_path().filename().string();
  return stem;
}

std::string to_yaml(const nlohmann::json& j) {
  YAML::Emitter out;
  emit(out, j);
  return std::string(out.c_str()) + "\n";
}

}  // namespace automl
