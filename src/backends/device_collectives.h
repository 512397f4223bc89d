// DeviceCollectives: sums across devices, and across processes, with a backend's own collective
// library (NCCL for CUDA GPUs), reached through Backend::collectives(). The distribute layer
// builds its device collective on this interface alone, never on a backend's own classes.
//
// Status codes rather than exceptions: 0 is success, anything else a failure that last_error()
// (per calling thread) describes. A caller must close a group on every path, even after a call
// inside it failed, which reads more plainly with codes (distribute/nccl_calls.h does it).
//
// NCCL's rules hold: `device` is the number collective_device() gives; a communicator (void*)
// is used by one thread at a time; group_start/group_end are per thread.
#pragma once

#include <cstdint>
#include <string>

namespace kerosene::backends {

class DeviceCollectives {
 public:
  virtual ~DeviceCollectives() = default;
  /// The library's version code (NCCL 2.28.9: 22809); fails when the library cannot be loaded.
  virtual int version(int* version) = 0;
  /// A fresh unique id of 128 bytes, which every process passes to comm_init_rank.
  virtual int unique_id(char* id128) = 0;
  /// One communicator per device of this process: comms[i] drives devices[i].
  virtual int comm_init_all(int count, const int* devices, void** comms) = 0;
  /// This process's communicator on `device`, as `rank` of `nranks`; blocks until every rank joined.
  virtual int comm_init_rank(int device, int nranks, const char* id128, int rank, void** comm) = 0;
  /// In-place sum of `count` floats (device memory) across the communicator's ranks, queued
  /// after the work queued so far on the device; returns without waiting (see join).
  virtual int all_reduce(int device, void* comm, float* data, int64_t count) = 0;
  /// Makes the device's next kernels wait for every all-reduce queued so far; returns at once.
  virtual int join(int device) = 0;
  /// The calls between them (on this thread) are launched together at group_end.
  virtual int group_start() = 0;
  virtual int group_end() = 0;
  /// Frees a communicator after its queued work; may block when a peer is lost (abort instead).
  virtual int comm_destroy(void* comm) = 0;
  /// Stops a communicator's work and frees it without waiting for peers; callable from another
  /// thread than one blocked on the device (how a lost worker is given up on).
  virtual int comm_abort(void* comm) = 0;
  /// Why the last call on this thread failed.
  virtual std::string last_error() = 0;
};

}  // namespace kerosene::backends
