#include <gtest/gtest.h>

#include <map>

#include "automl/data_card.h"
#include "automl/metrics.h"
#include "automl/search.h"
#include "helpers.h"

namespace automl {
namespace {

TEST(Validation, StratifiedFoldsKeepClassSharesAndCoverEveryRow) {
  Target t;
  t.task = Task::kBinary;
  t.classes = {"a", "b"};
  std::vector<std::size_t> rows;
  for (int i = 0; i < 500; ++i) {
    t.y.push_back(i % 10 == 0 ? 1 : 0);
    rows.push_back(i);
  }
  auto plan = make_validation_plan(t, rows, 5, 0);
  ASSERT_EQ(plan.splits.size(), 5u);
  std::vector<int> seen(500, 0);
  for (const auto& s : plan.splits) {
    EXPECT_EQ(s.train.size() + s.valid.size(), 500u);
    int pos = 0;
    for (auto r : s.valid) {
      pos += t.y[r] == 1;
      ++seen[r];
    }
    EXPECT_EQ(pos, 10);  // 50 positives spread evenly over 5 folds
  }
  for (int c : seen) EXPECT_EQ(c, 1);
  auto holdout = make_validation_plan(t, rows, 1, 0);
  ASSERT_EQ(holdout.splits.size(), 1u);
  EXPECT_EQ(holdout.splits[0].valid.size(), 100u);
  EXPECT_EQ(make_validation_plan(t, rows, 0, 0).repeats, 2);  // small data: repeated k-fold
}

std::vector<std::string> leaderboard(uint64_t seed) {
  Table table = read_csv_buffer(testing::make_csv("binary", 400, 11), "toy.csv");
  DataCard card = infer_data_card(table, "y", "toy");
  Target y = encode_target(table, card);
  std::vector<std::size_t> rows(table.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Evaluator ev(table, y, {"x1", "x2", "colour"}, make_validation_plan(y, rows, 3, seed), card.metric, 2, seed);
  SearchOptions opt;
  opt.seed = seed;
  opt.max_trials = 14;  // the portfolio and a bracket of random settings
  opt.max_resource = 300;
  auto result = run_search(ev, opt, nullptr);
  std::vector<std::string> out;
  for (const auto& t : result.trials) out.push_back(t.family + " " + t.params.dump() + " " + std::to_string(t.score) + " " + t.status);
  EXPECT_GE(result.best, 0);
  EXPECT_GT(result.trials[result.best].score, 0.9);  // a learnable signal is learned
  return out;
}

TEST(Search, SameSeedGivesTheSameLeaderboard) {
  auto a = leaderboard(4), b = leaderboard(4);
  ASSERT_EQ(a.size(), 14u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, leaderboard(5));
}

TEST(Search, StopsAtTheDeadlineAndRecordsFailures) {
  Table table = read_csv_buffer(testing::make_csv("regression", 3000, 3), "toy.csv");
  DataCard card = infer_data_card(table, "y", "toy");
  Target y = encode_target(table, card);
  std::vector<std::size_t> rows(table.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Evaluator ev(table, y, {"x1", "x2", "colour"}, make_validation_plan(y, rows, 0, 0), card.metric, 2, 0);
  // A bad setting fails as a trial, with the reason, and the study goes on.
  auto bad = ev.evaluate("xgboost", {{"max_depth", 99}}, -1, Clock::time_point::max());
  EXPECT_EQ(bad.status, "failed");
  EXPECT_NE(bad.reason.find("max_depth"), std::string::npos) << bad.reason;
  SearchOptions opt;
  opt.deadline = Clock::now() + std::chrono::milliseconds(1500);
  auto start = Clock::now();
  auto result = run_search(ev, opt, nullptr);
  double took = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LT(took, 10.0);  // generous: the point is that it stops, not how fast the machine is
  EXPECT_GE(result.best, 0);
}

}  // namespace
}  // namespace automl
