// Columns from in-memory values (table.h): the data frames of the Python package.
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "automl/error.h"
#include "automl/table.h"

namespace automl {

Column numeric_column(std::string name, std::vector<double> values) {
  Column col;
  col.name = std::move(name);
  col.type = ColumnType::kNumeric;
  // As read_csv: values past the float range the feature matrices hold (infinities,
  // 1e308) are missing cells, counted.
  for (double& v : values) {
    if (std::abs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
      v = std::numeric_limits<double>::quiet_NaN();
      ++col.n_out_of_range;
    }
    col.n_missing += std::isnan(v) ? 1 : 0;
  }
  col.numeric = std::move(values);
  return col;
}

Column string_column(std::string name, const std::vector<std::optional<std::string>>& cells,
                     std::optional<ColumnType> type, const CsvOptions& options) {
  if (type == ColumnType::kNumeric) {
    throw_invalid("column " + name + " holds strings and cannot be numeric");
  }
  Column col;
  col.name = std::move(name);
  std::unordered_map<std::string_view, int32_t> index;
  std::vector<int32_t> codes;
  codes.reserve(cells.size());
  std::size_t total_length = 0;
  for (const auto& cell : cells) {
    if (!cell) {
      codes.push_back(-1);
      ++col.n_missing;
      continue;
    }
    total_length += cell->size();
    auto [it, added] = index.emplace(*cell, static_cast<int32_t>(col.levels.size()));
    if (added) col.levels.push_back(*cell);
    codes.push_back(it->second);
  }
  const std::size_t n_present = cells.size() - col.n_missing;
  bool is_text = type == ColumnType::kText;
  if (!type && n_present > 0) {
    // The rule read_csv applies to a string column: long and mostly distinct is text.
    const double mean_length = static_cast<double>(total_length) / static_cast<double>(n_present);
    const double unique_share = static_cast<double>(col.levels.size()) / static_cast<double>(n_present);
    is_text = mean_length >= options.text_min_mean_length && unique_share >= options.text_min_unique_share;
  }
  if (is_text) {
    col.type = ColumnType::kText;
    col.text.reserve(cells.size());
    col.text_missing.reserve(cells.size());
    for (const auto& cell : cells) {
      col.text.push_back(cell ? *cell : std::string());
      col.text_missing.push_back(cell ? 0 : 1);
    }
    col.levels.clear();
  } else {
    col.type = ColumnType::kCategorical;
    col.codes = std::move(codes);
  }
  return col;
}

}  // namespace automl
