// Activations in Keras' configs: the "activation" option of Dense, Conv2D and Activation, and
// the activation layers' own classes (ReLU, LeakyReLU, Softmax), written as Keras 3 writes them.
#pragma once

#include <memory>
#include <string>

#include "backends/kernel_params.h"
#include "nn/simple_layers.h"
#include "saving/config_fields.h"

namespace kerosene::saving {

/// Which Keras wrote a config: the names mean the same in both but for hard_sigmoid.
enum class KerasGeneration { keras2, keras3 };

/// An activation given as a name ("relu"), a function envelope, or null (linear).
backends::ActivationKind read_activation(ConfigFields& f, KerasGeneration generation,
                                         const std::string& key = "activation");

/// An activation layer's keys after the base ones: Activation's "activation", ReLU's
/// "max_value", "negative_slope", "threshold", LeakyReLU's "negative_slope", Softmax's "axis".
void write_activation_layer(const nn::ActivationLayer& layer, ordered_json& config);

/// The layer of an activation class (Activation, ReLU, LeakyReLU, Softmax), or null for
/// another class.
std::shared_ptr<nn::Layer> activation_layer_from(ConfigFields& f, const std::string& class_name,
                                                 const std::string& name, KerasGeneration generation);

}  // namespace kerosene::saving
