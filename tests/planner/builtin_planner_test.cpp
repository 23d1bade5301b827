#include <gtest/gtest.h>

#include <set>

#include "automl/planner.h"
#include "helpers.h"

namespace automl {
namespace {

DataCard toy_card(const std::string& task) {
  Table t = read_csv_buffer(testing::make_csv(task, 300, 1), "toy.csv");
  return infer_data_card(t, "y", "toy");
}

TEST(BuiltinPlanner, AssignsOnlyCandidateFamiliesWithReasons) {
  auto planner = make_builtin_planner();
  DataCard card = toy_card("binary");
  std::vector<const ModelEntry*> candidates = {&model_registry().get("linear"), &model_registry().get("constant")};
  auto a = planner->assign_models(card, candidates);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].family, "linear");  // 300 rows: the linear model ranks first
  EXPECT_EQ(a[1].family, "constant");
  for (const auto& x : a) EXPECT_FALSE(x.reason.empty());
  auto proposals = planner->propose(card, a);
  ASSERT_FALSE(proposals.empty());
  for (const auto& p : proposals) {
    EXPECT_TRUE(p.family == "linear" || p.family == "constant") << p.family;
    const auto& e = model_registry().get(p.family);
    EXPECT_NO_THROW(validate_params(p.family, e.params, p.params));
  }
}

TEST(BuiltinPlanner, PreprocessingUsesTheVocabulary) {
  auto planner = make_builtin_planner();
  DataCard card = toy_card("regression");
  std::set<std::string> vocabulary;
  for (const auto& [op, doc] : preprocessing_vocabulary()) vocabulary.insert(op);
  for (const char* family : {"xgboost", "linear"}) {
    auto steps = planner->design_preprocessing(card, model_registry().get(family));
    ASSERT_FALSE(steps.empty()) << family;
    for (const auto& s : steps) EXPECT_TRUE(vocabulary.count(s.op)) << family << ": " << s.op;
  }
  auto linear = planner->design_preprocessing(card, model_registry().get("linear"));
  EXPECT_EQ(linear.back().op, "one_hot");
  EXPECT_EQ(linear.back().columns, std::vector<std::string>{"colour"});
}

TEST(BuiltinPlanner, PredictsFromTheTrialsSoFar) {
  auto planner = make_builtin_planner();
  DataCard card = toy_card("binary");
  auto first = planner->predict_log(card, "xgboost", {{"learning_rate", 0.1}}, {});
  EXPECT_DOUBLE_EQ(first.final_score, 0.5);
  EXPECT_EQ(first.checkpoints.size(), 4u);
  std::vector<TrialResult> history(3);
  const double scores[] = {0.5, 0.90, 0.94};
  const char* families[] = {"constant", "xgboost", "xgboost"};
  for (int i = 0; i < 3; ++i) {
    history[i].family = families[i];
    history[i].score = scores[i];
    history[i].status = "finished";
    history[i].fold_scores = {scores[i]};
    history[i].iterations = 100;
    history[i].params = {{"learning_rate", 0.1}};
  }
  auto p = planner->predict_log(card, "xgboost", {{"learning_rate", 0.05}}, history);
  EXPECT_NEAR(p.final_score, 0.92, 1e-12);
  EXPECT_GT(p.uncertainty, 0.0);
  ASSERT_EQ(p.metric.size(), 4u);
  EXPECT_NEAR(p.metric.back(), 0.92, 1e-12);  // the curve ends at the predicted final score
  EXPECT_GT(p.checkpoints.back(), 150);        // half the learning rate: about twice the rounds
  for (std::size_t i = 1; i < p.metric.size(); ++i) EXPECT_GE(p.metric[i], p.metric[i - 1]);
}

}  // namespace
}  // namespace automl
