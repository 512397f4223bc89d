// Mixed precision with Keras' names (keras.mixed_precision): a dtype policy per layer, the
// global default, and (in optimizers.h) LossScaleOptimizer.
//
// What kerosene does today (a first step, not all of Keras): under "mixed_bfloat16" the
// variables stay float32 and Dense and Conv2D run their matmuls and convolutions, forward and
// backward, in bfloat16 on the CPU through oneDNN (bfloat16 inputs and weights converted from
// float32 on the way in, float32 accumulation and output). Activations between layers are
// stored in float32 (Keras stores them in 16 bit), and every other layer, the softmax and the
// loss compute in float32. The CPU must have AVX512-BF16 (or AMX): elsewhere the first such op
// throws DeviceError naming the feature, never a silent float32 run. "mixed_float16" needs
// oneDNN float16 kernels, which oneDNN 2.x lacks on the CPU: it throws DeviceError there.
// On CUDA both policies run (operands converted on the device, float32 accumulation and output).
#pragma once

#include <string>

namespace kerosene::mixed_precision {

/// keras.DTypePolicy: a name, "float32", "mixed_bfloat16" or "mixed_float16". Pure 16-bit
/// policies ("bfloat16", "float16") would need 16-bit variables, which kerosene does not have:
/// ValueError, as for any other name.
class DTypePolicy {
 public:
  explicit DTypePolicy(const std::string& name = "float32");
  const std::string& name() const { return name_; }
  /// "float32", "bfloat16" or "float16": what the layer computes in.
  std::string compute_dtype() const;
  /// Always "float32" (the mixed policies keep their variables in float32, as Keras').
  std::string variable_dtype() const { return "float32"; }
  friend bool operator==(const DTypePolicy&, const DTypePolicy&) = default;

 private:
  std::string name_;
};

/// The policy of the layers created afterwards without a dtype of their own (Keras'
/// keras.mixed_precision.set_global_policy); layers already created keep theirs.
void set_global_policy(const std::string& name);
void set_global_policy(const DTypePolicy& policy);
DTypePolicy global_policy();

}  // namespace kerosene::mixed_precision
