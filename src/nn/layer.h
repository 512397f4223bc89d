// nn::Layer: the implementation behind kerosene::Layer. A layer runs forward on a batch and
// backward from the gradient of its output; it owns its output and gradient buffers, reused
// from step to step.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "kerosene/tensor.h"

namespace kerosene::nn {

class CrossReplicaSum;

/// A layer's tensor and, when trainable, its gradient (same shape, same device). A
/// non-trainable variable (BatchNormalization's moving statistics) is updated by its layer's
/// forward pass, never by the optimizer, and has no gradient (grad stays undefined).
struct Variable {
  std::string name;  // "kernel", "bias", "moving_mean"
  Tensor value;
  Tensor grad;
  bool trainable = true;
};

class Layer {
 public:
  Layer(std::string class_name, std::string name);
  virtual ~Layer() = default;

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }    // one sample
  const Shape& output_shape() const { return output_shape_; }  // one sample

  /// An unbuilt layer with the same configuration and name: a replica's copy under a
  /// distribution strategy.
  virtual std::shared_ptr<Layer> clone() const = 0;
  /// clone() with this layer's dtype policy (which the copy would otherwise take from the
  /// global policy of the moment): what replicas and a layer's second call use.
  std::shared_ptr<Layer> copy_unbuilt() const;

  /// Keras' dtype policy name ("float32", "mixed_bfloat16", "mixed_float16"): the global policy
  /// when the layer was made, unless set. Dense and Conv2D compute in its compute dtype; every
  /// other layer computes in float32 (mixed_precision.h says what that means).
  const std::string& dtype_policy() const { return dtype_policy_; }
  /// Throws ValueError for a name mixed_precision::DTypePolicy refuses.
  void set_dtype_policy(const std::string& name);
  backends::ComputePrecision compute_precision() const;

  /// Output shape for one sample of `input`; throws ValueError (naming the layer) if it does not fit.
  virtual Shape compute_output_shape(const Shape& input) const = 0;
  /// Fixes the input shape and creates the variables on `device`.
  void build(const Shape& input, const Device& device, std::mt19937_64& rng);

  /// Output for a batch `x`; valid until the next forward. Keeps what backward needs.
  virtual const Tensor& forward(const Tensor& x, bool training) = 0;
  /// Writes the variables' gradients and returns the gradient w.r.t. the input (when need_dx;
  /// otherwise an undefined tensor: the first layer skips that work).
  virtual const Tensor& backward(const Tensor& dy, bool need_dx) = 0;

  std::vector<Variable>& variables() { return variables_; }
  int64_t count_params() const;
  /// The elements of the trainable variables only (Keras' "Trainable params").
  int64_t count_trainable_params() const;

  // --- Several inputs (merge layers), for the graph of a Functional model. A layer with one
  // input keeps the one-tensor forms above; these defaults call them. ---
  /// Output shape for one sample of each input; throws ValueError naming the layer and shapes.
  virtual Shape compute_output_shape(const std::vector<Shape>& inputs) const;
  void build(const std::vector<Shape>& inputs, const Device& device, std::mt19937_64& rng);
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  virtual const Tensor& forward(const std::vector<const Tensor*>& xs, bool training);
  /// Backward from dy; sets dxs[i] (sized like xs) to the gradient w.r.t. input i where
  /// need_dx[i], else to null. The pointers are valid until the next forward or backward.
  virtual void backward(const Tensor& dy, const std::vector<bool>& need_dx, std::vector<const Tensor*>& dxs);

  /// A second call of a shared layer runs on its own copy of the layer (its own buffers and
  /// gradients) whose variable values are the owner's: this makes this built copy use them.
  void share_variables_with(const Layer& owner);

  /// Under a distribution strategy: how this replica's layer sums across replicas. Only layers
  /// that compute over the global batch keep it (BatchNormalization(synchronized=true)).
  virtual void set_cross_replica_sum(std::shared_ptr<CrossReplicaSum> sum) { (void)sum; }
  /// A replica whose share of a training step's batch is empty runs no forward or backward, but
  /// must still take part in what the others sum across replicas: these are called instead, in
  /// the order forward and backward would be (backward only where backward would run).
  virtual void forward_without_rows() {}
  virtual void backward_without_rows() {}

  /// Whether a training forward pass mixes the batch's samples (BatchNormalization's batch
  /// statistics): such a layer must see the whole batch at once, so the CPU's tiled training
  /// step (ModelState::tile_rows) leaves a model holding one untiled.
  virtual bool mixes_samples() const { return false; }

  /// Whether the optimizer updates this layer's variables (Keras' layer.trainable).
  bool trainable() const { return trainable_; }
  void set_trainable(bool trainable) { trainable_ = trainable; }

  /// The graph executor's fusion of a following plain ReLU layer (ModelState::plan_relu_fusion):
  /// whether this layer can apply max(y, 0) to its own output on its device. The layer knows
  /// nothing of the ReLU layer; the executor sets set_fused_relu(true) before each forward and
  /// skips that layer.
  virtual bool can_fuse_relu() const { return false; }
  /// Whether the next forward ends with max(y, 0); backward then takes the gradient w.r.t. that
  /// output. Only for a layer whose can_fuse_relu() is true.
  void set_fused_relu(bool on) { fused_relu_ = on; }
  /// The executor's other fusion: a MaxPooling2D (2x2, stride 2, "valid") that reads only this
  /// layer's output (train/layer_fusion.h). Whether this layer can pool its own output on its
  /// device, without computing its input's gradient (the executor asks only when the input is a
  /// model input, which needs none).
  virtual bool can_fuse_max_pool() const { return false; }
  /// Whether the next forward returns the pooled output (and backward takes its gradient).
  void set_fused_max_pool(bool on) { fused_max_pool_ = on; }

  /// The activation applied last (softmax, sigmoid, ...), for fusing it into the loss.
  virtual backends::ActivationKind activation() const { return backends::ActivationKind::linear; }
  /// The values before that activation (logits), after a forward.
  virtual const Tensor& logits() const;
  /// Backward from the gradient w.r.t. the logits, skipping the activation.
  virtual const Tensor& backward_from_logits(const Tensor& dlogits, bool need_dx);

 protected:
  virtual void create_variables(const Device& device, std::mt19937_64& rng) {}
  /// Throws ValueError unless a batch x matches the built input shape.
  void check_input(const Tensor& x) const;

  std::vector<Variable> variables_;
  Device device_;
  bool fused_relu_ = false;      // set_fused_relu
  bool fused_max_pool_ = false;  // set_fused_max_pool

 private:
  std::string class_name_, name_;
  bool built_ = false;
  bool trainable_ = true;
  std::string dtype_policy_;
  Shape input_shape_, output_shape_;
  std::vector<Shape> input_shapes_;
};

/// Keras-style unique names: "dense", "dense_1", ... per base name.
std::string unique_name(const std::string& base);

}  // namespace kerosene::nn
