/*
 * memory_growth: how much GPU memory does training take, and how to cap it.
 *
 * kerosene grows GPU memory as tensors need it (TensorFlow's allow_growth), so a small model
 * leaves the GPU to others. Turn growth off to reserve 90% up front, as TensorFlow does by
 * default, or give a hard memory_limit (a logical device of that size). get_memory_info then
 * reports what the model really uses: current, peak, reserved and the limit.
 *
 *   ./build/example_memory_growth            # growth on (the default)
 *   ./build/example_memory_growth off        # pre-allocate
 *   ./build/example_memory_growth limit 512  # a 512 MB cap
 * TF_FORCE_GPU_ALLOW_GROWTH=true|false is honoured as well.
 * Without a GPU the same policies apply to the CPU's logical device where they make sense (the
 * limit), so the program shows the statistics either way.
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace ks = kerosene;

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "on";
  try {
    const auto gpus = ks::config::list_physical_devices("GPU");
    const auto target = gpus.empty() ? ks::config::list_physical_devices("CPU")[0] : gpus[0];
    if (std::strcmp(mode, "off") == 0 && !gpus.empty()) ks::config::experimental::set_memory_growth(gpus[0], false);
    if (std::strcmp(mode, "limit") == 0) {
      const int64_t mb = argc > 2 ? std::atoll(argv[2]) : 512;
      ks::config::set_logical_device_configuration(target, {ks::config::LogicalDeviceConfiguration{mb}});
    }
    const std::string device = gpus.empty() ? "/CPU:0" : "/GPU:0";

    ks::Sequential model({ks::layers::Input({28, 28, 1}), ks::layers::Conv2D(32, {3, 3}, "relu"),
                          ks::layers::MaxPooling2D({2, 2}), ks::layers::Flatten(), ks::layers::Dense(10, "softmax")});
    model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    auto x = ks::Tensor::zeros({1024, 28, 28, 1});
    auto y = ks::Tensor::zeros({1024}, ks::DType::int32);
    model.fit(x, y, {.batch_size = 128, .epochs = 1, .verbose = 0});

    const auto info = ks::config::experimental::get_memory_info(device);
    std::printf("%s after one epoch: current %.1f MiB, peak %.1f MiB, reserved %.1f MiB, limit %s\n", device.c_str(),
                info.current / 1048576.0, info.peak / 1048576.0, info.reserved / 1048576.0,
                info.limit ? (std::to_string(info.limit >> 20) + " MiB").c_str() : "none");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
