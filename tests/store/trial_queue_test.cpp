// The trial queue workers claim from, on both stores: each trial claimed once however
// many claim at once, a silent worker's trial back in the queue and failed when lost
// twice, a late result from a lost worker dropped, the data kept by its hash.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <mutex>
#include <set>
#include <thread>

#include "automl/error.h"
#include "automl/store.h"
#include "helpers.h"
#include "store/postgres_server.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using namespace automl::testing;
using nlohmann::json;

class TrialQueue : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      REQUIRE_POSTGRES();
      location_ = fresh_postgres_database("queue");
    } else {
      location_ = (temp_dir("queue-" + std::to_string(counter_++)) / "store.sqlite").string();
    }
    open()->begin_run("r", "f", json::object(), json::object());
  }
  std::unique_ptr<RunStore> open() { return open_run_store(location_); }
  static TrialResult proposal(int id) {
    TrialResult t;
    t.id = id;
    t.family = "boosted";
    t.params = {{"depth", id}};
    t.resource = 30;
    t.predicted = {{"seconds", 1.0}};
    return t;
  }
  std::string location_;
  static inline int counter_ = 0;
};

TEST_P(TrialQueue, EachTrialIsClaimedOnceByWorkersClaimingAtOnce) {
  auto store = open();
  store->batch([&] {
    for (int i = 0; i < 24; ++i) store->enqueue_trial("r", proposal(i), {{"time_box_s", 5}});
  });
  std::mutex mu;
  std::vector<int> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      auto mine = open();
      while (auto c = mine->claim_trial("w" + std::to_string(w), "r")) {
        EXPECT_EQ(c->run_id, "r");
        EXPECT_EQ(c->trial.params, json({{"depth", c->trial.id}}));
        EXPECT_EQ(c->work, json({{"time_box_s", 5}}));
        EXPECT_EQ(c->attempt, 1);
        std::lock_guard<std::mutex> lock(mu);
        claimed.push_back(c->trial.id);
      }
    });
  }
  for (auto& t : workers) t.join();
  std::sort(claimed.begin(), claimed.end());
  std::vector<int> all(24);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(claimed, all);  // every trial, none twice
  for (const auto& [id, status] : store->trial_statuses("r")) EXPECT_EQ(status, TrialStatus::kRunning) << id;
  EXPECT_FALSE(store->claim_trial("late", "r"));
}

TEST_P(TrialQueue, ASilentWorkersTrialGoesBackThenFailsWhenLostTwice) {
  auto store = open();
  store->enqueue_trial("r", proposal(0), json::object());
  auto first = store->claim_trial("A", "");
  ASSERT_TRUE(first);
  EXPECT_TRUE(store->heartbeat("A", "r", 0));
  FoldLog log;
  store->add_fold("r", 0, 0, 0.5, log);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // A heard from within the last minute: nothing is lost.
  EXPECT_TRUE(store->requeue_lost("r", 60, 2).empty());
  const auto lines = store->requeue_lost("r", 0.01, 2);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("back in the queue"), std::string::npos) << lines[0];
  EXPECT_EQ(store->trial_statuses("r").at(0), TrialStatus::kProposed);
  EXPECT_TRUE(store->trials("r")[0].fold_scores.empty());  // its folds start afresh
  // A's late heartbeat and result are refused: the trial is no longer its.
  EXPECT_FALSE(store->heartbeat("A", "r", 0));
  TrialResult late = proposal(0);
  late.status = TrialStatus::kFinished;
  late.score = 0.9;
  EXPECT_FALSE(store->finish_claimed("A", "r", late));

  auto second = store->claim_trial("B", "r");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto again = store->requeue_lost("r", 0.01, 2);
  ASSERT_EQ(again.size(), 1u);
  const TrialResult failed = store->trials("r")[0];
  EXPECT_EQ(failed.status, TrialStatus::kFailed);
  EXPECT_EQ(failed.stop, StopReason::kError);
  EXPECT_NE(failed.reason.find("lost 2 times"), std::string::npos) << failed.reason;
  EXPECT_NE(failed.reason.find("B"), std::string::npos) << failed.reason;
  EXPECT_FALSE(store->claim_trial("C", "r"));
}

TEST_P(TrialQueue, TheHoldersResultIsRecordedOnceAndAReleasedTrialIsNotCounted) {
  auto store = open();
  store->enqueue_trial("r", proposal(0), json::object());
  store->enqueue_trial("r", proposal(1), json::object());
  auto c = store->claim_trial("A", "r");
  ASSERT_TRUE(c);
  TrialResult done = c->trial;
  done.status = TrialStatus::kFinished;
  done.stop = StopReason::kConverged;
  done.score = 0.8;
  done.oof = std::make_shared<const std::vector<double>>(std::vector<double>{0.25, 0.5});
  EXPECT_TRUE(store->finish_claimed("A", "r", done));
  EXPECT_FALSE(store->finish_claimed("A", "r", done));  // once
  const TrialResult back = store->trials("r")[0];
  EXPECT_EQ(back.status, TrialStatus::kFinished);
  EXPECT_DOUBLE_EQ(back.score, 0.8);
  ASSERT_TRUE(back.oof);
  EXPECT_EQ(back.oof->size(), 2u);

  auto d = store->claim_trial("A", "r");
  ASSERT_TRUE(d);
  store->release_trial("A", "r", d->trial.id);  // A cannot use the data: untried
  auto e = store->claim_trial("B", "r");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->trial.id, d->trial.id);
  EXPECT_EQ(e->attempt, 1);
}

TEST_P(TrialQueue, WhatNoWorkerTookByTheDeadlineIsStopped) {
  auto store = open();
  for (int i = 0; i < 3; ++i) store->enqueue_trial("r", proposal(i), json::object());
  ASSERT_TRUE(store->claim_trial("A", "r"));
  EXPECT_EQ(store->cancel_queued("r", "budget ran out before a worker took it"), 2);
  const auto trials = store->trials("r");
  EXPECT_EQ(trials[0].status, TrialStatus::kRunning);
  EXPECT_EQ(trials[1].status, TrialStatus::kStopped);
  EXPECT_EQ(trials[1].stop, StopReason::kNoFoldRan);
  EXPECT_EQ(trials[2].reason, "budget ran out before a worker took it");
}

TEST_P(TrialQueue, DataIsKeptByItsHashAndWorkersAreSeen) {
  auto store = open();
  std::string bytes = "x,y\n1,2\n";
  bytes.push_back('\0');  // binary-safe
  store->put_dataset("abc123", bytes);
  store->put_dataset("abc123", bytes);  // again: no error
  EXPECT_EQ(store->get_dataset("abc123"), std::optional<std::string>(bytes));
  EXPECT_FALSE(store->get_dataset("other"));
  store->worker_alive("host:1:aa", "host", 1, "r", 3);
  store->worker_alive("host:2:bb", "host", 2, "other-run", -1);
  const auto alive = store->workers_alive("r", 60);
  ASSERT_EQ(alive.size(), 1u);
  EXPECT_EQ(alive[0]["worker"], "host:1:aa");
  EXPECT_EQ(alive[0]["trial_id"], 3);
  EXPECT_EQ(store->workers_alive("", 60).size(), 2u);
  EXPECT_EQ(store->schema_version(), 3);
}

INSTANTIATE_TEST_SUITE_P(Stores, TrialQueue, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace automl
