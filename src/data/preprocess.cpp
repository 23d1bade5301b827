#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/saved_json.h"
#include "automl/image.h"
#include "automl/level_label.h"
#include "automl/preprocess.h"

namespace automl {
namespace {

constexpr std::size_t kMaxOneHotLevels = 100;
constexpr int kTargetFolds = 5;            // target encoding's out-of-fold parts
constexpr double kTargetSmoothing = 10.0;  // rows' worth of the overall mean a level's mean is shrunk with
const char* const kRareLevel = "(rare)";

// A code's level name: integers without a decimal point.
std::string format_code(double v) {
  if (std::floor(v) == v && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return fmt::format("{}", v);
}

// The level index of every asked row (-1 when missing or without a level; with a
// "(rare)" level, every present value without its own level gets that one).
std::vector<int> level_indices(const Column& col, const std::vector<std::string>& levels,
                               const std::vector<double>& code_values, bool other_level, std::size_t n,
                               const std::function<std::size_t(std::size_t)>& row_at) {
  std::vector<int> out(n, -1);
  const int other = other_level ? static_cast<int>(levels.size()) - 1 : -1;
  const std::size_t own = other_level ? levels.size() - 1 : levels.size();
  if (col.type == ColumnType::kNumeric) {
    std::unordered_map<double, int> index;
    for (std::size_t i = 0; i < own && i < code_values.size(); ++i) index.emplace(code_values[i], static_cast<int>(i));
    for (std::size_t i = 0; i < n; ++i) {
      const double v = col.numeric[row_at(i)];
      if (std::isnan(v)) continue;
      auto it = index.find(v);
      out[i] = it != index.end() ? it->second : other;
    }
    return out;
  }
  std::unordered_map<std::string_view, int> index;  // views of `levels`: a long level is not copied
  for (std::size_t i = 0; i < own; ++i) index.emplace(levels[i], static_cast<int>(i));
  std::vector<int> remap(col.levels.size(), other);
  for (std::size_t i = 0; i < col.levels.size(); ++i) {
    auto it = index.find(col.levels[i]);
    if (it != index.end()) remap[i] = it->second;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const int32_t code = col.codes[row_at(i)];
    if (code >= 0) out[i] = remap[static_cast<std::size_t>(code)];
  }
  return out;
}

double quantile_of(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// Whether one value (missing counts as one) holds more than 99.5% of the rows.
bool one_value_fills(const Column& col, const std::vector<std::size_t>& rows) {
  if (rows.empty()) return false;
  std::size_t top = 0;
  if (col.type == ColumnType::kNumeric) {
    std::unordered_map<double, std::size_t> counts;
    std::size_t missing = 0;
    for (auto r : rows) {
      const double v = col.numeric[r];
      if (std::isnan(v)) {
        top = std::max(top, ++missing);
      } else {
        top = std::max(top, ++counts[v]);
      }
    }
  } else {
    std::vector<std::size_t> counts(col.levels.size() + 1, 0);
    for (auto r : rows) top = std::max(top, ++counts[static_cast<std::size_t>(col.codes[r] + 1)]);
  }
  return static_cast<double>(top) > 0.995 * static_cast<double>(rows.size());
}

double signed_log(double v) { return v < 0 ? -std::log1p(-v) : std::log1p(v); }

// Where v falls among the sorted training quantiles, in [0, 1] (interpolated).
double quantile_position(const std::vector<double>& q, double v) {
  if (q.empty()) return v;
  if (v <= q.front()) return 0;
  if (v >= q.back()) return 1;
  auto hi = std::upper_bound(q.begin(), q.end(), v);
  const auto j = static_cast<std::size_t>(hi - q.begin());
  const double a = q[j - 1], b = q[j];
  const double frac = b > a ? (v - a) / (b - a) : 0.0;
  return (static_cast<double>(j - 1) + frac) / static_cast<double>(q.size() - 1);
}

}  // namespace

bool ColumnOps::is_default() const { return to_json() == ColumnOps{}.to_json(); }

nlohmann::json ColumnOps::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (drop) j["drop"] = drop_reason.empty() ? "dropped" : drop_reason;
  if (codes) j["codes"] = true;
  if (!categories.empty()) j["categories"] = categories;
  if (rare_below > 0) j["rare_below"] = rare_below;
  if (drop_if_near_constant) j["drop_if_near_constant"] = true;
  if (!transform.empty()) j["transform"] = transform;
  if (clip) j["clip"] = true;
  if (!impute.empty()) j["impute"] = impute;
  if (missing_indicator >= 0) j["missing_indicator"] = missing_indicator == 1;
  return j;
}

ColumnOps ColumnOps::from_json(const nlohmann::json& j) {
  ColumnOps o;
  if (j.contains("drop")) {
    o.drop = true;
    o.drop_reason = j["drop"].get<std::string>();
  }
  o.codes = j.value("codes", false);
  o.categories = j.value("categories", "");
  o.rare_below = j.value("rare_below", 0);
  o.drop_if_near_constant = j.value("drop_if_near_constant", false);
  o.transform = j.value("transform", "");
  o.clip = j.value("clip", false);
  o.impute = j.value("impute", "");
  if (j.contains("missing_indicator")) o.missing_indicator = j["missing_indicator"].get<bool>() ? 1 : 0;
  return o;
}

std::string design_key(const ColumnDesign& design) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, ops] : design) {
    if (!ops.is_default()) j[name] = ops.to_json();
  }
  return j.dump();
}

void Preprocessor::set_codes_as_categories(const std::vector<std::string>& columns) {
  for (const auto& c : columns) design_[c].codes = true;
}

std::vector<std::string> Preprocessor::codes_as_categories() const {
  std::vector<std::string> out;
  for (const auto& [name, ops] : design_) {
    if (ops.codes) out.push_back(name);
  }
  return out;
}

void Preprocessor::fit(const Table& table, const std::vector<std::string>& features,
                       const std::vector<std::size_t>& rows, const std::vector<double>* y) {
  features_.clear();
  near_constant_.clear();
  fit_table_ = &table;
  if (encoding_ == Encoding::kImage) return fit_image(table, features, rows);
  for (const auto& name : features) {
    const Column& col = table.column(name);
    Feature f;
    f.name = name;
    f.type = col.type;
    if (auto it = design_.find(name); it != design_.end()) f.ops = it->second;
    if (f.ops.drop) continue;
    if (f.ops.drop_if_near_constant && col.type != ColumnType::kText && one_value_fills(col, rows)) {
      near_constant_.push_back(name);
      continue;
    }
    if (col.type != ColumnType::kNumeric) f.ops.codes = false;  // only numbers can be read as codes
    if (col.type == ColumnType::kText) {
      // Text models read the documents themselves (FeatureMatrix::texts); others leave text out.
      if (encoding_ == Encoding::kText) features_.push_back(std::move(f));
      continue;
    }
    if (f.categorical()) {
      fit_categories(f, col, rows, y);
    } else {
      fit_numbers(f, col, rows);
    }
    features_.push_back(std::move(f));
  }
}

void Preprocessor::fit_numbers(Feature& f, const Column& col, const std::vector<std::size_t>& rows) {
  std::vector<double> seen;
  seen.reserve(rows.size());
  for (auto r : rows) {
    const double v = col.numeric[r];
    if (std::isfinite(v)) seen.push_back(v);
  }
  const bool native = encoding_ == Encoding::kNative;  // text families read numbers as one-hot ones do
  const std::string impute = f.ops.impute.empty() ? (native ? "" : "median") : f.ops.impute;
  if (!seen.empty()) {
    if (impute == "median" || impute.empty()) {
      f.fill = quantile_of(seen, 0.5);
    } else if (impute == "mean") {
      double s = 0;
      for (double v : seen) s += v;
      f.fill = s / static_cast<double>(seen.size());
    } else if (impute == "most_frequent") {
      std::unordered_map<double, std::size_t> counts;
      for (double v : seen) ++counts[v];
      std::size_t best = 0;
      for (const auto& [v, k] : counts) {
        if (k > best || (k == best && v < f.fill)) {
          best = k;
          f.fill = v;
        }
      }
    } else {
      f.fill = 0;  // impute_constant
    }
  }
  const bool any_missing = seen.size() < rows.size();
  f.missing_indicator = f.ops.missing_indicator >= 0 ? f.ops.missing_indicator == 1 : (!native && any_missing);
  if (f.ops.clip && !seen.empty()) {
    f.clip_lo = quantile_of(seen, 0.01);
    f.clip_hi = quantile_of(seen, 0.99);
  }
  // The value the model sees, before scaling.
  auto shaped = [&](double v) {
    if (f.ops.clip) v = std::clamp(v, f.clip_lo, f.clip_hi);
    if (f.ops.transform == "log") v = signed_log(v);
    return v;
  };
  if (f.ops.transform == "quantile" && !seen.empty()) {
    std::vector<double> v;
    for (double x : seen) v.push_back(shaped(x));
    std::sort(v.begin(), v.end());
    for (int q = 0; q <= 100; ++q) f.quantiles.push_back(v[static_cast<std::size_t>(q / 100.0 * (v.size() - 1))]);
  }
  if (native) return;
  // Imputed cells count at the fill value, so the scaled column has mean ~0.
  double s = 0, s2 = 0;
  const double n = static_cast<double>(rows.size());
  auto add = [&](double v) {
    if (f.ops.transform == "quantile") v = quantile_position(f.quantiles, v);
    s += v;
    s2 += v * v;
  };
  for (double v : seen) add(shaped(v));
  for (std::size_t i = seen.size(); i < rows.size(); ++i) add(shaped(f.fill));
  f.mean = n > 0 ? s / n : 0.0;
  const double var = n > 0 ? s2 / n - f.mean * f.mean : 0.0;
  f.scale = var > 1e-24 ? std::sqrt(var) : 1.0;
}

void Preprocessor::fit_categories(Feature& f, const Column& col, const std::vector<std::size_t>& rows,
                                  const std::vector<double>* y) {
  // Levels by training rows, most frequent first (ties by name or value).
  std::vector<std::string> names;
  std::vector<double> values;
  std::vector<std::size_t> counts;
  if (f.ops.codes) {
    std::unordered_map<double, std::size_t> by_value;
    for (auto r : rows) {
      const double v = col.numeric[r];
      if (std::isfinite(v)) ++by_value[v];
    }
    std::vector<std::pair<double, std::size_t>> order(by_value.begin(), by_value.end());
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    for (const auto& [v, k] : order) {
      values.push_back(v);
      names.push_back(format_code(v));
      counts.push_back(k);
    }
  } else {
    std::vector<std::size_t> by_code(col.levels.size(), 0);
    for (auto r : rows) {
      if (col.codes[r] >= 0) ++by_code[static_cast<std::size_t>(col.codes[r])];
    }
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < by_code.size(); ++i) {
      if (by_code[i] > 0) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return by_code[a] > by_code[b]; });
    for (auto i : order) {
      names.push_back(col.levels[i]);
      counts.push_back(by_code[i]);
    }
  }
  // Rare levels join one; the one-hot encoding keeps only the most frequent.
  std::size_t keep = names.size();
  if (f.ops.rare_below > 0) {
    keep = 0;
    while (keep < counts.size() && counts[keep] >= static_cast<std::size_t>(f.ops.rare_below)) ++keep;
  }
  const bool one_hot = (encoding_ == Encoding::kOneHot || encoding_ == Encoding::kText) && !f.one_number();
  if (one_hot) keep = std::min(keep, f.ops.rare_below > 0 ? kMaxOneHotLevels - 1 : kMaxOneHotLevels);
  std::size_t rare_rows = 0;
  for (std::size_t i = keep; i < counts.size(); ++i) rare_rows += counts[i];
  f.levels.assign(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(keep));
  if (f.ops.codes) f.code_values.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(keep));
  f.other_level = f.ops.rare_below > 0 && rare_rows > 0;
  if (f.other_level) f.levels.push_back(kRareLevel);
  if (!f.one_number()) return;

  // One number per level.
  const std::size_t n_levels = f.levels.size();
  const auto row_at = [&](std::size_t i) { return rows[i]; };
  const std::vector<int> idx = level_indices(col, f.levels, f.code_values, f.other_level, rows.size(), row_at);
  std::string how = f.ops.categories;
  if (how == "target" && !y) how = "frequency";
  f.level_values.assign(n_levels, 0.0);
  if (how == "ordinal") {
    // Rank by name (codes: by value); "(rare)" last.
    std::vector<std::size_t> order(f.ops.codes ? f.code_values.size() : n_levels - (f.other_level ? 1 : 0));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return f.ops.codes ? f.code_values[a] < f.code_values[b] : f.levels[a] < f.levels[b];
    });
    for (std::size_t k = 0; k < order.size(); ++k) f.level_values[order[k]] = static_cast<double>(k);
    if (f.other_level) f.level_values.back() = static_cast<double>(order.size());
    f.unseen = std::nan("");
  } else if (how == "frequency") {
    std::vector<double> k(n_levels, 0.0);
    for (int i : idx) {
      if (i >= 0) k[static_cast<std::size_t>(i)] += 1.0;
    }
    for (std::size_t i = 0; i < n_levels; ++i) f.level_values[i] = k[i] / static_cast<double>(std::max<std::size_t>(1, rows.size()));
    f.unseen = 0;
  } else {  // target: smoothed level means; the rows fitted on get out-of-fold ones
    double total = 0, n = 0;
    std::vector<double> sum(n_levels, 0.0), cnt(n_levels, 0.0);
    std::vector<std::vector<double>> part_sum(kTargetFolds, std::vector<double>(n_levels, 0.0));
    std::vector<std::vector<double>> part_cnt(kTargetFolds, std::vector<double>(n_levels, 0.0));
    std::vector<double> part_total(kTargetFolds, 0.0), part_n(kTargetFolds, 0.0);
    auto part_of = [](std::size_t r) { return static_cast<int>((r * 2654435761u) % kTargetFolds); };
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const double t = (*y)[rows[i]];
      if (std::isnan(t)) continue;
      const int p = part_of(rows[i]);
      total += t;
      n += 1;
      part_total[p] += t;
      part_n[p] += 1;
      if (idx[i] < 0) continue;
      const auto l = static_cast<std::size_t>(idx[i]);
      sum[l] += t;
      cnt[l] += 1;
      part_sum[p][l] += t;
      part_cnt[p][l] += 1;
    }
    const double prior = n > 0 ? total / n : 0.0;
    for (std::size_t l = 0; l < n_levels; ++l) f.level_values[l] = (sum[l] + kTargetSmoothing * prior) / (cnt[l] + kTargetSmoothing);
    f.unseen = prior;
    auto oof = std::make_shared<std::vector<float>>(col.size(), std::nanf(""));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const int p = part_of(rows[i]);
      const double rest_n = n - part_n[p];
      const double rest_prior = rest_n > 0 ? (total - part_total[p]) / rest_n : prior;
      double v = rest_prior;
      if (idx[i] >= 0) {
        const auto l = static_cast<std::size_t>(idx[i]);
        v = (sum[l] - part_sum[p][l] + kTargetSmoothing * rest_prior) / (cnt[l] - part_cnt[p][l] + kTargetSmoothing);
      }
      (*oof)[rows[i]] = static_cast<float>(v);
    }
    f.oof = std::move(oof);
  }
  f.ops.categories = how;
  // The one-hot encoding scales the number like any other (over the training rows).
  if (encoding_ == Encoding::kOneHot || encoding_ == Encoding::kText) {
    double s = 0, s2 = 0, m = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      double v = f.oof && !std::isnan((*f.oof)[rows[i]]) ? (*f.oof)[rows[i]]
                 : idx[i] >= 0                           ? f.level_values[static_cast<std::size_t>(idx[i])]
                                                         : f.unseen;
      if (std::isnan(v)) continue;
      s += v;
      s2 += v * v;
      m += 1;
    }
    f.mean = m > 0 ? s / m : 0.0;
    const double var = m > 0 ? s2 / m - f.mean * f.mean : 0.0;
    f.scale = var > 1e-24 ? std::sqrt(var) : 1.0;
  }
}

std::size_t Preprocessor::n_outputs() const {
  if (encoding_ == Encoding::kImage) return features_.size();
  std::size_t n = 0;
  const bool native = encoding_ == Encoding::kNative;
  for (const auto& f : features_) {
    if (f.type == ColumnType::kText) continue;  // documents, not columns
    if (f.categorical()) {
      n += f.one_number() || native ? 1 : f.levels.size();
    } else {
      n += 1 + (f.missing_indicator ? 1 : 0);
    }
  }
  return n;
}

std::vector<std::string> Preprocessor::output_columns() const {
  std::vector<std::string> out;
  const bool native = encoding_ == Encoding::kNative;
  for (const auto& f : features_) {
    std::size_t n = 1;
    if (encoding_ == Encoding::kImage) {
      n = 1;
    } else if (f.type == ColumnType::kText) {
      n = 0;
    } else if (f.categorical()) {
      n = f.one_number() || native ? 1 : f.levels.size();
    } else {
      n = f.missing_indicator ? 2 : 1;
    }
    out.insert(out.end(), n, f.name);
  }
  return out;
}

FeatureMatrix Preprocessor::transform(const Table& table, const std::vector<std::size_t>* rows) const {
  if (encoding_ == Encoding::kImage) return transform_image(table, rows);
  FeatureMatrix m;
  m.rows = rows ? rows->size() : table.n_rows;
  m.cols = n_outputs();
  m.values.assign(m.rows * m.cols, 0.0f);
  if (encoding_ == Encoding::kText) m.texts.assign(m.rows, std::string());
  const bool native = encoding_ == Encoding::kNative;
  const bool same_table = &table == fit_table_;  // (and the out-of-fold values' size, below)
  std::function<std::size_t(std::size_t)> row_at = [&](std::size_t i) { return rows ? (*rows)[i] : i; };
  auto add_name = [&](const std::string& name, int categories) {
    m.names.push_back(name);
    m.n_categories.push_back(categories);
  };
  std::size_t c = 0;
  for (const auto& f : features_) {
    const Column& col = table.column(f.name);
    if (col.type != f.type) {
      throw_invalid("column \"" + f.name + "\" in " + table.source + " reads as " + column_type_name(col.type) +
                    " but the model was trained on it as " + column_type_name(f.type));
    }
    if (f.type == ColumnType::kText) {
      // Encoding::kText: one document per row, the text columns joined by a newline
      // (a missing cell is an empty text).
      for (std::size_t i = 0; i < m.rows; ++i) {
        const std::size_t r = row_at(i);
        if (col.text_missing[r] || col.text[r].empty()) continue;
        std::string& doc = m.texts[i];
        if (!doc.empty()) doc += '\n';
        doc += col.text[r];
      }
      continue;
    }
    if (f.categorical()) {
      const std::vector<int> idx = level_indices(col, f.levels, f.code_values, f.other_level, m.rows, row_at);
      if (f.one_number()) {
        for (std::size_t i = 0; i < m.rows; ++i) {
          const std::size_t r = row_at(i);
          double v = idx[i] >= 0 ? f.level_values[static_cast<std::size_t>(idx[i])] : f.unseen;
          if (same_table && f.oof && f.oof->size() == table.n_rows && !std::isnan((*f.oof)[r])) v = (*f.oof)[r];
          if (!native) v = std::isnan(v) ? 0.0 : (v - f.mean) / f.scale;
          m.values[i * m.cols + c] = static_cast<float>(v);
        }
        add_name(f.name, 0);
        ++c;
        continue;
      }
      if (native) {
        for (std::size_t i = 0; i < m.rows; ++i) m.values[i * m.cols + c] = idx[i] >= 0 ? static_cast<float>(idx[i]) : NAN;
        add_name(f.name, static_cast<int>(std::max<std::size_t>(1, f.levels.size())));
        ++c;
        continue;
      }
      for (std::size_t i = 0; i < m.rows; ++i) {
        if (idx[i] >= 0) m.values[i * m.cols + c + static_cast<std::size_t>(idx[i])] = 1.0f;
      }
      for (const auto& l : f.levels) add_name(f.name + "=" + level_label(l), 0);
      c += f.levels.size();
      continue;
    }
    // Numbers: imputed (unless kept missing), clipped, transformed, and for the one-hot
    // encoding standardised.
    const bool keep_missing = native && f.ops.impute.empty();
    for (std::size_t i = 0; i < m.rows; ++i) {
      double v = col.numeric[row_at(i)];
      const bool missing = !std::isfinite(v) && !(native && std::isinf(v));
      if (missing && !keep_missing) v = f.fill;
      if (!std::isnan(v)) {
        if (f.ops.clip) v = std::clamp(v, f.clip_lo, f.clip_hi);
        if (f.ops.transform == "log") v = signed_log(v);
        if (f.ops.transform == "quantile") v = quantile_position(f.quantiles, v);
        if (!native) v = (v - f.mean) / f.scale;
      }
      m.values[i * m.cols + c] = static_cast<float>(v);
      if (f.missing_indicator) m.values[i * m.cols + c + 1] = missing ? 1.0f : 0.0f;
    }
    add_name(f.name, 0);
    if (f.missing_indicator) add_name(f.name + "=missing", 0);
    c += f.missing_indicator ? 2 : 1;
  }
  return m;
}

nlohmann::json Preprocessor::to_json() const {
  nlohmann::json j;
  j["encoding"] = encoding_ == Encoding::kNative ? "native" : encoding_ == Encoding::kText ? "text"
                  : encoding_ == Encoding::kImage ? "image" : "onehot";
  if (encoding_ == Encoding::kImage) {
    j["image"] = {{"scale", image_scale_}, {"channels", image_channels_}, {"height", image_height_},
                  {"width", image_width_}};
  }
  if (!design_.empty()) {
    j["design"] = nlohmann::json::object();
    for (const auto& [name, ops] : design_) j["design"][name] = ops.to_json();
  }
  if (!near_constant_.empty()) j["near_constant"] = near_constant_;
  j["features"] = nlohmann::json::array();
  for (const auto& f : features_) {
    nlohmann::json fj = {{"name", f.name}, {"type", column_type_name(f.type)}};
    if (!f.ops.is_default()) fj["ops"] = f.ops.to_json();
    if (f.categorical()) {
      fj["levels"] = f.levels;
      if (f.ops.codes) fj["codes"] = f.code_values;
      if (f.other_level) fj["other_level"] = true;
      if (f.one_number()) {
        fj["level_values"] = f.level_values;
        fj["unseen"] = std::isnan(f.unseen) ? nlohmann::json(nullptr) : nlohmann::json(f.unseen);
        fj["mean"] = f.mean;
        fj["scale"] = f.scale;
      }
    } else if (f.type == ColumnType::kNumeric) {
      fj["fill"] = f.fill;
      fj["mean"] = f.mean;
      fj["scale"] = f.scale;
      fj["missing_indicator"] = f.missing_indicator;
      if (f.ops.clip) fj["clip"] = {f.clip_lo, f.clip_hi};
      if (!f.quantiles.empty()) fj["quantiles"] = f.quantiles;
    }
    j["features"].push_back(fj);
  }
  return j;
}

Preprocessor Preprocessor::from_json(const nlohmann::json& j) {
  const std::string encoding = j.at("encoding").get<std::string>();
  Preprocessor p(encoding == "native" ? Encoding::kNative : encoding == "text" ? Encoding::kText
                 : encoding == "image" ? Encoding::kImage : Encoding::kOneHot);
  if (p.encoding_ == Encoding::kImage) {
    const auto& im = j.at("image");
    p.image_scale_ = im.at("scale").get<double>();
    p.image_channels_ = static_cast<int>(saved_int(im.at("channels"), 1, 3, "the saved image preprocessing's channels"));
    p.image_height_ = static_cast<int>(saved_int(im.at("height"), 1, kMaxImageValues, "the saved image preprocessing's height"));
    p.image_width_ = static_cast<int>(saved_int(im.at("width"), 1, kMaxImageValues, "the saved image preprocessing's width"));
  }
  if (j.contains("design")) {
    for (const auto& [name, ops] : j["design"].items()) p.design_[name] = ColumnOps::from_json(ops);
  }
  if (j.contains("near_constant")) p.near_constant_ = j["near_constant"].get<std::vector<std::string>>();
  for (const auto& fj : j.at("features")) {
    Feature f;
    f.name = fj.at("name").get<std::string>();
    f.type = parse_column_type(fj.at("type").get<std::string>());
    if (fj.contains("ops")) f.ops = ColumnOps::from_json(fj["ops"]);
    if (f.type == ColumnType::kNumeric && fj.contains("codes")) f.ops.codes = true;  // saved before "ops" existed
    if (f.categorical()) {
      f.levels = fj.at("levels").get<std::vector<std::string>>();
      if (f.ops.codes) f.code_values = fj.at("codes").get<std::vector<double>>();
      f.other_level = fj.value("other_level", false);
      if (f.one_number()) {
        f.level_values = fj.at("level_values").get<std::vector<double>>();
        f.unseen = fj.at("unseen").is_null() ? std::nan("") : fj["unseen"].get<double>();
        f.mean = fj.at("mean").get<double>();
        f.scale = fj.at("scale").get<double>();
      }
    } else if (f.type == ColumnType::kNumeric) {
      f.fill = fj.at("fill").get<double>();
      f.mean = fj.at("mean").get<double>();
      f.scale = fj.at("scale").get<double>();
      f.missing_indicator = fj.at("missing_indicator").get<bool>();
      if (fj.contains("clip")) {
        f.clip_lo = fj["clip"].at(0).get<double>();
        f.clip_hi = fj["clip"].at(1).get<double>();
      }
      if (fj.contains("quantiles")) f.quantiles = fj["quantiles"].get<std::vector<double>>();
    }
    p.features_.push_back(std::move(f));
  }
  p.check_saved();
  return p;
}

// What transform() indexes by must agree with itself: a saved preprocessor that does not
// (a damaged or hand-edited pipeline.json) is refused here rather than read out of bounds.
void Preprocessor::check_saved() const {
  auto damaged = [](const std::string& what) { throw_invalid("the saved preprocessing is damaged: " + what); };
  for (const auto& f : features_) {
    if (f.categorical()) {
      if (f.other_level && f.levels.empty()) damaged(fmt::format("column \"{}\" has a rare-level group but no levels", f.name));
      if (f.one_number() && f.level_values.size() != f.levels.size()) {
        damaged(fmt::format("column \"{}\" has {} levels but {} level values", f.name, f.levels.size(),
                            f.level_values.size()));
      }
    }
    if (!f.quantiles.empty() && (f.quantiles.size() < 2 || !std::is_sorted(f.quantiles.begin(), f.quantiles.end()))) {
      damaged(fmt::format("the quantiles of column \"{}\" are not an increasing list", f.name));
    }
  }
  if (encoding_ == Encoding::kImage) {
    const long values = static_cast<long>(image_channels_) * image_height_ * image_width_;
    if (image_channels_ <= 0 || image_height_ <= 0 || image_width_ <= 0 ||
        values > kMaxImageValues || values != static_cast<long>(features_.size()) || !(image_scale_ > 0)) {
      damaged(fmt::format("an image of {}x{}x{} with {} pixel columns", image_channels_, image_height_, image_width_,
                          features_.size()));
    }
  }
}

// Encoding::kImage. The pixel columns' names give the grid (pixel_R_C, or
// pixel_C_R_C with channels); other feature columns are left out, as text is
// for tabular models. One scale for every pixel: the training rows' largest value.
void Preprocessor::fit_image(const Table& table, const std::vector<std::string>& features,
                             const std::vector<std::size_t>& rows) {
  std::vector<std::pair<std::tuple<int, int, int>, std::string>> pixels;
  std::vector<std::string> names;
  for (const auto& name : features) {
    int ch = 0, r = 0, x = 0;
    if (!parse_pixel_name(name, &ch, &r, &x) || table.column(name).type != ColumnType::kNumeric) continue;
    pixels.push_back({{ch, r, x}, name});
    names.push_back(name);
  }
  const ImageShape shape = image_shape(names);
  if (shape.empty()) {
    throw_invalid("the image encoding needs numeric pixel columns named pixel_ROW_COL (or pixel_CHANNEL_ROW_COL); "
                  "none of the " + std::to_string(features.size()) + " feature columns is one");
  }
  std::sort(pixels.begin(), pixels.end());  // channel-major: (c, y, x)
  double top = 0;
  for (const auto& [at, name] : pixels) {
    const Column& col = table.column(name);
    for (auto r : rows) {
      const double v = col.numeric[r];
      if (!std::isnan(v)) top = std::max(top, v);
    }
    Feature f;
    f.name = name;
    f.type = ColumnType::kNumeric;
    features_.push_back(std::move(f));
  }
  image_scale_ = top > 0 ? top : 1.0;
  image_channels_ = shape.channels;
  image_height_ = shape.height;
  image_width_ = shape.width;
}

FeatureMatrix Preprocessor::transform_image(const Table& table, const std::vector<std::size_t>* rows) const {
  FeatureMatrix m;
  m.rows = rows ? rows->size() : table.n_rows;
  m.cols = features_.size();
  m.values.assign(m.rows * m.cols, 0.0f);
  m.image_channels = image_channels_;
  m.image_height = image_height_;
  m.image_width = image_width_;
  const auto inv = static_cast<float>(1.0 / image_scale_);
  for (std::size_t c = 0; c < m.cols; ++c) {
    const Column& col = table.column(features_[c].name);
    if (col.type != ColumnType::kNumeric) {
      throw_invalid("column \"" + features_[c].name + "\" in " + table.source + " reads as " +
                    column_type_name(col.type) + " but the model was trained on it as pixel values (numeric)");
    }
    for (std::size_t i = 0; i < m.rows; ++i) {
      const double v = col.numeric[rows ? (*rows)[i] : i];
      m.values[i * m.cols + c] = std::isnan(v) ? 0.0f : static_cast<float>(v) * inv;  // a missing pixel is dark
    }
    m.names.push_back(features_[c].name);
    m.n_categories.push_back(0);
  }
  return m;
}

}  // namespace automl
