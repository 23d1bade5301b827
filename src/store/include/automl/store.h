// The run store (SQLite, embedded, or PostgreSQL, shared) and the run folder a person
// reads.
//
//   auto store = open_run_store("runs/store.sqlite");   // or "postgresql://user@host/db"
//   store->begin_run(id, folder, request_json, data_card_json);
//   for (const TrialResult& t : store->trials(id)) ...
#pragma once

#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
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

// A trial a worker claimed from the queue: the run it belongs to, what to train (id,
// family, params, rung, parent, resource, sample_rows, predicted), the coordinator's
// terms (`work`, as enqueue_trial was given them) and which attempt this is (2 after
// a worker holding it was lost).
struct TrialClaim {
  std::string run_id;
  TrialResult trial;
  nlohmann::json work;
  int attempt = 1;
};

// A run store: runs, their trials as records from proposed to their end, each fold's
// score and log, checkpoints, LLM calls and the LLM planner's reply cache (the same
// question gets the same answer without a call, across runs). One interface, two
// implementations with the same tables, schema version and migrations:
// SqliteStore (a file, the default) and PostgresStore (a server many machines share).
// open_run_store() picks one from a location.
//
// The store carries its schema version. Opening it applies, in order and each in one
// transaction, the migrations from its version to kSchemaVersion; a store newer than
// the program is refused (kInvalidInput) untouched. Every state change is one
// transaction, and several stores (threads, processes, machines) may write different
// runs of one store at once.
class RunStore : public LlmCache {
 public:
  // 1: runs, trials, training_logs, llm_cache, llm_calls (stores written before the
  //    version was kept: user_version 0, recognised by their tables).
  // 2: trials as records: their state, stop reason, flags, sample, out-of-fold
  //    predictions; per-fold scores (folds), per-run checkpoints (run_state), the
  //    error of a failed run.
  // 3: trials for workers: queued, the worker holding one, its heartbeat, attempts,
  //    the coordinator's terms (work); workers, and datasets kept by content hash.
  static constexpr int kSchemaVersion = 3;

  ~RunStore() override = default;

  // The run with its request and Data Card (meta-features and card text): with the
  // trials and their predicted and real logs, the experience later runs learn from.
  virtual void begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                         const nlohmann::json& data_card) = 0;
  virtual void finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary) = 0;
  // The run ended with an error: status "failed", the error kept. kNotFound for an unknown run.
  virtual void fail_run(const std::string& run_id, const std::string& error) = 0;
  // A run resumed after it was killed or failed: "running" again, its error cleared.
  // kNotFound for an unknown run.
  virtual void reopen_run(const std::string& run_id) = 0;
  // The error fail_run kept ("" when none).
  virtual std::string run_error(const std::string& run_id) = 0;

  // A small key/value checkpoint per run (phase, plan, time used, ...): the last value
  // saved under a key wins; nullopt when none was saved.
  virtual void save_state(const std::string& run_id, const std::string& key, const nlohmann::json& value) = 0;
  // Runs `writes` (calls of this store's methods) as one transaction: one commit for
  // many steps. A write that throws rolls the whole batch back.
  virtual void batch(const std::function<void()>& writes) = 0;
  virtual std::optional<nlohmann::json> load_state(const std::string& run_id, const std::string& key) = 0;

  // A trial's life, one transaction per step. propose_trial records it in state
  // proposed with its id, family, params, rung, parent, resource, sample_rows and
  // predicted log (proposing an id again starts it afresh: its folds are dropped).
  virtual void propose_trial(const std::string& run_id, const TrialResult& t) = 0;
  // proposed -> running. kNotFound when the trial was never proposed; kInvalidInput
  // when it is in another state.
  virtual void start_trial(const std::string& run_id, int trial_id) = 0;
  // One fold's score and training log as the fold is scored (kNotFound for a trial
  // not proposed). An empty log (a family that is not iterative) keeps only the score.
  virtual void add_fold(const std::string& run_id, int trial_id, int fold, double score, const FoldLog& log) = 0;
  // The trial's end (finished, failed, pruned or stopped): every field, its training
  // logs (they replace those add_fold wrote) and its out-of-fold predictions t.oof
  // when present, as float32 bytes (the machine's byte order: little-endian on
  // x86-64 and arm64) in t.oof's order: oof rows x outputs x 4 bytes. An upsert: a
  // trial never proposed lands too.
  virtual void finish_trial(const std::string& run_id, const TrialResult& t) = 0;
  // The same as finish_trial (the name callers used before trials were records).
  void add_trial(const std::string& run_id, const TrialResult& trial) { finish_trial(run_id, trial); }
  // Every trial of the run back, ordered by id: status, stop reason, every field,
  // logs and oof (float32 precision). A proposed or running trial's fold_scores are
  // those add_fold saved, by fold. Fitted models are not kept (fold_model is null).
  virtual std::vector<TrialResult> trials(const std::string& run_id) = 0;
  // One LLM call (or cache hit) made for a run, as LlmCall::to_json() gives it.
  virtual void add_llm_call(const std::string& run_id, const nlohmann::json& call) = 0;

  // Everything kept of one run: request, data_card, summary (parsed JSON), status,
  // error and trials (each with its status and stop reason as text, capped,
  // sample_rows, deadline_stopped, partial and fold logs), for the knowledge base.
  // Throws kNotFound.
  virtual nlohmann::json run_record(const std::string& run_id) = 0;
  // Ids of the finished runs, oldest first.
  virtual std::vector<std::string> finished_runs() = 0;

  // Trials for workers (automl-gpt worker; schema version 3). enqueue_trial records a
  // proposed trial as propose_trial does and puts it in the queue with `work` (the
  // coordinator's terms: its deadline and time box), in one transaction.
  virtual void enqueue_trial(const std::string& run_id, const TrialResult& proposed, const nlohmann::json& work) = 0;
  // Takes the first queued trial (of `run_id`, or of any run when "") for `worker`: it is
  // then running, held by that worker, its heartbeat now. One transaction that two
  // workers never both win (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on
  // SQLite). nullopt when nothing is queued.
  virtual std::optional<TrialClaim> claim_trial(const std::string& worker, const std::string& run_id) = 0;
  // The holder is alive. False when the trial is no longer its (it was given to
  // another after its heartbeats stopped): the holder should drop it.
  virtual bool heartbeat(const std::string& worker, const std::string& run_id, int trial_id) = 0;
  // finish_trial, only while `worker` still holds the trial; false, with nothing
  // written, when it does not (so a trial given to another is never recorded twice).
  virtual bool finish_claimed(const std::string& worker, const std::string& run_id, const TrialResult& t) = 0;
  // The holder gives the trial back untried, and its attempt does not count (a worker
  // that cannot use the study's data).
  virtual void release_trial(const std::string& worker, const std::string& run_id, int trial_id) = 0;
  // Running trials of the run held by a worker whose last heartbeat is more than
  // `stale_after_s` old (by the store's clock): back in the queue with their folds
  // dropped, or failed with the reason once they were claimed `max_attempts` times.
  // One line per trial moved, saying what happened to it.
  virtual std::vector<std::string> requeue_lost(const std::string& run_id, double stale_after_s, int max_attempts) = 0;
  // Queued trials no worker took: stopped (no fold ran) with `reason`. How many.
  virtual int cancel_queued(const std::string& run_id, const std::string& reason) = 0;
  // Every trial's status, by id: a light read for a coordinator waiting on workers.
  virtual std::map<int, TrialStatus> trial_statuses(const std::string& run_id) = 0;
  // A worker says it is alive, on which run and trial (-1 = none) it works.
  virtual void worker_alive(const std::string& worker, const std::string& host, int pid, const std::string& run_id,
                            int trial_id) = 0;
  // The workers heard from within `within_s` seconds that last worked on `run_id` (any
  // run when ""): worker, host, pid, run_id, trial_id, seconds_ago.
  virtual std::vector<nlohmann::json> workers_alive(const std::string& run_id, double within_s) = 0;
  // Runs, newest first: run_id, status, created_at, folder.
  virtual std::vector<nlohmann::json> runs() = 0;
  // Training data kept in the store for workers that cannot read its file, by its
  // SHA-256 (hex); nullopt when none was kept.
  virtual void put_dataset(const std::string& sha256, const std::string& bytes) = 0;
  virtual std::optional<std::string> get_dataset(const std::string& sha256) = 0;

  // Counts, for tests and tools: rows of one table (runs, trials, training_logs,
  // folds, run_state, llm_calls) for the run.
  virtual int count(const std::string& table, const std::string& run_id) = 0;
  virtual std::string run_status(const std::string& run_id) = 0;
  // The store's schema version (kSchemaVersion once opened).
  virtual int schema_version() = 0;
  // Where the store is, fit for messages and records: the file's path, or the
  // server's URI without its password.
  virtual const std::string& location() const = 0;
};

// The record propose_trial writes for `t`: its setting, rung, parent, resource, sample
// and prediction, status proposed, nothing measured yet (both stores write the same).
TrialResult proposed_record(const TrialResult& t);

// Opens the store at `location`: a postgresql:// or postgres:// URI (libpq's
// connection URI: PGPASSWORD, ~/.pgpass, sslmode and the other PG* variables work as
// libpq defines them) opens a PostgresStore, anything else is a SQLite file path.
std::unique_ptr<RunStore> open_run_store(const std::string& location);
// Whether `location` names a PostgreSQL server rather than a file.
bool is_postgres_location(const std::string& location);
// `location` as it may be printed or saved: a URI without its password (in the
// user-info part or as a password= parameter), a file path as it is.
std::string redact_store_location(const std::string& location);
// What a run records as its store: the redacted URI, or the file's absolute path.
std::string store_location_record(const std::string& location);
// The password a postgresql:// URI carries (in its user-info part or as a password=
// parameter), percent-decoded as libpq decodes it; "" when it has none (a file, or a
// URI leaving the password to PGPASSWORD or ~/.pgpass). For handing it to a child
// process through PGPASSWORD rather than its command line, which `ps` shows.
std::string store_location_password(const std::string& location);

// The SQLite store (a file; WAL mode, a busy timeout, so processes share it).
//
//   SqliteStore store("runs/store.sqlite");     // creates or upgrades the file's schema
//   store.begin_run(id, folder, request_json, data_card_json);
//   store.propose_trial(id, t);                 // each trial as a record: proposed,
//   store.start_trial(id, t.id);                //   running,
//   store.add_fold(id, t.id, fold, score, log); //   each fold as it is scored,
//   store.finish_trial(id, t);                  //   and its end: a killed run keeps them all
//   store.save_state(id, "phase", "search");    // checkpoints a resumed run reads back
//   store.finish_run(id, "finished", summary_json);   // or fail_run(id, error)
//   for (const TrialResult& t : store.trials(id)) ...  // every trial back, for resuming
//
// The file's schema version is PRAGMA user_version.
class SqliteStore final : public RunStore {
 public:
  // Opens or creates the store, upgrading its schema. A file of a newer schema:
  // kInvalidInput naming the file and both versions. Unreadable: kIo naming the file.
  explicit SqliteStore(const std::filesystem::path& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                 const nlohmann::json& data_card) override;
  void finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary) override;
  void fail_run(const std::string& run_id, const std::string& error) override;
  void reopen_run(const std::string& run_id) override;
  std::string run_error(const std::string& run_id) override;
  void save_state(const std::string& run_id, const std::string& key, const nlohmann::json& value) override;
  void batch(const std::function<void()>& writes) override;
  std::optional<nlohmann::json> load_state(const std::string& run_id, const std::string& key) override;
  void propose_trial(const std::string& run_id, const TrialResult& t) override;
  void start_trial(const std::string& run_id, int trial_id) override;
  void add_fold(const std::string& run_id, int trial_id, int fold, double score, const FoldLog& log) override;
  void finish_trial(const std::string& run_id, const TrialResult& t) override;
  std::vector<TrialResult> trials(const std::string& run_id) override;
  void add_llm_call(const std::string& run_id, const nlohmann::json& call) override;
  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, const std::string& model, const std::string& reply) override;
  nlohmann::json run_record(const std::string& run_id) override;
  std::vector<std::string> finished_runs() override;
  int count(const std::string& table, const std::string& run_id) override;
  std::string run_status(const std::string& run_id) override;
  int schema_version() override;
  const std::string& location() const override { return location_; }
  void enqueue_trial(const std::string& run_id, const TrialResult& proposed, const nlohmann::json& work) override;
  std::optional<TrialClaim> claim_trial(const std::string& worker, const std::string& run_id) override;
  bool heartbeat(const std::string& worker, const std::string& run_id, int trial_id) override;
  bool finish_claimed(const std::string& worker, const std::string& run_id, const TrialResult& t) override;
  void release_trial(const std::string& worker, const std::string& run_id, int trial_id) override;
  std::vector<std::string> requeue_lost(const std::string& run_id, double stale_after_s, int max_attempts) override;
  int cancel_queued(const std::string& run_id, const std::string& reason) override;
  std::map<int, TrialStatus> trial_statuses(const std::string& run_id) override;
  void worker_alive(const std::string& worker, const std::string& host, int pid, const std::string& run_id, int trial_id) override;
  std::vector<nlohmann::json> workers_alive(const std::string& run_id, double within_s) override;
  std::vector<nlohmann::json> runs() override;
  void put_dataset(const std::string& sha256, const std::string& bytes) override;
  std::optional<std::string> get_dataset(const std::string& sha256) override;


 private:
  void exec(const std::string& sql);
  void migrate();
  // Throws kNotFound naming the file when the run has no such trial; else its status.
  std::string trial_status_text(const std::string& run_id, int trial_id);
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::string location_;
};

// What one kind of PostgreSQL store operation cost this process so far: how often it
// was called and the round trips to the server it made (each statement, and a
// transaction's BEGIN and COMMIT; a batch's inner operations count as themselves).
struct StoreRoundTrips {
  std::uint64_t calls = 0, round_trips = 0;
};
// Every PostgresStore of this process, by operation ("claim_trial", "heartbeat",
// "add_fold", ..., "connect"): for measuring what a trial costs the server.
std::map<std::string, StoreRoundTrips> postgres_round_trips();
// One line of them, the busiest first: "store round trips: 812 in all; add_fold 120
// calls 360 trips, claim_trial 40 calls 160 trips, ...".
std::string describe_round_trips(const std::map<std::string, StoreRoundTrips>& trips);

// The PostgreSQL store (libpqxx over libpq): the same tables in a database many
// machines reach. The schema version is the one row of table schema_version; the
// migrations run under an advisory lock, so workers starting together upgrade once.
// Messages name the server by its URI without the password.
//
//   PostgresStore store("postgresql://automl@db.example:5432/studies");  // PGPASSWORD or ~/.pgpass
class PostgresStore final : public RunStore {
 public:
  // Connects and upgrades the schema. A server that cannot be reached or refuses the
  // login: kIo naming the redacted URI and libpq's reason. A newer schema: kInvalidInput.
  explicit PostgresStore(const std::string& uri);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  void begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                 const nlohmann::json& data_card) override;
  void finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary) override;
  void fail_run(const std::string& run_id, const std::string& error) override;
  void reopen_run(const std::string& run_id) override;
  std::string run_error(const std::string& run_id) override;
  void save_state(const std::string& run_id, const std::string& key, const nlohmann::json& value) override;
  void batch(const std::function<void()>& writes) override;
  std::optional<nlohmann::json> load_state(const std::string& run_id, const std::string& key) override;
  void propose_trial(const std::string& run_id, const TrialResult& t) override;
  void start_trial(const std::string& run_id, int trial_id) override;
  void add_fold(const std::string& run_id, int trial_id, int fold, double score, const FoldLog& log) override;
  void finish_trial(const std::string& run_id, const TrialResult& t) override;
  std::vector<TrialResult> trials(const std::string& run_id) override;
  void add_llm_call(const std::string& run_id, const nlohmann::json& call) override;
  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, const std::string& model, const std::string& reply) override;
  nlohmann::json run_record(const std::string& run_id) override;
  std::vector<std::string> finished_runs() override;
  int count(const std::string& table, const std::string& run_id) override;
  std::string run_status(const std::string& run_id) override;
  int schema_version() override;
  const std::string& location() const override;
  void enqueue_trial(const std::string& run_id, const TrialResult& proposed, const nlohmann::json& work) override;
  std::optional<TrialClaim> claim_trial(const std::string& worker, const std::string& run_id) override;
  bool heartbeat(const std::string& worker, const std::string& run_id, int trial_id) override;
  bool finish_claimed(const std::string& worker, const std::string& run_id, const TrialResult& t) override;
  void release_trial(const std::string& worker, const std::string& run_id, int trial_id) override;
  std::vector<std::string> requeue_lost(const std::string& run_id, double stale_after_s, int max_attempts) override;
  int cancel_queued(const std::string& run_id, const std::string& reason) override;
  std::map<int, TrialStatus> trial_statuses(const std::string& run_id) override;
  void worker_alive(const std::string& worker, const std::string& host, int pid, const std::string& run_id, int trial_id) override;
  std::vector<nlohmann::json> workers_alive(const std::string& run_id, double within_s) override;
  std::vector<nlohmann::json> runs() override;
  void put_dataset(const std::string& sha256, const std::string& bytes) override;
  std::optional<std::string> get_dataset(const std::string& sha256) override;


 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes to a run store from a thread of its own, with a connection of its own, in the
// order posted; what arrives while a batch is written goes in the next one, as one
// transaction. The search's callers (a fold that ends, a trial that starts) never wait
// for the disk, and a run writes one commit where it would write dozens.
//
//   StoreWriter w("runs/store.sqlite");           // or a postgresql:// URI
//   w.post([=](RunStore& s) { s.add_fold(run_id, id, fold, score, log); });
//   w.flush();   // everything posted so far is in the file; rethrows a write's error
class StoreWriter {
 public:
  // `location` as open_run_store takes it.
  explicit StoreWriter(const std::string& location);
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
