#include "cli/models.h"

#include "kerosene/error.h"

namespace kerosene::cli {

Sequential build_model(const std::string& name) {
  if (name == "mlp") {
    return Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(128, "relu"),
                       layers::Dense(10, "softmax")});
  }
  if (name == "cnn") {
    return Sequential({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                       layers::Flatten(), layers::Dense(10, "softmax")});
  }
  throw ValueError("unknown model \"" + name + "\"; expected mlp or cnn");
}

}  // namespace kerosene::cli
