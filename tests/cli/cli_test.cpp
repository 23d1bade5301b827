// End-to-end: the built automl-gpt program, as a user runs it.
#include <gtest/gtest.h>

#include <sstream>

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const fs::path kPenguins = testing::source_dir() / "examples" / "data" / "penguins";

// One real run shared by the tests that inspect its folder.
class PenguinRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::temp_dir("penguin-run");
    auto r = run_cli("run " + (kPenguins / "train.csv").string() + " --target species --test " +
                     (kPenguins / "test.csv").string() + " --budget 12s --out " + (dir_ / "run").string() +
                     " --store " + (dir_ / "store.sqlite").string());
    output_ = r.out;
    exit_code_ = r.exit_code;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static nlohmann::json summary() { return nlohmann::json::parse(testing::read_file(dir_ / "run" / "summary.json")); }

  static fs::path dir_;
  static std::string output_;
  static int exit_code_;
};
fs::path PenguinRun::dir_;
std::string PenguinRun::output_;
int PenguinRun::exit_code_ = -1;

TEST_F(PenguinRun, FinishesWithinBudgetAndScoresWell) {
  ASSERT_EQ(exit_code_, 0) << output_;
  auto s = summary();
  EXPECT_EQ(s["metric"], "accuracy");
  EXPECT_GE(s["test_score"].get<double>(), 0.95) << s.dump(2);
  // Within the budget: the search starts no fold after its deadline, which falls inside
  // the budget, so every trial that trained began before the budget ran out.
  ASSERT_TRUE(s["last_trial_start_s"].is_number()) << s.dump(2);
  EXPECT_LE(s["last_trial_start_s"].get<double>(), s["budget_s"].get<double>());
  EXPECT_GT(s["n_trials"].get<int>(), 3);
  EXPECT_TRUE(s["model"].contains("hyperparameters"));
  EXPECT_GT(s["peak_memory_mb"].get<double>(), 0);
  EXPECT_NE(output_.find("best="), std::string::npos) << "no progress lines:\n" << output_;
}

TEST_F(PenguinRun, LeavesAReadableFolder) {
  ASSERT_EQ(exit_code_, 0) << output_;
  for (const char* f : {"data_card.json", "leaderboard.csv", "training_logs.jsonl", "summary.json",
                        "model/pipeline.json", "model_cards/xgboost.json", "test_predictions.csv", "prompt.md", "plan.json",
                        "predicted_logs.jsonl"}) {
    EXPECT_TRUE(fs::exists(dir_ / "run" / f)) << f;
  }
  auto card = nlohmann::json::parse(testing::read_file(dir_ / "run" / "data_card.json"));
  EXPECT_EQ(card["task"], "multiclass");
  EXPECT_EQ(card["label_space"].size(), 3u);
  std::string board = testing::read_file(dir_ / "run" / "leaderboard.csv");
  EXPECT_EQ(board.rfind("trial_id,family,hyperparameters,", 0), 0u) << board.substr(0, 200);
  EXPECT_NE(board.find(",xgboost,\"{"), std::string::npos);
  EXPECT_NE(board.find("finished"), std::string::npos);
  EXPECT_NE(board.find(",validation_score,predicted_score,predicted_uncertainty,"), std::string::npos);
  auto plan = nlohmann::json::parse(testing::read_file(dir_ / "run" / "plan.json"));
  EXPECT_EQ(plan["planner"], "builtin+knowledge");  // the shipped knowledge base
  EXPECT_EQ(plan["knowledge"]["nearest"][0]["dataset"], "penguins");
  EXPECT_FALSE(plan["model_assignment"].empty());
  EXPECT_TRUE(plan["preprocessing"].contains("xgboost"));
  EXPECT_FALSE(plan["hyperparameter_proposals"].empty());
  std::istringstream predicted(testing::read_file(dir_ / "run" / "predicted_logs.jsonl"));
  std::string first;
  ASSERT_TRUE(std::getline(predicted, first));
  EXPECT_TRUE(nlohmann::json::parse(first)["predicted"].contains("final_score")) << first;
  // Each training log line is a real per-iteration curve.
  std::istringstream logs(testing::read_file(dir_ / "run" / "training_logs.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(logs, line));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["metric"], "mlogloss");
  EXPECT_GT(j["valid"].size(), 1u);
  EXPECT_EQ(j["valid"].size(), j["train"].size());
}

TEST_F(PenguinRun, StoreHoldsEveryTrialAndLog) {
  ASSERT_EQ(exit_code_, 0) << output_;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "store.sqlite").c_str(), &db), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    sqlite3_step(st);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE json_extract(data_card, '$.meta_features.n_rows') = 258"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM trials WHERE json_extract(predicted, '$.final_score') IS NOT NULL"),
            summary()["n_trials"].get<int>());
  EXPECT_EQ(count("SELECT COUNT(*) FROM trials"), summary()["n_trials"].get<int>());
  EXPECT_GT(count("SELECT COUNT(*) FROM training_logs"), 0);
  sqlite3_close(db);
}

TEST_F(PenguinRun, PredictReloadsTheModelAndGivesTheSamePredictions) {
  ASSERT_EQ(exit_code_, 0) << output_;
  auto out = dir_ / "again.csv";
  auto r = run_cli("predict " + (dir_ / "run").string() + " " + (kPenguins / "test.csv").string() + " --out " +
                   out.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(testing::read_file(out), testing::read_file(dir_ / "run" / "test_predictions.csv"));
  // Without the target column too.
  std::string test = testing::read_file(kPenguins / "test.csv");
  EXPECT_NE(test.find("species"), std::string::npos);
}

TEST_F(PenguinRun, PromptShowsTheComposedParagraph) {
  ASSERT_EQ(exit_code_, 0) << output_;
  auto r = run_cli("prompt " + (dir_ / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, testing::read_file(dir_ / "run" / "prompt.md"));
  EXPECT_NE(r.out.find("multiclass classification of the target column \"species\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("### xgboost"), std::string::npos);
  EXPECT_EQ(run_cli("prompt " + (dir_ / "nope").string()).exit_code, 3);
}

TEST_F(PenguinRun, RefusesToOverwriteAnExistingRunFolder) {
  ASSERT_EQ(exit_code_, 0) << output_;
  std::string before = testing::read_file(dir_ / "run" / "summary.json");
  auto r = run_cli("run " + (kPenguins / "train.csv").string() + " --target species --budget 5s --out " +
                   (dir_ / "run").string() + " --store " + (dir_ / "store.sqlite").string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("already exists"), std::string::npos) << r.out;
  EXPECT_EQ(testing::read_file(dir_ / "run" / "summary.json"), before);
}

// Bad input: one clear line, a non-zero exit.
struct BadInput {
  const char* name;
  const char* csv;      // written to bad.csv ("" = no file at all)
  const char* flags;    // after "run bad.csv"
  int exit_code;
  std::vector<std::string> fragments;
};

class BadInputCli : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputCli, FailsWithOneClearLine) {
  const auto& c = GetParam();
  auto dir = testing::temp_dir(std::string("bad-") + c.name);
  auto file = dir / "bad.csv";
  if (std::string(c.csv) != "<none>") testing::write_file(file, c.csv);
  std::string flags = c.flags;
  if (flags.find("--budget") == std::string::npos) flags += " --budget 5s";
  auto r = run_cli("run " + file.string() + " " + flags + " --out " + (dir / "run").string() +
                   " --store " + (dir / "s.sqlite").string());
  EXPECT_EQ(r.exit_code, c.exit_code) << r.out;
  EXPECT_NE(r.out.find("automl-gpt: error: "), std::string::npos) << r.out;
  for (const auto& f : c.fragments) EXPECT_NE(r.out.find(f), std::string::npos) << "missing \"" << f << "\" in:\n" << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "more than one line:\n" << r.out;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, BadInputCli,
    ::testing::Values(
        BadInput{"missing_file", "<none>", "--target y", 3, {"no such file", "bad.csv"}},
        BadInput{"empty_file", "", "--target y", 2, {"bad.csv", "empty"}},
        BadInput{"unknown_target", "income,age\n1,2\n0,3\n1,4\n0,5\n", "--target incme", 3, {"incme", "income"}},
        BadInput{"one_class", "a,y\n1,x\n2,x\n3,x\n4,x\n", "--target y", 2, {"single class", "\"x\""}},
        BadInput{"ragged_rows", "a,b,y\n1,2,0\n3,4\n5,6,1\n", "--target y", 2, {"bad.csv:3", "2 fields", "3"}},
        BadInput{"text_in_numeric", "age,y\n31,0\n40,1\nforty,0\n22,1\n", "--target y --type age=numeric", 2,
                 {"bad.csv:4", "\"age\"", "numeric", "forty"}},
        BadInput{"bad_metric", "a,y\n1,0\n2,1\n3,0\n4,1\n", "--target y --metric rmse", 2, {"rmse", "roc_auc"}},
        BadInput{"bad_budget", "a,y\n1,0\n2,1\n3,0\n4,1\n", "--target y --budget soon", 2, {"soon", "60s"}},
        BadInput{"unknown_model", "a,y\n1,0\n2,1\n3,0\n4,1\n", "--target y --models xgbost", 3, {"xgbost", "xgboost"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Cli, CardPrintsYamlAndJson) {
  auto yaml = run_cli("card " + (kPenguins / "train.csv").string() + " --target species");
  ASSERT_EQ(yaml.exit_code, 0) << yaml.out;
  EXPECT_NE(yaml.out.find("task: \"multiclass\""), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("label_space:"), std::string::npos);
  EXPECT_NE(yaml.out.find("meta_features:"), std::string::npos);
  auto json = run_cli("card " + (kPenguins / "train.csv").string() + " --target species --format json");
  ASSERT_EQ(json.exit_code, 0) << json.out;
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["metric"], "accuracy");
  EXPECT_EQ(j["feature_types"]["island"], "categorical");
}

TEST(Cli, ModelsMarkdownMatchesTheDocs) {
  auto r = run_cli("models --format markdown");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, testing::read_file(testing::source_dir() / "docs" / "models.md"))
      << "docs/models.md is stale: regenerate it with `automl-gpt models --format markdown > docs/models.md`";
}

TEST(Cli, EveryCommandDocumentsItsFlags) {
  std::map<std::string, std::vector<std::string>> expected = {
      {"run", {"--target", "--test", "--card", "--metric", "--budget", "--out", "--store", "--seed", "--threads",
               "--max-trials", "--folds", "--models", "--missing", "--type", "--quiet", "--json", "--require",
               "--no-ensemble"}},
      {"card", {"--target", "--card", "--format", "--missing", "--type"}},
      {"models", {"--format", "--task"}},
      {"predict", {"--out", "--missing"}},
      {"explain", {"--out", "--method", "--permutations", "--background", "--background-rows", "--seed", "--missing"}},
      {"bench", {"--budget", "--seed", "--out", "--no-ensemble"}},
      {"prompt", {"run"}},
      {"serve", {"--host", "--port", "--workers", "--max-body"}}};
  for (const auto& [cmd, flags] : expected) {
    auto r = run_cli(cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    for (const auto& f : flags) EXPECT_NE(r.out.find(f), std::string::npos) << cmd << " --help lacks " << f;
  }
}

// A score floor on real public data (skipped when ../shared is not beside the repo).
TEST(Cli, BenchOnARealDatasetBeatsAFloor) {
  auto data = testing::shared_datasets() / "breast_cancer_wdbc";
  if (!fs::exists(data)) GTEST_SKIP() << "no shared datasets";
  auto dir = testing::temp_dir("bench");
  auto r = run_cli("bench " + data.string() + " --budget 10s --out " + (dir / "run").string() + " --store " +
                   (dir / "s.sqlite").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto at = r.out.rfind("{\"");
  ASSERT_NE(at, std::string::npos) << r.out;
  auto line = r.out.substr(r.out.rfind('\n', at) == std::string::npos ? 0 : r.out.rfind('\n', at) + 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["peer"], "automl-gpt");
  EXPECT_EQ(j["metric"], "roc_auc");
  EXPECT_GE(j["score"].get<double>(), 0.98) << line;
  fs::remove_all(dir);
}


// The program loads the networks' module only when a run may train a network: the
// family still trains, is saved, and a later `predict` (another process) reloads it.
TEST(Cli, ANetworkFamilyTrainsThroughTheModuleAndReloads) {
  auto dir = testing::temp_dir("network-module");
  auto r = run_cli("run " + (kPenguins / "train.csv").string() + " --target species --test " +
                   (kPenguins / "test.csv").string() + " --models mlp --no-ensemble --budget 8s --out " +
                   (dir / "run").string() + " --store " + (dir / "s.sqlite").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = nlohmann::json::parse(testing::read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(s["model"]["family"], "mlp") << s.dump(2);
  EXPECT_GE(s["test_score"].get<double>(), 0.9) << s.dump(2);
  auto p = run_cli("predict " + (dir / "run").string() + " " + (kPenguins / "test.csv").string() + " --out " +
                   (dir / "again.csv").string());
  ASSERT_EQ(p.exit_code, 0) << p.out;
  EXPECT_EQ(testing::read_file(dir / "again.csv"), testing::read_file(dir / "run" / "test_predictions.csv"));
  fs::remove_all(dir);
}

// A module that cannot be loaded fails the network's trials with where it looked; the
// run goes on without them.
TEST(Cli, AMissingNetworkModuleIsNamedInTheTrialsItFails) {
  auto dir = testing::temp_dir("network-module-missing");
  auto r = run_cli("run " + (kPenguins / "train.csv").string() + " --target species --models mlp,linear "
                   "--no-ensemble --budget 5s --out " + (dir / "run").string() + " --store " +
                   (dir / "s.sqlite").string(),
                   "AUTOML_GPT_NETWORKS=" + (dir / "no-such-module.so").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = nlohmann::json::parse(testing::read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(s["model"]["family"], "linear") << s.dump(2);
  const std::string board = testing::read_file(dir / "run" / "leaderboard.csv");
  EXPECT_NE(board.find("mlp cannot be trained: the neural-network module could not be loaded"), std::string::npos)
      << board;
  EXPECT_NE(board.find("no-such-module.so (not there)"), std::string::npos) << board;
  // Two failures alike and the family is left out: the rest of the budget goes to linear.
  EXPECT_EQ(s["families_left_out_by_search"], nlohmann::json::array({"mlp"})) << s.dump(2);
  int mlp_trials = 0;  // leaderboard rows whose second field, the family, is mlp
  std::istringstream lines(board);
  for (std::string line; std::getline(lines, line);) {
    const auto comma = line.find(',');
    mlp_trials += comma != std::string::npos && line.compare(comma + 1, 4, "mlp,") == 0;
  }
  EXPECT_EQ(mlp_trials, 2) << board;
  EXPECT_NE(r.out.find("model family mlp left out of the search"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(Cli, TestRowsOfAClassNeverSeenInTrainingAreLeftOutOfTheScore) {
  auto dir = testing::temp_dir("unseen-class");
  testing::write_file(dir / "train.csv", testing::make_csv("multiclass", 300, 2));
  std::string test = testing::make_csv("multiclass", 60, 3);
  test += "0.5,0.5,red,extreme\n";
  testing::write_file(dir / "test.csv", test);
  auto r = run_cli("run " + (dir / "train.csv").string() + " --target y --test " + (dir / "test.csv").string() +
                   " --budget 5s --max-trials 4 --out " + (dir / "run").string() + " --store " +
                   (dir / "s.sqlite").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = nlohmann::json::parse(testing::read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(s["test_rows_with_unknown_class"], 1);
  EXPECT_GT(s["test_score"].get<double>(), 0.6);
  fs::remove_all(dir);
}


TEST(Cli, RequirementsBecomeConstraints) {
  auto dir = testing::temp_dir("require");
  testing::write_file(dir / "train.csv", testing::make_csv("binary", 300, 5));
  auto base = "run " + (dir / "train.csv").string() + " --target y --budget 6s --store " + (dir / "s.sqlite").string();
  // Explainable: only the linear model (and the baseline) may be chosen.
  auto r = run_cli(base + " --out " + (dir / "a").string() + " --require 'log loss; must be explainable'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = nlohmann::json::parse(testing::read_file(dir / "a" / "summary.json"));
  EXPECT_EQ(s["metric"], "log_loss");
  EXPECT_EQ(s["model"]["family"], "linear");
  EXPECT_EQ(testing::read_file(dir / "a" / "leaderboard.csv").find("xgboost"), std::string::npos);
  // A size limit that boosted trees cannot meet: their trials fail with the reason.
  r = run_cli(base + " --out " + (dir / "b").string() + " --require 'model under 2 KB' --max-trials 6");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string board = testing::read_file(dir / "b" / "leaderboard.csv");
  EXPECT_NE(board.find("violates a requirement: model is"), std::string::npos) << board;
  auto plan = nlohmann::json::parse(testing::read_file(dir / "b" / "plan.json"));
  EXPECT_DOUBLE_EQ(plan["requirements"]["max_model_mb"].get<double>(), 2.0 / 1024);
  // The prompt quotes the requirements; nothing can meet an impossible request.
  EXPECT_NE(testing::read_file(dir / "b" / "prompt.md").find("\"model under 2 KB\""), std::string::npos);
  r = run_cli(base + " --out " + (dir / "c").string() + " --models xgboost --require 'interpretable'");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("no model family meets the request"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "c"));  // refused before anything was written
  fs::remove_all(dir);
}

TEST(Cli, ARequestFileRunsEachTaskInItsOwnFolder) {
  auto dir = testing::temp_dir("request");
  auto r = run_cli("run --request " + (testing::source_dir() / "examples" / "request.yaml").string() +
                   " --budget 12s --out " + (dir / "run").string() + " --store " + (dir / "s.sqlite").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = nlohmann::json::parse(testing::read_file(dir / "run" / "summary.json"));
  ASSERT_EQ(s["tasks"].size(), 2u);
  // The structured task, then the one decomposed from words.
  EXPECT_EQ(s["tasks"][0]["name"], "species");
  EXPECT_EQ(s["tasks"][0]["model"], "linear");  // "must be explainable"
  EXPECT_GT(s["tasks"][0]["test_score"].get<double>(), 0.9);
  EXPECT_EQ(s["tasks"][1]["target"], "body_mass_g");
  EXPECT_EQ(s["tasks"][1]["metric"], "rmse");
  EXPECT_TRUE(s["tasks"][1]["test_score"].is_number());
  for (const char* t : {"species", "penguins"}) {
    EXPECT_TRUE(fs::exists(dir / "run" / "tasks" / t / "model")) << t;
    EXPECT_TRUE(fs::exists(dir / "run" / "tasks" / t / "plan.json")) << t;
  }
  auto plan = nlohmann::json::parse(testing::read_file(dir / "run" / "plan.json"));
  EXPECT_EQ(plan["decomposition"]["tasks"][0]["test"], "data/penguins/test.csv");
  // `prompt` on the request's folder shows every task's paragraph.
  auto p = run_cli("prompt " + (dir / "run").string());
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_NE(p.out.find("\"body_mass_g\""), std::string::npos);
  EXPECT_NE(p.out.find("\"species\""), std::string::npos);
  fs::remove_all(dir);
}

TEST(Cli, ABadRequestFileNamesTheLine) {
  auto dir = testing::temp_dir("bad-request");
  testing::write_file(dir / "r.yaml", "tasks:\n  - train: a.csv\n    targt: y\n");
  auto r = run_cli("run --request " + (dir / "r.yaml").string() + " --out " + (dir / "run").string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("r.yaml:3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("targt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("target"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "run"));
  fs::remove_all(dir);
}

TEST(Cli, LearnBuildsAKnowledgeBaseThatRunsAndSimilarUse) {
  auto dir = testing::temp_dir("learn");
  fs::create_directories(dir / "toy");
  testing::write_file(dir / "toy" / "train.csv", testing::make_csv("binary", 300, 11));
  testing::write_file(dir / "toy" / "card.json", R"({"name": "toy", "target": "y"})");
  testing::write_file(dir / "README.md", "what a shell glob over the folder also matches\n");
  auto r = run_cli("learn " + (dir / "README.md").string() + " " + (dir / "toy").string() + " --budget 8s --out " +
                   (dir / "kb.json").string() + " --store " + (dir / "learn.sqlite").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("passing over"), std::string::npos) << r.out;  // the file is named, not fatal
  auto kb = nlohmann::json::parse(testing::read_file(dir / "kb.json"));
  ASSERT_EQ(kb["datasets"].size(), 1u);
  EXPECT_EQ(kb["datasets"][0]["name"], "toy");
  EXPECT_GE(kb["datasets"][0]["trials"].size(), 5u);
  // A run on similar data starts from it.
  testing::write_file(dir / "other.csv", testing::make_csv("binary", 250, 12));
  r = run_cli("run " + (dir / "other.csv").string() + " --target y --budget 5s --knowledge " + (dir / "kb.json").string() +
              " --out " + (dir / "run").string() + " --store " + (dir / "s.sqlite").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto plan = nlohmann::json::parse(testing::read_file(dir / "run" / "plan.json"));
  EXPECT_EQ(plan["planner"], "builtin+knowledge");
  EXPECT_EQ(plan["knowledge"]["nearest"][0]["dataset"], "toy");
  EXPECT_NE(plan["hyperparameter_proposals"].dump().find("warm start: the best setting on toy"), std::string::npos);
  EXPECT_NE(testing::read_file(dir / "run" / "predicted_logs.jsonl").find("learned from"), std::string::npos);
  // `similar` shows it, and why.
  r = run_cli("similar " + (dir / "other.csv").string() + " --target y --knowledge " + (dir / "kb.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("toy (distance"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shared words: colour"), std::string::npos) << r.out;
  // A knowledge base that is not there is an error, not a silent default.
  r = run_cli("run " + (dir / "other.csv").string() + " --target y --budget 3s --knowledge " + (dir / "nope.json").string() +
              " --out " + (dir / "run2").string());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("nope.json"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "run2"));
  fs::remove_all(dir);
}

TEST(Cli, SimilarFindsAShippedDatasetItself) {
  auto r = run_cli("similar " + (kPenguins / "train.csv").string() + " --target species -k 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("penguins (distance 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  best: "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace automl
