// The user's "evaluation metrics and additional requirements", parsed from free
// text into constraints the search enforces.
//
//   Requirements r = parse_requirements("ROC AUC; train within 2 minutes; model under 5 MB; must be explainable");
//   // r.metric == "roc_auc", r.max_train_s == 120, r.max_model_mb == 5, r.explainable == true
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace automl {

struct Requirements {
  std::string text;                    // as the user wrote it
  std::string metric;                  // a metric named in the text ("" = none)
  double max_train_s = -1;             // "train within 2 minutes"
  double max_model_mb = -1;            // "model under 5 MB"
  double max_predict_ms_per_row = -1;  // "predict under 1 ms per row"
  bool explainable = false;            // "must be explainable" / "interpretable"
  std::vector<std::string> unrecognised;  // clauses nothing above understood

  bool any_limit() const { return max_model_mb > 0 || max_predict_ms_per_row > 0; }
  nlohmann::json to_json() const;
};

// Clauses are separated by ';', ',' or newlines. Throws kInvalidInput on a clause
// that names a limit with an unreadable number or unit.
Requirements parse_requirements(const std::string& text);

}  // namespace automl
