#include "nn/merge_layers.h"

#include "kerosene/error.h"
#include "ops/ops.h"

namespace kerosene::nn {
namespace {

std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string text;
  for (const Shape& s : shapes) text += (text.empty() ? "" : ", ") + s.with_batch(-1).to_string(true);
  return text;
}

}  // namespace

std::string Merge::class_name_of(Op op) {
  switch (op) {
    case Op::add: return "Add";
    case Op::subtract: return "Subtract";
    case Op::multiply: return "Multiply";
    case Op::average: return "Average";
    case Op::maximum: return "Maximum";
    case Op::minimum: return "Minimum";
  }
  return "Merge";
}

Merge::Merge(Op op, std::string name) : Layer(class_name_of(op), std::move(name)), op_(op) {}

Shape Merge::compute_output_shape(const Shape& input) const { return compute_output_shape(std::vector<Shape>{input}); }

Shape Merge::compute_output_shape(const std::vector<Shape>& inputs) const {
  const std::string what = "layer \"" + name() + "\" (" + class_name() + ")";
  if (op_ == Op::subtract && inputs.size() != 2) {
    throw ValueError(what + " takes exactly 2 inputs, got " + std::to_string(inputs.size()));
  }
  if (inputs.size() < 2) throw ValueError(what + " takes at least 2 inputs, got " + std::to_string(inputs.size()));
  for (const Shape& s : inputs) {
    if (s != inputs[0]) {
      throw ValueError(what + " needs inputs of one shape, got " + shapes_text(inputs));
    }
  }
  return inputs[0];
}

bool Merge::can_fuse_relu() const { return op_ == Op::add && ops::backend_for(device_).fuses_relu(); }

const Tensor& Merge::forward(const Tensor&, bool) {
  throw ValueError("layer \"" + name() + "\" (" + class_name() + ") takes a list of at least 2 inputs");
}
const Tensor& Merge::backward(const Tensor&, bool) {
  throw RuntimeError("layer \"" + name() + "\" (" + class_name() + ") has several inputs");
}

const Tensor& Merge::forward(const std::vector<const Tensor*>& xs, bool) {
  const Tensor& x0 = *xs.at(0);
  const Shape shape = x0.shape();
  for (const Tensor* x : xs) ops::check_shape(class_name().c_str(), "input", *x, shape);
  auto& backend = ops::backend_of(class_name().c_str(), x0);
  ops::ensure(out_, shape, device_);
  xs_ = xs;
  const size_t n = xs.size();
  relu_ = fused_relu_ && op_ == Op::add;
  if (relu_) {
    for (size_t i = 1; i + 1 < n; ++i) backend.axpby(1.0f, i == 1 ? x0 : out_, 1.0f, *xs[i], out_);
    backend.add_relu(n == 2 ? x0 : out_, *xs[n - 1], out_);
    return out_;
  }
  switch (op_) {
    case Op::add:
    case Op::average: {
      backend.axpby(1.0f, x0, 1.0f, *xs[1], out_);
      for (size_t i = 2; i < n; ++i) backend.axpby(1.0f, out_, 1.0f, *xs[i], out_);
      if (op_ == Op::average) backend.axpby(1.0f / static_cast<float>(n), out_, 0.0f, out_, out_);
      break;
    }
    case Op::subtract: backend.axpby(1.0f, x0, -1.0f, *xs[1], out_); break;
    case Op::multiply: {
      backend.multiply(x0, *xs[1], out_);
      for (size_t i = 2; i < n; ++i) backend.multiply(out_, *xs[i], out_);
      break;
    }
    case Op::maximum:
    case Op::minimum: {
      // As Keras: ((x0 op x1) op x2) ...; backward walks the chain back, so keep each step.
      partial_.resize(n - 1);
      const Tensor* running = &x0;
      for (size_t i = 1; i < n; ++i) {
        Tensor& target = i + 1 == n ? out_ : ops::ensure(partial_[i - 1], shape, device_);
        backend.minmax(op_ == Op::maximum, *running, *xs[i], target);
        running = &target;
      }
      break;
    }
  }
  return out_;
}

void Merge::backward(const Tensor& dy, const std::vector<bool>& need_dx, std::vector<const Tensor*>& dxs) {
  const size_t n = xs_.size();
  dxs.assign(n, nullptr);
  dx_.resize(n);
  auto& backend = ops::backend_of(class_name().c_str(), dy);
  const Shape& shape = dy.shape();
  if (relu_) {  // every input gets dy where the output is positive
    backends::ActivationParams relu;
    relu.kind = backends::ActivationKind::relu;
    backend.activation_backward(relu, out_, out_, dy, ops::ensure(scratch_, shape, device_));
    for (size_t i = 0; i < n; ++i) dxs[i] = need_dx[i] ? &scratch_ : nullptr;
    return;
  }
  switch (op_) {
    case Op::add:
      for (size_t i = 0; i < n; ++i) dxs[i] = need_dx[i] ? &dy : nullptr;
      break;
    case Op::subtract:
      if (need_dx[0]) dxs[0] = &dy;
      if (need_dx[1]) {
        backend.axpby(-1.0f, dy, 0.0f, dy, ops::ensure(dx_[1], shape, device_));
        dxs[1] = &dx_[1];
      }
      break;
    case Op::average: {
      backend.axpby(1.0f / static_cast<float>(n), dy, 0.0f, dy, ops::ensure(scratch_, shape, device_));
      for (size_t i = 0; i < n; ++i) dxs[i] = need_dx[i] ? &scratch_ : nullptr;
      break;
    }
    case Op::multiply:
      // d/dx_i = dy * product of the other inputs.
      for (size_t i = 0; i < n; ++i) {
        if (!need_dx[i]) continue;
        Tensor& d = ops::ensure(dx_[i], shape, device_);
        backend.multiply(dy, *xs_[i == 0 ? 1 : 0], d);
        for (size_t j = 0; j < n; ++j) {
          if (j != i && j != (i == 0 ? 1u : 0u)) backend.multiply(d, *xs_[j], d);
        }
        dxs[i] = &d;
      }
      break;
    case Op::maximum:
    case Op::minimum: {
      // Back along the chain: step i combined running_{i-1} (x0 for i = 1) with x_i.
      const bool maximum = op_ == Op::maximum;
      Tensor& g_running = ops::ensure(scratch_, shape, device_);
      backend.axpby(1.0f, dy, 0.0f, dy, g_running);
      for (size_t i = n - 1; i >= 1; --i) {
        const Tensor& running = i == 1 ? *xs_[0] : partial_[i - 2];
        Tensor& gi = ops::ensure(dx_[i], shape, device_);
        // g_running is both read (as dy) and written (as da): the kernels read dy first.
        backend.minmax_backward(maximum, running, *xs_[i], g_running, g_running, gi);
        dxs[i] = need_dx[i] ? &gi : nullptr;
      }
      dxs[0] = need_dx[0] ? &g_running : nullptr;
      break;
    }
  }
}

Concatenate::Concatenate(int axis, std::string name) : Layer("Concatenate", std::move(name)), axis_(axis) {}

int Concatenate::sample_axis(int rank) const {
  // Keras counts the axis with the batch dimension: -1 is the last, 1 the first of a sample.
  const int full = axis_ < 0 ? axis_ + rank + 1 : axis_;
  if (full < 1 || full > rank) {
    throw ValueError("layer \"" + name() + "\" (Concatenate): axis " + std::to_string(axis_) +
                     " is out of range for inputs of rank " + std::to_string(rank + 1) +
                     (full == 0 ? " (the batch axis cannot be concatenated)" : ""));
  }
  return full - 1;
}

Shape Concatenate::compute_output_shape(const Shape& input) const {
  return compute_output_shape(std::vector<Shape>{input});
}

Shape Concatenate::compute_output_shape(const std::vector<Shape>& inputs) const {
  if (inputs.size() < 2) {
    throw ValueError("layer \"" + name() + "\" (Concatenate) takes at least 2 inputs, got " + std::to_string(inputs.size()));
  }
  const int rank = inputs[0].rank();
  const int a = sample_axis(rank);
  Shape out = inputs[0];
  out[a] = 0;
  for (const Shape& s : inputs) {
    bool fits = s.rank() == rank;
    for (int d = 0; fits && d < rank; ++d) fits = d == a || s[d] == inputs[0][d];
    if (!fits) {
      throw ValueError("layer \"" + name() + "\" (Concatenate) needs inputs whose shapes match except on the "
                       "concatenation axis " + std::to_string(axis_) + ", got " + shapes_text(inputs));
    }
    out[a] += s[a];
  }
  return out;
}

const Tensor& Concatenate::forward(const Tensor&, bool) {
  throw ValueError("layer \"" + name() + "\" (Concatenate) takes a list of at least 2 inputs");
}
const Tensor& Concatenate::backward(const Tensor&, bool) {
  throw RuntimeError("layer \"" + name() + "\" (Concatenate) has several inputs");
}

const Tensor& Concatenate::forward(const std::vector<const Tensor*>& xs, bool) {
  const int64_t batch = xs.at(0)->dim(0);
  for (size_t i = 0; i < xs.size(); ++i) {
    ops::check_shape("Concatenate", "input", *xs[i], input_shapes()[i].with_batch(batch));
  }
  const int a = sample_axis(output_shape().rank());
  ops::ensure(out_, output_shape().with_batch(batch), device_);
  // Viewed as matrices: rows = everything before the axis, columns = the axis and after.
  const int64_t rows = batch * (output_shape().numel() / output_shape().numel_from(a));
  const int64_t out_cols = output_shape().numel_from(a);
  auto& backend = ops::backend_of("Concatenate", *xs[0]);
  int64_t col = 0;
  for (const Tensor* x : xs) {
    const int64_t cols = x->numel() / rows;
    backend.copy_block(*x, cols, 0, out_, out_cols, col, rows, cols);
    col += cols;
  }
  return out_;
}

void Concatenate::backward(const Tensor& dy, const std::vector<bool>& need_dx, std::vector<const Tensor*>& dxs) {
  const int64_t batch = dy.dim(0);
  const int a = sample_axis(output_shape().rank());
  const int64_t rows = batch * (output_shape().numel() / output_shape().numel_from(a));
  const int64_t out_cols = output_shape().numel_from(a);
  const size_t n = input_shapes().size();
  dxs.assign(n, nullptr);
  dx_.resize(n);
  auto& backend = ops::backend_of("Concatenate", dy);
  int64_t col = 0;
  for (size_t i = 0; i < n; ++i) {
    const Shape shape = input_shapes()[i].with_batch(batch);
    const int64_t cols = shape.numel() / rows;
    if (need_dx[i]) {
      Tensor& d = ops::ensure(dx_[i], shape, device_);
      backend.copy_block(dy, out_cols, col, d, cols, 0, rows, cols);
      dxs[i] = &d;
    }
    col += cols;
  }
}

}  // namespace kerosene::nn
