// nn::Optimizer: the implementation behind kerosene::Optimizer. Slots (momenta) are created on
// the first step, next to each variable, on its device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layer.h"

namespace kerosene::nn {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  /// The same configuration with fresh state (no slots, no iterations): a replica's optimizer.
  virtual std::shared_ptr<Optimizer> clone() const = 0;
  /// One update of every variable from its gradient.
  void apply(const std::vector<Variable*>& variables);
  int64_t iterations() const { return iterations_; }
  /// Makes this optimizer's state (iterations, learning rate, slots) a copy of `other`'s, the
  /// slots placed on the devices of `variables` (this one's): a mirrored replica's optimizer
  /// made equal to replica 0's after BackupAndRestore restored it. `other` must be of the same kind.
  void copy_state_from(const Optimizer& other, const std::vector<Variable*>& variables);
  float learning_rate = 0.001f;

 protected:
  /// Number of slot tensors per variable.
  virtual int slots_per_variable() const = 0;
  virtual void update(Variable& v, Tensor* slots) = 0;
  int64_t iterations_ = 0;

 private:
  std::vector<Tensor> slots_;
  size_t built_for_ = 0;
};

}  // namespace kerosene::nn
