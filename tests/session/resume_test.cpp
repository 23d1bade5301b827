// A run killed with SIGKILL at any point and resumed: no finished trial trained again,
// and a complete folder that `predict` reads. Ctrl-C once ends the run with the best so
// far saved; twice leaves a run `resume` finishes. Two runs share one store.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "automl/store.h"
#include "helpers.h"

namespace automl::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The binary started with `args`; once its output holds `after`, SIGINT is sent to it,
// and with `twice` again as soon as it says it was interrupted (the first was handled).
// Its output and exit code come back.
CommandResult run_interrupted(const std::vector<std::string>& args, const std::string& after, bool twice) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    std::vector<char*> argv;
    std::string bin = AUTOML_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  CommandResult r;
  int sent = 0;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) {
    r.out.append(buf, static_cast<std::size_t>(n));
    if (sent == 0 && r.out.find(after) != std::string::npos) {
      kill(pid, SIGINT);
      ++sent;
    }
    if (sent == 1 && twice && r.out.find("interrupted:") != std::string::npos) {
      kill(pid, SIGINT);
      ++sent;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  return r;
}

struct Dataset {
  fs::path train, test;
};

Dataset make_dataset(const std::string& name, int rows = 600) {
  fs::path dir = temp_dir(name);
  write_file(dir / "train.csv", make_csv("binary", rows, 3));
  write_file(dir / "test.csv", make_csv("binary", 200, 4));
  return {dir / "train.csv", dir / "test.csv"};
}

std::string run_args(const Dataset& d, const fs::path& out, const fs::path& store, const std::string& budget) {
  return "run " + d.train.string() + " --target y --test " + d.test.string() + " --budget " + budget + " --out " +
         out.string() + " --store " + store.string() + " --knowledge none";
}

// A command line's words (no quoting: the tests' paths have no spaces).
std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string run_id_of(const fs::path& dir) {
  return json::parse(read_file(dir / "request.json")).at("run_id").get<std::string>();
}

// Every trial record of the run: id -> (status, seconds, score).
std::map<int, std::tuple<TrialStatus, double, double>> records(const fs::path& store, const std::string& run_id) {
  SqliteStore s(store);
  std::map<int, std::tuple<TrialStatus, double, double>> out;
  for (const auto& t : s.trials(run_id)) out[t.id] = {t.status, t.seconds, t.score};
  return out;
}

bool ended(TrialStatus s) { return s != TrialStatus::kProposed && s != TrialStatus::kRunning; }

// The folder a finished run leaves, and predictions from it.
void expect_complete(const fs::path& dir, const Dataset& d) {
  for (const char* f : {"summary.json", "request.json", "plan.json", "data_card.json", "leaderboard.csv",
                        "training_logs.jsonl", "test_predictions.csv", "model/pipeline.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << dir / f;
  }
  json summary = json::parse(read_file(dir / "summary.json"));
  EXPECT_GT(summary.at("test_score").get<double>(), 0.8);
  CommandResult p = run_cli("predict " + dir.string() + " " + d.test.string() + " --out " + (dir / "again.csv").string());
  EXPECT_EQ(p.exit_code, 0) << p.out;
  // Each trial once on the leaderboard.
  std::istringstream lb(read_file(dir / "leaderboard.csv"));
  std::string line;
  std::getline(lb, line);
  std::set<int> ids;
  while (std::getline(lb, line)) EXPECT_TRUE(ids.insert(std::stoi(line.substr(0, line.find(',')))).second) << line;
  EXPECT_GE(ids.size(), summary.at("n_trials").get<std::size_t>());
}

class ResumeAfterKillRun : public ::testing::TestWithParam<std::string> {};

TEST_P(ResumeAfterKillRun, KeepsEveryFinishedTrialAndEndsWithACompleteFolder) {
  const std::string point = GetParam();
  std::string tag = point;
  for (auto& c : tag) c = c == ':' ? '-' : c;
  const Dataset d = make_dataset("resume-data-" + tag);
  const fs::path root = temp_dir("resume-" + tag);
  const fs::path dir = root / "run", store = root / "store.sqlite";

  CommandResult killed = run_cli(run_args(d, dir, store, "8s"), "AUTOML_GPT_KILL_AT=" + point);
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out;
  const std::string run_id = run_id_of(dir);
  const auto before = records(store, run_id);
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(SqliteStore(store).run_status(run_id), "running");

  CommandResult resumed = run_cli("resume " + dir.string() + " --budget 8s");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("finished trials read back"), std::string::npos) << resumed.out;
  EXPECT_EQ(SqliteStore(store).run_status(run_id), "finished");

  // A trial that had ended before the kill was read back, not trained again: its
  // record is what the first process wrote.
  const auto after = records(store, run_id);
  for (const auto& [id, rec] : before) {
    if (!ended(std::get<0>(rec))) continue;
    ASSERT_TRUE(after.count(id)) << "trial " << id;
    EXPECT_EQ(after.at(id), rec) << "trial " << id << " was trained again";
  }
  for (const auto& [id, rec] : after) EXPECT_TRUE(ended(std::get<0>(rec))) << "trial " << id << " left in flight";
  expect_complete(dir, d);
  // Nothing left to do.
  CommandResult again = run_cli("resume " + dir.string());
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.out.find("finished already"), std::string::npos) << again.out;
}

// During the search, at its start and in its middle; as the refit, the ensemble and the
// summary begin; right after the model is written.
INSTANTIATE_TEST_SUITE_P(Points, ResumeAfterKillRun,
                         ::testing::Values("trial:0", "trial:3", "refit", "ensemble", "save", "summary"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s) c = c == ':' ? '_' : c;
                           return s;
                         });

TEST(ResumeRun, RunWithResumeStartsAFreshRunThenContinuesIt) {
  const Dataset d = make_dataset("resume-flag-data");
  const fs::path root = temp_dir("resume-flag");
  const fs::path dir = root / "run", store = root / "store.sqlite";
  CommandResult killed = run_cli(run_args(d, dir, store, "6s") + " --resume", "AUTOML_GPT_KILL_AT=trial:2");
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out;
  CommandResult resumed = run_cli(run_args(d, dir, store, "6s") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming run"), std::string::npos) << resumed.out;
  expect_complete(dir, d);
}

TEST(ResumeRun, ANonRunFolderSaysSo) {
  const fs::path dir = temp_dir("resume-nothing");
  CommandResult r = run_cli("resume " + dir.string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("no request.json"), std::string::npos) << r.out;
}

TEST(InterruptCli, OnceStopsTheSearchAndSavesTheBestSoFar) {
  const Dataset d = make_dataset("sigint-once-data");
  const fs::path root = temp_dir("sigint-once");
  const fs::path dir = root / "run";
  CommandResult r = run_interrupted(words(run_args(d, dir, root / "store.sqlite", "120s")), "trial   3", false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("interrupted"), std::string::npos) << r.out;
  json summary = json::parse(read_file(dir / "summary.json"));
  EXPECT_TRUE(summary.at("interrupted").get<bool>());
  EXPECT_EQ(summary.at("n_tail_trials").get<int>(), 0);
  // The search ended at the interrupt, far from what 120 s would have allowed; the
  // trials that ran are kept and the best of them saved.
  EXPECT_GE(summary.at("n_trials").get<int>(), 4);
  expect_complete(dir, d);
}

TEST(InterruptCli, TwiceExitsAtOnceLeavingARunResumeFinishes) {
  // Enough rows that the end (refit, ensemble, saving) outlasts the second Ctrl-C.
  const Dataset d = make_dataset("sigint-twice-data", 20000);
  const fs::path root = temp_dir("sigint-twice");
  const fs::path dir = root / "run";
  CommandResult r = run_interrupted(words(run_args(d, dir, root / "store.sqlite", "30s")), "trial   2", true);
  ASSERT_EQ(r.exit_code, 130) << r.out;
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  CommandResult resumed = run_cli("resume " + dir.string() + " --budget 6s");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  expect_complete(dir, d);
}

TEST(ResumeRun, TwoRunsWritingOneStoreAtOnceBothFinish) {
  const Dataset d = make_dataset("two-runs-data");
  const fs::path root = temp_dir("two-runs");
  const fs::path store = root / "store.sqlite";
  // Both in the background of one shell, then both waited for.
  std::string cmd = "(" + std::string(AUTOML_BINARY) + " " + run_args(d, root / "a", store, "6s") + " -q & pa=$!; " +
                    std::string(AUTOML_BINARY) + " " + run_args(d, root / "b", store, "6s") +
                    " -q & pb=$!; wait $pa; a=$?; wait $pb; b=$?; echo \"exits $a $b\") 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  EXPECT_NE(out.find("exits 0 0"), std::string::npos) << out;
  SqliteStore s(store);
  EXPECT_EQ(s.run_status(run_id_of(root / "a")), "finished");
  EXPECT_EQ(s.run_status(run_id_of(root / "b")), "finished");
  expect_complete(root / "a", d);
  expect_complete(root / "b", d);
}

}  // namespace
}  // namespace automl::testing
