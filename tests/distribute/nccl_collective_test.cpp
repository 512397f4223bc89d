// NcclCollective's discipline with NCCL, against a fake NcclCalls (no GPU needed): a group is
// closed even when a call inside it fails, and abort() never frees a communicator that another
// replica's thread is inside a call with (issue 9, defects 2 and 3).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "distribute/nccl_collective.h"
#include "kerosene/error.h"
#include "kerosene/tensor.h"
#include "cli_util.h"

namespace kerosene::distribute {
namespace {

class FakeNccl final : public NcclCalls {
 public:
  int comms[2] = {0, 1};
  std::mutex mutex;
  std::condition_variable cv;
  int fail_all_reduce_at = -1;  ///< the n-th all_reduce (0-based) fails
  bool fail_group_end = false;
  bool block_replica0 = false;  ///< all_reduce on comm 0 waits until release()
  bool replica0_inside = false, released = false;
  int all_reduces = 0, inits = 0, joins = 0;
  std::vector<void*> aborted;
  std::vector<bool> aborted_while_in_call;
  static thread_local int open_groups;

  int version(int* v) override { *v = 22809; return 0; }
  int group_start() override { ++open_groups; return 0; }
  int group_end() override {
    --open_groups;
    return fail_group_end ? set_error("ncclGroupEnd: fake failure") : 0;
  }
  int all_reduce(int, void* comm, float*, int64_t) override {
    std::unique_lock lock(mutex);
    if (all_reduces++ == fail_all_reduce_at) return set_error("fake ncclAllReduce failure");
    if (block_replica0 && comm == &comms[0]) {
      replica0_inside = true;
      cv.notify_all();
      cv.wait(lock, [&] { return released; });
      replica0_inside = false;
    }
    return 0;
  }
  int join(int) override { ++joins; return 0; }
  int comm_init_all(int count, const int*, void** out) override {
    ++inits;
    for (int i = 0; i < count; ++i) out[i] = &comms[i];
    return 0;
  }
  int comm_init_rank(int, int, const char*, int, void**) override { return set_error("not used"); }
  int unique_id(char*) override { return set_error("not used"); }
  int comm_destroy(void*) override { return 0; }
  int comm_abort(void* comm) override {
    std::lock_guard lock(mutex);
    aborted.push_back(comm);
    aborted_while_in_call.push_back(comm == &comms[0] && replica0_inside);
    return 0;
  }
  std::string last_error() override { return error; }
  void release() {
    std::lock_guard lock(mutex);
    released = true;
    cv.notify_all();
  }

 private:
  int set_error(std::string e) {
    error = std::move(e);
    return 1;
  }
  std::string error;
};
thread_local int FakeNccl::open_groups = 0;

struct Fixture {
  Fixture() { FakeNccl::open_groups = 0; }  // per thread: an earlier test must not leak into this one
  std::shared_ptr<FakeNccl> fake = std::make_shared<FakeNccl>();
  Tensor a = Tensor::zeros({4}), b = Tensor::zeros({3});
  std::vector<Tensor*> bucket{&a, &b};
  NcclCollective collective{{Device(), Device()}, {0, 1}, nullptr, fake};
};

TEST(NcclCollectiveTest, AFailedAllReduceInsideTheGroupStillClosesIt) {
  Fixture f;
  f.fake->fail_all_reduce_at = 1;  // the bucket's second tensor
  try {
    f.collective.all_reduce(0, f.bucket, true);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    KEROSENE_EXPECT_CONTAINS(std::string(e.what()), "ncclAllReduce failed: fake ncclAllReduce failure");
  }
  EXPECT_EQ(FakeNccl::open_groups, 0) << "an NCCL group was left open on this thread";
  // The thread's next collective is not deferred inside the dead group.
  f.collective.all_reduce(0, f.bucket, true);
  EXPECT_EQ(FakeNccl::open_groups, 0);
  EXPECT_EQ(f.fake->joins, 1);
}

TEST(NcclCollectiveTest, AFailedGroupEndIsReportedAndNotEndedTwice) {
  Fixture f;
  f.fake->fail_group_end = true;
  EXPECT_THROW(f.collective.all_reduce(0, f.bucket, false), DeviceError);
  EXPECT_EQ(FakeNccl::open_groups, 0);
}

TEST(NcclCollectiveTest, AbortWaitsForTheCallInFlightBeforeAbortingItsCommunicator) {
  Fixture f;
  f.fake->block_replica0 = true;
  auto in_flight = std::async(std::launch::async, [&] { f.collective.all_reduce(0, f.bucket, true); });
  struct Release {  // declared after the future: a failed ASSERT releases the call before joining it
    FakeNccl& fake;
    ~Release() { fake.release(); }
  } release_on_exit{*f.fake};
  {
    std::unique_lock lock(f.fake->mutex);
    ASSERT_TRUE(f.fake->cv.wait_for(lock, std::chrono::seconds(10), [&] { return f.fake->replica0_inside; }));
  }
  f.collective.abort();  // replica 1 failed while replica 0 is inside ncclAllReduce
  {
    std::lock_guard lock(f.fake->mutex);
    ASSERT_EQ(f.fake->aborted, std::vector<void*>{&f.fake->comms[1]}) << "only the idle communicator is aborted now";
  }
  f.fake->release();
  in_flight.get();
  ASSERT_EQ(f.fake->aborted.size(), 2u);
  EXPECT_EQ(f.fake->aborted[1], &f.fake->comms[0]) << "the busy one is aborted once its call returned";
  for (bool in_call : f.fake->aborted_while_in_call) EXPECT_FALSE(in_call) << "a communicator was aborted mid-call";
  // Until reset, every replica entering the collective is told another one failed.
  EXPECT_THROW(f.collective.all_reduce(1, f.bucket, true), ReplicaAborted);
  f.collective.reset();
  EXPECT_EQ(f.fake->inits, 2);
  f.fake->block_replica0 = false;
  f.collective.all_reduce(0, f.bucket, true);
}

}  // namespace
}  // namespace kerosene::distribute
