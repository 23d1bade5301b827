// Small readings of a Data Card that several families' registrations share when
// they declare their opening settings, cost priors and network sizes. Private to
// src/models/.
#pragma once

#include <algorithm>
#include <string>

#include "automl/data_card.h"
#include "automl/image.h"
#include "automl/model.h"
#include "automl/nn.h"

namespace automl {

inline double card_meta(const DataCard& card, const std::string& key, double fallback = 0.0) {
  auto it = card.meta_features.find(key);
  return it == card.meta_features.end() ? fallback : it->second;
}

inline int card_outputs(const DataCard& card) {
  return is_classification(card.task) ? std::max<int>(2, static_cast<int>(card.classes.size())) : 1;
}

// Columns the one-hot encoding gives a family (numbers, a missing indicator where
// some are missing, up to 100 levels a category).
inline int one_hot_width(const DataCard& card) {
  double d = 0;
  for (const auto& c : card.columns) {
    if (c.type == ColumnType::kNumeric) d += c.missing_share > 0 ? 2 : 1;
    if (c.type == ColumnType::kCategorical) d += std::min<double>(100.0, static_cast<double>(c.cardinality));
  }
  return std::max(1, static_cast<int>(d));
}

inline ImageShape card_image(const DataCard& card) {
  return {card.image_channels, card.image_height, card.image_width};
}

inline bool within_limits(const NetworkCost& c, const ModelLimits& limits) {
  if (limits.max_model_mb > 0 && c.model_mb() > limits.max_model_mb) return false;
  if (limits.max_predict_ms_per_row > 0 && c.predict_ms_per_row() > limits.max_predict_ms_per_row) return false;
  return true;
}

}  // namespace automl
