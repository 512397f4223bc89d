// Keras 3's losses as kerosene knows them: names, aliases, classes and options, one table that
// compile (the names and "name:option=value" specs it takes) and the compile config (Keras'
// loss objects) both read.
#pragma once

#include <string>
#include <vector>

#include "train/model_state.h"

namespace kerosene::train {

struct LossEntry {
  backends::LossKind kind;
  const char* name;         // Keras' function name, what the logs and a plain config say
  const char* keras_class;  // keras.losses.<class>
  const char* config_name;  // the `name` in the class's config (Huber's is "huber_loss")
  std::vector<const char*> aliases;
  bool takes_logits;            // from_logits applies
  bool takes_label_smoothing;   // label_smoothing applies
};

const std::vector<LossEntry>& loss_entries();
/// By name, alias or Keras class; nullptr when there is none.
const LossEntry* find_loss(const std::string& name);
const LossEntry& loss_entry(backends::LossKind kind);
/// Every loss name, for error messages.
std::string loss_names();

/// Parses a loss as compile takes it: a name ("huber", "mae", "Huber") followed by options,
/// each ":option" or ":option=value": from_logits, label_smoothing=0.1, delta=2,
/// reduction=sum (or sum_over_batch_size). `from_logits` is compile's flag. Throws ValueError
/// naming the loss and the option on anything else.
LossConfig parse_loss_spec(const std::string& spec, bool from_logits);

/// The spec a LossConfig is compiled from again (parse_loss_spec's inverse).
std::string loss_spec(const LossConfig& loss);

const char* reduction_name(Reduction r);
/// A float as its shortest decimal ("0.1", not 0.10000000149...), and that decimal as a double:
/// how a config writes a float option the user gave as a short decimal.
std::string shortest(float v);
double as_written(float v);

}  // namespace kerosene::train
