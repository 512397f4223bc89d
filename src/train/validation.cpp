#include "train/validation.h"

#include <cmath>

#include "kerosene/error.h"
#include "runtime/storage.h"
#include "runtime/device_context.h"

namespace kerosene::train {

namespace {
// Batches are gathered on the host (and copied to the model's device), so data placed on a
// device the host cannot read is brought back once, here.
Tensor on_host(const Tensor& t) {
  return t.storage()->context->backend().host_accessible() ? t : t.to(Device());
}
}  // namespace

Tensor conform_input(ModelState& model, const Tensor& x_in, const char* argument) {
  if (!x_in.defined()) throw ValueError(std::string(argument) + " is an undefined tensor");
  const Tensor x = on_host(x_in);
  if (x.shape().rank() < 1 || x.dim(0) == 0) {
    throw ValueError(std::string(argument) + " holds no samples (shape " + x.shape().to_string() + ")");
  }
  if (!model.built() && !model.declared_input) model.build(x.shape().drop_batch());
  if (!model.built()) model.build(*model.declared_input);
  const Shape expected = model.input_shape();
  Shape sample = x.shape().drop_batch();
  if (sample == expected) return x;
  if (sample.rank() + 1 == expected.rank() && expected[-1] == 1) {
    Shape with_channel = sample;
    with_channel.push_back(1);
    if (with_channel == expected) return x.reshape(expected.with_batch(x.dim(0)));
  }
  throw ValueError(std::string(argument) + " has shape " + x.shape().to_string() + ", but model \"" + model.name +
                   "\" expects input of shape " + expected.with_batch(0).to_string(true));
}

Tensor conform_targets(ModelState& model, const Tensor& x, const Tensor& y_in, const char* argument) {
  if (!y_in.defined()) throw ValueError(std::string(argument) + " is an undefined tensor");
  const Tensor y = on_host(y_in);
  if (y.shape().rank() < 1 || y.dim(0) != x.dim(0)) {
    throw ValueError("x and " + std::string(argument) + " hold different numbers of samples: x has " +
                     std::to_string(x.dim(0)) + " (shape " + x.shape().to_string() + "), " + argument + " has " +
                     (y.shape().rank() ? std::to_string(y.dim(0)) : std::string("none")) + " (shape " +
                     y.shape().to_string() + ")");
  }
  const Shape out = model.output_shape();
  if (model.loss.kind == backends::LossKind::sparse_categorical_crossentropy) {
    const int64_t classes = out[-1];
    if (y.numel() != y.dim(0)) {
      throw ValueError(std::string(argument) + " for sparse_categorical_crossentropy must hold one integer label per sample, "
                       "found shape " + y.shape().to_string() + "; use categorical_crossentropy for one-hot targets");
    }
    Tensor labels = y.to(Device());
    if (labels.dtype() == DType::float32) {
      const float* p = labels.data<float>();
      for (int64_t i = 0; i < labels.numel(); ++i) {
        if (p[i] != std::floor(p[i])) {
          throw ValueError(std::string(argument) + "[" + std::to_string(i) + "] = " + std::to_string(p[i]) +
                           " is not an integer class label");
        }
      }
    }
    labels = labels.astype(DType::int64);
    const int64_t* p = labels.data<int64_t>();
    for (int64_t i = 0; i < labels.numel(); ++i) {
      if (p[i] < 0 || p[i] >= classes) {
        throw ValueError("label out of range in " + std::string(argument) + ": " + argument + "[" + std::to_string(i) +
                         "] = " + std::to_string(p[i]) + ", expected 0 <= label < " + std::to_string(classes) +
                         " (the model's output has " + std::to_string(classes) + " classes)");
      }
    }
    return y.reshape({y.dim(0)});
  }
  if (y.shape().drop_batch().numel() != out.numel()) {
    throw ValueError(std::string(argument) + " has shape " + y.shape().to_string() + ", but the model's output is " +
                     out.with_batch(0).to_string(true) + "; " + model.loss.name + " needs targets of the output's shape" +
                     (out[-1] > 1 && y.numel() == y.dim(0) ? " (use sparse_categorical_crossentropy for integer labels)" : ""));
  }
  Tensor targets = y.dtype() == DType::float32 ? y : y.to_float();
  check_finite(targets, argument);
  return targets;
}

void check_finite(const Tensor& t, const char* argument) {
  if (t.dtype() != DType::float32) return;
  Tensor host = t.to(Device());
  const float* p = host.data<float>();
  const int64_t n = host.numel(), row = n / std::max<int64_t>(host.dim(0), 1);
  // A branch-free scan the compiler vectorizes (the data can be hundreds of MB); the slow
  // search for the position runs only when something was found.
  const uint32_t* bits = reinterpret_cast<const uint32_t*>(p);
  uint32_t all_ones_exponent = 0;
  for (int64_t i = 0; i < n; ++i) all_ones_exponent |= ((bits[i] & 0x7f800000u) == 0x7f800000u);
  if (!all_ones_exponent) return;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(p[i])) {
      throw NumericError(std::string(argument) + " contains " + (std::isnan(p[i]) ? "NaN" : "an infinite value") +
                         " at sample " + std::to_string(i / row) + " (flat index " + std::to_string(i) +
                         "); clean or impute the data before training");
    }
  }
}

}  // namespace kerosene::train
