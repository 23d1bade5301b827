// Workers: processes on any machine that train a study's trials, claimed from its run
// store (SQLite in WAL mode on one machine, PostgreSQL across machines). The study's
// coordinator (a Session with RunRequest::workers or remote_workers) plans, queues
// each batch of trials, promotes between successive-halving rungs, ensembles, refits
// and saves; workers only train.
//
//   WorkerOptions o;
//   o.store = "postgresql://automl@db:5432/studies";   // password: PGPASSWORD or ~/.pgpass
//   run_worker(o, std::cerr);                          // until the run ends, or idle
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "automl/search.h"
#include "automl/store.h"

namespace automl {

// Training data up to this size is also kept in the store, for workers that cannot
// read the coordinator's file (64 MiB); larger data must be readable at the same path.
constexpr std::size_t kDataInStoreBytes = std::size_t{64} << 20;
// A worker says it is alive every kWorkerHeartbeatS seconds; a trial whose holder has
// not for kWorkerStaleS goes back to the queue, and fails once claimed kWorkerAttempts times.
constexpr double kWorkerHeartbeatS = 1.0;
constexpr double kWorkerStaleS = 6.0;
constexpr int kWorkerAttempts = 2;

// The hex SHA-256 of `bytes` (OpenSSL).
std::string sha256_hex(const std::string& bytes);
// Seconds since the epoch by this machine's clock (deadlines cross machines so: keep
// their clocks synchronised, as NTP does).
double unix_now();

// What a worker needs of one study to train its trials, built from the run's records:
// its request, its training data (the file it names when this machine can read it,
// else the store's copy; either checked against the study's SHA-256), its Data Card,
// the plan's folds and data-processing designs. Trials train as the coordinator's own
// evaluator would train them (without its pruner, which needs the best trial's curves).
class StudyEvaluator {
 public:
  // Throws kInvalidInput when the data found here is not the study's (naming both
  // hashes), kNotFound when none can be found, or when the run was not started for workers.
  static std::unique_ptr<StudyEvaluator> open(RunStore& store, const std::string& run_id, int threads);
  ~StudyEvaluator();
  StudyEvaluator(const StudyEvaluator&) = delete;
  StudyEvaluator& operator=(const StudyEvaluator&) = delete;

  // Trains a claimed trial on every fold by `deadline` (and its time box, 0 = none);
  // `stop` set stops it at its next round, keeping its best so far.
  TrialResult evaluate(const TrialResult& proposed, Clock::time_point deadline, double time_box_s,
                       const Evaluator::FoldCallback& on_fold, const std::atomic<bool>* stop);

  struct State;

 private:
  explicit StudyEvaluator(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

struct WorkerOptions {
  std::string store;    // a SQLite file or a postgresql:// URI
  std::string run_id;   // only this run's trials, and stop when it ends ("" = any run's)
  int threads = 1;
  double idle_exit_s = -1;  // with no run_id: stop after this long with nothing to claim (< 0 = never)
  bool quiet = false;
};

// Claims trials and trains them until the run ends (run_id given), idle_exit_s passes
// with nothing queued, or `stop` is set (Ctrl-C, SIGTERM: the trial in hand stops at its
// next round and is recorded). Returns how many trials it recorded. A study whose data
// does not match its hash here: the claimed trial goes back to the queue untried and
// the error is thrown.
int run_worker(const WorkerOptions& options, std::ostream& log, const std::atomic<bool>* stop = nullptr);

// One study's state for `automl-gpt status`: status, trials by state, the best so far,
// the workers heard from lately, and the time left by its last checkpoint.
nlohmann::json study_status(RunStore& store, const std::string& run_id);

}  // namespace automl
