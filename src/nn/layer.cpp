#include "nn/layer.h"

#include <map>
#include <mutex>

#include "kerosene/error.h"
#include "ops/ops.h"

namespace kerosene::nn {

Layer::Layer(std::string class_name, std::string name)
    : class_name_(std::move(class_name)), name_(std::move(name)) {}

void Layer::build(const Shape& input, const Device& device, std::mt19937_64& rng) {
  output_shape_ = compute_output_shape(input);
  input_shape_ = input;
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
