#include "automl/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "automl/error.h"
#include "automl/strings.h"

namespace automl {

const std::vector<MetricInfo>& metric_infos() {
  static const std::vector<MetricInfo> infos = {
      {"roc_auc", true, true, "area under the ROC curve of the positive class (binary)"},
      {"accuracy", true, true, "share of rows whose most probable class is right"},
      {"log_loss", false, true, "mean negative log-likelihood of the true class"},
      {"macro_f1", true, true, "F1 of each class, averaged with equal weight"},
      {"rmse", false, false, "root mean squared error"},
      {"mae", false, false, "mean absolute error"},
      {"r2", true, false, "coefficient of determination"},
  };
  return infos;
}

const MetricInfo& metric_info(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& m : metric_infos()) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  throw_not_found("unknown metric \"" + name + "\"; " + did_you_mean(name, names) + " (known: " + join(names, ", ") +
                  ")");
}

std::string default_metric(Task task) {
  switch (task) {
    case Task::kBinary: return "roc_auc";
    case Task::kMulticlass: return "accuracy";
    case Task::kRegression: return "rmse";
  }
  return "rmse";
}

void check_metric_for_task(const std::string& metric, Task task) {
  const auto& info = metric_info(metric);
  if (info.classification != is_classification(task)) {
    throw_invalid("metric " + metric + " does not apply to a " + task_name(task) + " task; use " +
                  default_metric(task));
  }
  if (metric == "roc_auc" && task != Task::kBinary) {
    throw_invalid("metric roc_auc needs a binary target; this one is " + std::string(task_name(task)) +
                  "; use accuracy, log_loss or macro_f1");
  }
}

namespace {

double roc_auc(const std::vector<double>& y, const std::vector<double>& pred, int k, int positive) {
  std::size_t n = y.size();
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  auto score = [&](std::size_t i) { return pred[i * k + positive]; };
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return score(a) < score(b); });
  // Mann-Whitney U with average ranks for ties.
  double n_pos = 0, rank_sum = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && score(idx[j + 1]) == score(idx[i])) ++j;
    double avg_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t t = i; t <= j; ++t) {
      if (static_cast<int>(y[idx[t]]) == positive) {
        rank_sum += avg_rank;
        n_pos += 1;
      }
    }
    i = j + 1;
  }
  double n_neg = static_cast<double>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::nan("");
  return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg);
}

int argmax_row(const std::vector<double>& pred, std::size_t row, int k) {
  const double* p = pred.data() + row * k;
  return static_cast<int>(std::max_element(p, p + k) - p);
}

}  // namespace

double compute_metric(const std::string& metric, const Target& target, const std::vector<double>& y,
                      const std::vector<double>& pred) {
  const std::size_t n = y.size();
  if (n == 0) return std::nan("");
  const int k = target.n_outputs();
  if (pred.size() != n * static_cast<std::size_t>(k)) {
    throw_internal("prediction size " + std::to_string(pred.size()) + " does not match " + std::to_string(n) +
                   " rows x " + std::to_string(k));
  }
  if (metric == "roc_auc") return roc_auc(y, pred, k, target.positive);
  if (metric == "accuracy") {
    std::size_t right = 0;
    for (std::size_t i = 0; i < n; ++i) right += argmax_row(pred, i, k) == static_cast<int>(y[i]);
    return static_cast<double>(right) / static_cast<double>(n);
  }
  if (metric == "log_loss") {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) {
      // Normalise the row first, as a user's probabilities may not sum to one exactly.
      double total = 0;
      for (int c = 0; c < k; ++c) total += pred[i * k + c];
      double p = pred[i * k + static_cast<int>(y[i])] / (total > 0 ? total : 1.0);
      s -= std::log(std::clamp(p, 1e-15, 1.0 - 1e-15));
    }
    return s / static_cast<double>(n);
  }
  if (metric == "macro_f1") {
    std::vector<double> tp(k), fp(k), fn(k);
    for (std::size_t i = 0; i < n; ++i) {
      int p = argmax_row(pred, i, k), t = static_cast<int>(y[i]);
      if (p == t) {
        tp[t] += 1;
      } else {
        fp[p] += 1;
        fn[t] += 1;
      }
    }
    double sum = 0;
    int counted = 0;
    for (int c = 0; c < k; ++c) {
      if (tp[c] + fn[c] == 0 && fp[c] == 0) continue;  // class absent from both
      double denom = 2 * tp[c] + fp[c] + fn[c];
      sum += denom > 0 ? 2 * tp[c] / denom : 0.0;
      ++counted;
    }
    return counted ? sum / counted : std::nan("");
  }
  if (metric == "rmse" || metric == "mae" || metric == "r2") {
    double se = 0, ae = 0, mean = 0;
    for (std::size_t i = 0; i < n; ++i) mean += y[i];
    mean /= static_cast<double>(n);
    double ss_tot = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double d = pred[i] - y[i];
      se += d * d;
      ae += std::abs(d);
      ss_tot += (y[i] - mean) * (y[i] - mean);
    }
    if (metric == "rmse") return std::sqrt(se / static_cast<double>(n));
    if (metric == "mae") return ae / static_cast<double>(n);
    return ss_tot > 0 ? 1.0 - se / ss_tot : std::nan("");
  }
  metric_info(metric);  // throws the unknown-metric error
  throw_internal("metric " + metric + " has no implementation");
}

std::vector<std::pair<std::string, double>> compute_all_metrics(const Target& target, const std::vector<double>& y,
                                                                const std::vector<double>& pred) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& m : metric_infos()) {
    if (m.classification != is_classification(target.task)) continue;
    if (m.name == "roc_auc" && target.task != Task::kBinary) continue;
    out.emplace_back(m.name, compute_metric(m.name, target, y, pred));
  }
  return out;
}

bool metric_better(const std::string& metric, double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return metric_info(metric).higher_is_better ? a > b : a < b;
}

}  // namespace automl
