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
  /// Every hyperparameter of the optimizers kerosene has (Keras' names); `kind` says which
  /// apply: "SGD" (momentum, nesterov), "Adam"/"AdamW" (beta_1, beta_2, epsilon, weight_decay),
  /// "RMSprop" (rho, momentum, epsilon, centered).
  struct Config {
    std::string kind;
    float learning_rate = 0.001f;
    float momentum = 0.0f;
    bool nesterov = false;
    float beta_1 = 0.9f, beta_2 = 0.999f, epsilon = 1e-7f, weight_decay = 0.0f;
    float rho = 0.9f;
    bool centered = false;
  };
  virtual ~Optimizer() = default;
  virtual Config config() const = 0;
  virtual std::string name() const = 0;
  /// The same configuration with fresh state (no slots, no iterations): a replica's optimizer.
  virtual std::shared_ptr<Optimizer> clone() const = 0;
  /// One update of every variable from its gradient.
  void apply(const std::vector<Variable*>& variables);
  int64_t iterations() const { return iterations_; }
  float learning_rate = 0.001f;

  /// Number of slot tensors per variable (SGD: momentum; Adam: m, v; RMSprop: velocity,
  /// momentum, average gradient).
  virtual int slots_per_variable() const = 0;
  /// Whether a step has run (slots exist): what a saved file's optimizer state holds.
  bool has_state() const { return built_for_ != 0; }
  /// The slots, per variable in order ([v0's slots..., v1's slots...]), created as zeros for
  /// `variables` when they do not exist yet: where a saved state is read into.
  std::vector<Tensor>& slots(const std::vector<Variable*>& variables);
  void set_iterations(int64_t iterations) { iterations_ = iterations; }

 protected:
  virtual void update(Variable& v, Tensor* slots) = 0;
  int64_t iterations_ = 0;

 private:
  std::vector<Tensor> slots_;
  size_t built_for_ = 0;
};

/// An optimizer from its config. Throws ValueError for an unknown kind or a bad value.
std::shared_ptr<Optimizer> make_optimizer(const Optimizer::Config& config);

}  // namespace kerosene::nn
