#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "automl/error.h"
#include "automl/pipeline.h"

namespace automl {
namespace {

constexpr std::size_t kMaxOneHotLevels = 100;

// Maps a table's category codes to the levels learned in fit (-1 when unseen).
std::vector<int> remap_levels(const Column& col, const std::vector<std::string>& levels) {
  std::unordered_map<std::string, int> index;
  for (std::size_t i = 0; i < levels.size(); ++i) index.emplace(levels[i], static_cast<int>(i));
  std::vector<int> out(col.levels.size(), -1);
  for (std::size_t i = 0; i < col.levels.size(); ++i) {
    auto it = index.find(col.levels[i]);
    if (it != index.end()) out[i] = it->second;
  }
  return out;
}

}  // namespace

void Preprocessor::fit(const Table& table, const std::vector<std::string>& features,
                       const std::vector<std::size_t>& rows) {
  features_.clear();
  for (const auto& name : features) {
    const Column& col = table.column(name);
    Feature f;
    f.name = name;
    f.type = col.type;
    if (col.type == ColumnType::kText) continue;  // text needs its own models (a later family)
    if (col.type == ColumnType::kNumeric) {
      double s = 0, s2 = 0;
      std::vector<double> seen;
      seen.reserve(rows.size());
      for (auto r : rows) {
        double v = col.numeric[r];
        if (!std::isnan(v)) seen.push_back(v);
      }
      if (!seen.empty()) {
        std::nth_element(seen.begin(), seen.begin() + seen.size() / 2, seen.end());
        f.fill = seen[seen.size() / 2];
      }
      f.missing_indicator = seen.size() < rows.size();
      for (double v : seen) {
        s += v;
        s2 += v * v;
      }
      // Imputed cells count at the fill value, so the scaled column has mean ~0.
      double n = static_cast<double>(rows.size());
      s += f.fill * (n - seen.size());
      s2 += f.fill * f.fill * (n - seen.size());
      f.mean = n > 0 ? s / n : 0.0;
      double var = n > 0 ? s2 / n - f.mean * f.mean : 0.0;
      f.scale = var > 1e-24 ? std::sqrt(var) : 1.0;
    } else {
      std::vector<std::size_t> counts(col.levels.size(), 0);
      for (auto r : rows) {
        if (col.codes[r] >= 0) ++counts[col.codes[r]];
      }
      std::vector<std::size_t> order;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] > 0) order.push_back(i);
      }
      // Most frequent first; the one-hot encoding keeps only the head.
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return counts[a] > counts[b]; });
      if (encoding_ == Encoding::kOneHot && order.size() > kMaxOneHotLevels) order.resize(kMaxOneHotLevels);
      for (auto i : order) f.levels.push_back(col.levels[i]);
    }
    features_.push_back(std::move(f));
  }
}

std::size_t Preprocessor::n_outputs() const {
  if (encoding_ == Encoding::kNative) return features_.size();
  std::size_t n = 0;
  for (const auto& f : features_) {
    n += f.type == ColumnType::kNumeric ? 1 + (f.missing_indicator ? 1 : 0) : f.levels.size();
  }
  return n;
}

FeatureMatrix Preprocessor::transform(const Table& table, const std::vector<std::size_t>* rows) const {
  FeatureMatrix m;
  m.rows = rows ? rows->size() : table.n_rows;
  m.cols = n_outputs();
  m.values.assign(m.rows * m.cols, 0.0f);
  auto row_at = [&](std::size_t i) { return rows ? (*rows)[i] : i; };
  std::size_t c = 0;
  for (const auto& f : features_) {
    const Column& col = table.column(f.name);
    if (col.type != f.type) {
      throw_invalid("column \"" + f.name + "\" in " + table.source + " reads as " + column_type_name(col.type) +
                    " but the model was trained on it as " + column_type_name(f.type));
    }
    if (f.type == ColumnType::kNumeric) {
      if (encoding_ == Encoding::kNative) {
        for (std::size_t i = 0; i < m.rows; ++i) m.values[i * m.cols + c] = static_cast<float>(col.numeric[row_at(i)]);
        m.names.push_back(f.name);
        m.n_categories.push_back(0);
        ++c;
        continue;
      }
      for (std::size_t i = 0; i < m.rows; ++i) {
        double v = col.numeric[row_at(i)];
        bool missing = std::isnan(v);
        m.values[i * m.cols + c] = static_cast<float>(((missing ? f.fill : v) - f.mean) / f.scale);
        if (f.missing_indicator) m.values[i * m.cols + c + 1] = missing ? 1.0f : 0.0f;
      }
      m.names.push_back(f.name);
      m.n_categories.push_back(0);
      if (f.missing_indicator) {
        m.names.push_back(f.name + "=missing");
        m.n_categories.push_back(0);
      }
      c += f.missing_indicator ? 2 : 1;
      continue;
    }
    std::vector<int> remap = remap_levels(col, f.levels);
    if (encoding_ == Encoding::kNative) {
      for (std::size_t i = 0; i < m.rows; ++i) {
        int32_t code = col.codes[row_at(i)];
        int mapped = code >= 0 ? remap[code] : -1;
        m.values[i * m.cols + c] = mapped >= 0 ? static_cast<float>(mapped) : NAN;
      }
      m.names.push_back(f.name);
      m.n_categories.push_back(static_cast<int>(std::max<std::size_t>(1, f.levels.size())));
      ++c;
      continue;
    }
    for (std::size_t i = 0; i < m.rows; ++i) {
      int32_t code = col.codes[row_at(i)];
      int mapped = code >= 0 ? remap[code] : -1;
      if (mapped >= 0) m.values[i * m.cols + c + mapped] = 1.0f;
    }
    for (const auto& l : f.levels) {
      m.names.push_back(f.name + "=" + l);
      m.n_categories.push_back(0);
    }
    c += f.levels.size();
  }
  return m;
}

nlohmann::json Preprocessor::to_json() const {
  nlohmann::json j;
  j["encoding"] = encoding_ == Encoding::kNative ? "native" : "onehot";
  j["features"] = nlohmann::json::array();
  for (const auto& f : features_) {
    nlohmann::json fj = {{"name", f.name}, {"type", column_type_name(f.type)}};
    if (f.type == ColumnType::kNumeric) {
      fj["fill"] = f.fill;
      fj["mean"] = f.mean;
      fj["scale"] = f.scale;
      fj["missing_indicator"] = f.missing_indicator;
    } else {
      fj["levels"] = f.levels;
    }
    j["features"].push_back(fj);
  }
  return j;
}

Preprocessor Preprocessor::from_json(const nlohmann::json& j) {
  Preprocessor p(j.at("encoding").get<std::string>() == "native" ? Encoding::kNative : Encoding::kOneHot);
  for (const auto& fj : j.at("features")) {
    Feature f;
    f.name = fj.at("name").get<std::string>();
    f.type = parse_column_type(fj.at("type").get<std::string>());
    if (f.type == ColumnType::kNumeric) {
      f.fill = fj.at("fill").get<double>();
      f.mean = fj.at("mean").get<double>();
      f.scale = fj.at("scale").get<double>();
      f.missing_indicator = fj.at("missing_indicator").get<bool>();
    } else {
      f.levels = fj.at("levels").get<std::vector<std::string>>();
    }
    p.features_.push_back(std::move(f));
  }
  return p;
}

}  // namespace automl
