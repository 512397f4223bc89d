/*
 * mirrored_mnist_cnn: the Keras MNIST CNN trained with MirroredStrategy — one replica per GPU,
 * or, on a machine without GPUs, one per logical CPU device (the CPU is split in two here).
 *
 * As in TensorFlow: build and compile the model inside strategy.scope(); batch_size is the
 * global batch, split across the replicas; gradients are summed across replicas (NCCL on GPUs,
 * in-process on CPUs) and every replica takes the same step.
 *
 *   ./build/example_mirrored_mnist_cnn [epochs]
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>

namespace ks = kerosene;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 1;
  try {
    if (ks::config::list_physical_devices("GPU").empty()) {  // two logical CPUs stand in for two GPUs
      ks::config::set_logical_device_configuration(ks::config::list_physical_devices("CPU")[0], {{}, {}});
    }
    ks::distribute::MirroredStrategy strategy;
    std::printf("Number of devices: %d (%s)\n", strategy.num_replicas_in_sync(), strategy.reduction().c_str());

    auto [train, test] = ks::datasets::mnist::load_data();
    auto x_train = train.x.to_float() / 255.0f, x_test = test.x.to_float() / 255.0f;

    std::optional<ks::Sequential> model;
    {
      auto scope = strategy.scope();
      model.emplace(ks::Sequential({
          ks::layers::Input({28, 28, 1}),
          ks::layers::Conv2D(32, {3, 3}, "relu"),
          ks::layers::MaxPooling2D({2, 2}),
          ks::layers::Flatten(),
          ks::layers::Dense(10, "softmax"),
      }));
      model->compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    }
    const int global_batch = 32 * strategy.num_replicas_in_sync();
    model->fit(x_train, train.y, {.batch_size = global_batch, .epochs = epochs});
    auto result = model->evaluate(x_test, test.y, {.batch_size = global_batch});
    std::printf("Test accuracy: %.4f\n", result["accuracy"]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
