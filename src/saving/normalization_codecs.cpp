// BatchNormalization and LayerNormalization configs. Written with the keys of Keras 3.0 (which
// every 3.x reads); read from any 3.x config (renorm keys of 3.x, LayerNormalization's axis as
// the list a built layer writes) and from tf.keras 2 (axis as a one-element list, "fused").
#include "kerosene/error.h"
#include "nn/normalization.h"
#include "saving/codec_helpers.h"

namespace kerosene::saving {
namespace {

// An axis as an integer or a one-element list; kerosene normalizes the last axis only, which
// build() checks against the input's rank (0, the batch axis, is refused here).
int64_t read_axis(ConfigFields& f) {
  const json& v = f.raw("axis");
  int64_t axis = -1;
  if (v.is_number_integer()) {
    axis = v.get<int64_t>();
  } else if (v.is_array() && v.size() == 1 && v[0].is_number_integer()) {
    axis = v[0].get<int64_t>();
  } else if (!v.is_null()) {
    f.fail("axis", "one axis, the last (kerosene normalizes the last axis only)");
  }
  if (axis == 0) f.fail("axis", "-1, the last axis (kerosene normalizes the last axis only)");
  return axis;
}

void read_no_regularizers(ConfigFields& f) {
  for (const char* k : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"}) {
    f.require_default(k);
  }
}

void write_no_regularizers(ordered_json& c) {
  for (const char* k : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"}) c[k] = nullptr;
}

}  // namespace

ordered_json batch_normalization_config(const nn::BatchNormalization& layer) {
  const auto& k = layer.config();
  ordered_json c = base_config(layer);
  c["axis"] = k.axis;
  c["momentum"] = k.momentum;
  c["epsilon"] = k.epsilon;
  c["center"] = k.center;
  c["scale"] = k.scale;
  c["beta_initializer"] = initializer_envelope(k.beta_initializer);
  c["gamma_initializer"] = initializer_envelope(k.gamma_initializer);
  c["moving_mean_initializer"] = initializer_envelope(k.moving_mean_initializer);
  c["moving_variance_initializer"] = initializer_envelope(k.moving_variance_initializer);
  write_no_regularizers(c);
  c["synchronized"] = k.synchronized;
  return c;
}

std::shared_ptr<nn::Layer> batch_normalization_from(ConfigFields& f, const std::string& name) {
  nn::BatchNormalization::Config c;
  c.axis = read_axis(f);
  c.momentum = f.number("momentum", 0.99);
  c.epsilon = f.number("epsilon", 1e-3);
  c.center = f.boolean("center", true);
  c.scale = f.boolean("scale", true);
  c.beta_initializer = f.has("beta_initializer") ? read_initializer(f, "beta_initializer") : "zeros";
  c.gamma_initializer = f.has("gamma_initializer") ? read_initializer(f, "gamma_initializer") : "ones";
  c.moving_mean_initializer = f.has("moving_mean_initializer") ? read_initializer(f, "moving_mean_initializer") : "zeros";
  c.moving_variance_initializer =
      f.has("moving_variance_initializer") ? read_initializer(f, "moving_variance_initializer") : "ones";
  read_no_regularizers(f);
  c.synchronized = f.boolean("synchronized", false);
  f.require_default("renorm", false);
  f.require_default("renorm_clipping");
  f.require_default("virtual_batch_size");  // tf.keras 2
  f.require_default("adjustment");          // tf.keras 2
  // Without renorm its momentum does nothing; "fused" chose a tf.keras 2 kernel, not the result.
  f.ignore({"renorm_momentum", "fused"});
  return std::make_shared<nn::BatchNormalization>(c, name);
}

ordered_json layer_normalization_config(const nn::LayerNormalization& layer) {
  const auto& k = layer.config();
  ordered_json c = base_config(layer);
  c["axis"] = ordered_json::array({k.axis});  // a built Keras layer writes its axes as a list
  c["epsilon"] = k.epsilon;
  c["center"] = k.center;
  c["scale"] = k.scale;
  c["rms_scaling"] = false;
  c["beta_initializer"] = initializer_envelope(k.beta_initializer);
  c["gamma_initializer"] = initializer_envelope(k.gamma_initializer);
  write_no_regularizers(c);
  return c;
}

std::shared_ptr<nn::Layer> layer_normalization_from(ConfigFields& f, const std::string& name) {
  nn::LayerNormalization::Config c;
  c.axis = read_axis(f);
  c.epsilon = f.number("epsilon", 1e-3);
  c.center = f.boolean("center", true);
  c.scale = f.boolean("scale", true);
  c.beta_initializer = f.has("beta_initializer") ? read_initializer(f, "beta_initializer") : "zeros";
  c.gamma_initializer = f.has("gamma_initializer") ? read_initializer(f, "gamma_initializer") : "ones";
  read_no_regularizers(f);
  f.require_default("rms_scaling", false);
  return std::make_shared<nn::LayerNormalization>(c, name);
}

}  // namespace kerosene::saving
