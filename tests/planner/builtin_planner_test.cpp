#include <gtest/gtest.h>

#include <map>
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
  auto plan = planner->design_preprocessing(card, {{"xgboost", ""}, {"linear", ""}});
  for (const char* family : {"xgboost", "linear"}) {
    const auto& steps = plan[family];
    ASSERT_FALSE(steps.empty()) << family;
    for (const auto& s : steps) EXPECT_TRUE(vocabulary.count(s.op)) << family << ": " << s.op;
  }
  // The linear model one-hot encodes the three-level colour.
  std::map<std::string, std::vector<std::string>> by_op;
  for (const auto& s : plan["linear"]) by_op[s.op] = s.columns;
  EXPECT_EQ(by_op["one_hot"], std::vector<std::string>{"colour"});
  EXPECT_EQ(by_op.count("target_encoding"), 0u);
}

TEST(BuiltinPlanner, DecomposesARequestInWords) {
  auto planner = make_builtin_planner();
  std::map<std::string, std::vector<std::string>> files = {
      {"adult/train.csv", {"age", "income"}}, {"adult/test.csv", {"age", "income"}}, {"penguins.csv", {"bill", "species"}}};
  std::string text = "ROC AUC. Predict income from adult/train.csv and score it on adult/test.csv, train within 30 "
                     "seconds.\nOn penguins.csv predict the column Species; must be explainable.";
  ASSERT_EQ(files_mentioned(text), (std::vector<std::string>{"adult/train.csv", "adult/test.csv", "penguins.csv"}));
  auto tasks = planner->decompose(text, files);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].train, "adult/train.csv");
  EXPECT_EQ(tasks[0].test, "adult/test.csv");
  EXPECT_EQ(tasks[0].target, "income");
  EXPECT_EQ(tasks[0].requirements, "ROC AUC; train within 30 seconds");
  EXPECT_EQ(tasks[1].train, "penguins.csv");
  EXPECT_EQ(tasks[1].target, "species");  // the file's spelling
  EXPECT_EQ(tasks[1].requirements, "ROC AUC; must be explainable");
  EXPECT_NE(tasks[0].name, tasks[1].name);
}

TEST(BuiltinPlanner, RefinesTheBestBoostedSettingOnce) {
  auto planner = make_builtin_planner();
  DataCard card = toy_card("binary");
  std::vector<TrialResult> history(2);
  history[0].family = "constant";
  history[0].score = 0.5;
  history[1].family = "xgboost";
  history[1].params = {{"learning_rate", 0.1}, {"max_depth", 4}};
  history[1].score = 0.9;
  history[1].seconds = 1;
  for (auto& t : history) {
    t.status = TrialStatus::kFinished;
    t.fold_scores = {t.score};
  }
  history[1].id = 1;
  auto next = planner->refine(card, {}, history, 60);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].family, "xgboost");
  EXPECT_DOUBLE_EQ(next[0].params["learning_rate"].get<double>(), 0.05);
  EXPECT_EQ(next[0].params["max_depth"], 4);
  EXPECT_TRUE(planner->refine(card, {}, history, 60).empty());
}

TEST(BuiltinPlanner, PredictsFromTheTrialsSoFar) {
  auto planner = make_builtin_planner();
  DataCard card = toy_card("binary");
  // Nothing has run: the card gives the constant's score (ROC AUC 0.5), and a model is
  // expected to close half of the gap to a perfect score.
  EXPECT_DOUBLE_EQ(planner->predict_log(card, "constant", nlohmann::json::object(), -1, {}).final_score, 0.5);
  auto first = planner->predict_log(card, "xgboost", {{"learning_rate", 0.1}}, -1, {});
  EXPECT_DOUBLE_EQ(first.final_score, 0.75);
  EXPECT_EQ(first.checkpoints.size(), 4u);
  std::vector<TrialResult> history(3);
  const double scores[] = {0.5, 0.90, 0.94};
  const char* families[] = {"constant", "xgboost", "xgboost"};
  for (int i = 0; i < 3; ++i) {
    history[i].family = families[i];
    history[i].score = scores[i];
    history[i].status = TrialStatus::kFinished;
    history[i].fold_scores = {scores[i]};
    history[i].iterations = 100;
    history[i].params = {{"learning_rate", 0.1}};
  }
  auto p = planner->predict_log(card, "xgboost", {{"learning_rate", 0.05}}, -1, history);
  EXPECT_NEAR(p.final_score, 0.92, 1e-12);
  EXPECT_GT(p.uncertainty, 0.0);
  ASSERT_EQ(p.metric.size(), 4u);
  EXPECT_NEAR(p.metric.back(), 0.92, 1e-12);  // the curve ends at the predicted final score
  EXPECT_GT(p.checkpoints.back(), 150);        // half the learning rate: about twice the rounds
  for (std::size_t i = 1; i < p.metric.size(); ++i) EXPECT_GE(p.metric[i], p.metric[i - 1]);
}

}  // namespace
}  // namespace automl
