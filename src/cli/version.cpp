#include "cli/version.h"

#include "kerosene/config.h"
#include "kerosene_build_info.h"

namespace kerosene::cli {

std::string version_text() {
  const config::BuildInfo b = config::build_info();
  std::string text = "kerosene " + b.kerosene_version + "\n";
  if (b.is_cuda_build) {
    text += "CUDA plugin: CUDA " + b.cuda_version + ", cuDNN " + b.cudnn_version + ", cuBLAS " + b.cublas_version +
            ", NCCL " + (b.nccl_version.empty() ? std::string("none") : b.nccl_version) + "; kernels for " +
            b.cuda_compute_capabilities + "\n";
  } else {
    text += std::string("CUDA plugin: no CUDA plugin (") + KEROSENE_BUILD_WITHOUT_CUDA_REASON + ")\n";
  }
  text += b.is_mpi_build ? "MPI: yes, " + b.mpi_version + " (multi-worker training)\n"
                         : "MPI: no (" + b.without_mpi_reason + "; no multi-worker training)\n";
  text += "oneDNN: " + b.onednn_version;
  return text;
}

}  // namespace kerosene::cli
