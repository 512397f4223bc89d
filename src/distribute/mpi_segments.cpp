#include "distribute/mpi_segments.h"

// The C API only: OpenMPI would otherwise pull in its deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/environment.h"

namespace kerosene::distribute {

std::string vader_segment_path(const std::string& directory, const std::string& node) {
  const std::string jobid = env_string("OMPI_MCA_ess_base_jobid"), local_rank = env_string("OMPI_COMM_WORLD_LOCAL_RANK");
  if (jobid.empty() || local_rank.empty()) return "";
  char* end = nullptr;
  const unsigned long id = std::strtoul(jobid.c_str(), &end, 10);
  if (end == jobid.c_str() || *end != '\0') return "";
  char hex[16];
  std::snprintf(hex, sizeof hex, "%lx", id);
  return directory + "/vader_segment." + node + "." + std::to_string(geteuid()) + "." + hex + "." + local_rank;
}

std::string unlink_shared_memory_segment() {
  if (env_string("OMPI_MCA_ess_base_jobid").empty()) return "";  // not launched by OpenMPI's mpirun
  MPI_Comm node;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS) return "";
  int rank = 0, size = 1;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_size(node, &size);
  // OpenMPI connects to a peer (mapping its segment) on the first message to it: one message
  // each way between every pair, then a barrier, and no one needs a name any more.
  for (int step = 1; step < size; ++step) {
    char sent = 1, received = 0;
    MPI_Sendrecv(&sent, 1, MPI_CHAR, (rank + step) % size, 0, &received, 1, MPI_CHAR, (rank - step + size) % size, 0,
                 node, MPI_STATUS_IGNORE);
  }
  MPI_Barrier(node);
  MPI_Comm_free(&node);
  if (size == 1) return "";
  std::string directory = env_string("OMPI_MCA_btl_vader_backing_directory");
  if (directory.empty()) directory = "/dev/shm";
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "";
  const std::string full = host, short_name = full.substr(0, full.find('.'));
  for (const std::string& name : {short_name, full}) {
    const std::string path = vader_segment_path(directory, name);
    std::error_code ec;
    if (!path.empty() && std::filesystem::is_regular_file(path, ec)) {
      if (::unlink(path.c_str()) == 0) return path;
    }
  }
  return "";
}

void restore_shared_memory_segment_name(const std::string& path) {
  if (path.empty()) return;
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

}  // namespace kerosene::distribute
