// Studies whose trials workers train: a coordinator and three workers on PostgreSQL
// with one worker killed mid-trial, local workers on SQLite, a coordinator killed and
// resumed, and a worker whose data does not match the study's refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "automl/store.h"
#include "helpers.h"
#include "store/postgres_server.h"

extern char** environ;

namespace automl {
namespace {

namespace fs = std::filesystem;
using namespace automl::testing;
using nlohmann::json;

// The binary run in the background with its output in `log`; its pid.
pid_t spawn_cli(const std::string& args, const fs::path& log, const std::string& env = "") {
  const std::string line = (env.empty() ? "" : "export " + env + "; ") + "exec " + std::string(AUTOML_BINARY) + " " +
                           args + " > " + log.string() + " 2>&1";
  std::vector<std::string> argv_s = {"/bin/sh", "-c", line};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

// Waits (up to a minute) for the coordinator's run folder to name its run.
std::string wait_run_id(const fs::path& dir) {
  for (int i = 0; i < 600; ++i) {
    if (fs::exists(dir / "request.json")) {
      json j = json::parse(read_file(dir / "request.json"), nullptr, false);
      if (!j.is_discarded()) return j.at("run_id");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "no request.json in " << dir;
  return "";
}

bool ended(TrialStatus s) { return s != TrialStatus::kProposed && s != TrialStatus::kRunning; }

// Trials each worker's log says it recorded ("trial N finished: ..."), with how often.
std::map<int, int> recorded_by(const std::vector<fs::path>& logs) {
  std::map<int, int> out;
  const std::regex line(R"(\] trial (\d+) (finished|stopped|pruned|failed): )");
  for (const auto& log : logs) {
    const std::string text = read_file(log);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it) {
      ++out[std::stoi((*it)[1])];
    }
  }
  return out;
}

struct Data {
  fs::path train, test;
};

Data make_data(const fs::path& root) {
  write_file(root / "train.csv", make_csv("binary", 900, 3));
  write_file(root / "test.csv", make_csv("binary", 200, 4));
  return {root / "train.csv", root / "test.csv"};
}

std::string run_args(const Data& d, const fs::path& out, const std::string& store, const std::string& budget,
                     const std::string& workers) {
  return "run " + d.train.string() + " --target y --test " + d.test.string() + " --budget " + budget + " --seed 7 --out " +
         out.string() + " --store '" + store + "' --knowledge none --threads 2 --workers " + workers;
}

TEST(WorkersRun, ThreeWorkersOnPostgresOneKilledMidTrialLoseNothing) {
  REQUIRE_POSTGRES();
  const std::string uri = fresh_postgres_database("workers");
  const fs::path root = temp_dir("workers-pg");
  const Data d = make_data(root);
  const pid_t coordinator = spawn_cli(run_args(d, root / "run", uri, "25s", "remote"), root / "coordinator.log");
  const std::string run_id = wait_run_id(root / "run");
  ASSERT_FALSE(run_id.empty());
  std::vector<fs::path> logs = {root / "w0.log", root / "w1.log", root / "w2.log"};
  std::vector<pid_t> workers;
  // The first worker kills itself (SIGKILL) once its first trial has scored a fold.
  workers.push_back(spawn_cli("worker --store '" + uri + "' --run " + run_id + " --threads 1", logs[0],
                              "AUTOML_GPT_KILL_AT=worker-fold"));
  for (int w = 1; w < 3; ++w) {
    workers.push_back(spawn_cli("worker --store '" + uri + "' --run " + run_id + " --threads 1", logs[w]));
  }
  EXPECT_EQ(wait_exit(workers[0]), 128 + SIGKILL) << read_file(logs[0]);
  const int code = wait_exit(coordinator);
  ASSERT_EQ(code, 0) << read_file(root / "coordinator.log");
  for (int w = 1; w < 3; ++w) EXPECT_EQ(wait_exit(workers[w]), 0) << read_file(logs[w]);

  // The killed worker's trial: which it was, from its log.
  const std::string w0 = read_file(logs[0]);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(w0, m, std::regex(R"(\] trial (\d+) of run )"))) << w0;
  const int lost = std::stoi(m[1]);

  auto store = open_run_store(uri);
  EXPECT_EQ(store->run_status(run_id), "finished");
  const auto trials = store->trials(run_id);
  ASSERT_GT(trials.size(), static_cast<std::size_t>(lost));
  for (std::size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].id, static_cast<int>(i));  // every id, in order
    EXPECT_TRUE(ended(trials[i].status)) << "trial " << i << " is " << to_string(trials[i].status);
  }
  // Another worker ran the lost trial to its end (its second attempt).
  EXPECT_NE(trials[static_cast<std::size_t>(lost)].status, TrialStatus::kFailed) << trials[lost].reason;
  EXPECT_TRUE(read_file(logs[1]).find("trial " + std::to_string(lost) + " of run " + run_id) != std::string::npos ||
              read_file(logs[2]).find("trial " + std::to_string(lost) + " of run " + run_id) != std::string::npos);
  // No trial was recorded twice, and every trial a worker trained was recorded by one.
  for (const auto& [id, n] : recorded_by(logs)) EXPECT_EQ(n, 1) << "trial " << id;
  EXPECT_EQ(recorded_by(logs).count(lost), 1u);

  // The same seed on SQLite, trained in one process: the same first proposals.
  const fs::path lite = root / "store.sqlite";
  CommandResult local = run_cli(run_args(d, root / "local", lite.string(), "8s", "0"));
  ASSERT_EQ(local.exit_code, 0) << local.out;
  auto sqlite = open_run_store(lite.string());
  const std::string local_id = json::parse(read_file(root / "local" / "request.json")).at("run_id");
  const auto local_trials = sqlite->trials(local_id);
  for (std::size_t i = 0; i < 3 && i < local_trials.size(); ++i) {
    EXPECT_EQ(trials[i].family, local_trials[i].family) << i;
    EXPECT_EQ(trials[i].params, local_trials[i].params) << i;
  }
  // The run folder is complete, and its model predicts.
  const json summary = json::parse(read_file(root / "run" / "summary.json"));
  EXPECT_GT(summary.at("test_score").get<double>(), 0.8);
  CommandResult p = run_cli("predict " + (root / "run").string() + " " + d.test.string());
  EXPECT_EQ(p.exit_code, 0) << p.out;
  // The password is in no file and no log.
  const std::string password = postgres_password();
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) EXPECT_EQ(read_file(e.path()).find(password), std::string::npos) << e.path();
  }
  // status reads the study back.
  CommandResult status = run_cli("status --store '" + uri + "' " + run_id);
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("run " + run_id + " (finished)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("best so far"), std::string::npos) << status.out;
}

TEST(WorkersRun, LocalWorkersOnSqliteFinishAStudy) {
  const fs::path root = temp_dir("workers-local");
  const Data d = make_data(root);
  const fs::path store = root / "store.sqlite";
  CommandResult r = run_cli(run_args(d, root / "run", store.string(), "15s", "2"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("started 2 local workers"), std::string::npos) << r.out;
  const std::string run_id = json::parse(read_file(root / "run" / "request.json")).at("run_id");
  auto s = open_run_store(store.string());
  const auto trials = s->trials(run_id);
  ASSERT_GE(trials.size(), 3u);
  std::size_t usable = 0;
  for (const auto& t : trials) {
    EXPECT_TRUE(ended(t.status)) << t.id;
    usable += t.usable() ? 1 : 0;
  }
  EXPECT_GE(usable, 3u);
  EXPECT_GT(json::parse(read_file(root / "run" / "summary.json")).at("test_score").get<double>(), 0.8);
}

// The pids of `parent`'s children (from /proc/<pid>/stat's fourth field).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(e.path() / "stat");
    const auto close = stat.rfind(')');  // the command's name may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent) out.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

// A /proc/<pid>/<what> file of NUL-separated strings (cmdline, environ), as one line.
std::string proc_strings(pid_t pid, const std::string& what) {
  std::string text = read_file(fs::path("/proc") / std::to_string(pid) / what);
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

TEST(WorkersRun, LocalWorkersGetTheStorePasswordOutsideTheirCommandLine) {
  REQUIRE_POSTGRES();
  const std::string uri = fresh_postgres_database("local");
  const std::string password = postgres_password();
  ASSERT_FALSE(password.empty());
  const fs::path root = temp_dir("workers-local-pg");
  const Data d = make_data(root);
  const pid_t coordinator = spawn_cli(run_args(d, root / "run", uri, "12s", "1"), root / "coordinator.log");
  // The worker it starts: its command line is anyone's to read (`ps`), its environment
  // only its user's.
  std::string cmdline, environment;
  for (int i = 0; i < 600 && cmdline.find(" worker ") == std::string::npos; ++i) {
    for (pid_t child : children_of(coordinator)) {
      const std::string line = proc_strings(child, "cmdline");
      if (line.find(" worker ") == std::string::npos) continue;
      cmdline = line;
      environment = proc_strings(child, "environ");
    }
    if (cmdline.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(cmdline.find(" worker "), std::string::npos) << "no worker process started";
  EXPECT_EQ(cmdline.find(password), std::string::npos) << cmdline;
  EXPECT_NE(cmdline.find(redact_store_location(uri)), std::string::npos) << cmdline;
  EXPECT_NE(environment.find("PGPASSWORD=" + password), std::string::npos);
  ASSERT_EQ(wait_exit(coordinator), 0) << read_file(root / "coordinator.log");
  // The worker trained trials with that password, and it is in no file of the run.
  const std::string run_id = json::parse(read_file(root / "run" / "request.json")).at("run_id");
  auto store = open_run_store(uri);
  EXPECT_EQ(store->run_status(run_id), "finished");
  EXPECT_GE(recorded_by({root / "run" / "worker-0.log"}).size(), 1u) << read_file(root / "run" / "worker-0.log");
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) EXPECT_EQ(read_file(e.path()).find(password), std::string::npos) << e.path();
  }
}

TEST(WorkersRun, AKilledCoordinatorResumesWithItsWorkers) {
  const fs::path root = temp_dir("workers-resume");
  const Data d = make_data(root);
  const fs::path store = root / "store.sqlite";
  CommandResult killed = run_cli(run_args(d, root / "run", store.string(), "12s", "2"), "AUTOML_GPT_KILL_AT=trial:3");
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out;
  const std::string run_id = json::parse(read_file(root / "run" / "request.json")).at("run_id");
  // The trials that had ended before the kill, from the first on without a gap: what a
  // resumed run reads back.
  std::map<int, double> before;
  for (const auto& t : open_run_store(store.string())->trials(run_id)) {
    if (!ended(t.status) || t.id != static_cast<int>(before.size())) break;
    before[t.id] = t.seconds;
  }
  ASSERT_GE(before.size(), 4u);
  CommandResult resumed = run_cli("resume " + (root / "run").string() + " --budget 10s");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  auto s = open_run_store(store.string());
  EXPECT_EQ(s->run_status(run_id), "finished");
  const auto after = s->trials(run_id);
  for (const auto& t : after) EXPECT_TRUE(ended(t.status)) << t.id;
  // What had ended before the kill is kept as it was, not trained again.
  for (const auto& [id, seconds] : before) {
    ASSERT_LT(static_cast<std::size_t>(id), after.size());
    EXPECT_DOUBLE_EQ(after[static_cast<std::size_t>(id)].seconds, seconds) << id;
  }
}

TEST(WorkersRun, AWorkerWhoseDataDiffersIsRefused) {
  const fs::path root = temp_dir("workers-mismatch");
  const Data d = make_data(root);
  const fs::path store = root / "store.sqlite";
  const pid_t coordinator = spawn_cli(run_args(d, root / "run", store.string(), "15s", "remote"), root / "c.log");
  const std::string run_id = wait_run_id(root / "run");
  // The file changes after the study started: its hash no longer matches.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  write_file(d.train, read_file(d.train) + "0.5,0.5,red,yes\n");
  CommandResult w = run_cli("worker --store " + store.string() + " --run " + run_id + " --threads 1");
  EXPECT_EQ(w.exit_code, 2) << w.out;
  EXPECT_NE(w.out.find("is not run " + run_id + "'s: its SHA-256 is"), std::string::npos) << w.out;
  wait_exit(coordinator);
  // Nothing was recorded from the wrong data.
  for (const auto& t : open_run_store(store.string())->trials(run_id)) {
    EXPECT_NE(t.status, TrialStatus::kFinished) << t.id;
  }
}

}  // namespace
}  // namespace automl
