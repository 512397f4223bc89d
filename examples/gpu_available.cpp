/*
 * gpu_available: "is my GPU seen?" — the first thing to run on a new machine.
 *
 * Prints what kerosene was built with, the physical and logical devices, and the doctor's
 * verdict: where training will run and, when not on a GPU, exactly why and what to change.
 * Exit status 0 when a GPU is usable, 1 when not (like `kerosene doctor`).
 *
 *   ./build/example_gpu_available
 */
#include <kerosene/kerosene.h>

#include <cstdio>

namespace ks = kerosene;

int main() {
  const auto build = ks::config::build_info();
  std::printf("kerosene %s, built %s CUDA%s%s\n", build.kerosene_version.c_str(),
              build.is_cuda_build ? "with" : "without", build.is_cuda_build ? " " : "",
              build.is_cuda_build ? (build.cuda_version + ", cuDNN " + build.cudnn_version).c_str() : "");

  const auto gpus = ks::config::list_physical_devices("GPU");
  std::printf("Num GPUs Available: %zu\n", gpus.size());
  for (const auto& gpu : gpus) {
    const auto d = ks::config::experimental::get_device_details(gpu);
    std::printf("  %s: %s, compute capability %d.%d, %.1f GiB\n", gpu.name.c_str(), d.device_name.c_str(),
                d.compute_capability_major, d.compute_capability_minor, d.total_memory / double(1 << 30));
  }
  const auto report = ks::doctor::diagnose();
  std::printf("%s\n", report.verdict.c_str());
  return report.gpu_usable ? 0 : 1;
}
