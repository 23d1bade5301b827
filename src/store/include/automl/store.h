// The run store (SQLite, embedded) and the run folder a person reads.
//
//   RunStore store("runs/store.sqlite");
//   store.begin_run(id, folder, request_json, data_card_json);
//   store.add_trial(id, trial);          // each trial as it finishes: a killed run keeps them
//   store.finish_run(id, summary_json);
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/llm.h"
#include "automl/trial.h"

struct sqlite3;

namespace automl {

// It is also the LLM planner's reply cache: the same question gets the same answer
// without a call, across runs.
class RunStore : public LlmCache {
 public:
  explicit RunStore(const std::filesystem::path& path);
  ~RunStore() override;
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  // The run with its request and Data Card (meta-features and card text): with the
  // trials and their predicted and real logs, the experience later runs learn from.
  void begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                 const nlohmann::json& data_card);
  void add_trial(const std::string& run_id, const TrialResult& trial);
  void finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary);
  // One LLM call (or cache hit) made for a run, as LlmCall::to_json() gives it.
  void add_llm_call(const std::string& run_id, const nlohmann::json& call);

  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, const std::string& model, const std::string& reply) override;

  // Everything kept of one run: request, data_card, summary (parsed JSON) and
  // trials (each with its fold logs), for the knowledge base. Throws kNotFound.
  nlohmann::json run_record(const std::string& run_id);
  // Ids of the finished runs, oldest first.
  std::vector<std::string> finished_runs();

  // Counts, for tests and tools.
  int count(const std::string& table, const std::string& run_id);
  std::string run_status(const std::string& run_id);

 private:
  void exec(const std::string& sql);
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

// The folder of one run: data_card.json, leaderboard.csv, training_logs.jsonl,
// predicted_logs.jsonl,
// summary.json, model/. Rows are appended as trials finish.
class RunFolder {
 public:
  explicit RunFolder(std::filesystem::path dir);
  const std::filesystem::path& dir() const { return dir_; }
  void write_json(const std::string& name, const nlohmann::json& j) const;
  void add_trial(const TrialResult& trial);
  // One line of llm_calls.jsonl.
  void add_llm_call(const nlohmann::json& call);

 private:
  std::filesystem::path dir_;
  std::ofstream leaderboard_, logs_, predicted_, llm_calls_;
};

// Writes `j` to a temporary file beside `path`, then renames it over `path`: a
// reader never sees half a file. Throws kIo.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j, int indent = 2);

// One leaderboard.csv row (without the newline), and its header.
std::string leaderboard_header();
std::string leaderboard_row(const TrialResult& trial);

}  // namespace automl
