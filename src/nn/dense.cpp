#include "nn/dense.h"

#include "kerosene/error.h"
#include "nn/initializers.h"
#include "ops/ops.h"

namespace kerosene::nn {

Dense::Dense(const Config& config, std::string name)
    : Layer("Dense", std::move(name)), config_(config), stage_(config.activation) {
  if (config.units <= 0) throw ValueError("Dense: units must be positive, got " + std::to_string(config.units));
}

Shape Dense::compute_output_shape(const Shape& input) const {
  if (input.rank() < 1) throw ValueError("Dense layer \"" + name() + "\" needs inputs of rank >= 1 per sample");
  Shape out = input;
  out[-1] = config_.units;
  return out;
}

void Dense::create_variables(const Device& device, std::mt19937_64& rng) {
  const int64_t in = input_shape()[-1];
  variables_.push_back({"kernel", initialize(config_.kernel_initializer, {in, config_.units}, in, config_.units, device, rng), {}});
  if (config_.use_bias) {
    variables_.push_back({"bias", initialize(config_.bias_initializer, {config_.units}, in, config_.units, device, rng), {}});
  }
}

const Tensor& Dense::forward(const Tensor& x, bool training) {
  check_input(x);
  const int64_t in = input_shape()[-1];
  x2d_ = x.reshape({-1, in});
  const int64_t rows = x2d_.dim(0);
  ops::ensure(out_, {rows, config_.units}, device_);
  const Tensor* bias = config_.use_bias ? &variables_[1].value : nullptr;
  const auto precision = compute_precision();
  ops::matmul(x2d_, false, variables_[0].value, false, bias, out_, stage_.fused(), false, precision,
              ops::round_operand(x2d_, precision, x16_), ops::round_operand(variables_[0].value, precision, kernel16_));
  Shape out_shape = output_shape().with_batch(x.dim(0));
  return stage_.forward(out_.reshape(out_shape));
}

const Tensor& Dense::backward(const Tensor& dy, bool need_dx) {
  return backward_from_logits(stage_.backward(dy), need_dx);
}

const Tensor& Dense::backward_from_logits(const Tensor& dlogits, bool need_dx) {
  const Tensor dz = dlogits.reshape({-1, config_.units});
  const auto precision = compute_precision();
  const backends::RoundedOperand* dz16 = ops::round_operand(dz, precision, dz16_);
  ops::matmul(x2d_, true, dz, false, nullptr, variables_[0].grad, backends::ActivationKind::linear, false, precision,
              &x16_, dz16);
  if (config_.use_bias) ops::backend_of("bias_grad", dz).bias_grad(dz, variables_[1].grad);
  if (!need_dx) {
    dx_ = Tensor();
    return dx_;
  }
  Tensor& dx2d = ops::ensure(dx_buffer_, x2d_.shape(), device_);
  ops::matmul(dz, false, variables_[0].value, true, nullptr, dx2d, backends::ActivationKind::linear, false, precision,
              dz16, &kernel16_);
  dx_ = dx2d.reshape(input_shape().with_batch(dlogits.dim(0)));
  return dx_;
}

}  // namespace kerosene::nn
