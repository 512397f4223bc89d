// OpenMPI's shared-memory transport (the vader BTL) backs each process's segment with a file,
// /dev/shm/vader_segment.<node>.<uid>.<jobid in hex>.<local rank>, and removes it only in
// MPI_Finalize. A job whose mpirun is killed (kill -9, a scheduler's time limit) ends its
// workers without MPI_Finalize, and the files stay until the machine reboots: 4 MiB per worker
// per job. Once every process on this node has mapped every other's segment, the names are no
// longer needed, so each worker removes its own: the memory lives while mapped and is freed
// when the last process exits, however it exits.
#pragma once

#include <string>

namespace kerosene::distribute {

/// Connects every pair of processes on this node (so that each has mapped the others'
/// segments), then removes this process's segment file. Does nothing outside OpenMPI, with one
/// process per node, or when the file is not where OpenMPI puts it. Collective over
/// MPI_COMM_WORLD.
/// Returns the path removed, or empty.
std::string unlink_shared_memory_segment();

/// Puts an empty file back under `path` just before MPI_Finalize, whose own unlink of the name
/// would otherwise print a warning that a system call failed.
void restore_shared_memory_segment_name(const std::string& path);

/// The name OpenMPI 4 gives this process's segment file, from its launcher's environment;
/// empty when that environment is missing. `node` is the host name as OpenMPI records it.
std::string vader_segment_path(const std::string& directory, const std::string& node);

}  // namespace kerosene::distribute
