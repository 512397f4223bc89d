/*
 * explicit_placement: `with tf.device('/GPU:0'):` in C++, with the placement log on.
 *
 * A DeviceScope places the tensors and models created inside it; ops run where their inputs
 * live; copies between devices happen where needed and are logged. Asking for a device that
 * does not exist is an error that says why (the doctor's diagnosis) — unless soft placement is
 * on, in which case it runs on the CPU with a warning that says so.
 *
 *   ./build/example_explicit_placement          # /GPU:0, or the error explaining its absence
 *   ./build/example_explicit_placement --soft   # fall back to /CPU:0, with a warning
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstring>
#include <exception>

namespace ks = kerosene;

int main(int argc, char** argv) {
  const bool soft = argc > 1 && std::strcmp(argv[1], "--soft") == 0;
  ks::config::set_soft_device_placement(soft);
  ks::config::set_log_device_placement(true);
  try {
    ks::Tensor x = ks::Tensor::full({4, 8}, 0.5f);  // on the host
    ks::DeviceScope scope("/GPU:0");
    ks::Sequential model({ks::layers::Input({8}), ks::layers::Dense(3, "softmax")});
    std::printf("The model lives on %s\n", model.device().to_string().c_str());
    ks::Tensor y = model.predict(x, {.verbose = 0});  // the batch is copied to the model's device
    std::printf("predictions: %s, first row sums to %.3f\n", y.shape().to_string().c_str(),
                y.to_vector<float>()[0] + y.to_vector<float>()[1] + y.to_vector<float>()[2]);
    return 0;
  } catch (const ks::DeviceError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
