// A kerosene built without MPI (KEROSENE_WITH_MPI=OFF, or AUTO and no MPI found): there is no
// multi-worker training. Asking for it is an error that says why and how to get it; the MpiWorld
// members NcclCollective can reach are never reached (it gets a world only from the strategy).
#include <cstdlib>

#include "distribute/mpi_world.h"
#include "kerosene/distribute.h"
#include "kerosene/error.h"
#include "kerosene_build_info.h"

namespace kerosene::distribute {
namespace {

[[noreturn]] void no_mpi(const std::string& what) {
  throw RuntimeError(what + " needs MPI, and this build of kerosene has no MPI (" +
                     KEROSENE_BUILD_WITHOUT_MPI_REASON +
                     "): install an MPI (on Debian: apt install libopenmpi-dev openmpi-bin) and rebuild kerosene "
                     "with -DKEROSENE_WITH_MPI=ON; MirroredStrategy trains on the devices of one machine without it");
}

}  // namespace

MpiWorld& MpiWorld::instance() { no_mpi("multi-worker training"); }
void MpiWorld::check_all_arrived(const char*) { no_mpi("multi-worker training"); }
void MpiWorld::collective(void*, int64_t, bool, bool, const char*) { no_mpi("multi-worker training"); }

MultiWorkerMirroredStrategy::MultiWorkerMirroredStrategy(const MultiWorkerOptions&) {
  no_mpi("MultiWorkerMirroredStrategy (multi-worker training)");
}

// Without MPI there are no other workers to end: this one ends.
void abort_all_workers(int exit_code) { std::exit(exit_code); }

}  // namespace kerosene::distribute
