// What the search tells a session as it goes (a trial about to train, each fold as it
// is scored) and how each trial's status and stop reason are set.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "automl/data_card.h"
#include "automl/search.h"
#include "helpers.h"

namespace automl {
namespace {

struct Toy {
  Table table;
  DataCard card;
  Target y;
  std::unique_ptr<Evaluator> ev;
};

std::unique_ptr<Toy> toy(int rows, int folds) {
  auto d = std::make_unique<Toy>();
  d->table = read_csv_buffer(testing::make_csv("binary", rows, 11), "toy.csv");
  d->card = infer_data_card(d->table, "y", "toy");
  d->y = encode_target(d->table, d->card);
  std::vector<std::size_t> all(d->table.n_rows);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  // Two threads on small data: the folds train side by side.
  d->ev = std::make_unique<Evaluator>(d->table, d->y, std::vector<std::string>{"x1", "x2", "colour"},
                                      make_validation_plan(d->y, all, folds, 3), d->card.metric, 2, 3);
  return d;
}

TEST(SearchHooks, EachTrialIsAnnouncedBeforeItTrainsAndEachFoldAsItIsScored) {
  auto d = toy(400, 3);
  SearchOptions opt;
  opt.seed = 5;
  opt.families = {"xgboost", "linear"};
  opt.max_trials = 20;  // the portfolio, a bracket and its promotions
  opt.max_resource = 300;
  opt.predict = [](const std::string&, const nlohmann::json&, int resource, const std::vector<TrialResult>&) {
    return nlohmann::json{{"final_score", 0.9}, {"resource", resource}};
  };
  std::map<int, TrialResult> started;
  std::map<int, std::map<int, double>> folds;  // trial -> fold -> score
  std::vector<std::string> order;              // the calls in the order they came
  std::mutex mu;
  std::atomic<int> inside{0}, overlapped{0};
  opt.on_start = [&](const TrialResult& p) {
    EXPECT_EQ(started.count(p.id), 0u) << p.id;
    EXPECT_EQ(p.status, TrialStatus::kProposed);
    started[p.id] = p;
    order.push_back("start " + std::to_string(p.id));
  };
  opt.on_fold = [&](int trial_id, int fold, double score, const FoldLog& log) {
    if (inside.fetch_add(1) > 0) ++overlapped;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // widen the window two calls could share
    {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_EQ(log.fold, fold);
      folds[trial_id][fold] = score;
      order.push_back("fold " + std::to_string(trial_id));
    }
    inside.fetch_sub(1);
  };
  std::vector<int> ended;
  auto result = run_search(*d->ev, opt, [&](const TrialResult& t, const TrialResult*) {
    ended.push_back(t.id);
    order.push_back("end " + std::to_string(t.id));
  });
  EXPECT_EQ(overlapped.load(), 0);
  ASSERT_EQ(started.size(), result.trials.size());
  bool promoted = false;
  for (const auto& t : result.trials) {
    const TrialResult& p = started.at(t.id);
    EXPECT_EQ(p.family, t.family);
    EXPECT_EQ(p.params, t.params);
    EXPECT_EQ(p.rung, t.rung) << t.id;
    EXPECT_EQ(p.parent, t.parent) << t.id;
    EXPECT_EQ(p.resource, t.resource) << t.id;
    EXPECT_EQ(p.sample_rows, t.sample_rows) << t.id;
    EXPECT_EQ(p.predicted, t.predicted) << t.id;
    EXPECT_TRUE(p.predicted.is_object());
    promoted = promoted || t.rung > 0;
    if (t.rung > 0) EXPECT_GE(t.parent, 0) << t.id;
    // Every fold scored was heard, with the score the trial kept.
    std::vector<double> heard;
    for (const auto& [fold, score] : folds[t.id]) heard.push_back(score);
    if (t.status != TrialStatus::kFailed) EXPECT_EQ(heard, t.fold_scores) << t.id;
  }
  EXPECT_TRUE(promoted) << "no trial was promoted: the test does not see rung and parent";
  // start, then its folds, then its end, trial after trial.
  std::size_t i = 0;
  for (const auto& t : result.trials) {
    ASSERT_LT(i, order.size());
    EXPECT_EQ(order[i++], "start " + std::to_string(t.id));
    while (i < order.size() && order[i] == "fold " + std::to_string(t.id)) ++i;
    ASSERT_LT(i, order.size());
    EXPECT_EQ(order[i++], "end " + std::to_string(t.id));
  }
  EXPECT_EQ(i, order.size());
}

TEST(SearchHooks, EachWayATrialEndsHasItsStatusAndStopReason) {
  auto d = toy(600, 2);
  Evaluator& ev = *d->ev;
  const auto never = Clock::time_point::max();
  // Early stopping ends a long fit: finished, converged.
  auto converged = ev.evaluate("xgboost", {{"n_estimators", 2000}, {"learning_rate", 0.3}}, -1, never);
  EXPECT_EQ(converged.status, TrialStatus::kFinished) << converged.reason;
  EXPECT_EQ(converged.stop, StopReason::kConverged) << converged.reason;
  EXPECT_FALSE(converged.capped);
  // All of its own few rounds, no cap from the search: finished, completed, capped.
  auto completed = ev.evaluate("xgboost", {{"n_estimators", 3}}, -1, never);
  EXPECT_EQ(completed.status, TrialStatus::kFinished) << completed.reason;
  EXPECT_EQ(completed.stop, StopReason::kCompleted) << completed.reason;
  EXPECT_TRUE(completed.capped);
  // Successive halving's cap: stopped, round cap.
  auto capped = ev.evaluate("xgboost", {{"n_estimators", 2000}, {"learning_rate", 0.01}}, 5, never);
  EXPECT_EQ(capped.status, TrialStatus::kStopped) << capped.reason;
  EXPECT_EQ(capped.stop, StopReason::kRoundCap) << capped.reason;
  EXPECT_TRUE(capped.capped);
  EXPECT_TRUE(capped.usable());
  // Not iterative: finished, fitted.
  auto fitted = ev.evaluate("linear", nlohmann::json::object(), -1, never);
  EXPECT_EQ(fitted.status, TrialStatus::kFinished) << fitted.reason;
  EXPECT_EQ(fitted.stop, StopReason::kFitted) << fitted.reason;
  // The deadline before any fold: stopped, no fold ran.
  auto none = ev.evaluate("xgboost", nlohmann::json::object(), -1, Clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(none.status, TrialStatus::kStopped) << none.reason;
  EXPECT_EQ(none.stop, StopReason::kNoFoldRan) << none.reason;
  EXPECT_FALSE(none.usable());
  // A requirement the model breaks: failed.
  ev.set_limits(1e-6, -1);
  auto broken = ev.evaluate("xgboost", {{"n_estimators", 20}}, -1, never);
  EXPECT_EQ(broken.status, TrialStatus::kFailed) << broken.reason;
  EXPECT_EQ(broken.stop, StopReason::kRequirementBroken) << broken.reason;
  ev.set_limits(-1, -1);
  // The pruner: pruned, still scored.
  ev.set_pruner([](int, const std::string&, const std::vector<double>&) { return std::string("behind the best"); });
  auto pruned = ev.evaluate("xgboost", {{"n_estimators", 2000}, {"learning_rate", 0.01}}, -1, never);
  EXPECT_EQ(pruned.status, TrialStatus::kPruned) << pruned.reason;
  EXPECT_EQ(pruned.stop, StopReason::kPruned) << pruned.reason;
  EXPECT_TRUE(pruned.usable());
  EXPECT_FALSE(pruned.capped);
}

}  // namespace
}  // namespace automl
