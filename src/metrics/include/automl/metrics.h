// Evaluation metrics. Predictions are rows x n_outputs (class probabilities or
// the value), as Model::predict returns them.
#pragma once

#include <string>
#include <vector>

#include "automl/task.h"

namespace automl {

struct MetricInfo {
  std::string name;
  bool higher_is_better;
  bool classification;  // needs class probabilities
  std::string doc;
};

const std::vector<MetricInfo>& metric_infos();
const MetricInfo& metric_info(const std::string& name);  // throws kNotFound with close names
// The metric a task is judged by when the user names none.
std::string default_metric(Task task);
// Throws kInvalidInput when the metric does not fit the task (rmse on a binary task, ...).
void check_metric_for_task(const std::string& metric, Task task);

double compute_metric(const std::string& metric, const Target& target, const std::vector<double>& y,
                      const std::vector<double>& pred);
// All metrics that apply to the task, by name.
std::vector<std::pair<std::string, double>> compute_all_metrics(const Target& target, const std::vector<double>& y,
                                                                const std::vector<double>& pred);

// True when score `a` is better than `b` under `metric` (NaN is never better).
bool metric_better(const std::string& metric, double a, double b);

}  // namespace automl
