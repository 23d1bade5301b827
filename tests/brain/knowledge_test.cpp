// The offline brain: the knowledge base's file format, similarity between data
// cards, the learned log predictor, experience read back from the run store, and
// the built-in planner's warm start and learned predictions.
#include <cmath>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "automl/data_card.h"
#include "automl/knowledge.h"
#include "automl/metrics.h"
#include "automl/planner.h"
#include "automl/run.h"
#include "automl/session.h"
#include "automl/store.h"
#include "helpers.h"

namespace automl::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A made-up history: on every dataset the relative score peaks at learning rate
// 0.05 and falls off in log distance; time grows with depth.
KnowledgeBase synthetic_kb(int n_datasets) {
  KnowledgeBase kb;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int d = 0; d < n_datasets; ++d) {
    KnownDataset ds;
    ds.name = "set" + std::to_string(d);
    ds.task = d % 2 ? "binary" : "regression";
    ds.metric = d % 2 ? "roc_auc" : "rmse";
    ds.meta = {{"log_rows", 2.0 + d * 0.3}, {"n_features", 5.0 + d}, {"share_categorical", 0.1 * (d % 3)},
               {"missing_share", 0.0}, {"n_rows", std::pow(10.0, 2.0 + d * 0.3)}};
    ds.words = {"col" + std::to_string(d), "shared"};
    ds.baseline = d % 2 ? 0.5 : 10.0;
    ds.best = d % 2 ? 0.9 : 4.0;
    for (int i = 0; i < 60; ++i) {
      KnownTrial t;
      t.family = "xgboost";
      double lr = std::exp(std::log(0.005) + u(rng) * (std::log(0.5) - std::log(0.005)));
      int depth = 2 + static_cast<int>(u(rng) * 8);
      t.params = {{"learning_rate", lr}, {"max_depth", depth}};
      double rel = 1.0 - std::abs(std::log(lr / 0.05)) / 3.0;
      t.score = ds.baseline + rel * (ds.best - ds.baseline);
      t.seconds_per_fit = 0.01 * depth;
      t.iterations = 50;
      ds.trials.push_back(t);
    }
    // A linear model that the history says improves steadily with C.
    for (int i = 0; i < 20; ++i) {
      KnownTrial t;
      t.family = "linear";
      const double log_c = -3.0 + 5.0 * u(rng);
      t.params = {{"C", std::pow(10.0, log_c)}};
      t.score = ds.baseline + (0.3 + 0.6 * (log_c + 3.0) / 5.0) * (ds.best - ds.baseline);
      t.seconds_per_fit = 0.01;
      ds.trials.push_back(t);
    }
    kb.datasets.push_back(ds);
  }
  return kb;
}

// A finished trial of a run's history, scored `score` on its one fold in 0.1 s.
TrialResult finished_trial(int id, const std::string& family, json params, double score) {
  TrialResult t;
  t.id = id;
  t.family = family;
  t.params = std::move(params);
  t.status = TrialStatus::kFinished;
  t.score = score;
  t.fold_scores = {score};
  t.seconds = 0.1;
  return t;
}

DataCard card_like(const KnownDataset& d) {
  DataCard c;
  c.name = "new";
  c.task = d.task == "binary" ? Task::kBinary : Task::kRegression;
  c.metric = d.metric;
  c.meta_features = d.meta;
  return c;
}

TEST(Knowledge, SavesAndLoadsTheSameBase) {
  auto dir = temp_dir("kb-roundtrip");
  KnowledgeBase kb = synthetic_kb(3);
  kb.datasets[0].trials[0].curve = {{1, 0.6}, {10, 0.8}};
  kb.save(dir / "kb.json");
  KnowledgeBase back = KnowledgeBase::load(dir / "kb.json");
  ASSERT_EQ(back.datasets.size(), 3u);
  EXPECT_EQ(back.n_trials(), kb.n_trials());
  EXPECT_EQ(back.datasets[0].to_json(), kb.datasets[0].to_json());
  EXPECT_EQ(back.without("set1").datasets.size(), 2u);
  EXPECT_THROW(KnowledgeBase::load(dir / "missing.json"), Error);
}

TEST(Knowledge, NearestDatasetsAreTheOnesLikeTheCard) {
  KnowledgeBase kb = synthetic_kb(6);
  DataCard c = card_like(kb.datasets[3]);
  c.columns.push_back({});
  c.columns.back().name = "col3";
  auto near = nearest_datasets(kb, c, 3);
  ASSERT_EQ(near.size(), 3u);
  EXPECT_EQ(near[0].dataset->name, "set3");
  EXPECT_LE(near[0].distance, near[1].distance);
  std::string why;
  for (const auto& w : near[0].why) why += w + "; ";
  EXPECT_NE(why.find("the same task"), std::string::npos) << why;
  EXPECT_NE(why.find("shared words: col3"), std::string::npos) << why;
}

TEST(Knowledge, PredictorLearnsWhatMakesASettingGoodAndSlow) {
  KnowledgeBase kb = synthetic_kb(6);
  LogPredictor brain(kb.without("set2"));
  DataCard c = card_like(kb.datasets[2]);
  auto good = brain.guess(c, "xgboost", {{"learning_rate", 0.05}, {"max_depth", 4}}, -1);
  auto bad = brain.guess(c, "xgboost", {{"learning_rate", 0.45}, {"max_depth", 4}}, -1);
  auto deep = brain.guess(c, "xgboost", {{"learning_rate", 0.05}, {"max_depth", 9}}, -1);
  EXPECT_GT(good.relative, bad.relative + 0.3);
  EXPECT_NEAR(good.relative, 1.0, 0.2);
  EXPECT_GT(deep.log_seconds, good.log_seconds);
  EXPECT_GE(good.relative_sd, 0.0);
}

TEST(KnowledgeRun, ARunsExperienceComesBackFromTheStore) {
  auto dir = temp_dir("kb-store");
  write_file(dir / "train.csv", make_csv("binary", 300, 8));
  RunRequest r;
  r.train_path = (dir / "train.csv").string();
  r.target = "y";
  r.out_dir = (dir / "run").string();
  r.store_path = (dir / "store.sqlite").string();
  r.max_trials = 8;
  r.folds = 2;
  r.quiet = true;
  r.knowledge = "none";
  r.name = "toy";
  r.ensemble = false;  // the best single trial is the run's answer, so its score is the known best
  json summary = Session(r, std::cerr).run();
  SqliteStore store(dir / "store.sqlite");
  KnownDataset d = experience_from_store(store, summary["run_id"]);
  EXPECT_EQ(d.name, "toy");
  EXPECT_EQ(d.metric, "roc_auc");
  EXPECT_EQ(d.trials.size(), 8u);
  EXPECT_DOUBLE_EQ(d.baseline, 0.5);  // the constant's score
  EXPECT_NEAR(d.best, summary["validation_score"].get<double>(), 1e-12);
  bool curve = false;
  for (const auto& t : d.trials) curve |= t.family == "xgboost" && t.curve.size() >= 3 && t.curve_metric == "auc";
  EXPECT_TRUE(curve);
  EXPECT_NE(std::find(d.words.begin(), d.words.end(), "colour"), d.words.end());
}

TEST(Knowledge, PlannerWarmStartsAndPredictsFromKnowledge) {
  auto kb = std::make_shared<const KnowledgeBase>(synthetic_kb(6));
  auto planner = make_builtin_planner(kb);
  DataCard c = card_like(kb->datasets[1]);
  auto proposals = planner->propose(c, {{"constant", ""}, {"linear", ""}, {"xgboost", ""}});
  int warm = 0;
  for (const auto& p : proposals) warm += p.why.rfind("warm start", 0) == 0;
  EXPECT_GE(warm, 2);
  auto p = planner->predict_log(c, "xgboost", {{"learning_rate", 0.05}}, -1, {});
  EXPECT_NE(p.basis.find("learned from"), std::string::npos) << p.basis;
  EXPECT_FALSE(p.checkpoints.empty());
  EXPECT_EQ(p.checkpoints.size(), p.metric.size());
  EXPECT_GT(p.uncertainty, 0.0);
  EXPECT_FALSE(planner->report()["knowledge"]["nearest"].empty());
}

// Before anything but the constant has finished, a first model is expected to close
// the share of the gap its family closed on the nearest known datasets judged by the
// same metric (0.8 here), not half of it; without knowledge, half.
TEST(Knowledge, AFirstModelClosesTheGapItsFamilyClosedOnKnownData) {
  KnowledgeBase base = synthetic_kb(6);
  for (auto& d : base.datasets) {
    KnownTrial t;
    t.family = "mlp";
    t.params = json::object();
    t.score = d.metric == "roc_auc" ? d.baseline + 0.8 * (1.0 - d.baseline) : 0.2 * d.baseline;
    t.seconds_per_fit = 0.1;
    t.iterations = 20;
    d.trials.push_back(t);
  }
  auto kb = std::make_shared<const KnowledgeBase>(base);
  DataCard c = card_like(kb->datasets[1]);  // binary, ROC AUC
  const std::vector<TrialResult> history = {finished_trial(0, "constant", json::object(), 0.5)};
  const auto p = make_builtin_planner(kb)->predict_log(c, "mlp", json::object(), -1, history);
  EXPECT_NEAR(p.final_score, 0.9, 1e-9) << p.basis;
  EXPECT_NE(p.basis.find("nearest known datasets"), std::string::npos) << p.basis;
  DataCard r = card_like(kb->datasets[0]);  // regression, RMSE: 0.8 of the constant's error removed
  const std::vector<TrialResult> rh = {finished_trial(0, "constant", json::object(), 10.0)};
  EXPECT_NEAR(make_builtin_planner(kb)->predict_log(r, "mlp", json::object(), -1, rh).final_score, 2.0, 1e-9);
  EXPECT_NEAR(make_builtin_planner()->predict_log(c, "mlp", json::object(), -1, history).final_score, 0.75, 1e-9);
}

// A network capped at fewer epochs than its family needed for its best (a first rung
// of successive halving) is expected to end where its curve stands at the cap, below
// what the uncapped trial reached; uncapped, at that score.
TEST(Knowledge, ANetworkCappedBeforeItsBestEpochIsPredictedOnItsCurve) {
  auto planner = make_builtin_planner();
  DataCard c = card_like(synthetic_kb(2).datasets[1]);
  c.meta_features["n_rows"] = 300;
  std::vector<TrialResult> history = {finished_trial(0, "constant", json::object(), 0.5)};
  history.push_back(finished_trial(1, "mlp", json::object(), 0.95));
  history.back().iterations = 20;
  const auto full = planner->predict_log(c, "mlp", {{"learning_rate", 0.0003}}, -1, history);
  EXPECT_NEAR(full.final_score, 0.95, 1e-9) << full.basis;
  const auto capped = planner->predict_log(c, "mlp", {{"learning_rate", 0.0003}}, 4, history);
  EXPECT_LT(capped.final_score, 0.93) << capped.basis;
  EXPECT_GT(capped.final_score, 0.5) << capped.basis;
  EXPECT_NE(capped.basis.find("capped at 4"), std::string::npos) << capped.basis;
  ASSERT_FALSE(capped.checkpoints.empty());
  EXPECT_EQ(capped.checkpoints.back(), 4);
  EXPECT_DOUBLE_EQ(capped.metric.back(), capped.final_score);
}

// A family that scores the same here whatever its setting, though the known
// datasets say its setting matters: once a few of its trials have finished, an
// untried setting of it is predicted at the level they reached, not where the
// knowledge base would put it, while the other family keeps its learned order.
TEST(Knowledge, PlannerLearnsAFamilysLevelAndSpreadFromTheRun) {
  auto kb = std::make_shared<const KnowledgeBase>(synthetic_kb(6));
  auto planner = make_builtin_planner(kb);
  DataCard c = card_like(kb->datasets[1]);  // binary, ROC AUC; baseline 0.5, best 0.9 on the known sets
  std::vector<TrialResult> history;
  auto add = [&](const std::string& family, json params, double score) {
    history.push_back(finished_trial(static_cast<int>(history.size()), family, std::move(params), score));
  };
  add("constant", json::object(), 0.5);
  for (double lr : {0.01, 0.02, 0.05, 0.1, 0.2, 0.4}) {  // boosting behaves as it did on the known sets
    const double rel = 1.0 - std::abs(std::log(lr / 0.05)) / 3.0;
    add("xgboost", {{"learning_rate", lr}, {"max_depth", 4}}, 0.5 + 0.4 * rel);
  }
  for (double log_c : {-3.0, -2.6, -2.2, -1.8, -1.4, -1.0}) add("linear", {{"C", std::pow(10.0, log_c)}}, 0.75);
  const auto strong = planner->predict_log(c, "linear", {{"C", 100.0}}, -1, history);
  EXPECT_NEAR(strong.final_score, 0.75, 0.03) << strong.basis;
  const auto good = planner->predict_log(c, "xgboost", {{"learning_rate", 0.06}, {"max_depth", 4}}, -1, history);
  const auto poor = planner->predict_log(c, "xgboost", {{"learning_rate", 0.4}, {"max_depth", 4}}, -1, history);
  EXPECT_GT(good.final_score, poor.final_score + 0.05);
}

// A family whose settings rank here against what the known datasets taught (the
// knowledge base says boosting peaks at learning rate 0.05; here the fastest rates
// win): once enough of its trials have finished (with the noise of a validation fold),
// untried settings are ranked by them.
TEST(Knowledge, PlannerRanksByTheRunsOwnTrialsOnceAFamilyHasMany) {
  auto kb = std::make_shared<const KnowledgeBase>(synthetic_kb(6));
  auto planner = make_builtin_planner(kb);
  DataCard c = card_like(kb->datasets[1]);  // binary, ROC AUC
  std::vector<TrialResult> history;
  auto add = [&](const std::string& family, json params, double score) {
    history.push_back(finished_trial(static_cast<int>(history.size()), family, std::move(params), score));
  };
  // Rises with the rate all the way up; depth does not matter here. The trials' scores
  // carry the noise of a validation fold.
  auto truth = [](double lr) { return 0.70 + 0.04 * std::log(lr / 0.005); };
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0.0, 0.03);
  auto draw = [&] {
    const double lr = std::exp(std::log(0.005) + u(rng) * (std::log(0.5) - std::log(0.005)));
    return json{{"learning_rate", lr}, {"max_depth", 2 + static_cast<int>(u(rng) * 8)}};
  };
  add("constant", json::object(), 0.5);
  for (double log_c : {-3.0, -1.0, 1.0}) add("linear", {{"C", std::pow(10.0, log_c)}}, 0.6 + 0.05 * (log_c + 3.0));
  for (int i = 0; i < 30; ++i) {
    json p = draw();
    const double lr = p["learning_rate"].get<double>();
    add("xgboost", std::move(p), truth(lr) + noise(rng));
  }
  std::vector<double> predicted, real;
  for (int i = 0; i < 30; ++i) {
    const json p = draw();
    predicted.push_back(planner->predict_log(c, "xgboost", p, -1, history).final_score);
    real.push_back(truth(p["learning_rate"].get<double>()));
  }
  const double rho = testing::spearman(predicted, real);
  std::cerr << "Spearman of untried settings: " << rho << "\n";
  EXPECT_GE(rho, 0.8);
}

// A slope the run shows and the knowledge base does not know (the known datasets say
// a linear model's C hardly matters; here the score falls steadily as C shrinks): a
// setting below the smallest C tried is expected lower still, not back at the
// family's level.
TEST(Knowledge, PlannerCarriesTheRunsSlopePastTheSettingsTried) {
  KnowledgeBase base = synthetic_kb(6);
  for (auto& d : base.datasets) {
    for (auto& t : d.trials) {
      if (t.family == "linear") t.score = d.baseline + 0.6 * (d.best - d.baseline);
    }
  }
  auto kb = std::make_shared<const KnowledgeBase>(base);
  auto planner = make_builtin_planner(kb);
  DataCard c = card_like(kb->datasets[1]);  // binary, ROC AUC
  std::vector<TrialResult> history;
  auto add = [&](const std::string& family, json params, double score) {
    history.push_back(finished_trial(static_cast<int>(history.size()), family, std::move(params), score));
  };
  add("constant", json::object(), 0.5);
  for (double lr : {0.01, 0.02, 0.05, 0.1, 0.2, 0.4}) {
    const double rel = 1.0 - std::abs(std::log(lr / 0.05)) / 3.0;
    add("xgboost", {{"learning_rate", lr}, {"max_depth", 4}}, 0.5 + 0.4 * rel);
  }
  for (double log_c : {-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5}) add("linear", {{"C", std::pow(10.0, log_c)}}, 0.64 + 0.04 * log_c);
  const auto low = planner->predict_log(c, "linear", {{"C", 1e-3}}, -1, history);
  EXPECT_LT(low.final_score, 0.59) << low.basis;  // the lowest tried scored 0.60
}

// The shipped knowledge base, leaving each dataset out in turn: the learned
// predictor must rank that dataset's trials by their real score.
TEST(Knowledge, ShippedBasePredictsUnseenDatasetsTrials) {
  fs::path path = source_dir() / "share" / "knowledge" / "knowledge-base.json";
  ASSERT_TRUE(fs::exists(path));
  KnowledgeBase kb = KnowledgeBase::load(path);
  ASSERT_GE(kb.datasets.size(), 20u);
  std::vector<double> rhos;
  for (const auto& d : kb.datasets) {
    if (d.trials.size() < 15 || std::abs(d.best - d.baseline) < 1e-9) continue;
    LogPredictor brain(kb.without(d.name));
    DataCard c;
    c.name = d.name;
    c.task = parse_task(d.task);
    c.metric = d.metric;
    c.meta_features = d.meta;
    std::vector<double> pred, real;
    for (const auto& t : d.trials) {
      pred.push_back(brain.guess(c, t.family, t.params, t.resource).relative);
      real.push_back(d.relative(t.score));
    }
    double rho = testing::spearman(pred, real);
    if (!std::isnan(rho)) rhos.push_back(rho);
  }
  ASSERT_GE(rhos.size(), 15u);
  std::sort(rhos.begin(), rhos.end());
  double median = rhos[rhos.size() / 2];
  std::cerr << "leave-one-dataset-out Spearman of relative scores: median " << median << " over " << rhos.size()
            << " datasets\n";
  EXPECT_GE(median, 0.5);
}

}  // namespace
}  // namespace automl::testing
