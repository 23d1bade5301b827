#include "automl/task.h"

#include "automl/error.h"

namespace automl {

const char* task_name(Task task) {
  switch (task) {
    case Task::kBinary: return "binary";
    case Task::kMulticlass: return "multiclass";
    case Task::kRegression: return "regression";
  }
  return "?";
}

Task parse_task(std::string_view name) {
  if (name == "binary") return Task::kBinary;
  if (name == "multiclass") return Task::kMulticlass;
  if (name == "regression") return Task::kRegression;
  throw_invalid("unknown task \"" + std::string(name) + "\"; expected binary, multiclass or regression");
}

}  // namespace automl
