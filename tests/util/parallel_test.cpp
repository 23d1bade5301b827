// parallel_for: every index once, on at most the threads asked for; the first
// exception reaches the caller after every thread is done; one thread runs inline.
#include "automl/parallel.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace automl {
namespace {

TEST(ParallelFor, RunsEveryIndexExactlyOnce) {
  for (int threads : {2, 3, 8}) {
    for (std::size_t n : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> runs(n);
      parallel_for(n, threads, [&](std::size_t i) { runs[i].fetch_add(1); });
      for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(runs[i].load(), 1) << "index " << i << " of " << n << ", " << threads << " threads";
    }
  }
}

TEST(ParallelFor, UsesAtMostTheThreadsAskedFor) {
  std::mutex m;
  std::set<std::thread::id> seen;
  std::atomic<int> running{0}, most{0};
  parallel_for(64, 3, [&](std::size_t) {
    const int now = running.fetch_add(1) + 1;
    for (int prev = most.load(); now > prev && !most.compare_exchange_weak(prev, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    {
      std::lock_guard<std::mutex> lock(m);
      seen.insert(std::this_thread::get_id());
    }
    running.fetch_sub(1);
  });
  EXPECT_LE(seen.size(), 3u);
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
}

TEST(ParallelFor, RethrowsTheExceptionAfterEveryThreadIsDone) {
  std::atomic<int> running{0};
  std::atomic<int> finished{0};
  try {
    parallel_for(50, 4, [&](std::size_t i) {
      running.fetch_add(1);
      if (i == 3) {
        running.fetch_sub(1);
        throw std::runtime_error("task 3 failed");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      finished.fetch_add(1);
      running.fetch_sub(1);
    });
    FAIL() << "the task's exception did not reach the caller";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "task 3 failed");
  }
  // Joined: no task is still running once the exception arrives, and the tasks after
  // the failure did not all start (no new index starts once one has thrown).
  EXPECT_EQ(running.load(), 0);
  EXPECT_LT(finished.load(), 49);
}

TEST(ParallelFor, KeepsTheFirstOfSeveralExceptions) {
  // Every task throws; exactly one exception (one of theirs) reaches the caller.
  EXPECT_THROW(parallel_for(20, 4, [](std::size_t i) { throw std::out_of_range(std::to_string(i)); }),
               std::out_of_range);
}

TEST(ParallelFor, OneThreadOrFewerRunsInlineInOrder) {
  for (int threads : {1, 0, -3}) {
    std::vector<std::size_t> order;
    std::set<std::thread::id> ids;
    parallel_for(6, threads, [&](std::size_t i) {  // unsynchronised: only safe inline
      order.push_back(i);
      ids.insert(std::this_thread::get_id());
    });
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5})) << threads << " threads";
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_EQ(*ids.begin(), std::this_thread::get_id());
  }
}

TEST(ParallelFor, InlineStopsAtTheFirstException) {
  std::vector<std::size_t> order;
  EXPECT_THROW(parallel_for(6, 1,
                            [&](std::size_t i) {
                              order.push_back(i);
                              if (i == 2) throw std::runtime_error("stop");
                            }),
               std::runtime_error);
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2}));
}

}  // namespace
}  // namespace automl
