// The worker's loop: claim a queued trial, train it on its folds while a second
// connection heartbeats, record it only if still its own; and `status`'s view of a study.
#include "automl/worker.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "automl/error.h"

namespace automl {

int run_worker(const WorkerOptions& o, std::ostream& log, const std::atomic<bool>* stop) {
  auto store = open_run_store(o.store);
  auto beat_store = open_run_store(o.store);  // the heartbeat's own connection
  char host_buf[256] = {};
  gethostname(host_buf, sizeof host_buf - 1);
  const std::string host = host_buf;
  const int pid = static_cast<int>(getpid());
  std::random_device rd;
  const std::string id = fmt::format("{}:{}:{:04x}", host, pid, rd() & 0xffff);
  std::mutex log_mu;
  auto say = [&](const std::string& line) {
    if (o.quiet) return;
    std::lock_guard<std::mutex> lock(log_mu);
    log << "[worker " << id << "] " << line << "\n" << std::flush;
  };
  auto stopping = [&] { return stop && stop->load(); };

  // What this worker holds, for the heartbeat thread.
  std::mutex mu;
  std::string held_run;
  int held_trial = -1;
  std::atomic<bool> lost{false};  // the trial in hand is no longer ours (or we are stopping): stop it
  std::atomic<bool> done{false};
  std::thread heartbeat([&] {
    bool warned = false;
    while (!done.load()) {
      std::string run;
      int trial = -1;
      {
        std::lock_guard<std::mutex> lock(mu);
        run = held_run;
        trial = held_trial;
      }
      try {
        beat_store->worker_alive(id, host, pid, run.empty() ? o.run_id : run, trial);
        if (trial >= 0 && !beat_store->heartbeat(id, run, trial)) lost = true;
        warned = false;
      } catch (const Error& e) {
        if (!warned) say(std::string("heartbeat failed (retrying): ") + e.what());
        warned = true;
      }
      if (stopping()) lost = true;
      for (int i = 0; i < 10 && !done.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::duration<double>(kWorkerHeartbeatS / 10));
      }
    }
  });
  struct JoinOnExit {
    std::atomic<bool>& done;
    std::thread& t;
    ~JoinOnExit() {
      done = true;
      t.join();
    }
  } join_on_exit{done, heartbeat};

  std::map<std::string, std::unique_ptr<StudyEvaluator>> studies;
  auto idle_since = Clock::now();
  int recorded = 0;
  say(fmt::format("started on {}{}", store->location(), o.run_id.empty() ? "" : " for run " + o.run_id));
  while (!stopping()) {
    std::vector<std::string> runs;
    if (!o.run_id.empty()) {
      const std::string status = store->run_status(o.run_id);
      if (status.empty()) throw_not_found(fmt::format("run store {} has no run {}", store->location(), o.run_id));
      if (status != "running") {
        say(fmt::format("run {} is {}: stopping", o.run_id, status));
        break;
      }
      runs.push_back(o.run_id);
    } else {
      for (const auto& r : store->runs()) {
        if (r.value("status", "") == "running") runs.push_back(r.value("run_id", ""));
      }
    }
    // Trials whose worker went silent go back in the queue even when no coordinator is
    // alive to do it.
    for (const auto& r : runs) {
      for (const auto& line : store->requeue_lost(r, kWorkerStaleS, kWorkerAttempts)) say(line);
    }
    std::optional<TrialClaim> claim = store->claim_trial(id, o.run_id);
    if (!claim) {
      if (o.run_id.empty() && o.idle_exit_s >= 0 &&
          std::chrono::duration<double>(Clock::now() - idle_since).count() > o.idle_exit_s) {
        say("nothing to do: stopping");
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    auto& study = studies[claim->run_id];
    if (!study) {
      try {
        study = StudyEvaluator::open(*store, claim->run_id, o.threads);
      } catch (const Error&) {
        store->release_trial(id, claim->run_id, claim->trial.id);  // untried: another worker may take it
        studies.erase(claim->run_id);
        throw;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      held_run = claim->run_id;
      held_trial = claim->trial.id;
    }
    lost = false;
    const double deadline_unix = claim->work.value("deadline_unix", unix_now() + 3600.0);
    const double time_box_s = claim->work.value("time_box_s", 0.0);
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(deadline_unix - unix_now()));
    say(fmt::format("trial {} of run {}: {} {}{}", claim->trial.id, claim->run_id, claim->trial.family,
                    claim->trial.params.dump(), claim->attempt > 1 ? fmt::format(" (attempt {})", claim->attempt) : ""));
    const std::string run = claim->run_id;
    const int trial_id = claim->trial.id;
    Evaluator::FoldCallback on_fold = [&](int fold, double score, const FoldLog& fold_log) {
      store->add_fold(run, trial_id, fold, score, fold_log);
      // For the tests: AUTOML_GPT_KILL_AT=worker-fold kills this worker with SIGKILL
      // once its first trial has scored one fold, in the middle of the trial.
      const char* kill_at = std::getenv("AUTOML_GPT_KILL_AT");
      if (kill_at && std::string(kill_at) == "worker-fold" && recorded == 0) std::raise(SIGKILL);
    };
    TrialResult t = study->evaluate(claim->trial, deadline, time_box_s, on_fold, &lost);
    {
      std::lock_guard<std::mutex> lock(mu);
      held_trial = -1;
    }
    if (store->finish_claimed(id, run, t)) {
      ++recorded;
      say(fmt::format("trial {} {}: score {:.4f} in {:.1f}s", trial_id, to_string(t.status), t.score, t.seconds));
    } else {
      say(fmt::format("trial {} was given to another worker meanwhile: this result is dropped", trial_id));
    }
    idle_since = Clock::now();
  }
  // What this worker cost the server (bench/store_trips.py reads it).
  if (is_postgres_location(o.store)) say(describe_round_trips(postgres_round_trips()));
  return recorded;
}

nlohmann::json study_status(RunStore& store, const std::string& run_id) {
  const std::string status = store.run_status(run_id);
  if (status.empty()) throw_not_found(fmt::format("run store {} has no run {}", store.location(), run_id));
  nlohmann::json by_state = nlohmann::json::object();
  const std::vector<TrialResult> trials = store.trials(run_id);
  const TrialResult* best = nullptr;
  const nlohmann::json card = store.run_record(run_id).value("data_card", nlohmann::json::object());
  const std::string metric = card.is_object() ? card.value("metric", "") : "";
  for (const auto& t : trials) {
    const std::string s = to_string(t.status);
    by_state[s] = by_state.value(s, 0) + 1;
    if (!t.usable()) continue;
    if (!best) {
      best = &t;
    } else if (!metric.empty() && ranks_above(t, *best, metric)) {
      best = &t;
    }
  }
  nlohmann::json out = {{"run_id", run_id}, {"status", status}, {"trials", trials.size()}, {"by_state", by_state}};
  if (best) out["best"] = {{"trial", best->id}, {"family", best->family}, {"score", best->score}};
  out["workers_alive"] = store.workers_alive(run_id, 3 * kWorkerHeartbeatS + 1);
  const auto request = store.load_state(run_id, "request");
  const auto elapsed = store.load_state(run_id, "elapsed_s");
  if (request && request->contains("budget_s")) {
    const double used = elapsed ? elapsed->get<double>() : 0.0;
    out["budget_s"] = (*request)["budget_s"];
    out["time_left_s"] = std::max(0.0, (*request)["budget_s"].get<double>() - used);
  }
  return out;
}

}  // namespace automl
