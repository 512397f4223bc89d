// In a kerosene built with KEROSENE_WITH_MPI=OFF, asking for multi-worker training is a clear
// kerosene error, and build_info says there is no MPI.
#include <kerosene/kerosene.h>

#include <cstdio>

namespace ks = kerosene;

int main() {
  const ks::config::BuildInfo info = ks::config::build_info();
  std::printf("is_mpi_build: %d (%s)\n", info.is_mpi_build ? 1 : 0, info.without_mpi_reason.c_str());
  try {
    ks::distribute::MultiWorkerMirroredStrategy strategy;
    std::printf("MultiWorkerMirroredStrategy was created\n");
    return 1;
  } catch (const ks::RuntimeError& e) {
    std::printf("RuntimeError: %s\n", e.what());
    return info.is_mpi_build ? 1 : 0;
  }
}
