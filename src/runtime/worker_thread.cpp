#include "runtime/worker_thread.h"

namespace kerosene::runtime {

WorkerThread::WorkerThread() : thread_([this] { loop(); }) {}

WorkerThread::~WorkerThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

std::future<void> WorkerThread::submit(std::function<void()> task) {
  std::packaged_task<void()> packaged(std::move(task));
  std::future<void> result = packaged.get_future();
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(packaged));
    pending_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_one();
  return result;
}

void WorkerThread::loop() {
  for (;;) {
    // A replica's tasks come a step (about a millisecond) apart: waiting a little before going
    // to sleep saves the wake-up on every step; an idle device's thread still sleeps.
    for (int spin = 0; spin < 20000 && pending_.load(std::memory_order_acquire) == 0; ++spin) {
      std::this_thread::yield();
    }
    std::packaged_task<void()> task;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      pending_.fetch_sub(1, std::memory_order_relaxed);
    }
    task();
  }
}

}  // namespace kerosene::runtime
