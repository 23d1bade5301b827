// A run as a session: one object owns a run's state and exposes its phases, each
// with a named result. The CLI, a request file's tasks, `bench` and `learn` drive it.
//
//   Session s(request, std::cerr);
//   const DataCard& card = s.read();        // the data and its Data Card
//   const RunPlan& plan = s.plan();         // the run folder, the store, the planner's answers
//   const SearchResult& r = s.search();     // trials within the budget
//   s.refit();  s.ensemble();  s.save();  s.tail();  s.importance();
//   nlohmann::json summary = s.summarize();
//
// Each phase runs the ones before it that have not run, so `s.summarize()` alone does
// the whole run, as `run()` does. The store records every trial as it goes; a session
// opened with `Session::resume` continues a run that was killed or interrupted, reading
// its finished trials back instead of training them again.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/ensemble.h"
#include "automl/explain.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "automl/run.h"
#include "automl/search.h"

namespace automl {

class StudyEvaluator;

// The planner's answers for a run, saved before any training (plan.json) and kept in
// the store, so a resumed run asks no stage again.
struct RunPlan {
  std::vector<ModelAssignment> assignment;
  std::map<std::string, std::vector<PreprocessingStep>> design;  // family -> its steps
  std::vector<Proposal> proposals;
  ValidationPlan validation;

  nlohmann::json to_json() const;
  static RunPlan from_json(const nlohmann::json& j);  // throws kInvalidInput
};

// The model the run keeps, and how it was trained.
struct RefitResult {
  const Pipeline* pipeline = nullptr;
  std::string trained_as;  // "refit on all training rows", or why a fold model stands in
  double seconds = 0;
};

// The ensemble chosen from the trials' out-of-fold predictions, and whether it was built.
struct EnsembleResult {
  const EnsembleChoice* choice = nullptr;
  bool built = false;      // its members are trained: the saved model is the ensemble
  std::string outcome;     // how its members were trained, or why it was not built
  double seconds = 0;      // choosing and building
};

// What saving the model and scoring the test file gave.
struct SaveResult {
  std::filesystem::path model_dir;
  nlohmann::json test;     // test_score, test_scores, test_predictions ... (empty without a test file)
  double seconds = 0;
};

class Session {
 public:
  // A new run. Nothing is read or written until the first phase.
  Session(RunRequest request, std::ostream& progress);
  // A run that stopped before its end (killed, interrupted, failed), from its folder:
  // the request, the plan and the finished trials come from its store. `budget_s` > 0
  // gives a new budget; otherwise it is what the first process had not used.
  static std::unique_ptr<Session> resume(const std::filesystem::path& run_dir, std::ostream& progress,
                                         double budget_s = 0, bool quiet = false);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const DataCard& read();
  const RunPlan& plan();
  const SearchResult& search();
  RefitResult refit();
  EnsembleResult ensemble();
  SaveResult save();
  // What the end kept back and did not need goes to more trials; a better ensemble found
  // then replaces the saved model. Returns the number of trials it added.
  int tail();
  // Permutation importance of each input column (with gain and |SHAP| for boosted
  // trees), written to feature_importance.csv within 3% of the budget.
  const FeatureImportance& importance();
  nlohmann::json summarize();
  // Every phase in order: summary.json's content.
  nlohmann::json run();

  const std::string& run_id() const;
  const std::filesystem::path& dir() const;

  // Asks the search to stop at once (the running trial keeps its best round so far); the
  // session then refits the best so far and saves. Safe to call from a signal handler's
  // thread of control through the flag: see stop_flag().
  void request_stop();
  // The flag request_stop() sets, for a SIGINT handler to set directly.
  static std::atomic<bool>& stop_flag();

 private:
  struct Impl;
  friend class StudyEvaluator;  // a worker rebuilds a study's evaluator from its records (worker.h)
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Prints "[  12.3s/60s] line" progress lines unless quiet.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& out, bool quiet, Clock::time_point start, double budget_s)
      : out_(out), quiet_(quiet), start_(start), budget_s_(budget_s) {}
  void operator()(const std::string& line) const;

 private:
  std::ostream& out_;
  bool quiet_;
  Clock::time_point start_;
  double budget_s_;
};

// A run folder ready to be written: `out_dir`, or runs/<run id> when empty. Throws
// kInvalidInput when it exists and is not empty.
std::filesystem::path prepare_run_folder(const std::string& out_dir, const std::string& run_id);
// The store a request names ("" = runs/store.sqlite).
std::string store_path_for(const std::string& store_path);
// How request.json and the store describe the planner (never the API key).
nlohmann::json planner_json(const LlmConfig& llm);

}  // namespace automl
