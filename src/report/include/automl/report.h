// The HTML report of a run: one self-contained file, report.html in the run folder,
// that opens offline. It reads only the run folder's files (the Data Card, the plan,
// the leaderboard, the predicted and real training logs, the summary, the test
// predictions and labels, feature importance, the LLM's calls), so a run of any age
// gets a report, and `automl-gpt report RUN` makes it again.
//
//   automl::write_report("runs/20261130-0540-57a0");   // -> runs/.../report.html
//
// The page is the template src/report/assets/report.html with Chart.js
// (third_party/chartjs, inlined at build time) and the run's data as one JSON document;
// the page's script draws every plot from that document. Nothing is fetched.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace automl {

// Everything the report shows, gathered from a run folder: the files as they are, plus
// what the page should not compute from raw rows (each trial's real curve averaged over
// its folds, the rank correlation of predicted and real final scores, the test set's
// confusion matrix, ROC and precision-recall curves, residuals). `summary`, when given,
// stands in for summary.json (the run writes that file after its report). Throws
// kNotFound when the folder has no summary and none is given, kInvalidInput naming the
// file and line of a malformed file.
nlohmann::json report_data(const std::filesystem::path& run_dir, const nlohmann::json* summary = nullptr);

// The HTML page for `data` (what report_data returns).
std::string render_report(const nlohmann::json& data);

// Writes run_dir/report.html and returns its path. Throws as report_data does, and kIo.
std::filesystem::path write_report(const std::filesystem::path& run_dir, const nlohmann::json* summary = nullptr);

}  // namespace automl
