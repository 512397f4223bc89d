// The merge layers of the Functional API: Add, Subtract, Multiply, Average, Maximum, Minimum
// (element-wise over inputs of one shape) and Concatenate (along an axis).
#pragma once

#include "nn/layer.h"

namespace kerosene::nn {

class Merge final : public Layer {
 public:
  enum class Op { add, subtract, multiply, average, maximum, minimum };
  Merge(Op op, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<Merge>(op_, name()); }
  Op op() const { return op_; }
  /// "Add", "Subtract", ...: Keras' class names.
  static std::string class_name_of(Op op);

  Shape compute_output_shape(const Shape& input) const override;
  Shape compute_output_shape(const std::vector<Shape>& inputs) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  const Tensor& forward(const std::vector<const Tensor*>& xs, bool training) override;
  void backward(const Tensor& dy, const std::vector<bool>& need_dx, std::vector<const Tensor*>& dxs) override;
  /// Add only: the residual join relu(shortcut + y) of a ResNet, in one pass.
  bool can_fuse_relu() const override;

 private:
  Op op_;
  bool relu_ = false;              // whether the last forward ended with a fused ReLU
  std::vector<const Tensor*> xs_;  // the inputs of the last forward (multiply, maximum, minimum)
  std::vector<Tensor> partial_;    // maximum/minimum: the running result after each input
  Tensor out_;
  std::vector<Tensor> dx_;
  Tensor scratch_;
};

class Concatenate final : public Layer {
 public:
  Concatenate(int axis, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<Concatenate>(axis_, name()); }
  int axis() const { return axis_; }

  Shape compute_output_shape(const Shape& input) const override;
  Shape compute_output_shape(const std::vector<Shape>& inputs) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  const Tensor& forward(const std::vector<const Tensor*>& xs, bool training) override;
  void backward(const Tensor& dy, const std::vector<bool>& need_dx, std::vector<const Tensor*>& dxs) override;

 private:
  /// The axis within one sample (0-based, without the batch dimension).
  int sample_axis(int rank) const;
  int axis_;
  Tensor out_;
  std::vector<Tensor> dx_;
};

}  // namespace kerosene::nn
