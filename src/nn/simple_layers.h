// Layers without variables: pooling, Flatten, Reshape, Dropout, Activation, Rescaling, and the
// Input marker. (Global pooling, padding, cropping and upsampling: spatial_layers.h.)
#pragma once

#include <optional>

#include "nn/activations.h"
#include "nn/layer.h"

namespace kerosene::nn {

/// Declares the per-sample input shape; not a layer of the model (Keras' InputLayer).
class InputLayer final : public Layer {
 public:
  InputLayer(const Shape& shape, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<InputLayer>(shape_, name()); }
  const Shape& shape() const { return shape_; }
  Shape compute_output_shape(const Shape& input) const override { return shape_; }
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  Shape shape_;
  Tensor out_;
};

class Pooling2D final : public Layer {
 public:
  struct Config {
    backends::PoolKind kind;
    int pool_h, pool_w, stride_h, stride_w;
    std::string padding;
  };
  Pooling2D(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<Pooling2D>(config_, name()); }
  const Config& config() const { return config_; }
  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  backends::Pool2DParams params(int64_t batch) const;
  Config config_;
  Tensor x_, out_, dx_;
};

/// Flatten and Reshape: views, no copies.
class ReshapeLayer final : public Layer {
 public:
  /// target: the per-sample shape (one entry may be -1); empty optional: flatten.
  ReshapeLayer(std::optional<Shape> target, std::string class_name, std::string name);
  std::shared_ptr<Layer> clone() const override {
    return std::make_shared<ReshapeLayer>(target_, class_name(), name());
  }
  /// The per-sample target shape; nullopt for Flatten.
  const std::optional<Shape>& target() const { return target_; }
  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  std::optional<Shape> target_;
  Tensor out_, dx_;
};

class Dropout final : public Layer {
 public:
  Dropout(float rate, std::optional<uint64_t> seed, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<Dropout>(rate_, seed_, name()); }
  float rate() const { return rate_; }
  const std::optional<uint64_t>& seed() const { return seed_; }
  Shape compute_output_shape(const Shape& input) const override { return input; }
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  /// The model's seed, used when the layer was given none.
  void set_default_seed(uint64_t seed) { default_seed_ = seed; }
  /// The count of random draws so far: part of the random state BackupAndRestore saves, so a
  /// resumed run draws the masks the uninterrupted one would have.
  uint64_t draw_offset() const { return offset_; }
  void set_draw_offset(uint64_t offset) { offset_ = offset; }

 private:
  float rate_;
  std::optional<uint64_t> seed_;
  uint64_t default_seed_ = 0;
  uint64_t offset_ = 0;  // counter of random draws, so each step draws a new mask
  bool dropped_ = false;
  Tensor x_, mask_, out_, dx_;
};

/// Keras' Rescaling: y = x * scale + offset, element-wise, in float32 as Keras computes it. The
/// values are kept as given (double), so a config read from Keras is written back unchanged.
class Rescaling final : public Layer {
 public:
  Rescaling(double scale, double offset, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<Rescaling>(scale_, offset_, name()); }
  double scale() const { return scale_; }
  double offset() const { return offset_; }
  Shape compute_output_shape(const Shape& input) const override { return input; }
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  double scale_, offset_;
  Tensor out_, dx_;
};

/// An activation as a layer: Keras' Activation (by name), ReLU, LeakyReLU and Softmax, which
/// differ only in the parameters they take and in their class_name (their config in a file).
class ActivationLayer final : public Layer {
 public:
  /// Throws ValueError for parameters Keras' layer rejects (a negative slope, max_value or
  /// threshold).
  ActivationLayer(const backends::ActivationParams& params, std::string class_name, std::string name);
  std::shared_ptr<Layer> clone() const override {
    return std::make_shared<ActivationLayer>(stage_.params(), class_name(), name());
  }
  const backends::ActivationParams& params() const { return stage_.params(); }
  /// Throws ValueError when a Softmax's axis is not in the input.
  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  /// A softmax fuses into the loss only along the last axis, the one the loss normalizes.
  backends::ActivationKind activation() const override;
  const Tensor& logits() const override { return stage_.logits(); }
  const Tensor& backward_from_logits(const Tensor& dlogits, bool need_dx) override { return dlogits; }

 private:
  ActivationStage stage_;
  Tensor copy_;
};

}  // namespace kerosene::nn
