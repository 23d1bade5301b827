#include <gtest/gtest.h>

#include <cmath>
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

// A large binary table gets a holdout, unless its rarer class is too small for a fifth of
// it to judge by: then three folds validate on every row of that class.
TEST(Validation, RareClassKeepsKFoldOnLargeTables) {
  auto plan_for = [](int positives_per_1000) {
    Target t;
    t.task = Task::kBinary;
    t.classes = {"no", "yes"};
    std::vector<std::size_t> rows;
    for (int i = 0; i < 20000; ++i) {
      t.y.push_back(i % 1000 < positives_per_1000 ? 1 : 0);
      rows.push_back(static_cast<std::size_t>(i));
    }
    return make_validation_plan(t, rows, 0, 0);
  };
  EXPECT_EQ(plan_for(500).method, "holdout");  // 10,000 of each class
  EXPECT_EQ(plan_for(60).method, "holdout");   // 1,200 positives
  const ValidationPlan rare = plan_for(20);    // 400 positives
  EXPECT_EQ(rare.method, "k-fold");
  EXPECT_EQ(rare.folds, 3);
  for (const auto& s : rare.splits) EXPECT_NEAR(static_cast<double>(s.valid.size()), 20000.0 / 3, 1.0);
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
  for (const auto& t : result.trials) out.push_back(t.family + " " + t.params.dump() + " " + std::to_string(t.score) + " " + to_string(t.status));
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

// A toy table of make_csv with its card, target and an Evaluator over all its rows
// (`folds` as make_validation_plan takes it). The Evaluator refers to the others, so
// the whole stays in one place on the heap.
struct Toy {
  Table table;
  DataCard card;
  Target y;
  std::unique_ptr<Evaluator> ev;
};

std::unique_ptr<Toy> toy(const std::string& task, int rows, uint64_t seed, int folds) {
  auto t = std::make_unique<Toy>();
  t->table = read_csv_buffer(testing::make_csv(task, rows, seed), "toy.csv");
  t->card = infer_data_card(t->table, "y", "toy");
  t->y = encode_target(t->table, t->card);
  std::vector<std::size_t> all(t->table.n_rows);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  t->ev = std::make_unique<Evaluator>(t->table, t->y, std::vector<std::string>{"x1", "x2", "colour"},
                                      make_validation_plan(t->y, all, folds, 0), t->card.metric, 2, 0);
  return t;
}

// Options for a search of `seconds` from now, at most `max_trials` trials.
SearchOptions budgeted(int seconds, int max_trials) {
  SearchOptions opt;
  opt.start = Clock::now();
  opt.budget_s = seconds;
  opt.deadline = opt.start + std::chrono::seconds(seconds);
  opt.max_trials = max_trials;
  return opt;
}

// The xgboost setting the planner below prices at 0.01 s; it prices every other xgboost
// setting at `dear_seconds`, and any other family's at 0.01 s.
const nlohmann::json kCheapXgboost = {{"max_depth", 2}, {"n_estimators", 20}};
decltype(SearchOptions::predict) dear_xgboost(double dear_seconds) {
  return [dear_seconds](const std::string& family, const nlohmann::json& params, int,
                        const std::vector<TrialResult>&) {
    const bool dear = family == "xgboost" && params != kCheapXgboost;
    return nlohmann::json{{"seconds", dear ? dear_seconds : 0.01}, {"final_score", 0.9}, {"basis", "test"}};
  };
}

TEST(Search, StopsAtTheDeadlineAndRecordsFailures) {
  auto data = toy("regression", 3000, 3, 0);
  Evaluator& ev = *data->ev;
  // A bad setting fails as a trial, with the reason, and the study goes on.
  auto bad = ev.evaluate("xgboost", {{"max_depth", 99}}, -1, Clock::time_point::max());
  EXPECT_EQ(bad.status, TrialStatus::kFailed);
  EXPECT_EQ(bad.stop, StopReason::kError);
  EXPECT_NE(bad.reason.find("max_depth"), std::string::npos) << bad.reason;
  SearchOptions opt;
  opt.deadline = Clock::now() + std::chrono::milliseconds(1500);
  auto result = run_search(ev, opt, nullptr);
  // It stops at the deadline: a fold trains only if it starts before it, so no trial
  // that was scored began after it; and the deadline, not a lack of settings, ended it.
  for (const auto& t : result.trials) {
    if (!t.fold_scores.empty()) EXPECT_LT(t.started, opt.deadline) << "trial " << t.id << " " << t.family;
  }
  // No trial starts once less is left than its folds keep back to predict (the family's
  // slowest prediction so far), so the search may end that much before the deadline.
  double reserve = 0;
  for (const auto& t : result.trials) reserve = std::max(reserve, ev.predict_reserve_s(t.family));
  EXPECT_GE(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(reserve)),
            opt.deadline);
  EXPECT_GE(result.best, 0);
}

// A fold its time box stops keeps its best round: the trial is scored, can be the
// best, and says it was cut, with the rounds it reached.
TEST(Search, AFoldTheDeadlineStopsKeepsItsBestRoundAndIsScored) {
  auto data = toy("binary", 20000, 3, 1);
  Evaluator& ev = *data->ev;
  // Far more rounds than a quarter of a second allows, at a rate that keeps improving.
  auto t = ev.evaluate("xgboost", {{"learning_rate", 0.01}, {"n_estimators", 20000}, {"max_depth", 8}}, -1,
                       Clock::time_point::max(), 0.25);
  EXPECT_TRUE(t.usable()) << to_string(t.status) << ": " << t.reason;
  EXPECT_TRUE(t.deadline_stopped);
  EXPECT_EQ(t.status, TrialStatus::kStopped);
  EXPECT_EQ(t.stop, StopReason::kTimeBox);  // its box, not the run's deadline, stopped it
  EXPECT_FALSE(t.partial);
  EXPECT_EQ(t.reason.rfind("budget ran out at ", 0), 0u) << t.reason;  // the knowledge base leaves such trials out
  EXPECT_GT(t.score, 0.9);  // the signal is learned in the rounds it had
  EXPECT_GT(t.iterations, 0);
  ASSERT_EQ(t.logs.size(), 1u);
  EXPECT_FALSE(t.logs[0].valid.empty());
  EXPECT_TRUE(t.oof);  // every fold scored: an ensemble may use it
}

// A model larger than the run's size limit fails its trial and says why; within the
// limit it is scored. XGBoost's size is known without writing it; linear's is measured
// by saving.
TEST(Search, AModelOverTheSizeLimitFailsItsTrial) {
  auto data = toy("binary", 3000, 3, 1);
  Evaluator& ev = *data->ev;
  const nlohmann::json deep = {{"max_depth", 8}, {"n_estimators", 60}, {"learning_rate", 0.3}};
  ev.set_limits(0.001, -1);  // about 1 KB
  const auto big = ev.evaluate("xgboost", deep, -1, Clock::time_point::max());
  EXPECT_EQ(big.status, TrialStatus::kFailed);
  EXPECT_EQ(big.stop, StopReason::kRequirementBroken);
  EXPECT_NE(big.reason.find("MB, the limit is 0.001 MB"), std::string::npos) << big.reason;
  ev.set_limits(0.00001, -1);  // ten bytes: even the linear model's files are larger
  const auto linear = ev.evaluate("linear", nlohmann::json::object(), -1, Clock::time_point::max());
  EXPECT_EQ(linear.status, TrialStatus::kFailed);
  EXPECT_NE(linear.reason.find("the limit is"), std::string::npos) << linear.reason;
  ev.set_limits(100, -1);
  const auto fits = ev.evaluate("xgboost", deep, -1, Clock::time_point::max());
  EXPECT_TRUE(fits.usable()) << fits.reason;
}

// A search whose first model is slow still holds a model better than the constant
// early: the first trials run in a time box of a share of the budget.
TEST(Search, ASlowFirstFamilyCannotHoldTheBudget) {
  auto data = toy("regression", 20000, 5, 1);
  Evaluator& ev = *data->ev;
  SearchOptions opt = budgeted(8, 2);
  opt.initial = {{"constant", nlohmann::json::object(), ""},
                 {"xgboost", {{"learning_rate", 0.001}, {"n_estimators", 20000}, {"max_depth", 10}}, ""}};
  auto result = run_search(ev, opt, nullptr);
  ASSERT_EQ(result.trials.size(), 2u);
  const TrialResult& slow = result.trials[1];
  EXPECT_TRUE(slow.usable()) << slow.reason;
  EXPECT_TRUE(slow.deadline_stopped);
  // Its time box, 15% of the budget, is what it had (the box stopped it, or the deadline
  // did first), not the whole budget.
  EXPECT_GT(slow.time_box_s, 0.0);
  EXPECT_LE(slow.time_box_s, 0.15 * 8);
  EXPECT_EQ(result.best, 1);                // it beats the constant, so it is the model the run keeps
}

// A setting whose family's cost here is known and exceeds the time left is not started
// on all rows: it runs on a sample of the rows it can finish, or not at all (a trial the
// deadline stops after a round or two scores near the constant and misleads).
TEST(Search, ATrialThatCannotFinishIsNotStartedOrRunsOnASample) {
  auto data = toy("binary", 12000, 4, 1);  // a holdout: 9,600 training rows
  Evaluator& ev = *data->ev;
  auto search = [&](double dear_seconds, int max_trials) {
    SearchOptions opt = budgeted(30, max_trials);
    // The planner's seconds: tiny for the first xgboost setting, `dear_seconds` for any
    // other (the second, depth 5, and the random ones after it), which the time left
    // cannot hold on all rows.
    opt.predict = dear_xgboost(dear_seconds);
    opt.initial = {{"constant", nlohmann::json::object(), ""},
                   {"xgboost", kCheapXgboost, ""},
                   {"xgboost", {{"max_depth", 5}, {"n_estimators", 20}}, ""}};
    opt.families = {"constant", "xgboost"};
    return run_search(ev, opt, nullptr);
  };
  // 10 times the time left: a sample of about 0.8 / 10 of the rows (768) is under the
  // smallest sample (2,000 rows), so it does not run, and the search stops there.
  auto never = search(300.0, 6);
  ASSERT_EQ(never.trials.size(), 2u);
  EXPECT_EQ(never.trials[1].params.value("max_depth", 0), 2);
  EXPECT_LT(Clock::now(), never.trials[1].started + std::chrono::seconds(20));  // it did not wait for the deadline
  // Twice the time left: it runs on a sample of about 0.8 / 2 of the rows.
  auto sampled = search(60.0, 3);
  ASSERT_EQ(sampled.trials.size(), 3u);
  const TrialResult& dear = sampled.trials[2];
  EXPECT_EQ(dear.params.value("max_depth", 0), 5);
  EXPECT_GT(dear.sample_rows, 2000);
  EXPECT_LT(dear.sample_rows, 9600 / 2);
  EXPECT_TRUE(dear.usable()) << dear.reason;
  // Its predicted score is for the sample: part of the gain over the constant that the
  // planner predicted for all rows, which stays beside it.
  ASSERT_TRUE(dear.predicted.contains("all_rows_score")) << dear.predicted.dump();
  EXPECT_DOUBLE_EQ(dear.predicted["all_rows_score"].get<double>(), 0.9);
  const double base = sampled.trials[0].score, on_sample = dear.predicted["final_score"].get<double>();
  EXPECT_GT(on_sample, base);
  EXPECT_LT(on_sample, 0.9);
  EXPECT_NEAR(on_sample, base + (0.9 - base) * std::pow(dear.sample_rows / 9600.0, 0.15), 1e-9);
}

// A network over its time box keeps its best whole epoch, so its sample is sized for a
// few epochs in the box, not for every epoch the planner expects it to run; a boosted
// model's sample is sized for all its rounds, as before.
TEST(Search, ANetworkOverItsBoxGetsTheRowsOfAFewEpochs) {
  auto data = toy("binary", 12000, 4, 1);  // a holdout: 9,600 training rows
  Evaluator& ev = *data->ev;
  // The network's setting: 150 s for `epochs` epochs, ten times its box (half of the time
  // left); the cheap xgboost setting before it beats the constant.
  auto search = [&](int epochs) {
    SearchOptions opt = budgeted(30, 3);
    opt.predict = [epochs](const std::string& family, const nlohmann::json& params, int,
                           const std::vector<TrialResult>&) {
      nlohmann::json checkpoints = nlohmann::json::array();
      for (int k = 1; k <= epochs; ++k) checkpoints.push_back(k);
      const bool dear = family == "mlp";
      return nlohmann::json{{"seconds", dear ? 150.0 : 0.01}, {"final_score", 0.9}, {"checkpoints", checkpoints},
                            {"basis", "test"}};
    };
    opt.initial = {{"constant", nlohmann::json::object(), ""},
                   {"xgboost", kCheapXgboost, ""},
                   {"mlp", {{"depth", 1}, {"width", 8}, {"epochs", 2}}, ""}};
    opt.families = {"constant", "xgboost", "mlp"};
    auto result = run_search(ev, opt, nullptr);
    EXPECT_EQ(result.trials.size(), 3u);
    EXPECT_EQ(result.trials.back().family, "mlp");
    EXPECT_TRUE(result.trials.back().usable()) << result.trials.back().reason;
    return result.trials.back().sample_rows;
  };
  // 30 epochs predicted: three of them (15 s) fit the box of about 15 s, on about 0.8 of
  // the rows.
  const int few_of_many = search(30);
  EXPECT_GT(few_of_many, 9600 / 2);
  EXPECT_LT(few_of_many, 9600);
  // Three epochs predicted: all 150 s must fit, and 0.8 / 10 of the rows is under the
  // smallest sample (2,000 rows).
  EXPECT_EQ(search(3), 2000);
}

// A prediction for all rows becomes one for a sample: the share of the gain over the
// constant kept is the prior's, moved by what the run's sampled trials kept.
TEST(Search, APredictionOnASampleKeepsWhatSampledTrialsKept) {
  TrialResult constant;
  constant.family = "constant";
  constant.score = 0.5;
  constant.fold_scores = {0.5};
  nlohmann::json p = {{"final_score", 0.8}, {"basis", "test"}};
  expect_on_sample_rows(&p, 0, 10000, {constant});  // all rows: unchanged
  EXPECT_EQ(p, (nlohmann::json{{"final_score", 0.8}, {"basis", "test"}}));
  expect_on_sample_rows(&p, 5000, 10000, {});  // no constant to measure the gain from
  EXPECT_DOUBLE_EQ(p["final_score"].get<double>(), 0.8);
  // The prior alone: half the rows keep 0.5^0.15 of the gain.
  nlohmann::json prior = p;
  expect_on_sample_rows(&prior, 5000, 10000, {constant});
  EXPECT_DOUBLE_EQ(prior["all_rows_score"].get<double>(), 0.8);
  EXPECT_NEAR(prior["final_score"].get<double>(), 0.5 + 0.3 * std::pow(0.5, 0.15), 1e-12);
  EXPECT_NE(prior["basis"].get<std::string>().find("on a sample of 5000 rows"), std::string::npos);
  // A trial on a quarter of the rows kept 0.25^0.5 of its predicted gain: the exponent
  // becomes (2 x 0.15 + 0.5) / 3.
  TrialResult sampled;
  sampled.family = "xgboost";
  sampled.sample_rows = 2500;
  sampled.predicted = {{"final_score", 0.6}, {"all_rows_score", 0.9}};
  sampled.score = 0.5 + 0.4 * std::sqrt(0.25);
  sampled.fold_scores = {sampled.score};
  nlohmann::json learned = p;
  expect_on_sample_rows(&learned, 5000, 10000, {constant, sampled});
  EXPECT_NEAR(learned["final_score"].get<double>(), 0.5 + 0.3 * std::pow(0.5, (0.3 + 0.5) / 3), 1e-12);
}

// When none of a bracket's settings can finish in the time left, their family sits out
// and the search goes on with the families that still fit, instead of ending.
TEST(Search, AFamilyThatNoLongerFitsLeavesTheTimeToOthers) {
  auto data = toy("binary", 12000, 4, 1);
  Evaluator& ev = *data->ev;
  SearchOptions opt = budgeted(30, 10);
  // The planner's seconds: any xgboost setting but the first is ten times the time left
  // (too dear even on the smallest sample); linear ones are quick.
  opt.predict = dear_xgboost(300.0);
  opt.initial = {{"constant", nlohmann::json::object(), ""}, {"xgboost", kCheapXgboost, ""}};
  opt.families = {"constant", "xgboost", "linear"};
  // Brackets of xgboost settings only (the lead family's share is 85%): the first cannot
  // run, and the ones after it draw linear settings.
  opt.bracket_size = 3;
  const auto result = run_search(ev, opt, nullptr);
  int linear = 0, dear = 0;
  for (const auto& t : result.trials) {
    linear += t.family == "linear";
    dear += t.family == "xgboost" && t.params != kCheapXgboost;
  }
  EXPECT_EQ(dear, 0);
  EXPECT_GE(linear, 3) << result.trials.size() << " trials";
  EXPECT_LT(Clock::now(), opt.deadline);  // it did not wait for the deadline either
}

// Each fold stops training early enough to predict its validation rows at the family's
// slowest pace so far. With less than that left, a trial would stop after its first
// round and score near the constant: once a model beats the constant, none starts.
TEST(Search, NoTrialStartsWithLessTimeLeftThanItsFoldsNeedToPredict) {
  auto data = toy("binary", 20000, 4, 1);
  Evaluator& ev = *data->ev;
  EXPECT_EQ(ev.predict_reserve_s("xgboost"), 0.0);  // nothing predicted yet
  auto first = ev.evaluate("xgboost", {{"max_depth", 2}, {"n_estimators", 20}}, -1, Clock::time_point::max());
  ASSERT_TRUE(first.usable()) << first.reason;
  EXPECT_NEAR(ev.predict_reserve_s("xgboost"),
              first.predict_s_per_row * static_cast<double>(ev.plan().splits[0].valid.size()), 1e-12);
  // A pace measured before (a resumed run's slowest setting): three seconds per fold.
  ev.note_predict_pace("xgboost", 3.0 / static_cast<double>(ev.plan().splits[0].valid.size()));
  EXPECT_NEAR(ev.predict_reserve_s("xgboost"), 3.0, 1e-9);
  ev.note_predict_pace("xgboost", 1e-9);  // a faster one does not lower it
  EXPECT_NEAR(ev.predict_reserve_s("xgboost"), 3.0, 1e-9);
  // A time box of 2 s, smaller than those three: the prediction holds at most half the
  // box, so the fold trains for the other half (before, it stopped after one round).
  auto boxed = ev.evaluate("xgboost", {{"max_depth", 2}, {"learning_rate", 0.01}, {"n_estimators", 5000}}, -1,
                           Clock::time_point::max(), 2.0);
  ASSERT_TRUE(boxed.usable()) << boxed.reason;
  // (On a machine where one round takes a good part of that second, as under
  // ThreadSanitizer, the first round is all there is time for.)
  const double per_round = first.seconds / std::max(1.0, first.iterations);
  if (per_round < 0.1) EXPECT_GT(boxed.iterations, 1) << boxed.reason << " in " << boxed.seconds << " s";
  SearchOptions opt;
  opt.start = Clock::now();
  opt.budget_s = 6;
  // Room for the constant, the first model and 0.2 s trials, then the last three seconds
  // that each fold keeps back to predict.
  opt.deadline = opt.start + std::chrono::milliseconds(6000);
  opt.max_trials = 20;
  opt.predict = [](const std::string&, const nlohmann::json&, int, const std::vector<TrialResult>&) {
    return nlohmann::json{{"seconds", 0.2}, {"final_score", 0.9}, {"basis", "test"}};
  };
  opt.initial = {{"constant", nlohmann::json::object(), ""}, {"xgboost", {{"max_depth", 2}, {"n_estimators", 20}}, ""}};
  opt.families = {"constant", "xgboost"};
  auto result = run_search(ev, opt, nullptr);
  // After the constant and the first model (which may run however little time is left,
  // since nothing beat the constant yet), no trial starts inside the last three seconds:
  // there its folds would have no time to train.
  for (std::size_t i = 2; i < result.trials.size(); ++i) {
    const TrialResult& t = result.trials[i];
    EXPECT_LE(t.started + std::chrono::seconds(3), opt.deadline) << "trial " << t.id << " started inside the reserve";
  }
}

// On a small table the random search draws only leaf weights a fold's rows can reach:
// with XGBoost's fixed range (min_child_weight up to 50) about half the trials on a
// 156-row binary table made no split and scored the constant.
TEST(Search, RandomSettingsOnASmallTableAllSplit) {
  auto data = toy("binary", 160, 7, 0);
  Evaluator& ev = *data->ev;
  SearchOptions opt;
  opt.max_trials = 40;
  opt.families = {"constant", "xgboost"};
  opt.initial = {{"constant", nlohmann::json::object(), ""}};
  opt.seed = 3;
  auto result = run_search(ev, opt, nullptr);
  ASSERT_GE(result.trials.size(), 30u);
  const double constant = result.trials[0].score;
  int xgb = 0;
  for (const auto& t : result.trials) {
    if (t.family != "xgboost" || !t.usable()) continue;
    ++xgb;
    EXPECT_GT(t.score, constant + 0.05) << "trial " << t.id << " " << t.params.dump() << " scored the constant";
  }
  EXPECT_GE(xgb, 25);
}

// An early rung on a large table may train on a sample of the rows: it is scored on
// every validation row, says so, and its out-of-fold predictions cover the same rows.
TEST(Search, ASampledTrialIsScoredOnAllValidationRows) {
  auto data = toy("binary", 6000, 9, 3);
  Evaluator& ev = *data->ev;
  auto full = ev.evaluate("xgboost", {{"max_depth", 3}}, 100, Clock::time_point::max());
  auto sampled = ev.evaluate("xgboost", {{"max_depth", 3}}, 100, Clock::time_point::max(), 0, 1000);
  ASSERT_TRUE(sampled.usable()) << sampled.reason;
  EXPECT_EQ(sampled.sample_rows, 1000);
  EXPECT_NE(sampled.reason.find("sample of 1000"), std::string::npos) << sampled.reason;
  EXPECT_GT(sampled.score, 0.85);
  ASSERT_TRUE(sampled.oof && full.oof);
  EXPECT_EQ(sampled.oof->size(), full.oof->size());
  EXPECT_EQ(full.sample_rows, 0);
  // A sample as large as the fold is no sample.
  EXPECT_EQ(ev.evaluate("linear", {}, -1, Clock::time_point::max(), 0, 100000).sample_rows, 0);
}

// A partial trial (some folds never trained) does not displace a complete one.
TEST(Search, CompleteTrialsRankAbovePartialOnes) {
  TrialResult complete, partial, constant;
  complete.family = "xgboost";
  complete.score = 0.80;
  partial.family = "xgboost";
  partial.score = 0.90;
  partial.partial = true;
  constant.family = "constant";
  constant.score = 0.5;
  EXPECT_TRUE(ranks_above(complete, partial, "roc_auc"));
  EXPECT_FALSE(ranks_above(partial, complete, "roc_auc"));
  EXPECT_TRUE(ranks_above(partial, constant, "roc_auc"));  // but any model beats the baseline
}

// The run's tail goes on with a search that stopped: the trials so far stay (with their
// best), new ones take the next ids, the first proposals are not tried again, and the
// new deadline holds.
TEST(Search, AContinuedSearchKeepsItsTrialsAndStopsAtTheNewDeadline) {
  auto data = toy("binary", 2000, 5, 0);
  Evaluator& ev = *data->ev;
  SearchOptions opt;
  opt.families = {"linear", "xgboost"};
  opt.initial = {{"linear", nlohmann::json::object(), "first"}, {"xgboost", {{"max_depth", 3}}, "first"}};
  opt.max_trials = 4;
  SearchResult first = run_search(ev, opt, nullptr);
  ASSERT_EQ(first.trials.size(), 4u);
  const int best = first.best;
  const double best_score = first.trials[best].score;
  opt.max_trials = -1;
  opt.deadline = Clock::now() + std::chrono::milliseconds(1500);
  std::vector<int> seen;
  SearchResult more = continue_search(ev, opt, [&](const TrialResult& t, const TrialResult*) { seen.push_back(t.id); },
                                      std::move(first));
  // The new deadline holds: no trial of the continued search that was scored began after it.
  for (std::size_t i = 4; i < more.trials.size(); ++i) {
    if (!more.trials[i].fold_scores.empty()) EXPECT_LT(more.trials[i].started, opt.deadline) << "trial " << i;
  }
  ASSERT_GT(more.trials.size(), 4u);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), 4);  // ids go on from the trials so far
  for (std::size_t i = 0; i < more.trials.size(); ++i) EXPECT_EQ(more.trials[i].id, static_cast<int>(i));
  for (std::size_t i = 4; i < more.trials.size(); ++i) EXPECT_NE(more.trials[i].params, opt.initial[1].params);
  // The best can only improve.
  ASSERT_GE(more.best, 0);
  EXPECT_GE(more.trials[more.best].score, best_score);
  EXPECT_TRUE(more.best == best || more.best >= 4);
}

}  // namespace
}  // namespace automl
