// The run store (SQLite, embedded) and the run folder a person reads.
//
//   RunStore store("runs/store.sqlite");        // creates or upgrades the file's schema
//   store.begin_run(id, folder, request_json, data_card_json);
//   store.propose_trial(id, t);                 // each trial as a record: proposed,
//   store.start_trial(id, t.id);                //   running,
//   store.add_fold(id, t.id, fold, score, log); //   each fold as it is scored,
//   store.finish_trial(id, t);                  //   and its end: a killed run keeps them all
//   store.save_state(id, "phase", "search");    // checkpoints a resumed run reads back
//   store.finish_run(id, "finished", summary_json);   // or fail_run(id, error)
//   for (const TrialResult& t : store.trials(id)) ...  // every trial back, for resuming
#pragma once

#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/llm.h"
#include "automl/trial.h"

struct sqlite3;

namespace automl {

// It is also the LLM planner's reply cache: the same question gets the same answer
// without a call, across runs.
//
// The file carries its schema version (PRAGMA user_version). Opening it applies, in
// order and each in one transaction, the migrations from its version to
// kSchemaVersion; a file newer than the program is refused (kInvalidInput) untouched.
// Every state change is one transaction, and several RunStore objects (threads or
// processes) may write different runs of one file at once (WAL, busy timeout).
class RunStore : public LlmCache {
 public:
  // 1: runs, trials, training_logs, llm_cache, llm_calls (stores written before the
  //    version was kept: user_version 0, recognised by their tables).
  // 2: trials as records: their state, stop reason, flags, sample, out-of-fold
  //    predictions; per-fold scores (folds), per-run checkpoints (run_state), the
  //    error of a failed run.
  static constexpr int kSchemaVersion = 2;

  // Opens or creates the store, upgrading its schema. A file of a newer schema:
  // kInvalidInput naming the file and both versions. Unreadable: kIo naming the file.
  explicit RunStore(const std::filesystem::path& path);
  ~RunStore() override;
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  // The run with its request and Data Card (meta-features and card text): with the
  // trials and their predicted and real logs, the experience later runs learn from.
  void begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                 const nlohmann::json& data_card);
  void finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary);
  // The run ended with an error: status "failed", the error kept. kNotFound for an unknown run.
  void fail_run(const std::string& run_id, const std::string& error);
  // A run resumed after it was killed or failed: "running" again, its error cleared.
  // kNotFound for an unknown run.
  void reopen_run(const std::string& run_id);
  // The error fail_run kept ("" when none).
  std::string run_error(const std::string& run_id);

  // A small key/value checkpoint per run (phase, plan, time used, ...): the last value
  // saved under a key wins; nullopt when none was saved.
  void save_state(const std::string& run_id, const std::string& key, const nlohmann::json& value);
  // Runs `writes` (calls of this store's methods) as one transaction: one commit for
  // many steps. A write that throws rolls the whole batch back.
  void batch(const std::function<void()>& writes);
  std::optional<nlohmann::json> load_state(const std::string& run_id, const std::string& key);

  // A trial's life, one transaction per step. propose_trial records it in state
  // proposed with its id, family, params, rung, parent, resource, sample_rows and
  // predicted log (proposing an id again starts it afresh: its folds are dropped).
  void propose_trial(const std::string& run_id, const TrialResult& t);
  // proposed -> running. kNotFound when the trial was never proposed; kInvalidInput
  // when it is in another state.
  void start_trial(const std::string& run_id, int trial_id);
  // One fold's score and training log as the fold is scored (kNotFound for a trial
  // not proposed). An empty log (a family that is not iterative) keeps only the score.
  void add_fold(const std::string& run_id, int trial_id, int fold, double score, const FoldLog& log);
  // The trial's end (finished, failed, pruned or stopped): every field, its training
  // logs (they replace those add_fold wrote) and its out-of-fold predictions t.oof
  // when present, as a BLOB of float32 (the machine's byte order: little-endian on
  // x86-64 and arm64) in t.oof's order: oof rows x outputs x 4 bytes. An upsert: a
  // trial never proposed lands too.
  void finish_trial(const std::string& run_id, const TrialResult& t);
  // The same as finish_trial (the name callers used before trials were records).
  void add_trial(const std::string& run_id, const TrialResult& trial) { finish_trial(run_id, trial); }
  // Every trial of the run back, ordered by id: status, stop reason, every field,
  // logs and oof (float32 precision). A proposed or running trial's fold_scores are
  // those add_fold saved, by fold. Fitted models are not kept (fold_model is null).
  std::vector<TrialResult> trials(const std::string& run_id);
  // One LLM call (or cache hit) made for a run, as LlmCall::to_json() gives it.
  void add_llm_call(const std::string& run_id, const nlohmann::json& call);

  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, const std::string& model, const std::string& reply) override;

  // Everything kept of one run: request, data_card, summary (parsed JSON), status,
  // error and trials (each with its status and stop reason as text, capped,
  // sample_rows, deadline_stopped, partial and fold logs), for the knowledge base.
  // Throws kNotFound.
  nlohmann::json run_record(const std::string& run_id);
  // Ids of the finished runs, oldest first.
  std::vector<std::string> finished_runs();

  // Counts, for tests and tools.
  int count(const std::string& table, const std::string& run_id);
  std::string run_status(const std::string& run_id);
  // The file's schema version (kSchemaVersion once opened).
  int schema_version();

 private:
  void exec(const std::string& sql);
  void migrate();
  // Throws kNotFound naming the file when the run has no such trial; else its status.
  std::string trial_status_text(const std::string& run_id, int trial_id);
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

// Writes to a run store from a thread of its own, with a connection of its own, in the
// order posted; what arrives while a batch is written goes in the next one, as one
// transaction. The search's callers (a fold that ends, a trial that starts) never wait
// for the disk, and a run writes one commit where it would write dozens.
//
//   StoreWriter w("runs/store.sqlite");
//   w.post([=](RunStore& s) { s.add_fold(run_id, id, fold, score, log); });
//   w.flush();   // everything posted so far is in the file; rethrows a write's error
class StoreWriter {
 public:
  explicit StoreWriter(const std::filesystem::path& store_path);
  ~StoreWriter();  // writes what is queued, then stops
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void post(std::function<void(RunStore&)> write);
  // Returns once every write posted before the call is committed. A batch that failed
  // is rethrown here (kIo, with the store's message), once.
  void flush();

 private:
  void loop();
  std::unique_ptr<RunStore> store_;
  std::mutex mu_;
  std::condition_variable wake_, done_cv_;
  std::deque<std::function<void(RunStore&)>> queue_;
  std::uint64_t posted_ = 0, written_ = 0;
  std::string error_;
  bool stopping_ = false;
  std::thread thread_;  // last: it starts once the rest is built
};

// The folder of one run: data_card.json, leaderboard.csv, training_logs.jsonl,
// predicted_logs.jsonl,
// summary.json, model/. Rows are appended as trials finish.
class RunFolder {
 public:
  explicit RunFolder(std::filesystem::path dir);
  const std::filesystem::path& dir() const { return dir_; }
  void write_json(const std::string& name, const nlohmann::json& j) const;
  // `ended_s`: seconds from the run's start to the trial's end (leaderboard.csv's
  // ended_s; NaN leaves it empty, as for trials a resumed run reads back).
  void add_trial(const TrialResult& trial, double ended_s = std::nan(""));
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
std::string leaderboard_row(const TrialResult& trial, double ended_s = std::nan(""));

}  // namespace automl
