/*
 * logical_devices: split one device into several, as TensorFlow's
 * set_logical_device_configuration does — to test multi-device code on one GPU, or to run
 * two models side by side, each with its own memory cap.
 *
 * With a GPU: two logical GPUs of 1 GiB each. Without: two logical CPUs (that is how kerosene's
 * own tests exercise multi-device code on machines without GPUs). A model is trained on each
 * logical device, concurrently, and each device's memory statistics are printed.
 *
 *   ./build/example_logical_devices
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

namespace ks = kerosene;

int main() {
  try {
    const auto gpus = ks::config::list_physical_devices("GPU");
    const auto physical = gpus.empty() ? ks::config::list_physical_devices("CPU")[0] : gpus[0];
    ks::config::set_logical_device_configuration(
        physical, {ks::config::LogicalDeviceConfiguration{1024}, ks::config::LogicalDeviceConfiguration{1024}});
    const auto logical = ks::config::list_logical_devices(gpus.empty() ? "CPU" : "GPU");
    std::printf("%s is now %zu logical devices:", physical.name.c_str(), logical.size());
    for (const auto& d : logical) std::printf(" %s", d.name.c_str());
    std::printf("\n");

    auto x = ks::Tensor::full({512, 16}, 0.25f);
    auto y = ks::Tensor::zeros({512}, ks::DType::int32);
    std::vector<std::thread> workers;
    for (const auto& d : logical) {
      workers.emplace_back([&, name = d.name] {
        ks::DeviceScope scope(name);  // scopes are per thread
        ks::Sequential model({ks::layers::Input({16}), ks::layers::Dense(32, "relu"), ks::layers::Dense(4, "softmax")});
        model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
        model.fit(x, y, {.batch_size = 64, .epochs = 2, .verbose = 0});
      });
    }
    for (auto& w : workers) w.join();
    for (const auto& d : logical) {
      const auto info = ks::config::experimental::get_memory_info(d.name);
      std::printf("%s: peak %.2f MiB of a %.0f MiB limit\n", d.name.c_str(), info.peak / 1048576.0,
                  info.limit / 1048576.0);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
