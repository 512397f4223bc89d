#include "saving/activation_codecs.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "kerosene/error.h"
#include "nn/activations.h"

namespace kerosene::saving {
namespace {

using backends::ActivationKind;

// The shortest decimal that reads back as the float (0.3f -> 0.3): what Keras writes for the
// Python float a user gives, where the float's exact double would be 0.30000001192092896.
double shortest(float v) {
  char text[32] = {};
  std::to_chars(text, text + sizeof text - 1, v);
  return std::strtod(text, nullptr);
}

// A float option of at least 0 (as Keras' layers require).
float non_negative(ConfigFields& f, const std::string& key, double fallback) {
  const double v = f.number(key, fallback);
  if (!(v >= 0.0) || v > std::numeric_limits<float>::max()) f.fail(key, "a number of 0 or more");
  return static_cast<float>(v);
}

std::shared_ptr<nn::Layer> relu_from(ConfigFields& f, const std::string& name) {
  backends::ActivationParams p{};
  p.kind = ActivationKind::relu;
  if (!f.raw("max_value").is_null()) p.max_value = non_negative(f, "max_value", 0.0);
  p.negative_slope = non_negative(f, "negative_slope", 0.0);
  p.threshold = non_negative(f, "threshold", 0.0);
  return std::make_shared<nn::ActivationLayer>(p, "ReLU", name);
}

std::shared_ptr<nn::Layer> leaky_relu_from(ConfigFields& f, const std::string& name) {
  backends::ActivationParams p{};
  p.kind = ActivationKind::leaky_relu;
  // Keras 2 named the slope "alpha"; Keras 3 still takes it, before negative_slope.
  p.negative_slope = f.has("alpha") ? non_negative(f, "alpha", 0.3) : non_negative(f, "negative_slope", 0.3);
  f.ignore({"negative_slope"});
  return std::make_shared<nn::ActivationLayer>(p, "LeakyReLU", name);
}

std::shared_ptr<nn::Layer> softmax_from(ConfigFields& f, const std::string& name) {
  backends::ActivationParams p{};
  p.kind = ActivationKind::softmax;
  const json& v = f.raw("axis");
  // Keras also takes a list of axes; one axis is the same as the number.
  const json& axis = v.is_array() && v.size() == 1 ? v[0] : v;
  if (axis.is_null()) {
    p.axis = -1;
  } else if (axis.is_number_integer() && std::abs(axis.get<int64_t>()) <= 16) {
    p.axis = static_cast<int>(axis.get<int64_t>());
  } else {
    f.fail("axis", "one axis (kerosene's Softmax normalizes along one)");
  }
  return std::make_shared<nn::ActivationLayer>(p, "Softmax", name);
}

}  // namespace

ActivationKind read_activation(ConfigFields& f, KerasGeneration generation, const std::string& key) {
  const json& v = f.raw(key);
  if (v.is_null()) return ActivationKind::linear;
  std::string name;
  if (v.is_string()) {
    name = v.get<std::string>();
  } else if (v.is_object() && v.contains("config") && v["config"].is_string()) {
    name = v["config"].get<std::string>();  // an activation serialized as a function envelope
  } else {
    f.fail(key, "an activation name");
  }
  ActivationKind kind = ActivationKind::linear;
  try {
    kind = nn::parse_activation(name);
  } catch (const ValueError&) {
    f.fail(key, "one of kerosene's activations: " + nn::activation_names());
  }
  if (kind == ActivationKind::hard_sigmoid && generation == KerasGeneration::keras2) {
    f.fail(key, "an activation other than Keras 2's hard_sigmoid (0.2 x + 0.5, clipped), which is not Keras 3's "
                "(relu6(x + 3) / 6) that kerosene has");
  }
  return kind;
}

void write_activation_layer(const nn::ActivationLayer& layer, ordered_json& config) {
  const backends::ActivationParams& p = layer.params();
  if (layer.class_name() == "ReLU") {
    config["max_value"] = std::isinf(p.max_value) ? ordered_json(nullptr) : ordered_json(shortest(p.max_value));
    config["negative_slope"] = shortest(p.negative_slope);
    config["threshold"] = shortest(p.threshold);
  } else if (layer.class_name() == "LeakyReLU") {
    config["negative_slope"] = shortest(p.negative_slope);
  } else if (layer.class_name() == "Softmax") {
    config["axis"] = p.axis;
  } else {
    config["activation"] = nn::activation_name(p.kind);
  }
}

std::shared_ptr<nn::Layer> activation_layer_from(ConfigFields& f, const std::string& class_name,
                                                 const std::string& name, KerasGeneration generation) {
  if (class_name == "Activation") {
    return std::make_shared<nn::ActivationLayer>(nn::activation_params(read_activation(f, generation)), "Activation",
                                                 name);
  }
  if (class_name == "ReLU") return relu_from(f, name);
  if (class_name == "LeakyReLU") return leaky_relu_from(f, name);
  if (class_name == "Softmax") return softmax_from(f, name);
  return nullptr;
}

}  // namespace kerosene::saving
