#include "cli/models.h"

#include <algorithm>
#include <array>

#include "kerosene/error.h"

namespace kerosene::cli {
namespace {

constexpr std::array<const char*, 3> kNames = {"mlp", "cnn", "convnet"};

}  // namespace

const std::string& built_in_model_names() {
  static const std::string names = [] {
    std::string text;
    for (const char* name : kNames) text += (text.empty() ? "" : ", ") + std::string(name);
    return text;
  }();
  return names;
}

bool is_built_in_model(const std::string& name) {
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

Sequential build_model(const std::string& name) {
  if (name == "mlp") {
    return Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(128, "relu"),
                       layers::Dense(10, "softmax")});
  }
  if (name == "cnn") {
    return Sequential({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                       layers::Flatten(), layers::Dense(10, "softmax")});
  }
  if (name == "convnet") {
    return Sequential({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                       layers::Conv2D(64, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}), layers::Flatten(),
                       layers::Dropout(0.5f), layers::Dense(10, "softmax")});
  }
  throw ValueError("unknown model \"" + name + "\"; expected " + built_in_model_names());
}

}  // namespace kerosene::cli
