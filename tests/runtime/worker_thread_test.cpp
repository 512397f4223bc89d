// WorkerThread (one per logical device): tasks run in order, off the caller's thread, and
// their exceptions come back through the future.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "kerosene/error.h"
#include "runtime/device_context.h"
#include "runtime/worker_thread.h"

namespace kerosene::runtime {
namespace {

TEST(WorkerThreadTest, RunsTasksInOrderOnItsOwnThread) {
  WorkerThread worker;
  std::vector<int> order;
  std::thread::id ran_on;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 50; ++i) done.push_back(worker.submit([&order, i] { order.push_back(i); }));
  done.push_back(worker.submit([&ran_on] { ran_on = std::this_thread::get_id(); }));
  for (auto& f : done) f.get();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(WorkerThreadTest, ExceptionsReachTheFuture) {
  WorkerThread worker;
  auto failed = worker.submit([] { throw ValueError("from the worker"); });
  EXPECT_THROW(failed.get(), ValueError);
  bool ran = false;
  worker.submit([&ran] { ran = true; }).get();  // still serving after a failed task
  EXPECT_TRUE(ran);
}

TEST(WorkerThreadTest, EachLogicalDeviceHasOne) {
  DeviceContext& cpu0 = Registry::instance().context(Device());
  WorkerThread& first = cpu0.worker();
  EXPECT_EQ(&first, &cpu0.worker());  // started once, then reused
  std::thread::id id;
  first.submit([&id] { id = std::this_thread::get_id(); }).get();
  EXPECT_NE(id, std::this_thread::get_id());
}

}  // namespace
}  // namespace kerosene::runtime
