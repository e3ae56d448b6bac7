// The daemon's worker: steps run one at a time, in the order posted, off the posting thread; and
// closing it runs what is still queued (steps see the agent's stop themselves).
#include "agent/daemon/serial_worker.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace batchai {
namespace {

TEST(SerialWorker, RunsStepsInOrderOneAtATimeOffTheCallersThread) {
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_running;
  {
    SerialWorker worker;
    // The first step holds the worker until the test has posted the rest: they must wait.
    worker.post([&] {
      first_running.set_value();
      released.wait();
      std::lock_guard lock(mu);
      order.push_back(0);
      threads.push_back(std::this_thread::get_id());
    });
    first_running.get_future().wait();
    for (int i = 1; i <= 5; ++i) {
      worker.post([&, i] {
        std::lock_guard lock(mu);
        order.push_back(i);
        threads.push_back(std::this_thread::get_id());
      });
    }
    {
      std::lock_guard lock(mu);
      EXPECT_TRUE(order.empty()) << "a step ran while the one before it was still running";
    }
    release.set_value();
  }  // closing: everything queued has run
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  ASSERT_EQ(threads.size(), 6U);
  for (const auto& id : threads) {
    EXPECT_EQ(id, threads[0]);
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

TEST(SerialWorker, IsDrainedOnlyOnceTheStepUnderWayHasEnded) {
  std::promise<void> release;
  std::promise<void> running;
  SerialWorker worker;
  EXPECT_TRUE(worker.wait_drained_for(0));
  worker.post([&, gate = release.get_future().share()] {
    running.set_value();
    gate.wait();
  });
  running.get_future().wait();
  EXPECT_FALSE(worker.wait_drained_for(0)) << "drained while a step runs";
  release.set_value();
  EXPECT_TRUE(worker.wait_drained_for(60 * 1000));  // a guard against hangs only
}

TEST(SerialWorker, ClosesWithNothingQueued) {
  SerialWorker worker;  // must not hang
}

}  // namespace
}  // namespace batchai
