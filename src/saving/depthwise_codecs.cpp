// DepthwiseConv2D and SeparableConv2D configs, with the keys Keras 3 writes, in its order
// (keras/src/layers/convolutional/base_depthwise_conv.py and base_separable_conv.py,
// get_config); read from any 3.x config, and from tf.keras 2 (which also writes "groups": 1).
#include "nn/activations.h"
#include "nn/depthwise_conv2d.h"
#include "saving/codec_helpers.h"

namespace kerosene::saving {
namespace {

// The keys both layers write before their initializers, after base_config (and, for
// SeparableConv2D, "filters", which Keras writes after depth_multiplier).
void write_window(const nn::DepthwiseWindow& w, ordered_json& c, const std::optional<int64_t>& filters) {
  c["depth_multiplier"] = w.depth_multiplier;
  if (filters) c["filters"] = *filters;
  c["kernel_size"] = {w.kernel_h, w.kernel_w};
  c["strides"] = {w.stride_h, w.stride_w};
  c["padding"] = w.padding;
  c["data_format"] = "channels_last";
  c["dilation_rate"] = {w.dilation_h, w.dilation_w};
}

nn::DepthwiseWindow read_window(ConfigFields& f) {
  nn::DepthwiseWindow w;
  w.depth_multiplier = f.integer("depth_multiplier", 1);
  if (w.depth_multiplier <= 0 || w.depth_multiplier > 1 << 16) f.fail("depth_multiplier", "a positive number");
  std::tie(w.kernel_h, w.kernel_w) = read_pair(f, "kernel_size");
  std::tie(w.stride_h, w.stride_w) = read_pair(f, "strides", std::vector<int64_t>{1, 1});
  w.padding = read_padding(f);
  read_channels_last(f);
  std::tie(w.dilation_h, w.dilation_w) = read_pair(f, "dilation_rate", std::vector<int64_t>{1, 1});
  f.require_default("groups", 1);  // tf.keras 2 writes Conv's key too
  return w;
}

// Regularizers and constraints: kerosene has none, so only their absence is accepted.
void write_no_regularizers(ordered_json& c, std::initializer_list<const char*> keys) {
  for (const char* k : keys) c[k] = nullptr;
}
void read_no_regularizers(ConfigFields& f, std::initializer_list<const char*> keys) {
  for (const char* k : keys) f.require_default(k);
}

// An absent initializer takes Keras' default, as Keras' from_config gives it.
std::string read_initializer_or(ConfigFields& f, const std::string& key, const std::string& keras_default) {
  return f.has(key) ? read_initializer(f, key) : keras_default;
}

ordered_json depthwise_config(const nn::DepthwiseConv2D& layer) {
  const auto& k = layer.config();
  ordered_json c = base_config(layer);
  write_window(k.window, c, std::nullopt);
  c["activation"] = nn::activation_name(k.activation);
  c["use_bias"] = k.use_bias;
  c["depthwise_initializer"] = initializer_envelope(k.depthwise_initializer);
  c["bias_initializer"] = initializer_envelope(k.bias_initializer);
  write_no_regularizers(c, {"depthwise_regularizer", "bias_regularizer", "activity_regularizer",
                            "depthwise_constraint", "bias_constraint"});
  return c;
}

ordered_json separable_config(const nn::SeparableConv2D& layer) {
  const auto& k = layer.config();
  ordered_json c = base_config(layer);
  write_window(k.window, c, k.filters);
  c["activation"] = nn::activation_name(k.activation);
  c["use_bias"] = k.use_bias;
  c["depthwise_initializer"] = initializer_envelope(k.depthwise_initializer);
  c["pointwise_initializer"] = initializer_envelope(k.pointwise_initializer);
  c["bias_initializer"] = initializer_envelope(k.bias_initializer);
  write_no_regularizers(c, {"depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                            "activity_regularizer", "depthwise_constraint", "pointwise_constraint",
                            "bias_constraint"});
  return c;
}

}  // namespace

std::optional<ordered_json> depthwise_family_config(const nn::Layer& layer) {
  if (const auto* d = dynamic_cast<const nn::DepthwiseConv2D*>(&layer)) return depthwise_config(*d);
  if (const auto* s = dynamic_cast<const nn::SeparableConv2D*>(&layer)) return separable_config(*s);
  return std::nullopt;
}

std::shared_ptr<nn::Layer> depthwise_family_from(ConfigFields& f, const std::string& class_name,
                                                 const std::string& name, KerasGeneration generation) {
  if (class_name == "DepthwiseConv2D") {
    nn::DepthwiseConv2D::Config c;
    c.window = read_window(f);
    c.activation = read_activation(f, generation);
    c.use_bias = f.boolean("use_bias", true);
    c.depthwise_initializer = read_initializer_or(f, "depthwise_initializer", "glorot_uniform");
    c.bias_initializer = read_initializer_or(f, "bias_initializer", "zeros");
    read_no_regularizers(f, {"depthwise_regularizer", "bias_regularizer", "depthwise_constraint", "bias_constraint"});
    return std::make_shared<nn::DepthwiseConv2D>(c, name);
  }
  if (class_name == "SeparableConv2D" || class_name == "SeparableConvolution2D") {
    nn::SeparableConv2D::Config c;
    c.filters = f.integer("filters");
    if (c.filters <= 0) f.fail("filters", "a positive number");
    c.window = read_window(f);
    c.activation = read_activation(f, generation);
    c.use_bias = f.boolean("use_bias", true);
    c.depthwise_initializer = read_initializer_or(f, "depthwise_initializer", "glorot_uniform");
    c.pointwise_initializer = read_initializer_or(f, "pointwise_initializer", "glorot_uniform");
    c.bias_initializer = read_initializer_or(f, "bias_initializer", "zeros");
    read_no_regularizers(f, {"depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                             "depthwise_constraint", "pointwise_constraint", "bias_constraint"});
    return std::make_shared<nn::SeparableConv2D>(c, name);
  }
  return nullptr;
}

}  // namespace kerosene::saving
