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

backends::BatchNormParams BatchNormalization::params(int64_t rows, bool training) const {
  return {rows, input_shape()[-1], static_cast<float>(config_.epsilon), static_cast<float>(config_.momentum), training};
}

bool BatchNormalization::can_fuse_relu() const {
  return !config_.synchronized && ops::backend_for(device_).fuses_relu();
}

void BatchNormalization::set_cross_replica_sum(std::shared_ptr<CrossReplicaSum> sum) {
  if (config_.synchronized) cross_replica_ = std::move(sum);
}

const Tensor& BatchNormalization::forward(const Tensor& x, bool training) {
  check_input(x);
  const int64_t c = input_shape()[-1];
  x_ = x;
  training_ = training;
  synced_ = training && cross_replica_ && cross_replica_->active();
  relu_ = fused_relu_;
  ops::ensure(out_, x.shape(), device_);
  ops::ensure(mean_, {c}, device_);
  ops::ensure(inv_std_, {c}, device_);
  const int gamma = config_.scale ? 0 : -1, beta = config_.center ? gamma + 1 : -1;
  const size_t moving = variables_.size() - 2;
  const backends::BatchNormParams p = params(x.numel() / c, training);
  auto& backend = ops::backend_of("batch_norm_forward", x);
  if (synced_) {
    // Shifted by the moving mean, identical on every replica and near the batch's mean.
    backend.batch_norm_sums(p, x, variables_[moving].value, ops::ensure(batch_sums_, {2 * c + 1}, device_));
    cross_replica_->sum(batch_sums_);
    forward_from_global_sums(&x, p.rows);
    return out_;
  }
  if (relu_) {
    backend.batch_norm_relu_forward(p, x, value_or_null(variables_, gamma), value_or_null(variables_, beta),
                                    variables_[moving].value, variables_[moving + 1].value, mean_, inv_std_, out_);
  } else {
    backend.batch_norm_forward(p, x, value_or_null(variables_, gamma), value_or_null(variables_, beta),
                               variables_[moving].value, variables_[moving + 1].value, mean_, inv_std_, out_);
  }
  return out_;
}

void BatchNormalization::forward_from_global_sums(const Tensor* x, int64_t rows) {
  const int gamma = config_.scale ? 0 : -1, beta = config_.center ? gamma + 1 : -1;
  const size_t moving = variables_.size() - 2;
  ops::backend_of("batch_norm_forward", batch_sums_)
      .batch_norm_forward_from_sums(params(rows, true), batch_sums_, variables_[moving].value, x,
                                    value_or_null(variables_, gamma),
                                    value_or_null(variables_, beta), variables_[moving].value,
                                    variables_[moving + 1].value, mean_, inv_std_, x ? &out_ : nullptr);
}

void BatchNormalization::forward_without_rows() {
  training_ = true;
  synced_ = cross_replica_ && cross_replica_->active();
  if (!synced_) return;
  const int64_t c = input_shape()[-1];
  ops::ensure(mean_, {c}, device_);
  ops::ensure(inv_std_, {c}, device_);
  ops::ensure(batch_sums_, {2 * c + 1}, device_);
  ops::backend_of("fill", batch_sums_).fill(batch_sums_, 0.0f);  // no rows: nothing to add, count 0
  cross_replica_->sum(batch_sums_);
  forward_from_global_sums(nullptr, 0);
}

void BatchNormalization::sum_gradients_across_replicas(const Tensor& dbeta, const Tensor& dgamma) {
  const int64_t c = input_shape()[-1];
  ops::ensure(grad_sums_, {2 * c}, device_);
  auto& backend = ops::backend_of("batch_norm_backward", grad_sums_);
  Tensor sum_dy = grad_sums_.slice(0, c), sum_dy_xhat = grad_sums_.slice(c, 2 * c);
  if (dbeta.defined()) {
    backend.copy_on_device(sum_dy.raw_data(), dbeta.raw_data(), dbeta.nbytes());
    backend.copy_on_device(sum_dy_xhat.raw_data(), dgamma.raw_data(), dgamma.nbytes());
  } else {
    backend.fill(grad_sums_, 0.0f);
  }
  cross_replica_->sum(grad_sums_);
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
  const backends::BatchNormParams p = params(x_.numel() / c, training_);
  auto& backend = ops::backend_of("batch_norm_backward", dy);
  if (synced_) {
    // dgamma and dbeta keep this replica's sums: the gradient all-reduce adds the replicas'. The
    // input gradient needs them over the global batch now. Summed even when no dx is needed,
    // so that every replica makes the same calls (a replica with no rows cannot know need_dx).
    backend.batch_norm_backward(p, x_, dy, value_or_null(variables_, gamma), mean_, inv_std_, nullptr, dgamma, dbeta);
    sum_gradients_across_replicas(dbeta, dgamma);
    if (need_dx) {
      backend.batch_norm_backward_from_sums(p, x_, dy, value_or_null(variables_, gamma), mean_, inv_std_, batch_sums_,
                                            grad_sums_, dx_);
    }
    return dx_;
  }
  if (relu_) {
    backend.batch_norm_relu_backward(p, x_, out_, dy, value_or_null(variables_, gamma), mean_, inv_std_,
                                     need_dx ? &dx_ : nullptr, dgamma, dbeta);
  } else {
    backend.batch_norm_backward(p, x_, dy, value_or_null(variables_, gamma), mean_, inv_std_,
                                need_dx ? &dx_ : nullptr, dgamma, dbeta);
  }
  return dx_;
}

void BatchNormalization::backward_without_rows() {
  if (synced_) sum_gradients_across_replicas(Tensor(), Tensor());
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
