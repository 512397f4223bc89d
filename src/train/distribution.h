// What the executor and the training loop know of a distribution strategy: an interface, which
// src/distribute implements. The arrows run one way: strategies drive the executor (they build
// replicas of a ModelState and run its steps); train includes nothing from distribute.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kerosene/device.h"
#include "kerosene/tensor.h"

namespace kerosene::train {

class ModelState;
struct StepTotals;

/// The replicas of a model created in a strategy's scope, and the steps that run them all.
/// Every step takes this worker's rows[0..n) of the data (one tensor per model input/output;
/// ys may end with the samples' weights, as ModelState::train_step takes them).
class Replicas {
 public:
  virtual ~Replicas() = default;
  /// Builds the other replicas on first use, and copies the primary's weights to all of them.
  virtual void prepare() = 0;
  /// The primary's optimizer state to every replica (after a restore put it into the primary).
  virtual void copy_optimizer_state() = 0;
  /// One optimizer step; `global_batch`: the rows of every worker in this step (which scale
  /// the gradients). totals get every replica's and every worker's sums.
  virtual void train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const int64_t* rows, int64_t n,
                          int64_t global_batch, StepTotals& totals) = 0;
  virtual void test_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const int64_t* rows, int64_t n,
                         StepTotals& totals) = 0;
  /// The model's outputs for rows[0..n) into outs[o] (host memory, n rows of output o each).
  virtual void predict(const std::vector<Tensor>& xs, const int64_t* rows, int64_t n, const std::vector<float*>& outs) = 0;
  virtual int replicas() const = 0;
  /// Replica r's model (0: the primary), for the state BackupAndRestore saves per replica.
  virtual ModelState& replica_model(int r) = 0;
};

/// A strategy as the models created in its scope see it: where the replicas are, which worker
/// this process is, and a way to mirror a model.
class Distribution {
 public:
  virtual ~Distribution() = default;
  std::vector<Device> devices;  // this worker's replicas, replica 0 first
  int num_workers = 1;
  int worker_index = 0;
  bool chief = true;
  /// How sums travel between replicas, for the log ("in-process", "nccl", "mpi", ...).
  virtual std::string reduction() const = 0;
  /// The replicas of `primary` (the model the user holds, which stays replica 0).
  virtual std::shared_ptr<Replicas> mirror(ModelState& primary) = 0;
};

/// The distribution of the innermost strategy scope on this thread (null outside any).
std::shared_ptr<Distribution> current_distribution();
/// Makes `d` the current one on this thread; returns the one it replaces (a scope restores it).
std::shared_ptr<Distribution> set_current_distribution(std::shared_ptr<Distribution> d);

}  // namespace kerosene::train
