#include "nn/layer.h"

#include <map>
#include <mutex>

#include "kerosene/error.h"
#include "kerosene/mixed_precision.h"
#include "ops/ops.h"

namespace kerosene::nn {

Layer::Layer(std::string class_name, std::string name)
    : class_name_(std::move(class_name)),
      name_(std::move(name)),
      dtype_policy_(mixed_precision::global_policy().name()) {}

std::shared_ptr<Layer> Layer::copy_unbuilt() const {
  std::shared_ptr<Layer> copy = clone();
  copy->dtype_policy_ = dtype_policy_;
  return copy;
}

void Layer::set_dtype_policy(const std::string& name) {
  dtype_policy_ = mixed_precision::DTypePolicy(name).name();
}

backends::ComputePrecision Layer::compute_precision() const {
  if (dtype_policy_ == "mixed_bfloat16") return backends::ComputePrecision::bfloat16;
  if (dtype_policy_ == "mixed_float16") return backends::ComputePrecision::float16;
  return backends::ComputePrecision::float32;
}

void Layer::build(const Shape& input, const Device& device, std::mt19937_64& rng) {
  build(std::vector<Shape>{input}, device, rng);
}

void Layer::build(const std::vector<Shape>& inputs, const Device& device, std::mt19937_64& rng) {
  output_shape_ = inputs.size() == 1 ? compute_output_shape(inputs[0]) : compute_output_shape(inputs);
  input_shapes_ = inputs;
  input_shape_ = inputs.at(0);
  device_ = device;
  variables_.clear();
  create_variables(device, rng);
  for (Variable& v : variables_) {
    if (v.trainable) v.grad = Tensor::zeros(v.value.shape(), DType::float32, device);
  }
  built_ = true;
}

int64_t Layer::count_params() const {
  int64_t n = 0;
  for (const Variable& v : variables_) n += v.value.numel();
  return n;
}

Shape Layer::compute_output_shape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1) {
    throw ValueError("layer \"" + name_ + "\" (" + class_name_ + ") takes one input, got " +
                     std::to_string(inputs.size()));
  }
  return compute_output_shape(inputs[0]);
}

const Tensor& Layer::forward(const std::vector<const Tensor*>& xs, bool training) {
  if (xs.size() != 1) {
    throw ValueError("layer \"" + name_ + "\" (" + class_name_ + ") takes one input, got " + std::to_string(xs.size()));
  }
  return forward(*xs[0], training);
}

void Layer::backward(const Tensor& dy, const std::vector<bool>& need_dx, std::vector<const Tensor*>& dxs) {
  const Tensor& dx = backward(dy, need_dx.at(0));
  dxs.assign(1, need_dx[0] ? &dx : nullptr);
}

void Layer::share_variables_with(const Layer& owner) {
  if (owner.variables_.size() != variables_.size()) {
    throw RuntimeError("layer \"" + name_ + "\": cannot share the variables of \"" + owner.name_ + "\"");
  }
  for (size_t i = 0; i < variables_.size(); ++i) {
    if (owner.variables_[i].value.shape() != variables_[i].value.shape()) {
      throw ValueError("layer \"" + name_ + "\" is called on inputs of shape " + input_shape_.with_batch(-1).to_string(true) +
                       " but was built for " + owner.input_shape_.with_batch(-1).to_string(true) +
                       ": a shared layer takes inputs of one shape");
    }
    variables_[i].value = owner.variables_[i].value;
  }
}

int64_t Layer::count_trainable_params() const {
  int64_t n = 0;
  for (const Variable& v : variables_) n += v.trainable ? v.value.numel() : 0;
  return n;
}

const Tensor& Layer::logits() const {
  throw RuntimeError("layer " + name_ + " has no separate logits");
}

const Tensor& Layer::backward_from_logits(const Tensor&, bool) {
  throw RuntimeError("layer " + name_ + " has no separate logits");
}

void Layer::check_input(const Tensor& x) const {
  if (x.shape().rank() != input_shape_.rank() + 1 || x.shape().drop_batch() != input_shape_) {
    throw ValueError("layer \"" + name_ + "\" (" + class_name_ + ") expects input of shape " +
                     input_shape_.with_batch(-1).to_string(true) + ", found " + x.shape().to_string());
  }
}

std::string unique_name(const std::string& base) {
  static std::mutex mutex;
  static std::map<std::string, int> counts;
  std::lock_guard lock(mutex);
  int n = counts[base]++;
  return n == 0 ? base : base + "_" + std::to_string(n);
}

}  // namespace kerosene::nn
