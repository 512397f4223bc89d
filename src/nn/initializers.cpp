#include "nn/initializers.h"

#include <cmath>
#include <vector>

#include "kerosene/error.h"

namespace kerosene::nn {
namespace {

// Keras' truncated normal: redraw values beyond two standard deviations.
float truncated_normal(std::mt19937_64& rng, float stddev) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (;;) {
    float v = normal(rng);
    if (std::fabs(v) <= 2.0f) return v * stddev;
  }
}

}  // namespace

Tensor initialize(const std::string& name, const Shape& shape, int64_t fan_in, int64_t fan_out,
                  const Device& device, std::mt19937_64& rng) {
  std::vector<float> values(static_cast<size_t>(shape.numel()));
  const float in = static_cast<float>(std::max<int64_t>(fan_in, 1));
  const float out = static_cast<float>(std::max<int64_t>(fan_out, 1));
  auto uniform = [&](float limit) {
    std::uniform_real_distribution<float> dist(-limit, limit);
    for (float& v : values) v = dist(rng);
  };
  // 0.8796...: stddev of a unit normal truncated at two standard deviations (Keras' constant).
  constexpr float kTruncatedStddev = 0.87962566103423978f;
  if (name == "glorot_uniform") {
    uniform(std::sqrt(6.0f / (in + out)));
  } else if (name == "he_uniform") {
    uniform(std::sqrt(6.0f / in));
  } else if (name == "glorot_normal") {
    for (float& v : values) v = truncated_normal(rng, std::sqrt(2.0f / (in + out)) / kTruncatedStddev);
  } else if (name == "he_normal") {
    for (float& v : values) v = truncated_normal(rng, std::sqrt(2.0f / in) / kTruncatedStddev);
  } else if (name == "zeros") {
    std::fill(values.begin(), values.end(), 0.0f);
  } else if (name == "ones") {
    std::fill(values.begin(), values.end(), 1.0f);
  } else {
    throw ValueError("unknown initializer \"" + name +
                     "\"; expected glorot_uniform, glorot_normal, he_normal, he_uniform, zeros or ones");
  }
  return Tensor::from_vector(values, shape, device);
}

}  // namespace kerosene::nn
