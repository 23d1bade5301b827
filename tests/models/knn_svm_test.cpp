// The small-table families: k-nearest neighbours and the libsvm kernel SVM. The
// registry-wide contract (fit, shapes, save/load, seeds) is in contract_test.cpp;
// here: what each computes, their non-default settings, a floor on a real table,
// and how the planner and the requirements treat them.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/metrics.h"
#include "automl/model.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "automl/run.h"
#include "automl/session.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;

// One numeric column x and the given targets.
FeatureMatrix column(const std::vector<float>& x) {
  FeatureMatrix m;
  m.rows = x.size();
  m.cols = 1;
  m.values = x;
  m.names = {"x"};
  m.n_categories = {0};
  return m;
}

FitContext context(Task task, int n_classes, int threads = 2) {
  FitContext ctx;
  ctx.task = task;
  ctx.n_classes = n_classes;
  ctx.threads = threads;
  ctx.seed = 3;
  return ctx;
}

std::unique_ptr<Model> make(const std::string& family, const nlohmann::json& params, Task task) {
  const ModelEntry& e = model_registry().get(family);
  validate_params(family, e.params, params);
  return e.create(with_defaults(e.params, params), task);
}

TEST(Knn, VotesAndMeansOfTheNearestRows) {
  // Training x = 0..5 with classes 0,0,0,1,1,1. The query 0.9 has neighbours 1, 0, 2.
  auto x = column({0, 1, 2, 3, 4, 5});
  std::vector<double> y = {0, 0, 0, 1, 1, 1};
  auto uniform = make("knn", {{"k", 3}, {"weights", "uniform"}}, Task::kBinary);
  uniform->fit(x, y, nullptr, nullptr, context(Task::kBinary, 2));
  auto p = uniform->predict(column({0.9f, 3.4f}));
  ASSERT_EQ(p.size(), 4u);
  // Three of three neighbours say class 0, blended with one even pseudo-neighbour: (3 + 0.5) / 4.
  EXPECT_NEAR(p[0], 3.5 / 4, 1e-12);
  EXPECT_NEAR(p[1], 0.5 / 4, 1e-12);
  // 3.4: neighbours 3, 4, 2 -> two of three say class 1.
  EXPECT_NEAR(p[3], (2 + 0.5) / 4, 1e-12);

  // Regression, distance-weighted, manhattan: 2.5 between 2 and 3 (distance 0.5 each), then 1 or 4 (1.5).
  auto reg = make("knn", {{"k", 3}, {"weights", "distance"}, {"metric", "manhattan"}}, Task::kRegression);
  reg->fit(x, {0, 10, 20, 30, 40, 50}, nullptr, nullptr, context(Task::kRegression, 0));
  auto v = reg->predict(column({2.5f, 4.0f}));
  // Ties at 1.5 go to the earlier row (x = 1, y = 10): (20/0.5 + 30/0.5 + 10/1.5) / (2 + 2 + 1/1.5).
  EXPECT_NEAR(v[0], (40.0 + 60.0 + 10.0 / 1.5) / (4.0 + 1.0 / 1.5), 1e-9);
  EXPECT_DOUBLE_EQ(v[1], 40.0);  // an exact match takes all the weight
}

TEST(Knn, ThreadsDoNotChangeTheAnswerAndReloadIsExact) {
  Table t = read_csv_buffer(testing::make_csv("multiclass", 900, 4), "m.csv");
  DataCard card = infer_data_card(t, "y", "m");
  Target target = encode_target(t, card);
  std::vector<std::size_t> train, test;
  for (std::size_t i = 0; i < t.n_rows; ++i) (i % 3 == 0 ? test : train).push_back(i);
  Preprocessor pre(Encoding::kOneHot);
  pre.fit(t, {"x1", "x2", "colour"}, train);
  auto xtr = pre.transform(t, &train), xte = pre.transform(t, &test);
  std::vector<double> ytr;
  for (auto r : train) ytr.push_back(target.y[r]);
  nlohmann::json params = {{"k", 7}, {"weights", "uniform"}, {"metric", "manhattan"}};
  auto one = make("knn", params, target.task), two = make("knn", params, target.task);
  one->fit(xtr, ytr, nullptr, nullptr, context(target.task, 3, 1));
  two->fit(xtr, ytr, nullptr, nullptr, context(target.task, 3, 2));
  auto p = two->predict(xte);
  EXPECT_EQ(one->predict(xte), p);
  for (std::size_t i = 0; i < xte.rows; ++i) EXPECT_NEAR(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2], 1.0, 1e-12);
  auto dir = testing::temp_dir("knn-reload");
  two->save(dir);
  EXPECT_TRUE(fs::exists(dir / "knn.bin"));
  auto loaded = make("knn", params, target.task);
  loaded->load(dir);
  EXPECT_EQ(loaded->predict(xte), p);
  // A damaged file is an I/O error naming it, not a crash.
  fs::resize_file(dir / "knn.bin", 100);
  auto broken = make("knn", params, target.task);
  EXPECT_THROW(broken->load(dir), Error);
  fs::remove_all(dir);
}

TEST(Svm, EveryKernelReloadsExactlyWithProbabilitiesThatSumToOne) {
  for (const char* task : {"binary", "multiclass", "regression"}) {
    Table t = read_csv_buffer(testing::make_csv(task, 240, 9), "s.csv");
    DataCard card = infer_data_card(t, "y", "s");
    Target target = encode_target(t, card);
    std::vector<std::size_t> train, test;
    for (std::size_t i = 0; i < t.n_rows; ++i) (i % 4 == 0 ? test : train).push_back(i);
    Preprocessor pre(Encoding::kOneHot);
    pre.fit(t, {"x1", "x2", "colour"}, train);
    auto xtr = pre.transform(t, &train), xte = pre.transform(t, &test);
    std::vector<double> ytr;
    for (auto r : train) ytr.push_back(target.y[r]);
    for (const char* kernel : {"rbf", "poly"}) {
      nlohmann::json params = {{"kernel", kernel}, {"C", 3.0}, {"gamma_factor", 0.5}, {"epsilon", 0.05}};
      auto m = make("svm", params, target.task);
      m->fit(xtr, ytr, nullptr, nullptr, context(target.task, target.n_classes()));
      auto p = m->predict(xte);
      const auto k = static_cast<std::size_t>(target.n_outputs());
      ASSERT_EQ(p.size(), xte.rows * k);
      if (is_classification(target.task)) {
        for (std::size_t i = 0; i < xte.rows; ++i) {
          double s = 0;
          for (std::size_t c = 0; c < k; ++c) s += p[i * k + c];
          EXPECT_NEAR(s, 1.0, 1e-9) << task << " " << kernel;
        }
      }
      auto dir = testing::temp_dir(std::string("svm-") + task + kernel);
      m->save(dir);
      auto loaded = make("svm", params, target.task);
      loaded->load(dir);
      EXPECT_EQ(loaded->predict(xte), p) << task << " " << kernel;
      fs::remove_all(dir);
    }
  }
}

TEST(Svm, RefusesToStartPastTheDeadline) {
  auto m = make("svm", nlohmann::json::object(), Task::kBinary);
  auto ctx = context(Task::kBinary, 2);
  ctx.deadline = Clock::now() - std::chrono::seconds(1);
  try {
    m->fit(column({0, 1, 2, 3}), {0, 0, 1, 1}, nullptr, nullptr, ctx);
    FAIL() << "trained past the deadline";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBudget);
  }
}

// libsvm has no deadline of its own: a slow fit (a poly kernel with a large C) is
// stopped from inside the solver, and libsvm trains normally afterwards.
TEST(Svm, StopsMidTrainingAtTheDeadlineAndTrainsAgainAfter) {
  Table t = read_csv_buffer(testing::make_csv("regression", 1500, 31), "slow.csv");
  DataCard card = infer_data_card(t, "y", "slow");
  Target target = encode_target(t, card);
  std::vector<std::size_t> rows(t.n_rows);
  std::iota(rows.begin(), rows.end(), 0);
  Preprocessor pre(Encoding::kOneHot);
  pre.fit(t, {"x1", "x2", "colour"}, rows);
  auto x = pre.transform(t, &rows);
  nlohmann::json slow = {{"kernel", "poly"}, {"C", 300.0}, {"gamma_factor", 20.0}, {"epsilon", 0.001}};
  auto m = make("svm", slow, target.task);
  auto ctx = context(target.task, 0);
  ctx.deadline = Clock::now();  // regression trains without the probability lock's check: it starts
  try {
    m->fit(x, target.y, nullptr, nullptr, ctx);
    FAIL() << "trained past the deadline";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBudget) << e.what();
  }
  auto fine = make("svm", {{"kernel", "rbf"}}, target.task);
  fine->fit(x, target.y, nullptr, nullptr, context(target.task, 0));
  EXPECT_EQ(fine->predict(x).size(), x.rows);
}

// A floor on a real small table: wine's test accuracy with the default settings.
TEST(KnnSvm, DefaultsScoreWellOnWine) {
  fs::path dir = testing::shared_datasets() / "wine";
  if (!fs::exists(dir / "train.csv")) GTEST_SKIP() << "no shared datasets";
  auto overrides = load_card_file((dir / "card.json").string());
  const std::string target_name = overrides.at("target").get<std::string>();
  Table train = read_csv((dir / "train.csv").string());
  DataCard card = infer_data_card(train, target_name, "wine", overrides);
  Table test = read_csv((dir / "test.csv").string(), CsvOptions{});
  Target ytr = encode_target(train, card), yte = encode_target(test, card, true);
  std::vector<std::string> features;
  for (const auto& c : train.columns) {
    if (c.name != target_name) features.push_back(c.name);
  }
  std::vector<std::size_t> rows(train.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Preprocessor pre(Encoding::kOneHot);
  pre.fit(train, features, rows);
  auto xtr = pre.transform(train), xte = pre.transform(test);
  for (const char* family : {"knn", "svm"}) {
    auto m = make(family, nlohmann::json::object(), ytr.task);
    m->fit(xtr, ytr.y, nullptr, nullptr, context(ytr.task, ytr.n_classes()));
    double acc = compute_metric("accuracy", yte, yte.y, m->predict(xte));
    EXPECT_GE(acc, 0.9) << family;
  }
}

DataCard card_with_rows(double rows) {
  Table t = read_csv_buffer(testing::make_csv("binary", 200, 2), "toy.csv");
  DataCard card = infer_data_card(t, "y", "toy");
  card.meta_features["n_rows"] = rows;
  return card;
}

TEST(KnnSvm, PlannerAssignsThemToSmallTablesOnly) {
  auto planner = make_builtin_planner();
  std::vector<const ModelEntry*> all;
  for (const char* f : {"xgboost", "linear", "knn", "svm", "constant"}) all.push_back(&model_registry().get(f));
  auto names = [](const std::vector<ModelAssignment>& a) {
    std::set<std::string> out;
    for (const auto& x : a) out.insert(x.family);
    return out;
  };
  auto small = planner->assign_models(card_with_rows(800), all);
  EXPECT_TRUE(names(small).count("knn"));
  EXPECT_TRUE(names(small).count("svm"));
  auto proposals = planner->propose(card_with_rows(800), small);
  int knn = 0, svm = 0;
  for (const auto& p : proposals) {
    knn += p.family == "knn";
    svm += p.family == "svm";
    EXPECT_NO_THROW(validate_params(p.family, model_registry().get(p.family).params, p.params));
  }
  EXPECT_GE(knn, 1);
  EXPECT_GE(svm, 1);
  auto large = planner->assign_models(card_with_rows(50000), all);
  EXPECT_FALSE(names(large).count("knn"));
  EXPECT_FALSE(names(large).count("svm"));
  // Asked for nothing else, they stay.
  auto only = planner->assign_models(card_with_rows(50000), {&model_registry().get("svm"), &model_registry().get("constant")});
  EXPECT_TRUE(names(only).count("svm"));
  for (const auto& p : planner->propose(card_with_rows(50000), large)) EXPECT_NE(p.family, "svm");
}

TEST(KnnSvm, PredictedSecondsGrowWithRowsSquaredForTheSvm) {
  auto planner = make_builtin_planner();
  auto seconds = [&](const std::string& family, double rows) {
    return planner->predict_log(card_with_rows(rows), family, nlohmann::json::object(), -1, {}).seconds;
  };
  for (const char* f : {"knn", "svm"}) EXPECT_GT(seconds(f, 1000), 0.0) << f;
  // Same folds (3) at 4,000 and 8,000 rows: twice the rows, about four times the time.
  EXPECT_GT(seconds("svm", 8000) / seconds("svm", 4000), 3.5);
  EXPECT_GT(seconds("svm", 4000), seconds("knn", 4000));
}

TEST(KnnSvmRun, ExplainabilityAndSizeRequirementsLeaveThemOut) {
  EXPECT_FALSE(model_registry().get("knn").explainable);
  EXPECT_FALSE(model_registry().get("svm").explainable);
  // kNN stores its rows: 100,000 rows x 50 features is far over 5 MB.
  EXPECT_GT(model_registry().get("knn").footprint(100000, 50).model_mb, 5.0);
  EXPECT_LT(model_registry().get("knn").footprint(300, 5).model_mb, 0.1);

  auto dir = testing::temp_dir("knn-svm-require");
  testing::write_file(dir / "train.csv", testing::make_csv("binary", 300, 5));
  auto run = [&](const std::string& name, const std::string& requirements) {
    RunRequest r;
    r.train_path = (dir / "train.csv").string();
    r.target = "y";
    r.out_dir = (dir / name).string();
    r.store_path = (dir / "store.sqlite").string();
    r.budget_s = 3;
    r.max_trials = 6;
    r.quiet = true;
    r.knowledge = "none";
    r.ensemble = false;
    r.families = {"linear", "knn", "svm", "constant"};
    r.requirements = requirements;
    Session(r, std::cerr).run();
    return testing::read_file(dir / name / "leaderboard.csv");
  };
  // Without requirements both run on a small table (the planner's portfolio).
  std::string board = run("free", "");
  EXPECT_NE(board.find(",knn,"), std::string::npos) << board;
  EXPECT_NE(board.find(",svm,"), std::string::npos) << board;
  board = run("explainable", "must be explainable");
  EXPECT_EQ(board.find(",knn,"), std::string::npos) << board;
  EXPECT_EQ(board.find(",svm,"), std::string::npos) << board;
  // 300 rows x 5 features is about 8 KB of stored rows: over a 4 KB limit.
  board = run("small", "model under 4 KB");
  EXPECT_EQ(board.find(",knn,"), std::string::npos) << board;
  auto card = testing::read_file(dir / "small" / "data_card.json");
  EXPECT_NE(card.find("model family knn left out"), std::string::npos) << card;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace automl
