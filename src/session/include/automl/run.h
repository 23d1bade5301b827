// What one `automl-gpt run` is asked to do (a Session runs it: session.h).
//
//   RunRequest req;
//   req.train_path = "train.csv"; req.target = "income"; req.budget_s = 60;
//   nlohmann::json summary = Session(req, std::cerr).run();
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/llm.h"
#include "automl/model.h"
#include "automl/table.h"

namespace automl {

// Where the calls of an LLM client shared by several tasks are recorded: each task
// points it at its own run folder while it runs.
struct LlmCallSink {
  std::function<void(const LlmCall&)> target;
};

struct RunRequest {
  std::string train_path;
  // Training rows already in memory (the Python package's data frame): the read phase
  // takes them instead of reading train_path, and `name` (or "dataframe") names them.
  // Such a run cannot be resumed from its folder: no file holds its rows.
  std::shared_ptr<const Table> train_table;
  std::string target;
  std::string test_path;     // optional: scored with the refit model
  std::string card_path;     // optional: overrides what the Data Card infers
  nlohmann::json card_fields = nlohmann::json::object();  // card fields given in memory, over card_path's ("task": ...)
  std::string metric;        // "" = the card's default for the task
  std::string out_dir;       // "" = runs/<run id>
  std::string store_path;    // "" = runs/store.sqlite; or a postgresql:// URI
  // Trials trained by worker processes (automl-gpt worker) that claim them from the
  // store: `workers` > 0 starts that many on this machine (worker_program: the
  // automl-gpt binary, "" = this process's own); remote_workers leaves starting them
  // to the user (any machine that reaches the store). Neither: this process trains them.
  int workers = 0;
  bool remote_workers = false;
  std::string worker_program;
  std::string name;          // dataset name ("" = from the file or card)
  std::string requirements;  // free text: "ROC AUC; train within 2 minutes; model under 5 MB; must be explainable"
  double budget_s = 60;
  // The most memory the run may use, in bytes (--memory); 0 = the default, a share of
  // the machine's free memory (automl/memory.h).
  double memory_bytes = 0;
  uint64_t seed = 0;
  int threads = 2;
  int max_trials = -1;
  int folds = 0;             // 0 = chosen by size
  // Each family's fixed encoding only: the planner's data-processing design is recorded
  // but not applied, and no trial tries another (the benchmark's comparison).
  bool fixed_preprocessing = false;
  bool ensemble = true;      // build ensembles of the top trials and keep one that wins (--no-ensemble = off)
  bool report = true;        // write report.html at the end (--no-report = off)
  std::vector<std::string> families;
  CsvOptions csv;
  Clock::time_point start = Clock::now();  // the budget counts from here
  bool quiet = false;
  std::string knowledge;                   // knowledge base file ("" = the default if present, "none" = off)
  std::string knowledge_exclude;           // a dataset name to leave out of it (leave-one-out benchmarks)
  LlmConfig llm;                           // --llm (disabled = the built-in planner)
  LlmClient* llm_client = nullptr;         // a client shared across a request's tasks, with its sink
  std::shared_ptr<LlmCallSink> llm_sink;

  // Everything a resumed run needs to ask for the same thing again, with absolute paths;
  // the LLM's key is never included (a resumed run reads it from the environment again).
  nlohmann::json to_json() const;
  static RunRequest from_json(const nlohmann::json& j);  // throws kInvalidInput
};

// A new run id: the local time and a random suffix ("20261127-101502-3fa1").
std::string new_run_id(uint64_t seed);

// Peak resident memory of this process so far, in MB.
double peak_memory_mb();

// Parses "60s", "2m", "90" (seconds) or "1.5h"; throws kInvalidInput.
double parse_duration(const std::string& text);

}  // namespace automl
