#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/image.h"
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

// A code's level name: integers without a decimal point.
std::string format_code(double v) {
  if (std::floor(v) == v && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return fmt::format("{}", v);
}

// A numeric column read as codes: each row's level index (-1 when the value is missing
// or was not seen in fit).
std::vector<int> code_indices(const Column& col, const std::vector<double>& values, std::size_t n,
                              const std::function<std::size_t(std::size_t)>& row_at) {
  std::unordered_map<double, int> index;
  for (std::size_t i = 0; i < values.size(); ++i) index.emplace(values[i], static_cast<int>(i));
  std::vector<int> out(n, -1);
  for (std::size_t i = 0; i < n; ++i) {
    auto it = index.find(col.numeric[row_at(i)]);
    if (it != index.end()) out[i] = it->second;
  }
  return out;
}

}  // namespace

void Preprocessor::fit(const Table& table, const std::vector<std::string>& features,
                       const std::vector<std::size_t>& rows) {
  features_.clear();
  if (encoding_ == Encoding::kImage) return fit_image(table, features, rows);
  for (const auto& name : features) {
    const Column& col = table.column(name);
    Feature f;
    f.name = name;
    f.type = col.type;
    if (col.type == ColumnType::kText) {
      // Text models read the documents themselves (FeatureMatrix::texts); others leave text out.
      if (encoding_ == Encoding::kText) features_.push_back(std::move(f));
      continue;
    }
    const bool codes = col.type == ColumnType::kNumeric &&
                       std::find(codes_as_categories_.begin(), codes_as_categories_.end(), name) != codes_as_categories_.end();
    if (codes) {
      // Distinct values, most frequent first; the one-hot encoding keeps only the head.
      std::unordered_map<double, std::size_t> counts;
      for (auto r : rows) {
        const double v = col.numeric[r];
        if (std::isfinite(v)) ++counts[v];
      }
      std::vector<std::pair<double, std::size_t>> order(counts.begin(), counts.end());
      std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      const bool one_hot = encoding_ == Encoding::kOneHot || encoding_ == Encoding::kText;
      if (one_hot && order.size() > kMaxOneHotLevels) order.resize(kMaxOneHotLevels);
      f.codes = true;
      for (const auto& [v, n] : order) {
        f.code_values.push_back(v);
        f.levels.push_back(format_code(v));
      }
      features_.push_back(std::move(f));
      continue;
    }
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
      const bool one_hot = encoding_ == Encoding::kOneHot || encoding_ == Encoding::kText;
      if (one_hot && order.size() > kMaxOneHotLevels) order.resize(kMaxOneHotLevels);
      for (auto i : order) f.levels.push_back(col.levels[i]);
    }
    features_.push_back(std::move(f));
  }
}

std::size_t Preprocessor::n_outputs() const {
  if (encoding_ == Encoding::kNative || encoding_ == Encoding::kImage) return features_.size();
  std::size_t n = 0;
  for (const auto& f : features_) {
    if (f.type == ColumnType::kText) continue;  // documents, not columns
    n += f.codes ? f.levels.size() : f.type == ColumnType::kNumeric ? 1 + (f.missing_indicator ? 1 : 0) : f.levels.size();
  }
  return n;
}

FeatureMatrix Preprocessor::transform(const Table& table, const std::vector<std::size_t>* rows) const {
  if (encoding_ == Encoding::kImage) return transform_image(table, rows);
  FeatureMatrix m;
  m.rows = rows ? rows->size() : table.n_rows;
  m.cols = n_outputs();
  m.values.assign(m.rows * m.cols, 0.0f);
  if (encoding_ == Encoding::kText) m.texts.assign(m.rows, std::string());
  auto row_at = [&](std::size_t i) { return rows ? (*rows)[i] : i; };
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
    if (f.codes) {
      const std::vector<int> idx = code_indices(col, f.code_values, m.rows, row_at);
      if (encoding_ == Encoding::kNative) {
        for (std::size_t i = 0; i < m.rows; ++i) m.values[i * m.cols + c] = idx[i] >= 0 ? static_cast<float>(idx[i]) : NAN;
        m.names.push_back(f.name);
        m.n_categories.push_back(static_cast<int>(std::max<std::size_t>(1, f.levels.size())));
        ++c;
        continue;
      }
      for (std::size_t i = 0; i < m.rows; ++i) {
        if (idx[i] >= 0) m.values[i * m.cols + c + static_cast<std::size_t>(idx[i])] = 1.0f;
      }
      for (const auto& l : f.levels) {
        m.names.push_back(f.name + "=" + l);
        m.n_categories.push_back(0);
      }
      c += f.levels.size();
      continue;
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
  j["encoding"] = encoding_ == Encoding::kNative ? "native" : encoding_ == Encoding::kText ? "text"
                  : encoding_ == Encoding::kImage ? "image" : "onehot";
  if (encoding_ == Encoding::kImage) {
    j["image"] = {{"scale", image_scale_}, {"channels", image_channels_}, {"height", image_height_},
                  {"width", image_width_}};
  }
  j["features"] = nlohmann::json::array();
  for (const auto& f : features_) {
    nlohmann::json fj = {{"name", f.name}, {"type", column_type_name(f.type)}};
    if (f.codes) {
      fj["codes"] = f.code_values;
    } else if (f.type == ColumnType::kNumeric) {
      fj["fill"] = f.fill;
      fj["mean"] = f.mean;
      fj["scale"] = f.scale;
      fj["missing_indicator"] = f.missing_indicator;
    } else if (f.type == ColumnType::kCategorical) {
      fj["levels"] = f.levels;
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
    p.image_channels_ = im.at("channels").get<int>();
    p.image_height_ = im.at("height").get<int>();
    p.image_width_ = im.at("width").get<int>();
  }
  for (const auto& fj : j.at("features")) {
    Feature f;
    f.name = fj.at("name").get<std::string>();
    f.type = parse_column_type(fj.at("type").get<std::string>());
    if (f.type == ColumnType::kNumeric && fj.contains("codes")) {
      f.codes = true;
      f.code_values = fj.at("codes").get<std::vector<double>>();
      for (double v : f.code_values) f.levels.push_back(format_code(v));
      p.codes_as_categories_.push_back(f.name);
    } else if (f.type == ColumnType::kNumeric) {
      f.fill = fj.at("fill").get<double>();
      f.mean = fj.at("mean").get<double>();
      f.scale = fj.at("scale").get<double>();
      f.missing_indicator = fj.at("missing_indicator").get<bool>();
    } else if (f.type == ColumnType::kCategorical) {
      f.levels = fj.at("levels").get<std::vector<std::string>>();
    }
    p.features_.push_back(std::move(f));
  }
  return p;
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
