// Layers that move pixels and have no variables, channels-last (NHWC): GlobalAveragePooling2D,
// GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D.
#pragma once

#include "nn/layer.h"

namespace kerosene::nn {

/// GlobalAveragePooling2D and GlobalMaxPooling2D: the mean (max) of each channel over the
/// image; (channels) per sample, or (1, 1, channels) with keepdims. Runs as a pooling whose
/// window is the whole input, so the backends' pooling kernels serve it (and max pooling's
/// gradient goes to the first maximum, as MaxPooling2D's).
class GlobalPooling2D final : public Layer {
 public:
  GlobalPooling2D(backends::PoolKind kind, bool keepdims, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<GlobalPooling2D>(kind_, keepdims_, name()); }
  backends::PoolKind kind() const { return kind_; }
  bool keepdims() const { return keepdims_; }
  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  backends::Pool2DParams params(int64_t batch) const;
  backends::PoolKind kind_;
  bool keepdims_;
  Tensor x_, pooled_, out_, dx_;  // pooled_: (batch, 1, 1, channels); out_ may be its flat view
};

/// ZeroPadding2D, Cropping2D and UpSampling2D (nearest): every output pixel is a copy of one
/// input pixel or zero, so the three run on the backends' spatial_copy2d and its adjoint, and
/// differ only in the mapping they describe (params()).
class SpatialCopy2D final : public Layer {
 public:
  enum class Kind { zero_padding, cropping, up_sampling };
  struct Config {
    Kind kind;
    int top = 0, bottom = 0, left = 0, right = 0;  ///< rows and columns added (padding) or removed (cropping)
    int size_h = 1, size_w = 1;                    ///< up_sampling: each pixel becomes size_h x size_w
  };
  /// Throws ValueError naming the layer for a negative margin or a size below 1.
  SpatialCopy2D(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<SpatialCopy2D>(config_, name()); }
  const Config& config() const { return config_; }
  /// Throws ValueError naming the layer unless the input is (height, width, channels) and,
  /// for cropping, larger than what is cropped.
  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  backends::SpatialCopy2DParams params(int64_t batch) const;
  std::string margins_text() const;  // "((1, 2), (3, 4))", as Keras prints the option
  Config config_;
  Tensor out_, dx_;
};

}  // namespace kerosene::nn
