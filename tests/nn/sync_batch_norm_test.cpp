// BatchNormalization(synchronized=true) on two replicas, each driven from its own thread as a
// strategy drives them, meeting in a fake nn::CrossReplicaSum: it equals one layer on the two
// halves together (outputs, moving statistics, input gradients; the replicas' variable gradients
// add up to the whole batch's), its input gradient is the finite-difference gradient of the
// global objective, a replica with no rows takes part, and outside a distributed step (or
// unsynchronized) each replica keeps to its own rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kerosene/layers.h"
#include "nn/cross_replica_sum.h"
#include "nn/gradient_check.h"
#include "nn/layer.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

/// Where two replicas meet: each sum() waits for the other's, then both get the total.
class TwoReplicas {
 public:
  bool active = true;
  int calls = 0;  // rendezvous completed

  void sum(Tensor& t) {
    std::vector<float> mine = values_of(t);
    std::unique_lock lock(mutex_);
    const uint64_t round = round_;
    if (waiting_ == 0) {
      total_ = mine;
    } else {
      EXPECT_EQ(total_.size(), mine.size()) << "the replicas summed tensors of different sizes";
      for (size_t i = 0; i < mine.size() && i < total_.size(); ++i) total_[i] += mine[i];
    }
    if (++waiting_ == 2) {
      waiting_ = 0;
      // Apart from total_: the replica that completes a round may start the next one before
      // the other has woken up to read this one's result.
      result_ = total_;
      ++round_;
      ++calls;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return round_ != round; });
    }
    std::copy(result_.begin(), result_.end(), t.data<float>());  // the layers run on the CPU here
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_ = 0;
  uint64_t round_ = 0;
  std::vector<float> total_, result_;
};

class FakeSum final : public nn::CrossReplicaSum {
 public:
  explicit FakeSum(TwoReplicas& shared) : shared_(shared) {}
  bool active() const override { return shared_.active; }
  void sum(Tensor& values) override { shared_.sum(values); }

 private:
  TwoReplicas& shared_;
};

constexpr int64_t kChannels = 3;

LayerPtr batch_norm(bool synchronized) {
  LayerPtr layer = build_layer(layers::BatchNormalization({.momentum = 0.8, .synchronized = synchronized}),
                               Shape{2, kChannels});
  randomize_variables(*layer, 4);
  return layer;
}

/// Runs f(0) here and f(1) on another thread: each replica's layer sums from its own thread.
void on_two_threads(const std::function<void(int)>& f) {
  std::thread other([&] { f(1); });
  f(0);
  other.join();
}

std::vector<float> concat(std::vector<float> a, const std::vector<float>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<float> add(std::vector<float> a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
  return worst;
}

struct Replicas {
  TwoReplicas shared;
  LayerPtr layer[2];
  explicit Replicas(bool synchronized) {
    for (LayerPtr& l : layer) {
      l = batch_norm(synchronized);
      l->set_cross_replica_sum(std::make_shared<FakeSum>(shared));
    }
  }
};

// Halves of different means and spreads: their own statistics are far from the whole batch's.
Tensor half_a() { return make_tensor(uniform_values(3 * 2 * kChannels, 1), {3, 2, kChannels}); }
Tensor half_b() { return make_tensor(uniform_values(5 * 2 * kChannels, 2, 1.0f, 4.0f), {5, 2, kChannels}); }
Tensor whole_batch() { return make_tensor(concat(values_of(half_a()), values_of(half_b())), {8, 2, kChannels}); }

TEST(SyncBatchNormTest, TwoReplicasEqualOneLayerOnTheWholeBatch) {
  const Tensor xa = half_a(), xb = half_b(), whole_x = whole_batch();
  Replicas r(/*synchronized=*/true);
  LayerPtr whole = batch_norm(false);
  const Tensor* x[2] = {&xa, &xb};
  std::vector<float> y[2], dx[2];
  const std::vector<float> dy_whole = uniform_values(whole_x.numel(), 9);
  const Tensor dy[2] = {make_tensor({dy_whole.begin(), dy_whole.begin() + xa.numel()}, xa.shape()),
                        make_tensor({dy_whole.begin() + xa.numel(), dy_whole.end()}, xb.shape())};
  on_two_threads([&](int i) {
    y[i] = values_of(r.layer[i]->forward(*x[i], /*training=*/true));
    dx[i] = values_of(r.layer[i]->backward(dy[i], /*need_dx=*/true));
  });
  EXPECT_EQ(r.shared.calls, 2) << "one sum in forward, one in backward";
  const std::vector<float> y_whole = values_of(whole->forward(whole_x, true));
  const std::vector<float> dx_whole = values_of(whole->backward(make_tensor(dy_whole, whole_x.shape()), true));
  expect_close(concat(y[0], y[1]), y_whole, 1e-5, 1e-5, "outputs");
  expect_close(concat(dx[0], dx[1]), dx_whole, 1e-5, 1e-5, "input gradients");
  for (size_t v = 0; v < 4; ++v) {
    const auto& name = whole->variables()[v].name;
    if (whole->variables()[v].trainable) {  // each replica's share; the gradient all-reduce adds them
      expect_close(add(values_of(r.layer[0]->variables()[v].grad), values_of(r.layer[1]->variables()[v].grad)),
                   values_of(whole->variables()[v].grad), 1e-5, 1e-5, name + " gradient");
    } else {  // moving statistics: identical on both replicas, from the whole batch's statistics
      EXPECT_EQ(values_of(r.layer[0]->variables()[v].value), values_of(r.layer[1]->variables()[v].value)) << name;
      expect_close(values_of(r.layer[0]->variables()[v].value), values_of(whole->variables()[v].value), 1e-5, 1e-5,
                   name);
    }
  }
}

TEST(SyncBatchNormTest, UnsynchronizedReplicasUseTheirOwnRows) {
  const Tensor xa = half_a(), xb = half_b(), whole_x = whole_batch();
  Replicas r(/*synchronized=*/false);
  LayerPtr whole = batch_norm(false);
  std::vector<float> y[2];
  const Tensor* x[2] = {&xa, &xb};
  on_two_threads([&](int i) { y[i] = values_of(r.layer[i]->forward(*x[i], true)); });
  EXPECT_EQ(r.shared.calls, 0);
  EXPECT_GT(max_abs_diff(concat(y[0], y[1]), values_of(whole->forward(whole_x, true))), 0.1);
  LayerPtr alone = batch_norm(false);
  expect_close(y[0], values_of(alone->forward(xa, true)), 0, 0, "replica 0 as a layer of its own");
}

TEST(SyncBatchNormTest, OutsideADistributedStepEachReplicaUsesItsOwnRows) {
  const Tensor xa = half_a();
  Replicas r(/*synchronized=*/true);
  r.shared.active = false;  // e.g. the model run directly, not by the strategy's training step
  const std::vector<float> y = values_of(r.layer[0]->forward(xa, true));
  const std::vector<float> dx = values_of(r.layer[0]->backward(make_tensor(uniform_values(xa.numel(), 3),
                                                                           xa.shape()), true));
  EXPECT_EQ(r.shared.calls, 0);
  LayerPtr alone = batch_norm(false);
  expect_close(y, values_of(alone->forward(xa, true)), 0, 0, "outputs");
  expect_close(dx, values_of(alone->backward(make_tensor(uniform_values(xa.numel(), 3), xa.shape()), true)),
               0, 0, "input gradients");
}

TEST(SyncBatchNormTest, InputAndVariableGradientsMatchFiniteDifferencesOfTheGlobalObjective) {
  const Tensor xa = half_a(), xb = half_b();
  Replicas r(/*synchronized=*/true);
  Tensor x[2] = {make_tensor(values_of(xa), xa.shape()), make_tensor(values_of(xb), xb.shape())};
  const std::vector<float> weights[2] = {uniform_values(xa.numel(), 5), uniform_values(xb.numel(), 6)};
  // sum(y * R) over both replicas' outputs: every input row moves the statistics of both.
  auto objective = [&] {
    double total[2] = {0, 0};
    on_two_threads([&](int i) { total[i] = weighted_sum(r.layer[i]->forward(x[i], true), weights[i]); });
    return total[0] + total[1];
  };
  std::vector<float> dx[2], dgamma[2];
  on_two_threads([&](int i) {
    r.layer[i]->forward(x[i], true);
    dx[i] = values_of(r.layer[i]->backward(make_tensor(weights[i], x[i].shape()), true));
    dgamma[i] = values_of(r.layer[i]->variables()[0].grad);
  });
  for (int i = 0; i < 2; ++i) {
    expect_close(dx[i], numeric_gradient(x[i].data<float>(), x[i].numel(), 1e-2f, objective), kGradAtol, kGradRtol,
                 "d/d(input of replica " + std::to_string(i) + ")");
    // Replica i's gamma scales replica i's rows only: its gradient is this replica's share.
    nn::Variable& gamma = r.layer[i]->variables()[0];
    expect_close(dgamma[i], numeric_gradient(gamma.value.data<float>(), gamma.value.numel(), 1e-2f, objective),
                 kGradAtol, kGradRtol, "d/d(gamma of replica " + std::to_string(i) + ")");
  }
}

TEST(SyncBatchNormTest, AReplicaWithNoRowsTakesPartAndKeepsTheSameMovingStatistics) {
  const Tensor xa = half_a();
  Replicas r(/*synchronized=*/true);
  LayerPtr alone = batch_norm(false);
  std::vector<float> y, dx;
  const Tensor dy = make_tensor(uniform_values(xa.numel(), 8), xa.shape());
  on_two_threads([&](int i) {
    if (i == 0) {
      y = values_of(r.layer[0]->forward(xa, true));
      dx = values_of(r.layer[0]->backward(dy, true));
    } else {
      r.layer[1]->forward_without_rows();
      r.layer[1]->backward_without_rows();
    }
  });
  EXPECT_EQ(r.shared.calls, 2);
  expect_close(y, values_of(alone->forward(xa, true)), 1e-5, 1e-5, "outputs");
  expect_close(dx, values_of(alone->backward(dy, true)), 1e-5, 1e-5, "input gradients");
  for (size_t v : {2u, 3u}) {
    EXPECT_EQ(values_of(r.layer[0]->variables()[v].value), values_of(r.layer[1]->variables()[v].value));
    expect_close(values_of(r.layer[1]->variables()[v].value), values_of(alone->variables()[v].value), 1e-5, 1e-5,
                 "moving statistics");
  }
}

// Sums of x and x^2 in float would lose the variance of values near 1000 (x^2 ~ 1e6, variance
// ~1): they are taken around the moving mean, which every replica shares.
TEST(SyncBatchNormTest, AMeanFarFromZeroDoesNotCancelAroundTheMovingMean) {
  auto shifted = [](const Tensor& t) {
    std::vector<float> v = values_of(t);
    for (float& e : v) e += 1000.0f;
    return make_tensor(v, t.shape());
  };
  const Tensor xa = shifted(half_a()), xb = shifted(half_b()), whole_x = shifted(whole_batch());
  Replicas r(/*synchronized=*/true);
  LayerPtr whole = batch_norm(false);
  for (LayerPtr layer : {r.layer[0], r.layer[1], whole}) {
    float* moving_mean = layer->variables()[2].value.data<float>();
    std::fill(moving_mean, moving_mean + kChannels, 1001.0f);
  }
  const Tensor* x[2] = {&xa, &xb};
  std::vector<float> y[2];
  on_two_threads([&](int i) { y[i] = values_of(r.layer[i]->forward(*x[i], true)); });
  expect_close(concat(y[0], y[1]), values_of(whole->forward(whole_x, true)), 1e-4, 1e-4, "outputs");
}

}  // namespace
}  // namespace kerosene::test
