#include "nn/normalization.h"

#include "kerosene/error.h"
#include "nn/initializers.h"
#include "ops/ops.h"

namespace kerosene::nn {
namespace {

// Keras' axis counts the batch dimension: for a per-sample shape of rank r, the last axis is
// -1 or r. Only that one is supported (channels last).
void check_last_axis(const Layer& layer, int64_t axis, const Shape& input) {
  const std::string what = layer.class_name() + " layer \"" + layer.name() + "\"";
  if (input.rank() < 1) throw ValueError(what + " needs inputs of rank >= 1 per sample");
  const int64_t rank = input.rank() + 1;
  if (axis < -rank || axis >= rank) {
    throw ValueError(what + ": axis=" + std::to_string(axis) + " is out of bounds for input shape " +
                     input.with_batch(-1).to_string(true));
  }
  if (axis != -1 && axis != rank - 1) {
    throw ValueError(what + ": axis=" + std::to_string(axis) +
                     " is not supported: kerosene normalizes the last axis only (axis=-1, channels last)");
  }
}

const Tensor* value_or_null(std::vector<Variable>& variables, int index) {
  return index >= 0 ? &variables[static_cast<size_t>(index)].value : nullptr;
}

}  // namespace

// --- BatchNormalization ----------------------------------------------------------------------

BatchNormalization::BatchNormalization(const Config& config, std::string name)
    : Layer("BatchNormalization", std::move(name)), config_(config) {
  if (config.axis == 0) {
    throw ValueError("BatchNormalization layer \"" + this->name() + "\": axis=0 is the batch axis; kerosene normalizes the last axis only (axis=-1)");
  }
}

Shape BatchNormalization::compute_output_shape(const Shape& input) const {
  check_last_axis(*this, config_.axis, input);
  return input;
}

void BatchNormalization::create_variables(const Device& device, std::mt19937_64& rng) {
  const int64_t c = input_shape()[-1];
  auto add = [&](const char* name, const std::string& initializer, bool trainable) {
    variables_.push_back({name, initialize(initializer, {c}, c, c, device, rng), {}, trainable});
  };
  if (config_.scale) add("gamma", config_.gamma_initializer, true);
  if (config_.center) add("beta", config_.beta_initializer, true);
  add("moving_mean", config_.moving_mean_initializer, false);
  add("moving_variance", config_.moving_variance_initializer, false);
}

const Tensor& BatchNormalization::forward(const Tensor& x, bool training) {
  check_input(x);
  const int64_t c = input_shape()[-1];
  x_ = x;
  training_ = training;
  ops::ensure(out_, x.shape(), device_);
  ops::ensure(mean_, {c}, device_);
  ops::ensure(inv_std_, {c}, device_);
  const int gamma = config_.scale ? 0 : -1, beta = config_.center ? gamma + 1 : -1;
  const size_t moving = variables_.size() - 2;
  const backends::BatchNormParams p{x.numel() / c, c, static_cast<float>(config_.epsilon),
                                    static_cast<float>(config_.momentum), training};
  ops::backend_of("batch_norm_forward", x)
      .batch_norm_forward(p, x, value_or_null(variables_, gamma), value_or_null(variables_, beta),
                          variables_[moving].value, variables_[moving + 1].value, mean_, inv_std_, out_);
  return out_;
}

const Tensor& BatchNormalization::backward(const Tensor& dy, bool need_dx) {
  const int64_t c = input_shape()[-1];
  const int gamma = config_.scale ? 0 : -1, beta = config_.center ? gamma + 1 : -1;
  Tensor& dgamma = gamma >= 0 ? variables_[0].grad : ops::ensure(dgamma_, {c}, device_);
  Tensor& dbeta = beta >= 0 ? variables_[static_cast<size_t>(beta)].grad : ops::ensure(dbeta_, {c}, device_);
  if (need_dx) {
    ops::ensure(dx_, x_.shape(), device_);
  } else {
    dx_ = Tensor();
  }
  const backends::BatchNormParams p{x_.numel() / c, c, static_cast<float>(config_.epsilon),
                                    static_cast<float>(config_.momentum), training_};
  ops::backend_of("batch_norm_backward", dy)
      .batch_norm_backward(p, x_, dy, value_or_null(variables_, gamma), mean_, inv_std_, need_dx ? &dx_ : nullptr,
                           dgamma, dbeta);
  return dx_;
}

// --- LayerNormalization ----------------------------------------------------------------------

LayerNormalization::LayerNormalization(const Config& config, std::string name)
    : Layer("LayerNormalization", std::move(name)), config_(config) {
  if (config.axis == 0) {
    throw ValueError("LayerNormalization layer \"" + this->name() + "\": axis=0 is the batch axis; kerosene normalizes the last axis only (axis=-1)");
  }
}

Shape LayerNormalization::compute_output_shape(const Shape& input) const {
  check_last_axis(*this, config_.axis, input);
  return input;
}

void LayerNormalization::create_variables(const Device& device, std::mt19937_64& rng) {
  const int64_t c = input_shape()[-1];
  if (config_.scale) variables_.push_back({"gamma", initialize(config_.gamma_initializer, {c}, c, c, device, rng), {}});
  if (config_.center) variables_.push_back({"beta", initialize(config_.beta_initializer, {c}, c, c, device, rng), {}});
}

const Tensor& LayerNormalization::forward(const Tensor& x, bool) {
  check_input(x);
  const int64_t c = input_shape()[-1], rows = x.numel() / c;
  x_ = x;
  ops::ensure(out_, x.shape(), device_);
  ops::ensure(mean_, {rows}, device_);
  ops::ensure(inv_std_, {rows}, device_);
  const int gamma = config_.scale ? 0 : -1, beta = config_.center ? gamma + 1 : -1;
  ops::backend_of("layer_norm_forward", x)
      .layer_norm_forward({rows, c, static_cast<float>(config_.epsilon)}, x, value_or_null(variables_, gamma),
                          value_or_null(variables_, beta), mean_, inv_std_, out_);
  return out_;
}

const Tensor& LayerNormalization::backward(const Tensor& dy, bool need_dx) {
  const int64_t c = input_shape()[-1], rows = x_.numel() / c;
  const int gamma = config_.scale ? 0 : -1, beta = config_.center ? gamma + 1 : -1;
  if (need_dx) {
    ops::ensure(dx_, x_.shape(), device_);
  } else {
    dx_ = Tensor();
  }
  ops::backend_of("layer_norm_backward", dy)
      .layer_norm_backward({rows, c, static_cast<float>(config_.epsilon)}, x_, dy, value_or_null(variables_, gamma),
                           mean_, inv_std_, need_dx ? &dx_ : nullptr, gamma >= 0 ? &variables_[0].grad : nullptr,
                           beta >= 0 ? &variables_[static_cast<size_t>(beta)].grad : nullptr);
  return dx_;
}

}  // namespace kerosene::nn
