// An optimizer's Keras 3 config, both directions: {"module": "keras.optimizers", "class_name":
// "Adam", "config": {...}}, with a learning-rate schedule as its own envelope in
// config.learning_rate ({"module": "keras.optimizers.schedules", ...}).
#pragma once

#include <memory>
#include <string>

#include "saving/config_fields.h"

namespace kerosene::nn {
class Optimizer;
}

namespace kerosene::saving {

/// The optimizer as Keras 3's serialize_keras_object writes it.
ordered_json optimizer_envelope(const nn::Optimizer& optimizer);

/// The optimizer a config describes (also a bare name, "adam"). Throws ValueError naming `file`
/// and the option for a class or an option kerosene does not have.
std::shared_ptr<nn::Optimizer> decode_optimizer(const json& envelope, const std::string& file);

}  // namespace kerosene::saving
