// A request file: several tasks in one `automl-gpt run --request FILE`, given as
// structured fields, as free text the planner decomposes, or both.
//
//   # request.yaml
//   budget: 2m                      # for the whole request (default: --budget)
//   request: |                      # words: the planner splits them into tasks
//     Predict species from penguins/train.csv with accuracy; must be explainable.
//   tasks:                          # fields: each one task
//     - name: adult
//       train: adult/train.csv      # paths are relative to the request file
//       test: adult/test.csv
//       target: income
//       metric: roc_auc
//       requirements: train within 30 seconds
//       budget: 40s
//
//   nlohmann::json summary = run_request("request.yaml", defaults, std::cerr);
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/planner.h"
#include "automl/run.h"

namespace automl {

struct RequestFile {
  std::filesystem::path path;
  std::string text;             // "request:" in words ("" = none)
  std::vector<TaskSpec> tasks;  // "tasks:", paths as written
  double budget_s = 0;          // "budget:" (0 = the command's --budget)
  double memory_bytes = 0;      // "memory:" each task's memory limit (0 = --memory, else the default)
};

// Throws kNotFound (no file) or kInvalidInput naming the file, line and field.
RequestFile load_request(const std::string& path);

// The column names of a CSV/TSV file's header row.
std::vector<std::string> read_header(const std::filesystem::path& path);

// Decomposes the request, runs each task with `defaults` for what the task leaves
// open (defaults.budget_s > 0 overrides the file's budget), and writes the request's folder: request.json, plan.json (the
// decomposition), summary.json (one result per task) and tasks/<name>/ (each a
// full run folder). Tasks that fail are recorded and the others still run; then
// the first failure is thrown.
nlohmann::json run_request(const std::string& request_path, const RunRequest& defaults, std::ostream& progress);

}  // namespace automl
