// Ensembles: Caruana's greedy selection on synthetic out-of-fold predictions,
// stacking's honest estimate, an ensemble pipeline's save/reload, and a real run
// that leaves an ensemble row on its leaderboard.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/ensemble.h"
#include "automl/metrics.h"
#include "automl/pipeline.h"
#include "automl/run.h"
#include "automl/session.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Candidates built by hand: predictions for `n` rows of a binary or regression target.
OofCandidates candidates(const Target& target, const std::vector<std::vector<double>>& preds, const std::string& metric) {
  OofCandidates c;
  c.target = target;
  for (std::size_t j = 0; j < preds.size(); ++j) {
    c.trial_ids.push_back(static_cast<int>(j));
    c.families.push_back(j % 2 ? "linear" : "xgboost");
    c.scores.push_back(compute_metric(metric, target, target.y, preds[j]));
    c.preds.push_back(std::make_shared<const std::vector<double>>(preds[j]));
  }
  // Best first, as collect_candidates orders them.
  std::vector<std::size_t> order(preds.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return metric_better(metric, c.scores[a], c.scores[b]);
  });
  OofCandidates sorted;
  sorted.target = c.target;
  for (auto i : order) {
    sorted.trial_ids.push_back(c.trial_ids[i]);
    sorted.families.push_back(c.families[i]);
    sorted.scores.push_back(c.scores[i]);
    sorted.preds.push_back(c.preds[i]);
  }
  return sorted;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// A binary target driven by two independent signals; candidate 0 sees the first,
// candidate 1 the second, candidate 2 is noise and candidate 3 points the wrong way.
struct BinaryFixture {
  Target target;
  std::vector<std::vector<double>> preds;
  explicit BinaryFixture(int n, uint64_t seed) {
    target.task = Task::kBinary;
    target.classes = {"no", "yes"};
    target.positive = 1;
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0, 1);
    preds.assign(4, {});
    for (int i = 0; i < n; ++i) {
      double a = g(rng), b = g(rng);
      double yes = (a + b + 0.3 * g(rng)) > 0 ? 1.0 : 0.0;
      target.y.push_back(yes);
      double p[4] = {sigmoid(2 * a), sigmoid(2 * b), sigmoid(g(rng)), sigmoid(-1.5 * a - 0.5 * g(rng))};
      for (int j = 0; j < 4; ++j) {
        preds[j].push_back(1 - p[j]);
        preds[j].push_back(p[j]);
      }
    }
  }
};

TEST(Caruana, PicksTheComplementaryMembersAndNeverLosesToTheBest) {
  BinaryFixture f(800, 1);
  auto c = candidates(f.target, f.preds, "roc_auc");
  EnsembleOptions opt;
  double score = 0;
  auto w = caruana_weights(c, "roc_auc", {}, opt, &score);
  ASSERT_EQ(w.size(), 4u);
  double by_trial[4] = {0, 0, 0, 0};
  for (std::size_t j = 0; j < w.size(); ++j) by_trial[c.trial_ids[j]] = w[j];
  EXPECT_GT(by_trial[0], 0.2);   // both signals are picked...
  EXPECT_GT(by_trial[1], 0.2);
  EXPECT_LT(by_trial[3], 0.15);  // ...the wrong-way one hardly ever
  EXPECT_GT(score, c.scores[0] + 0.02) << "two independent signals beat either one";
  // The returned score is the weighted blend's, and never below the best member on these rows.
  Blend b{"ensemble", w, {}};
  std::vector<const std::vector<double>*> ptrs;
  for (const auto& p : c.preds) ptrs.push_back(p.get());
  EXPECT_NEAR(compute_metric("roc_auc", c.target, c.target.y, b.apply(ptrs, Task::kBinary, 2)), score, 1e-12);
  for (uint64_t seed = 2; seed < 8; ++seed) {  // on a subset of rows too
    BinaryFixture g(200, seed);
    auto cg = candidates(g.target, g.preds, "log_loss");
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < 200; i += 2) rows.push_back(i);
    std::vector<double> y_sub, best_sub;
    for (auto r : rows) {
      y_sub.push_back(g.target.y[r]);
      best_sub.insert(best_sub.end(), cg.preds[0]->begin() + 2 * r, cg.preds[0]->begin() + 2 * r + 2);
    }
    double s = 0;
    caruana_weights(cg, "log_loss", rows, opt, &s);
    double best_member = std::numeric_limits<double>::infinity();
    for (const auto& p : cg.preds) {
      std::vector<double> sub;
      for (auto r : rows) sub.insert(sub.end(), p->begin() + 2 * r, p->begin() + 2 * r + 2);
      best_member = std::min(best_member, compute_metric("log_loss", cg.target, y_sub, sub));
    }
    EXPECT_LE(s, best_member + 1e-12) << "seed " << seed;
  }
}

TEST(Caruana, NoiseGetsLittleWeightAndTheHonestScoreShowsTheSelectionBias) {
  // One strong candidate and pure noise: the blend is mostly the strong one.
  BinaryFixture f(600, 9);
  std::vector<std::vector<double>> preds = {f.preds[0], f.preds[2]};
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> noise;
  for (std::size_t i = 0; i < f.target.y.size(); ++i) {
    double p = u(rng);
    noise.push_back(1 - p);
    noise.push_back(p);
  }
  preds.push_back(noise);
  auto c = candidates(f.target, preds, "roc_auc");
  EnsembleOptions opt;
  opt.caruana_init = 1;
  auto w = caruana_weights(c, "roc_auc", {}, opt);
  EXPECT_GE(w[0], 0.75);
  EXPECT_EQ(c.trial_ids[0], 0);
  // In-sample, selection can only look better than the best single candidate; the
  // cross-fitted score pays for that selection.
  auto choice = choose_ensemble(c, "roc_auc", opt);
  EXPECT_GE(choice.caruana.fit_score, c.scores[0]);
  EXPECT_LT(choice.caruana.honest_score, choice.caruana.fit_score);
}

TEST(Caruana, AChoiceOutOfTimeKeepsTheStateItReachedAndStaysHonest) {
  // A deadline already past (a machine slower than the time guess): the greedy selection
  // stops after its first members and stacking after one step, and the choice is still
  // a valid one: weights summing to one, an honest score judged on the same rules.
  BinaryFixture f(800, 1);
  auto c = candidates(f.target, f.preds, "roc_auc");
  EnsembleOptions late;
  late.deadline = Clock::now();
  const EnsembleChoice choice = choose_ensemble(c, "roc_auc", late);
  double sum = 0;
  int members = 0;
  for (double w : choice.caruana.blend.weights) {
    sum += w;
    EXPECT_TRUE(w == 0 || std::abs(w * 3 - std::round(w * 3)) < 1e-9 || std::abs(w * 2 - std::round(w * 2)) < 1e-9)
        << "only the first " << late.caruana_init << " additions: weights are counts over at most 3";
    members += w > 0;
  }
  EXPECT_NEAR(sum, 1.0, 1e-9);
  EXPECT_LE(members, late.caruana_init);
  EXPECT_TRUE(std::isfinite(choice.caruana.honest_score));
  EXPECT_TRUE(std::isfinite(choice.stacking.honest_score));
  EXPECT_GT(choice.caruana.honest_score, 0.5) << "the first members are the best candidates";
  // Without a deadline the same candidates get the full 40 additions.
  const EnsembleChoice full = choose_ensemble(c, "roc_auc", EnsembleOptions{});
  EXPECT_GE(full.caruana.fit_score, choice.caruana.fit_score - 1e-12);
}

TEST(Stacking, HonestEstimateIsNotFooledByNoiseAndFindsComplementaryMembers) {
  // Pure noise: the in-sample fit can look better than it is, the cross-fitted
  // estimate must not (shrinking to the mean is all a meta-model can honestly do).
  Target t;
  t.task = Task::kRegression;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g(0, 1);
  const int n = 300;
  std::vector<std::vector<double>> noise(6);
  for (int i = 0; i < n; ++i) {
    t.y.push_back(g(rng));
    for (auto& p : noise) p.push_back(g(rng));
  }
  auto c = candidates(t, noise, "rmse");
  EnsembleOptions opt;
  auto choice = choose_ensemble(c, "rmse", opt);
  EXPECT_GT(choice.stacking.honest_score, 0.9);  // y has spread 1: noise cannot predict it
  EXPECT_GE(choice.stacking.honest_score, choice.stacking.fit_score);  // honest is never the optimistic one here
  EXPECT_EQ(choice.stacking.part_scores.size(), 3u);

  // y = a + b: one member predicts a, the other b. Averaging halves each signal;
  // stacking learns weights near one each and wins on the honest estimate.
  Target r;
  r.task = Task::kRegression;
  std::vector<std::vector<double>> halves(2);
  for (int i = 0; i < n; ++i) {
    double a = g(rng), b = g(rng);
    r.y.push_back(a + b + 0.1 * g(rng));
    halves[0].push_back(a + 0.1 * g(rng));
    halves[1].push_back(b + 0.1 * g(rng));
  }
  auto cr = candidates(r, halves, "rmse");
  auto won = choose_ensemble(cr, "rmse", opt);
  EXPECT_EQ(won.kept, "stacking") << won.stacking.note;
  ASSERT_EQ(won.stacking.blend.weights.size(), 2u);
  for (double w : won.stacking.blend.weights) EXPECT_NEAR(w, 1.0, 0.1);
  EXPECT_LT(won.stacking.honest_score, won.best_single_honest * 0.5);
  EXPECT_LT(won.stacking.honest_score, won.caruana.honest_score);
}

// One member is the target plus an error, the other that error alone: a free linear
// meta-model would subtract the second from the first and rely on a member whose test
// predictions (refit on all rows, or one fold's model) need not match its out-of-fold
// ones. Stacking keeps every weight at zero or above, for regression and classes alike.
TEST(Stacking, NeverGivesAMemberANegativeWeight) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g(0, 1);
  const int n = 400;
  Target r;
  r.task = Task::kRegression;
  std::vector<std::vector<double>> reg(2);
  Target b;
  b.task = Task::kBinary;
  b.classes = {"no", "yes"};
  b.positive = 1;
  std::vector<std::vector<double>> bin(2);
  for (int i = 0; i < n; ++i) {
    const double y = g(rng), e = g(rng);
    r.y.push_back(y);
    reg[0].push_back(y + e);
    reg[1].push_back(e + 0.1 * g(rng));
    const double z = 2.0 * g(rng), f = 1.5 * g(rng);
    b.y.push_back(sigmoid(z) > 0.5 ? 1.0 : 0.0);
    const double p[2] = {sigmoid(z + f), sigmoid(f + 0.1 * g(rng))};
    for (int j = 0; j < 2; ++j) {
      bin[j].push_back(1 - p[j]);
      bin[j].push_back(p[j]);
    }
  }
  const auto cr = candidates(r, reg, "rmse");
  const Blend sr = fit_stacking(cr, {0, 1}, {}, EnsembleOptions{});
  ASSERT_EQ(sr.weights.size(), 2u);
  for (double w : sr.weights) EXPECT_GE(w, 0.0);
  EXPECT_GT(std::max(sr.weights[0], sr.weights[1]), 0.5);  // the informative member stays in
  const auto cb = candidates(b, bin, "roc_auc");
  const Blend sb = fit_stacking(cb, {0, 1}, {}, EnsembleOptions{});
  ASSERT_EQ(sb.weights.size(), 2u);
  for (double w : sb.weights) EXPECT_GE(w, 0.0);
  const std::size_t good = cb.families[0] == "xgboost" ? 0 : 1;  // the fixture's first (informative) member
  EXPECT_GT(sb.weights[good], sb.weights[1 - good]);
}

// Two member pipelines fitted by hand on a toy table.
Pipeline fitted(const Table& table, const Target& y, const DataCard& card, const std::string& family) {
  Pipeline p;
  p.family = family;
  p.params = json::object();
  p.target = y;
  p.target.y.clear();
  p.schema = card.feature_types();
  p.features = {"x1", "x2", "colour"};
  const ModelEntry& e = model_registry().get(family);
  std::vector<std::size_t> rows(table.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  p.preprocessor = Preprocessor(e.encoding);
  p.preprocessor.fit(table, p.features, rows);
  FitContext ctx;
  ctx.task = y.task;
  ctx.n_classes = y.n_classes();
  ctx.metric = card.metric;
  ctx.fixed_iterations = 30;
  ctx.threads = 1;
  p.model = e.create(with_defaults(e.params, json::object()), y.task);
  p.model->fit(p.preprocessor.transform(table), y.y, nullptr, nullptr, ctx);
  return p;
}

TEST(EnsemblePipeline, SavesMembersInSubfoldersAndReloadsWithIdenticalPredictions) {
  Table table = read_csv_buffer(testing::make_csv("multiclass", 300, 3), "toy.csv");
  DataCard card = infer_data_card(table, "y", "toy");
  Target y = encode_target(table, card);
  auto a = std::make_shared<const Pipeline>(fitted(table, y, card, "xgboost"));
  auto b = std::make_shared<const Pipeline>(fitted(table, y, card, "linear"));
  for (const char* kind : {"ensemble", "stacking"}) {
    Pipeline e;
    e.family = kind;
    e.target = a->target;
    e.schema = a->schema;
    e.features = a->features;
    e.members = {a, b};
    e.blend = {kind, {0.7, 0.4}, std::string(kind) == "stacking" ? std::vector<double>{0.1, -0.2, 0.05} : std::vector<double>{}};
    auto pred = e.predict(table);
    ASSERT_EQ(pred.size(), table.n_rows * 3);
    if (std::string(kind) == "ensemble") {  // the weighted mean of the members' probabilities
      auto pa = a->predict(table), pb = b->predict(table);
      for (std::size_t i = 0; i < pred.size(); i += 37) EXPECT_NEAR(pred[i], (0.7 * pa[i] + 0.4 * pb[i]) / 1.1, 1e-12);
    }
    auto dir = testing::temp_dir(std::string("ensemble-pipeline-") + kind);
    e.save(dir);
    EXPECT_TRUE(fs::exists(dir / "member-0" / "pipeline.json"));
    EXPECT_TRUE(fs::exists(dir / "member-1" / "pipeline.json"));
    EXPECT_EQ(json::parse(testing::read_file(dir / "pipeline.json"))["format"], "automl-gpt pipeline 2");
    Pipeline back = Pipeline::load(dir);
    EXPECT_EQ(back.family, kind);
    EXPECT_EQ(back.predict(table), pred);  // bit for bit
    fs::remove_all(dir);
  }
  // A single model's pipeline keeps the old format.
  auto dir = testing::temp_dir("single-pipeline");
  a->save(dir);
  EXPECT_EQ(json::parse(testing::read_file(dir / "pipeline.json"))["format"], "automl-gpt pipeline 1");
  EXPECT_EQ(Pipeline::load(dir).predict(table), a->predict(table));
  fs::remove_all(dir);
}

TEST(EnsembleRun, LeaderboardHasAnEnsembleRowAndTheSavedModelReloads) {
  auto dir = testing::temp_dir("ensemble-run");
  fs::path data = testing::shared_datasets() / "breast_cancer_wdbc";
  RunRequest r;
  if (fs::exists(data / "train.csv")) {
    r.train_path = (data / "train.csv").string();
    r.test_path = (data / "test.csv").string();
    r.target = "diagnosis";
  } else {
    testing::write_file(dir / "train.csv", testing::make_csv("binary", 400, 21));
    testing::write_file(dir / "test.csv", testing::make_csv("binary", 150, 22));
    r.train_path = (dir / "train.csv").string();
    r.test_path = (dir / "test.csv").string();
    r.target = "y";
  }
  r.out_dir = (dir / "run").string();
  r.store_path = (dir / "store.sqlite").string();
  r.budget_s = 8;
  r.quiet = true;
  r.knowledge = "none";
  json summary = Session(r, std::cerr).run();
  std::istringstream board(testing::read_file(dir / "run" / "leaderboard.csv"));
  std::string line;
  int ensemble_rows = 0;
  while (std::getline(board, line)) {
    if (line.find(",ensemble,") != std::string::npos || line.find(",stacking,") != std::string::npos) {
      ++ensemble_rows;
      EXPECT_NE(line.find("weight"), std::string::npos) << line;  // members and weights in the params JSON
    }
  }
  EXPECT_EQ(ensemble_rows, 2);
  ASSERT_TRUE(summary.contains("ensemble"));
  const json& e = summary["ensemble"];
  EXPECT_TRUE(e["selection"]["members"].size() >= 1u) << e.dump();
  if (e["used"].get<bool>()) {
    EXPECT_EQ(summary["model"]["family"], e["kept"]);
    EXPECT_TRUE(fs::exists(dir / "run" / "model" / "member-1" / "pipeline.json"));
    // Feature importance is the ensemble's: its blend over the members' fold models.
    EXPECT_NE(summary["feature_importance"]["measured_on"].get<std::string>().find("blend"), std::string::npos)
        << summary["feature_importance"].dump();
  }
  EXPECT_TRUE(fs::exists(dir / "run" / "feature_importance.csv"));
  // Whatever was saved, reloading it predicts the test file exactly as the run did.
  Pipeline p = Pipeline::load(dir / "run" / "model");
  EXPECT_EQ(p.family, summary["model"]["family"].get<std::string>());
  Table test = read_csv(r.test_path, p.read_options());
  std::ostringstream again;
  write_predictions(again, p.target, p.predict(test), test.n_rows);
  EXPECT_EQ(again.str(), testing::read_file(dir / "run" / "test_predictions.csv"));
  // And without ensembles, no ensemble row and a single model.
  r.out_dir = (dir / "plain").string();
  r.ensemble = false;
  r.budget_s = 3;
  json plain = Session(r, std::cerr).run();
  EXPECT_FALSE(plain.contains("ensemble"));
  EXPECT_EQ(testing::read_file(dir / "plain" / "leaderboard.csv").find(",ensemble,"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace automl
