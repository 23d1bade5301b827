// The built-in planner's opening moves: a short list of settings that are good
// across many tabular datasets, ordered cheap to expensive. They run before any
// random search so that even a tiny budget ends with a sound model.
#include <algorithm>

#include "automl/planner.h"

namespace automl {

std::vector<Proposal> default_portfolio(Task task, std::size_t n_rows, const std::vector<std::string>& families) {
  auto allowed = [&](const std::string& f) {
    return families.empty() || std::find(families.begin(), families.end(), f) != families.end();
  };
  std::vector<Proposal> out;
  if (allowed("constant")) out.push_back({"constant", nlohmann::json::object(), "baseline every model must beat"});
  if (allowed("tfidf_linear")) {  // assigned only when the data has free text
    out.push_back({"tfidf_linear", nlohmann::json::object(),
                   "TF-IDF word 1-2 grams + logistic regression: the strong, fast baseline for text"});
    out.push_back({"tfidf_linear", {{"char_ngrams", true}}, "with character 2-5 grams: robust to typos and word forms"});
    out.push_back({"tfidf_linear", {{"C", 20.0}}, "less regularised: many distinctive words per document"});
    out.push_back({"tfidf_linear", {{"word_ngram_max", 1}, {"min_df", 1}, {"C", 30.0}},
                   "single words, every one kept, lightly regularised"});
  }
  if (allowed("linear")) {
    out.push_back({"linear", {{"C", 1.0}}, "regularised linear model: strong on small and wide data"});
    out.push_back({"linear", {{"C", 0.1}}, "the same, more regularised"});
  }
  // The small-table families (rows^2 cost), with their textbook settings.
  const bool small = n_rows <= kSmallTableRows;
  if (small && allowed("knn")) {
    out.push_back({"knn", {{"k", 10}, {"weights", "distance"}, {"metric", "euclidean"}},
                   "10 nearest neighbours, distance-weighted: a local, non-linear reference on a small table"});
  }
  if (small && allowed("svm")) {
    out.push_back({"svm", {{"C", 1.0}, {"gamma_factor", 1.0}, {"kernel", "rbf"}},
                   "RBF kernel SVM with the 'scale' kernel width: often strong on small, dense tables"});
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
  if (small && allowed("svm")) {
    out.push_back({"svm", {{"C", 10.0}, {"gamma_factor", 1.0}, {"kernel", "rbf"}}, "the RBF SVM, less regularised"});
  }
  if (allowed("linear")) out.push_back({"linear", {{"C", 10.0}}, "the linear model, less regularised"});
  (void)task;
  return out;
}

}  // namespace automl
