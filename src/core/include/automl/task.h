// What is being learned, and the encoded labels.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace automl {

enum class Task { kBinary, kMulticlass, kRegression };
const char* task_name(Task task);
Task parse_task(std::string_view name);  // throws kInvalidInput
inline bool is_classification(Task t) { return t != Task::kRegression; }

// The target column, encoded. Classes are sorted by their text; `y` holds the class
// index for classification and the value for regression.
struct Target {
  std::string name;
  Task task = Task::kRegression;
  std::vector<std::string> classes;
  int positive = 1;  // index of the positive class (binary)
  std::vector<double> y;

  int n_classes() const { return static_cast<int>(classes.size()); }
  // Columns in a prediction matrix: n_classes for classification, 1 for regression.
  int n_outputs() const { return is_classification(task) ? n_classes() : 1; }
};

}  // namespace automl
