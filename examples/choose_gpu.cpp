/*
 * choose_gpu: train on one chosen GPU and keep the others free for somebody else.
 *
 * The TensorFlow way, in C++: make only the chosen GPU visible before anything initializes the
 * runtime (the same as CUDA_VISIBLE_DEVICES=1, which kerosene honours too), then build the
 * model. Without a GPU it says so and trains on the CPU: never silently.
 *
 *   ./build/example_choose_gpu 1          # use the second GPU
 *   CUDA_VISIBLE_DEVICES=1 ./build/example_choose_gpu 0
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace ks = kerosene;

int main(int argc, char** argv) {
  const int wanted = argc > 1 ? std::atoi(argv[1]) : 0;
  try {
    const auto gpus = ks::config::list_physical_devices("GPU");
    if (gpus.empty()) {
      std::printf("No GPU: %s\n", ks::doctor::diagnose().verdict.c_str());
    } else if (wanted < 0 || wanted >= static_cast<int>(gpus.size())) {
      std::fprintf(stderr, "there is no GPU %d: this machine shows %zu GPU(s)\n", wanted, gpus.size());
      return 2;
    } else {
      ks::config::set_visible_devices({gpus[wanted]}, "GPU");  // before the runtime initializes
      std::printf("Using %s only; it is /GPU:0 from now on\n", gpus[wanted].name.c_str());
    }

    auto [train, test] = ks::datasets::mnist::load_data();
    auto x_train = train.x.to_float() / 255.0f;
    ks::Sequential model({ks::layers::Input({28, 28}), ks::layers::Flatten(), ks::layers::Dense(128, "relu"),
                          ks::layers::Dense(10, "softmax")});
    model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    std::printf("The model lives on %s\n", model.device().to_string().c_str());
    model.fit(x_train, train.y, {.batch_size = 128, .epochs = 1, .verbose = 2});
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
