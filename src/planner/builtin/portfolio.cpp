// The built-in planner's opening moves: a short list of settings that are good
// across many tabular datasets, ordered cheap to expensive. They run before any
// random search so that even a tiny budget ends with a sound model.
#include <algorithm>

#include "automl/search.h"

namespace automl {

std::vector<Proposal> default_portfolio(Task task, std::size_t n_rows, const std::vector<std::string>& families) {
  auto allowed = [&](const std::string& f) {
    return families.empty() || std::find(families.begin(), families.end(), f) != families.end();
  };
  std::vector<Proposal> out;
  if (allowed("constant")) out.push_back({"constant", nlohmann::json::object(), "baseline every model must beat"});
  if (allowed("linear")) {
    out.push_back({"linear", {{"C", 1.0}}, "regularised linear model: strong on small and wide data"});
    out.push_back({"linear", {{"C", 0.1}}, "the same, more regularised"});
  }
  if (allowed("xgboost")) {
    out.push_back({"xgboost", {{"learning_rate", 0.1}, {"max_depth", 6}}, "XGBoost defaults with early stopping"});
    out.push_back({"xgboost",
                   {{"learning_rate", 0.05}, {"max_depth", 4}, {"subsample", 0.8}, {"colsample_bytree", 0.8},
                    {"min_child_weight", 1.0}},
                   "shallow, sampled trees: robust on noisy data"});
    out.push_back({"xgboost",
                   {{"learning_rate", 0.05}, {"max_depth", 8}, {"subsample", 0.8}, {"colsample_bytree", 0.6},
                    {"min_child_weight", 3.0}, {"reg_lambda", 5.0}},
                   "deeper trees for interactions, with more regularisation"});
    out.push_back({"xgboost",
                   {{"learning_rate", 0.1}, {"max_depth", 3}, {"colsample_bytree", 0.5}, {"min_child_weight", 0.5}},
                   "stumps-like boosting: strong when effects are mostly additive"});
    if (n_rows <= 20000) {
      out.push_back({"xgboost",
                     {{"learning_rate", 0.02}, {"max_depth", 5}, {"subsample", 0.7}, {"colsample_bytree", 0.7},
                      {"min_child_weight", 2.0}},
                     "slow learning rate: more rounds, often the best final score"});
    }
  }
  if (allowed("linear")) out.push_back({"linear", {{"C", 10.0}}, "the linear model, less regularised"});
  (void)task;
  return out;
}

}  // namespace automl
