#include "train/validation.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

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

/// The tensors of `data` in the order of `names` (the model's inputs or outputs), each with
/// the name its errors give.
std::vector<std::pair<Tensor, std::string>> in_order(const Tensors& data, const std::vector<std::string>& names,
                                                     const std::string& argument, const std::string& model,
                                                     const char* what) {
  std::vector<std::pair<Tensor, std::string>> out;
  const size_t n = names.size();
  std::string listed;
  for (const auto& name : names) listed += (listed.empty() ? "" : ", ") + name;
  if (data.by_name()) {
    for (const auto& [key, t] : data.named()) {
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        throw ValueError(argument + "[\"" + key + "\"]: model \"" + model + "\" has no " + what + " of that name; its " +
                         what + "s are " + listed);
      }
    }
    for (const auto& name : names) {
      const auto it = data.named().find(name);
      if (it == data.named().end()) {
        throw ValueError(argument + " has no tensor for " + what + " \"" + name + "\" of model \"" + model +
                         "\" (its " + what + "s are " + listed + ")");
      }
      out.emplace_back(it->second, argument + "[\"" + name + "\"]");
    }
    return out;
  }
  if (data.list().size() != n) {
    throw ValueError(argument + " holds " + std::to_string(data.list().size()) + " tensor" +
                     (data.list().size() == 1 ? "" : "s") + ", but model \"" + model + "\" has " + std::to_string(n) +
                     " " + what + (n == 1 ? "" : "s") + " (" + listed + ")");
  }
  for (size_t i = 0; i < n; ++i) out.emplace_back(data.list()[i], n == 1 ? argument : argument + "[" + std::to_string(i) + "]");
  return out;
}

Tensor conform_input(const Shape& expected, const std::string& model, const Tensor& x, const std::string& argument) {
  const Shape sample = x.shape().drop_batch();
  if (sample == expected) return x;
  if (sample.rank() + 1 == expected.rank() && expected[-1] == 1) {
    Shape with_channel = sample;
    with_channel.push_back(1);
    if (with_channel == expected) return x.reshape(expected.with_batch(x.dim(0)));
  }
  throw ValueError(argument + " has shape " + x.shape().to_string() + ", but model \"" + model +
                   "\" expects input of shape " + expected.with_batch(0).to_string(true));
}

Tensor conform_target(const Shape& out, const LossConfig& loss, const Tensor& y_in, int64_t rows,
                      const std::string& argument) {
  if (!y_in.defined()) throw ValueError(argument + " is an undefined tensor");
  const Tensor y = on_host(y_in);
  if (y.shape().rank() < 1 || y.dim(0) != rows) {
    throw ValueError("x and " + argument + " hold different numbers of samples: x has " + std::to_string(rows) + ", " +
                     argument + " has " + (y.shape().rank() ? std::to_string(y.dim(0)) : std::string("none")) +
                     " (shape " + y.shape().to_string() + ")");
  }
  if (loss.kind == backends::LossKind::sparse_categorical_crossentropy) {
    const int64_t classes = out[-1];
    if (y.numel() != y.dim(0)) {
      throw ValueError(argument + " for sparse_categorical_crossentropy must hold one integer label per sample, "
                       "found shape " + y.shape().to_string() + "; use categorical_crossentropy for one-hot targets");
    }
    Tensor labels = y.to(Device());
    if (labels.dtype() == DType::float32) {
      const float* p = labels.data<float>();
      for (int64_t i = 0; i < labels.numel(); ++i) {
        if (p[i] != std::floor(p[i])) {
          throw ValueError(argument + "[" + std::to_string(i) + "] = " + std::to_string(p[i]) +
                           " is not an integer class label");
        }
      }
    }
    labels = labels.astype(DType::int64);
    const int64_t* p = labels.data<int64_t>();
    for (int64_t i = 0; i < labels.numel(); ++i) {
      if (p[i] < 0 || p[i] >= classes) {
        throw ValueError("label out of range in " + argument + ": " + argument + "[" + std::to_string(i) + "] = " +
                         std::to_string(p[i]) + ", expected 0 <= label < " + std::to_string(classes) +
                         " (the model's output has " + std::to_string(classes) + " classes)");
      }
    }
    // The loss reads int32 labels (float labels, e.g. from a .npy of floats, are converted once).
    return (y.dtype() == DType::float32 ? y.astype(DType::int32) : y).reshape({y.dim(0)});
  }
  if (y.shape().drop_batch().numel() != out.numel()) {
    throw ValueError(argument + " has shape " + y.shape().to_string() + ", but the model's output is " +
                     out.with_batch(0).to_string(true) + "; " + loss.name + " needs targets of the output's shape" +
                     (out[-1] > 1 && y.numel() == y.dim(0) ? " (use sparse_categorical_crossentropy for integer labels)" : ""));
  }
  Tensor targets = y.dtype() == DType::float32 ? y : y.to_float();
  check_finite(targets, argument.c_str());
  return targets;
}

}  // namespace

std::vector<Tensor> conform_inputs(ModelState& model, const Tensors& x, const std::string& argument, bool require_finite) {
  // A Sequential without an input shape is built from the first tensor given.
  if (!model.built() && !x.by_name() && x.list().size() == 1 && x.list()[0].defined() && x.list()[0].shape().rank() >= 1) {
    if (!model.declared_input) model.build(x.list()[0].shape().drop_batch());
  }
  if (!model.built() && model.declared_input) model.build(*model.declared_input);
  const std::vector<Shape> shapes = model.input_shapes();
  std::vector<std::string> names = model.input_names();
  if (names.empty()) names.assign(shapes.size(), "input");
  std::vector<Tensor> out;
  int64_t rows = -1;
  for (auto& [t, argument_name] : in_order(x, names, argument, model.name, "input")) {
    if (!t.defined()) throw ValueError(argument_name + " is an undefined tensor");
    const Tensor host = on_host(t);
    if (host.shape().rank() < 1 || host.dim(0) == 0) {
      throw ValueError(argument_name + " holds no samples (shape " + host.shape().to_string() + ")");
    }
    if (rows >= 0 && host.dim(0) != rows) {
      throw ValueError(argument_name + " holds " + std::to_string(host.dim(0)) + " samples, the inputs before it " +
                       std::to_string(rows));
    }
    rows = host.dim(0);
    out.push_back(conform_input(shapes[out.size()], model.name, host, argument_name));
    if (require_finite) check_finite(out.back(), argument_name.c_str());
  }
  return out;
}

std::vector<Tensor> conform_targets(ModelState& model, int64_t rows, const Tensors& y, const std::string& argument) {
  const std::vector<Shape> shapes = model.output_shapes();
  std::vector<Tensor> out;
  for (auto& [t, argument_name] : in_order(y, model.output_names(), argument, model.name, "output")) {
    const size_t o = out.size();
    out.push_back(conform_target(shapes[o], model.losses.at(o), t, rows, argument_name));
  }
  return out;
}

Tensor conform_sample_weight(const Tensor& weights, int64_t rows, const std::string& argument) {
  const Tensor w = on_host(weights);
  const Shape& shape = w.shape();
  const bool per_sample = shape.rank() == 1 || (shape.rank() == 2 && shape[1] == 1);
  if (!per_sample || w.dim(0) != rows) {
    throw ValueError(argument + " must hold one weight per sample, shape (" + std::to_string(rows) + ",) or (" +
                     std::to_string(rows) + ", 1) for the " + std::to_string(rows) + " samples of x; found shape " +
                     shape.to_string());
  }
  Tensor out = (w.dtype() == DType::float32 ? w : w.to_float()).reshape({rows});
  check_finite(out, argument.c_str());
  return out;
}

Tensor class_weight_to_sample_weights(const ModelState& model, const std::map<int, float>& class_weight,
                                      const std::vector<Tensor>& y) {
  if (y.size() != 1) {
    throw ValueError("class_weight is only supported for models with a single output; model \"" + model.name +
                     "\" has " + std::to_string(y.size()) + " (pass sample_weight instead)");
  }
  for (const auto& [index, weight] : class_weight) {
    if (index < 0) {
      throw ValueError("class_weight has the negative class index " + std::to_string(index) +
                       "; class indices are the labels 0, 1, 2, ...");
    }
    if (!std::isfinite(weight)) {
      throw ValueError("class_weight[" + std::to_string(index) + "] is " + std::to_string(weight) +
                       ", expected a finite weight");
    }
  }
  const Tensor labels = y[0].to(Device()).astype(DType::float32);
  const int64_t rows = labels.dim(0), cols = labels.numel() / std::max<int64_t>(rows, 1);
  if (labels.shape().rank() > 2) {
    throw ValueError("class_weight needs one label or one one-hot row per sample; the targets have shape " +
                     labels.shape().to_string());
  }
  Tensor out = Tensor::empty({rows}, DType::float32, Device());
  const float* p = labels.data<float>();
  float* w = out.data<float>();
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = p + i * cols;
    // As Keras: a row of several values is one-hot (its argmax), one value a label (rounded).
    const long label = cols > 1 ? static_cast<long>(std::max_element(row, row + cols) - row) : std::lround(row[0]);
    const auto it = label >= 0 && label <= INT32_MAX ? class_weight.find(static_cast<int>(label)) : class_weight.end();
    w[i] = it == class_weight.end() ? 1.0f : it->second;
  }
  return out;
}

void require_compiled(const ModelState& model, const char* what) {
  if (!model.compiled) {
    throw RuntimeError(std::string("call compile(optimizer, loss, metrics) before ") + what + " on model \"" + model.name +
                       "\"");
  }
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
