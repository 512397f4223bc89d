#include "saving/layer_codecs.h"

#include <cctype>

#include "kerosene/error.h"
#include "nn/merge_layers.h"
#include "nn/activations.h"
#include "saving/activation_codecs.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/normalization.h"
#include "nn/simple_layers.h"
#include "saving/codec_helpers.h"
#include "nn/spatial_layers.h"

namespace kerosene::saving {
namespace {

// --- Initializers: kerosene's names <-> Keras' classes ------------------------------------------

struct InitializerName {
  const char* kerosene;
  const char* keras;
  bool seeded;
};
constexpr InitializerName kInitializers[] = {
    {"glorot_uniform", "GlorotUniform", true}, {"glorot_normal", "GlorotNormal", true},
    {"he_normal", "HeNormal", true},           {"he_uniform", "HeUniform", true},
    {"zeros", "Zeros", false},                 {"ones", "Ones", false},
};

ordered_json shape_json(const Shape& shape, bool with_batch) {
  ordered_json out = ordered_json::array();
  if (with_batch) out.push_back(nullptr);
  for (int64_t d : shape.to_vector()) out.push_back(d);
  return out;
}

// Reads the base keys; returns the legacy batch_input_shape, if any. dtype_policy: the
// layer's policy name, empty when the config has none (the layer takes the global policy).
std::optional<Shape> read_base(ConfigFields& f, bool& trainable, std::string& dtype_policy) {
  trainable = f.boolean("trainable", true);
  const json& dtype = f.raw("dtype");
  std::string dtype_name = "float32";
  if (dtype.is_string()) {
    dtype_name = dtype.get<std::string>();
  } else if (dtype.is_object() && dtype.contains("config") && dtype["config"].is_object() &&
             dtype["config"].contains("name") && dtype["config"]["name"].is_string()) {
    dtype_name = dtype["config"]["name"].get<std::string>();  // a DTypePolicy envelope (Keras >= 3.4)
  } else if (!dtype.is_null()) {
    f.fail("dtype", "a dtype name or a DTypePolicy");
  }
  if (dtype_name != "float32" && dtype_name != "mixed_bfloat16" && dtype_name != "mixed_float16") {
    f.fail("dtype", "\"float32\", \"mixed_bfloat16\" or \"mixed_float16\" (kerosene's dtype policies)");
  }
  dtype_policy = dtype.is_null() ? "" : dtype_name;
  f.require_default("activity_regularizer");
  f.ignore({"name"});
  if (!f.has("batch_input_shape") || f.raw("batch_input_shape").is_null()) return std::nullopt;
  std::vector<int64_t> dims;
  const auto batch_shape = f.shape("batch_input_shape");
  for (size_t i = 1; i < batch_shape.size(); ++i) {
    if (!batch_shape[i]) f.fail("batch_input_shape", "known sizes after the batch dimension");
    dims.push_back(*batch_shape[i]);
  }
  return Shape(dims);
}

}  // namespace

// Shared with the codecs in files of their own (codec_helpers.h).
std::string read_padding(ConfigFields& f) {
  std::string padding = f.string("padding", "valid");
  if (padding != "valid" && padding != "same") f.fail("padding", "\"valid\" or \"same\"");
  return padding;
}

void read_channels_last(ConfigFields& f) {
  const json& v = f.raw("data_format");
  if (!v.is_null() && v != "channels_last") f.fail("data_format", "\"channels_last\" (kerosene's layout)");
}

std::pair<int, int> read_pair(ConfigFields& f, const std::string& key, std::optional<std::vector<int64_t>> fallback) {
  const auto v = f.integers(key, 2, std::move(fallback));
  if (v[0] <= 0 || v[1] <= 0 || v[0] > 1 << 16 || v[1] > 1 << 16) f.fail(key, "two positive sizes");
  return {static_cast<int>(v[0]), static_cast<int>(v[1])};
}

namespace {

// ZeroPadding2D's padding and Cropping2D's cropping in any form Keras accepts: n, [h, w] or
// [[top, bottom], [left, right]] (what Keras writes).
void read_margins(ConfigFields& f, const std::string& key, int fallback, nn::SpatialCopy2D::Config& c) {
  const json& v = f.raw(key);
  std::vector<int64_t> m(4, fallback);  // top, bottom, left, right
  auto whole = [](const json& e) { return e.is_number_integer() && e.get<int64_t>() >= 0 && e.get<int64_t>() <= 1 << 16; };
  auto pair = [&](const json& e) { return e.is_array() && e.size() == 2 && whole(e[0]) && whole(e[1]); };
  if (whole(v)) {
    m.assign(4, v.get<int64_t>());
  } else if (v.is_array() && v.size() == 2 && whole(v[0]) && whole(v[1])) {
    m = {v[0].get<int64_t>(), v[0].get<int64_t>(), v[1].get<int64_t>(), v[1].get<int64_t>()};
  } else if (v.is_array() && v.size() == 2 && pair(v[0]) && pair(v[1])) {
    m = {v[0][0].get<int64_t>(), v[0][1].get<int64_t>(), v[1][0].get<int64_t>(), v[1][1].get<int64_t>()};
  } else if (!v.is_null()) {
    f.fail(key, "n, [h, w] or [[top, bottom], [left, right]] of sizes of 0 or more");
  }
  c.top = static_cast<int>(m[0]);
  c.bottom = static_cast<int>(m[1]);
  c.left = static_cast<int>(m[2]);
  c.right = static_cast<int>(m[3]);
}

}  // namespace

ordered_json initializer_envelope(const std::string& name) {
  for (const auto& i : kInitializers) {
    if (name == i.kerosene) {
      ordered_json config = ordered_json::object();
      if (i.seeded) config["seed"] = nullptr;
      return keras_envelope("keras.initializers", i.keras, std::move(config));
    }
  }
  throw ValueError("initializer \"" + name + "\" has no Keras equivalent");
}

// An initializer given as a string ("glorot_uniform"), an envelope, or a legacy {class_name, config}.
std::string read_initializer(ConfigFields& f, const std::string& key) {
  const json& v = f.raw(key);
  std::string name;
  if (v.is_string()) {
    name = v.get<std::string>();
    for (const auto& i : kInitializers) {
      if (name == i.kerosene || name == i.keras) return i.kerosene;
    }
  } else if (v.is_object() && v.contains("class_name") && v["class_name"].is_string()) {
    name = v["class_name"].get<std::string>();
    for (const auto& i : kInitializers) {
      if (name == i.keras) return i.kerosene;
    }
  } else {
    f.fail(key, "an initializer");
  }
  f.fail(key, "one of GlorotUniform, GlorotNormal, HeNormal, HeUniform, Zeros, Ones (kerosene's initializers)");
}

// The keys every layer has (Layer.get_config), and the legacy ones kerosene reads.
ordered_json base_config(const nn::Layer& layer) {
  ordered_json c;
  c["name"] = layer.name();
  c["trainable"] = layer.trainable();
  // Keras >= 3.4 writes the DTypePolicy envelope; "float32" stays a string, which every 3.x reads.
  if (layer.dtype_policy() == "float32") {
    c["dtype"] = "float32";
  } else {
    c["dtype"] = keras_envelope("keras", "DTypePolicy", ordered_json{{"name", layer.dtype_policy()}});
  }
  return c;
}

namespace {

// --- Codecs -------------------------------------------------------------------------------------

ordered_json dense_config(const nn::Dense& d) {
  ordered_json c = base_config(d);
  c["units"] = d.config().units;
  c["activation"] = nn::activation_name(d.config().activation);
  c["use_bias"] = d.config().use_bias;
  c["kernel_initializer"] = initializer_envelope(d.config().kernel_initializer);
  c["bias_initializer"] = initializer_envelope(d.config().bias_initializer);
  for (const char* k : {"kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"}) c[k] = nullptr;
  return c;
}

std::shared_ptr<nn::Layer> dense_from(ConfigFields& f, const std::string& name, KerasGeneration generation) {
  nn::Dense::Config c{};
  c.units = f.integer("units");
  if (c.units <= 0) f.fail("units", "a positive number");
  c.activation = read_activation(f, generation);
  c.use_bias = f.boolean("use_bias", true);
  c.kernel_initializer = read_initializer(f, "kernel_initializer");
  c.bias_initializer = read_initializer(f, "bias_initializer");
  for (const char* k : {"kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint",
                        "quantization_config", "lora_rank"}) {
    f.require_default(k);
  }
  f.ignore({"lora_alpha"});
  return std::make_shared<nn::Dense>(c, name);
}

ordered_json conv2d_config(const nn::Conv2D& conv) {
  const auto& k = conv.config();
  ordered_json c = base_config(conv);
  c["filters"] = k.filters;
  c["kernel_size"] = {k.kernel_h, k.kernel_w};
  c["strides"] = {k.stride_h, k.stride_w};
  c["padding"] = k.padding;
  c["data_format"] = "channels_last";
  c["dilation_rate"] = {k.dilation_h, k.dilation_w};
  c["groups"] = 1;
  c["activation"] = nn::activation_name(k.activation);
  c["use_bias"] = k.use_bias;
  c["kernel_initializer"] = initializer_envelope(k.kernel_initializer);
  c["bias_initializer"] = initializer_envelope(k.bias_initializer);
  for (const char* key : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                          "bias_constraint"}) {
    c[key] = nullptr;
  }
  return c;
}

std::shared_ptr<nn::Layer> conv2d_from(ConfigFields& f, const std::string& name, KerasGeneration generation) {
  nn::Conv2D::Config c{};
  c.filters = f.integer("filters");
  if (c.filters <= 0) f.fail("filters", "a positive number");
  std::tie(c.kernel_h, c.kernel_w) = read_pair(f, "kernel_size");
  std::tie(c.stride_h, c.stride_w) = read_pair(f, "strides", std::vector<int64_t>{1, 1});
  c.padding = read_padding(f);
  read_channels_last(f);
  std::tie(c.dilation_h, c.dilation_w) = read_pair(f, "dilation_rate", std::vector<int64_t>{1, 1});
  if (f.integer("groups", 1) != 1) f.fail("groups", "1 (kerosene has no grouped convolutions yet)");
  c.activation = read_activation(f, generation);
  c.use_bias = f.boolean("use_bias", true);
  c.kernel_initializer = read_initializer(f, "kernel_initializer");
  c.bias_initializer = read_initializer(f, "bias_initializer");
  for (const char* k : {"kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint", "lora_rank"}) {
    f.require_default(k);
  }
  f.ignore({"lora_alpha"});
  return std::make_shared<nn::Conv2D>(c, name);
}

ordered_json pooling_config(const nn::Pooling2D& p) {
  const auto& k = p.config();
  ordered_json c = base_config(p);
  c["pool_size"] = {k.pool_h, k.pool_w};
  c["padding"] = k.padding;
  c["strides"] = {k.stride_h, k.stride_w};
  c["data_format"] = "channels_last";
  return c;
}

std::shared_ptr<nn::Layer> pooling_from(ConfigFields& f, const std::string& name, backends::PoolKind kind) {
  nn::Pooling2D::Config c{};
  c.kind = kind;
  std::tie(c.pool_h, c.pool_w) = read_pair(f, "pool_size", std::vector<int64_t>{2, 2});
  // strides null means the pool size (Keras resolves it the same way).
  std::tie(c.stride_h, c.stride_w) = read_pair(f, "strides", std::vector<int64_t>{c.pool_h, c.pool_w});
  c.padding = read_padding(f);
  read_channels_last(f);
  return std::make_shared<nn::Pooling2D>(c, name);
}

ordered_json spatial_copy_config(const nn::SpatialCopy2D& layer) {
  const auto& k = layer.config();
  ordered_json c = base_config(layer);
  using Kind = nn::SpatialCopy2D::Kind;
  if (k.kind == Kind::up_sampling) {
    c["size"] = {k.size_h, k.size_w};
    c["data_format"] = "channels_last";
    c["interpolation"] = "nearest";
  } else {
    c[k.kind == Kind::zero_padding ? "padding" : "cropping"] = {{k.top, k.bottom}, {k.left, k.right}};
    c["data_format"] = "channels_last";
  }
  return c;
}

std::shared_ptr<nn::Layer> spatial_copy_from(ConfigFields& f, const std::string& name, nn::SpatialCopy2D::Kind kind) {
  using Kind = nn::SpatialCopy2D::Kind;
  nn::SpatialCopy2D::Config c{kind};
  if (kind == Kind::up_sampling) {
    std::tie(c.size_h, c.size_w) = read_pair(f, "size", std::vector<int64_t>{2, 2});
    f.require_default("interpolation", "nearest");  // kerosene implements no other
  } else if (kind == Kind::zero_padding) {
    read_margins(f, "padding", 1, c);
  } else {
    read_margins(f, "cropping", 0, c);
  }
  read_channels_last(f);
  return std::make_shared<nn::SpatialCopy2D>(c, name);
}

std::shared_ptr<nn::Layer> rescaling_from(ConfigFields& f, const std::string& name) {
  // Keras also takes a list (a scale per channel); kerosene takes one number.
  if (!f.raw("scale").is_number()) f.fail("scale", "a number (kerosene has no per-channel scale)");
  if (!f.raw("offset").is_number() && !f.raw("offset").is_null()) {
    f.fail("offset", "a number (kerosene has no per-channel offset)");
  }
  return std::make_shared<nn::Rescaling>(f.number("scale"), f.number("offset", 0.0), name);
}

std::shared_ptr<nn::Layer> flatten_from(ConfigFields& f, const std::string& name) {
  read_channels_last(f);
  return std::make_shared<nn::ReshapeLayer>(std::nullopt, "Flatten", name);
}

std::shared_ptr<nn::Layer> reshape_from(ConfigFields& f, const std::string& name) {
  const json& v = f.raw("target_shape");
  if (!v.is_array() || v.empty() || v.size() > 8) f.fail("target_shape", "a list of sizes");
  std::vector<int64_t> dims;
  for (const json& d : v) {
    if (!d.is_number_integer() || (d.get<int64_t>() <= 0 && d.get<int64_t>() != -1)) {
      f.fail("target_shape", "a list of positive sizes (one may be -1)");
    }
    dims.push_back(d.get<int64_t>());
  }
  return std::make_shared<nn::ReshapeLayer>(Shape(dims), "Reshape", name);
}

std::shared_ptr<nn::Layer> dropout_from(ConfigFields& f, const std::string& name) {
  const double rate = f.number("rate");
  if (!(rate >= 0.0 && rate < 1.0)) f.fail("rate", "a number in [0, 1)");
  std::optional<uint64_t> seed;
  const json& s = f.raw("seed");
  if (s.is_number_integer() && s.get<int64_t>() >= 0) {
    seed = s.get<uint64_t>();
  } else if (!s.is_null()) {
    f.fail("seed", "null or a whole number of 0 or more");
  }
  f.require_default("noise_shape");
  return std::make_shared<nn::Dropout>(static_cast<float>(rate), seed, name);
}

std::optional<nn::Merge::Op> merge_op(const std::string& class_name) {
  using Op = nn::Merge::Op;
  for (Op op : {Op::add, Op::subtract, Op::multiply, Op::average, Op::maximum, Op::minimum}) {
    if (nn::Merge::class_name_of(op) == class_name) return op;
  }
  return std::nullopt;
}

}  // namespace

std::string snake_case(const std::string& name) {
  // (.)([A-Z][a-z]+) -> \1_\2, then ([a-z])([A-Z]) -> \1_\2, then lower case.
  std::string first;
  for (size_t i = 0; i < name.size(); ++i) {
    if (i > 0 && std::isupper(static_cast<unsigned char>(name[i])) && i + 1 < name.size() &&
        std::islower(static_cast<unsigned char>(name[i + 1]))) {
      first += '_';
    }
    first += name[i];
  }
  std::string out;
  for (size_t i = 0; i < first.size(); ++i) {
    if (i > 0 && std::islower(static_cast<unsigned char>(first[i - 1])) && std::isupper(static_cast<unsigned char>(first[i]))) {
      out += '_';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(first[i])));
  }
  return out;
}

ordered_json input_layer_envelope(const Shape& shape, const std::string& name) {
  ordered_json c;
  c["batch_shape"] = shape_json(shape, true);
  c["dtype"] = "float32";
  c["sparse"] = false;
  c["name"] = name;
  return keras_envelope("keras.layers", "InputLayer", std::move(c));
}

ordered_json layer_envelope(const nn::Layer& layer) {
  ordered_json config;
  if (const auto* d = dynamic_cast<const nn::Dense*>(&layer)) {
    config = dense_config(*d);
  } else if (const auto* c = dynamic_cast<const nn::Conv2D*>(&layer)) {
    config = conv2d_config(*c);
  } else if (auto depthwise = depthwise_family_config(layer)) {
    config = std::move(*depthwise);
  } else if (const auto* p = dynamic_cast<const nn::Pooling2D*>(&layer)) {
    config = pooling_config(*p);
  } else if (const auto* r = dynamic_cast<const nn::ReshapeLayer*>(&layer)) {
    config = base_config(layer);
    if (r->target()) {
      config["target_shape"] = shape_json(*r->target(), false);
    } else {
      config["data_format"] = "channels_last";
    }
  } else if (const auto* g = dynamic_cast<const nn::GlobalPooling2D*>(&layer)) {
    config = base_config(layer);
    config["data_format"] = "channels_last";
    config["keepdims"] = g->keepdims();
  } else if (const auto* sc = dynamic_cast<const nn::SpatialCopy2D*>(&layer)) {
    config = spatial_copy_config(*sc);
  } else if (const auto* rs = dynamic_cast<const nn::Rescaling*>(&layer)) {
    config = base_config(layer);
    config["scale"] = rs->scale();
    config["offset"] = rs->offset();
  } else if (const auto* drop = dynamic_cast<const nn::Dropout*>(&layer)) {
    config = base_config(layer);
    config["rate"] = static_cast<double>(drop->rate());
    config["seed"] = drop->seed() ? ordered_json(*drop->seed()) : ordered_json(nullptr);
    config["noise_shape"] = nullptr;
  } else if (const auto* a = dynamic_cast<const nn::ActivationLayer*>(&layer)) {
    config = base_config(layer);
    write_activation_layer(*a, config);
  } else if (dynamic_cast<const nn::Merge*>(&layer)) {
    config = base_config(layer);
  } else if (const auto* cat = dynamic_cast<const nn::Concatenate*>(&layer)) {
    config = base_config(layer);
    config["axis"] = cat->axis();
  } else if (const auto* bn = dynamic_cast<const nn::BatchNormalization*>(&layer)) {
    config = batch_normalization_config(*bn);
  } else if (const auto* ln = dynamic_cast<const nn::LayerNormalization*>(&layer)) {
    config = layer_normalization_config(*ln);
  } else {
    throw ValueError("layer \"" + layer.name() + "\" (" + layer.class_name() + ") cannot be saved in Keras' format yet");
  }
  ordered_json e = keras_envelope("keras.layers", layer.class_name(), std::move(config));
  if (layer.built() && layer.input_shapes().size() > 1) {
    ordered_json shapes = ordered_json::array();
    for (const Shape& s : layer.input_shapes()) shapes.push_back(shape_json(s, true));
    e["build_config"] = {{"input_shape", shapes}};
  } else if (layer.built()) {
    e["build_config"] = {{"input_shape", shape_json(layer.input_shape(), true)}};
  }
  return e;
}

DecodedLayer decode_layer(const json& e, const std::string& file, KerasGeneration generation) {
  if (!e.is_object() || !e.contains("class_name") || !e["class_name"].is_string() || !e.contains("config")) {
    throw ValueError(file + ": expected a layer ({\"class_name\": ..., \"config\": {...}}), found " + describe(e));
  }
  const std::string class_name = e["class_name"].get<std::string>();
  const json& config = e["config"];
  std::string name = config.is_object() && config.contains("name") && config["name"].is_string()
                         ? config["name"].get<std::string>()
                         : snake_case(class_name);
  std::string where = file;
  where += ": layer \"";
  where += name;
  where += "\" (";
  where += class_name;
  where += ")";
  if (e.contains("module") && e["module"].is_string()) {
    const std::string module = e["module"].get<std::string>();
    if (module.rfind("keras", 0) != 0) {
      throw ValueError(where + ": a custom layer from module \"" + module + "\" cannot be loaded by kerosene");
    }
  }
  ConfigFields f(config, where);
  DecodedLayer out;
  if (class_name == "InputLayer") {
    std::vector<std::optional<int64_t>> batch_shape;
    if (f.has("batch_shape")) {
      batch_shape = f.shape("batch_shape");
    } else if (f.has("batch_input_shape")) {
      batch_shape = f.shape("batch_input_shape");
    } else {
      f.fail("batch_shape", "the input's shape");
    }
    std::vector<int64_t> dims;
    for (size_t i = 1; i < batch_shape.size(); ++i) {
      if (!batch_shape[i]) f.fail("batch_shape", "known sizes after the batch dimension");
      dims.push_back(*batch_shape[i]);
    }
    if (batch_shape.empty()) f.fail("batch_shape", "a batch dimension");
    out.input_shape = Shape(dims);
    const json& dtype = f.raw("dtype");
    if (!dtype.is_null() && dtype != "float32") f.fail("dtype", "\"float32\" (kerosene's inputs are float32)");
    f.require_default("sparse", false);
    f.require_default("ragged", false);
    f.require_default("optional", false);
    f.ignore({"name", "input_tensor"});
    f.finish();
    return out;
  }
  bool trainable = true;
  std::string dtype_policy;
  out.input_shape = read_base(f, trainable, dtype_policy);
  using backends::PoolKind;
  if (class_name == "Dense") {
    out.layer = dense_from(f, name, generation);
  } else if (class_name == "Conv2D" || class_name == "Convolution2D") {
    out.layer = conv2d_from(f, name, generation);
  } else if (auto depthwise = depthwise_family_from(f, class_name, name, generation)) {
    out.layer = std::move(depthwise);
  } else if (class_name == "MaxPooling2D" || class_name == "MaxPool2D") {
    out.layer = pooling_from(f, name, PoolKind::max);
  } else if (class_name == "AveragePooling2D" || class_name == "AvgPool2D") {
    out.layer = pooling_from(f, name, PoolKind::average);
  } else if (class_name == "GlobalAveragePooling2D" || class_name == "GlobalAvgPool2D" ||
             class_name == "GlobalMaxPooling2D" || class_name == "GlobalMaxPool2D") {
    read_channels_last(f);
    const bool max = class_name.find("Max") != std::string::npos;
    out.layer = std::make_shared<nn::GlobalPooling2D>(max ? PoolKind::max : PoolKind::average,
                                                      f.boolean("keepdims", false), name);
  } else if (class_name == "ZeroPadding2D") {
    out.layer = spatial_copy_from(f, name, nn::SpatialCopy2D::Kind::zero_padding);
  } else if (class_name == "Cropping2D") {
    out.layer = spatial_copy_from(f, name, nn::SpatialCopy2D::Kind::cropping);
  } else if (class_name == "UpSampling2D") {
    out.layer = spatial_copy_from(f, name, nn::SpatialCopy2D::Kind::up_sampling);
  } else if (class_name == "Rescaling") {
    out.layer = rescaling_from(f, name);
  } else if (class_name == "Flatten") {
    out.layer = flatten_from(f, name);
  } else if (class_name == "Reshape") {
    out.layer = reshape_from(f, name);
  } else if (class_name == "Dropout") {
    out.layer = dropout_from(f, name);
  } else if (auto activation = activation_layer_from(f, class_name, name, generation)) {
    out.layer = std::move(activation);
  } else if (const auto op = merge_op(class_name)) {
    out.layer = std::make_shared<nn::Merge>(*op, name);
  } else if (class_name == "Concatenate") {
    const json& axis = f.raw("axis");
    if (!axis.is_number_integer()) f.fail("axis", "a whole number");
    out.layer = std::make_shared<nn::Concatenate>(axis.get<int>(), name);
  } else if (class_name == "BatchNormalization") {
    out.layer = batch_normalization_from(f, name);
  } else if (class_name == "LayerNormalization") {
    out.layer = layer_normalization_from(f, name);
  } else {
    throw ValueError(where + ": kerosene has no layer class \"" + class_name +
                     "\"; it loads Dense, Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPooling2D, AveragePooling2D, "
                     "GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D, Rescaling, "
                     "Flatten, Reshape, "
                     "Dropout, Activation, ReLU, LeakyReLU, Softmax, Add, Subtract, Multiply, Average, Maximum, "
                     "Minimum, Concatenate, BatchNormalization, LayerNormalization");
  }
  if (out.layer) out.layer->set_trainable(trainable);  // Keras' layer.trainable = False
  if (out.layer && !dtype_policy.empty()) out.layer->set_dtype_policy(dtype_policy);
  f.finish();
  return out;
}

}  // namespace kerosene::saving
