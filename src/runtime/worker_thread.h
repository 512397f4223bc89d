// WorkerThread: one thread that runs submitted tasks in order. Each logical device owns one,
// so replicas of a mirrored model run concurrently, one per device.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace kerosene::runtime {

class WorkerThread {
 public:
  WorkerThread();
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  /// Queues `task`; the future carries its exception, if any.
  std::future<void> submit(std::function<void()> task);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> tasks_;
  bool stopping_ = false;
  std::atomic<int> pending_{0};  // tasks queued, read without the lock while spinning
  std::thread thread_;
};

}  // namespace kerosene::runtime
