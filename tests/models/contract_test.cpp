// Contract tests over the whole registry: every family, every task it supports.
// A new family is covered the moment it registers.
#include <gtest/gtest.h>

#include <cmath>

#include "automl/data_card.h"
#include "automl/metrics.h"
#include "automl/model.h"
#include "automl/pipeline.h"
#include "helpers.h"

namespace automl {
namespace {

struct Fixture {
  Table table;
  DataCard card;
  Target target;
  FeatureMatrix train_x, test_x;
  std::vector<double> train_y, test_y;
};

Fixture make_fixture(const std::string& task, Encoding enc) {
  Fixture f;
  // Image families read pixel columns: the same signal drawn as small pictures.
  const bool image = enc == Encoding::kImage;
  f.table = read_csv_buffer(image ? testing::make_image_csv(task, 600, 7) : testing::make_csv(task, 600, 7),
                            "synthetic.csv");
  f.card = infer_data_card(f.table, "y", "synthetic");
  f.target = encode_target(f.table, f.card);
  std::vector<std::size_t> train, test;
  for (std::size_t i = 0; i < f.table.n_rows; ++i) (i % 4 == 0 ? test : train).push_back(i);
  Preprocessor pre(enc);
  std::vector<std::string> features = {"x1", "x2", "colour"};
  if (image) {
    features = f.table.column_names();
    features.pop_back();  // y
  }
  pre.fit(f.table, features, train);
  f.train_x = pre.transform(f.table, &train);
  f.test_x = pre.transform(f.table, &test);
  for (auto r : train) f.train_y.push_back(f.target.y[r]);
  for (auto r : test) f.test_y.push_back(f.target.y[r]);
  return f;
}

FitContext context_for(const Fixture& f) {
  FitContext ctx;
  ctx.task = f.target.task;
  ctx.n_classes = f.target.n_classes();
  ctx.metric = f.card.metric;
  ctx.threads = 1;
  ctx.seed = 5;
  return ctx;
}

class FamilyContract : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(FamilyContract, FitsPredictsSavesAndReloads) {
  const auto& [family, task] = GetParam();
  const ModelEntry& e = model_registry().get(family);
  if (!e.supports(parse_task(task))) GTEST_SKIP() << family << " does not do " << task;
  Fixture f = make_fixture(task, e.encoding);
  EXPECT_EQ(task_name(f.target.task), task);
  auto ctx = context_for(f);
  auto params = with_defaults(e.params, {});
  if (e.param("n_estimators")) params["n_estimators"] = 60;

  auto model = e.create(params, f.target.task);
  model->fit(f.train_x, f.train_y, &f.test_x, &f.test_y, ctx);
  auto pred = model->predict(f.test_x);
  const std::size_t k = f.target.n_outputs();
  ASSERT_EQ(pred.size(), f.test_x.rows * k);
  if (is_classification(f.target.task)) {
    for (std::size_t i = 0; i < f.test_x.rows; ++i) {
      double s = 0;
      for (std::size_t c = 0; c < k; ++c) s += pred[i * k + c];
      EXPECT_NEAR(s, 1.0, 1e-5) << "row " << i;
    }
  }

  // Anything but the baseline beats the baseline on a learnable signal.
  if (family != "constant") {
    auto base = model_registry().get("constant").create({}, f.target.task);
    base->fit(f.train_x, f.train_y, nullptr, nullptr, ctx);
    double ours = compute_metric(f.card.metric, f.target, f.test_y, pred);
    double theirs = compute_metric(f.card.metric, f.target, f.test_y, base->predict(f.test_x));
    EXPECT_TRUE(metric_better(f.card.metric, ours, theirs)) << family << " " << ours << " vs constant " << theirs;
  }

  // Save and reload: exactly the same predictions.
  auto dir = testing::temp_dir("contract-" + family + "-" + task);
  model->save(dir);
  auto loaded = e.create(params, f.target.task);
  loaded->load(dir);
  EXPECT_EQ(loaded->predict(f.test_x), pred);

  // Same seed, same data: the same model.
  auto again = e.create(params, f.target.task);
  again->fit(f.train_x, f.train_y, &f.test_x, &f.test_y, ctx);
  EXPECT_EQ(again->predict(f.test_x), pred);
  std::filesystem::remove_all(dir);
}

std::vector<std::tuple<std::string, std::string>> all_cases() {
  std::vector<std::tuple<std::string, std::string>> out;
  for (const auto& name : model_registry().names()) {
    for (const char* task : {"binary", "multiclass", "regression"}) out.emplace_back(name, task);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Registry, FamilyContract, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

TEST(Xgboost, LogsEveryIterationAndStopsEarly) {
  const ModelEntry& e = model_registry().get("xgboost");
  Fixture f = make_fixture("binary", e.encoding);
  auto ctx = context_for(f);
  std::vector<IterationLog> log;
  ctx.on_iteration = [&](const IterationLog& it) {
    log.push_back(it);
    return true;
  };
  auto params = with_defaults(e.params, {{"learning_rate", 0.3}, {"early_stopping_rounds", 10}});
  auto model = e.create(params, f.target.task);
  model->fit(f.train_x, f.train_y, &f.test_x, &f.test_y, ctx);
  ASSERT_FALSE(log.empty());
  EXPECT_LT(log.size(), 2000u) << "early stopping never fired";
  EXPECT_EQ(model->stop_reason(), FitStop::kEarlyStopping);
  EXPECT_EQ(model->log_metric(), "auc");
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].iteration, static_cast<int>(i));
    EXPECT_GT(log[i].train_metric, 0.5);
    EXPECT_GT(log[i].valid_metric, 0.5);
  }
  EXPECT_LE(model->iterations(), static_cast<int>(log.size()));
}

TEST(Preprocessor, LearnsOnlyFromTheRowsItIsFittedOn) {
  Table t = read_csv_buffer("a,c\n1,red\n3,red\n,blue\n100,green\n", "t.csv");
  Preprocessor pre(Encoding::kOneHot);
  pre.fit(t, {"a", "c"}, {0, 1, 2});
  auto m = pre.transform(t);
  // a: median of {1, 3} fills the gap; "green" was never seen in fit: all zeros.
  ASSERT_EQ(m.cols, 4u);  // a, a=missing, c=red, c=blue
  EXPECT_EQ(m.names[1], "a=missing");
  EXPECT_FLOAT_EQ(m.at(3, 2), 0.0f);
  EXPECT_FLOAT_EQ(m.at(3, 3), 0.0f);
  EXPECT_FLOAT_EQ(m.at(2, 1), 1.0f);
  Preprocessor native(Encoding::kNative);
  native.fit(t, {"a", "c"}, {0, 1, 2});
  auto n = native.transform(t);
  EXPECT_TRUE(std::isnan(n.at(2, 0)));
  EXPECT_TRUE(std::isnan(n.at(3, 1)));  // unseen category is missing, not a new code
  EXPECT_EQ(n.n_categories[1], 2);
}

}  // namespace
}  // namespace automl
