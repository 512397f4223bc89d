// NCCL collectives. The plugin does not link NCCL: libnccl.so.2 is dlopen()ed on the first call
// of any nccl_* function, so the plugin loads and runs single-GPU work on machines without it,
// and every nccl_* function answers kError with the loader's words there. nccl.h is included
// only for NCCL's types and the declarations the function pointers copy (decltype); nothing
// here refers to an NCCL symbol, which -Wl,--no-undefined would catch.
#include <dlfcn.h>
#include <nccl.h>

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/device_state.h"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

static_assert(sizeof(ncclUniqueId) == NCCL_UNIQUE_ID_BYTES && NCCL_UNIQUE_ID_BYTES == 128,
              "plugin_api.h promises 128-byte unique ids");

/// The entry points of the loaded library. Never unloaded: NCCL keeps threads and CUDA objects
/// alive for the life of the process (as device_state.h explains for the plugin's own).
struct Library {
  bool loaded = false;
  std::string error;  ///< why it could not be loaded
  decltype(&::ncclGetVersion) get_version = nullptr;
  decltype(&::ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&::ncclCommInitAll) comm_init_all = nullptr;
  decltype(&::ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&::ncclAllReduce) all_reduce = nullptr;
  decltype(&::ncclGroupStart) group_start = nullptr;
  decltype(&::ncclGroupEnd) group_end = nullptr;
  decltype(&::ncclCommDestroy) comm_destroy = nullptr;
  decltype(&::ncclGetErrorString) get_error_string = nullptr;
  decltype(&::ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&::ncclCommAbort) comm_abort = nullptr;
  decltype(&::ncclGetLastError) get_last_error = nullptr;  ///< optional: NCCL 2.13 and later
};

std::string unavailable(const char* why) {
  return std::string("NCCL is not available: ") + (why ? why : "(no reason given)") +
         "; install NCCL (libnccl2) or run on one GPU";
}

template <typename Fn>
bool resolve(void* handle, const char* name, Fn& fn, std::string& error) {
  dlerror();
  void* symbol = dlsym(handle, name);
  if (!symbol) {
    const char* why = dlerror();
    error = unavailable(why ? why : (std::string("libnccl.so.2 has no ") + name).c_str());
    return false;
  }
  fn = reinterpret_cast<Fn>(symbol);
  return true;
}

void load(Library& lib) {
  dlerror();
  void* handle = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    lib.error = unavailable(dlerror());
    return;
  }
  const bool ok = resolve(handle, "ncclGetVersion", lib.get_version, lib.error) &&
                  resolve(handle, "ncclGetUniqueId", lib.get_unique_id, lib.error) &&
                  resolve(handle, "ncclCommInitAll", lib.comm_init_all, lib.error) &&
                  resolve(handle, "ncclCommInitRank", lib.comm_init_rank, lib.error) &&
                  resolve(handle, "ncclAllReduce", lib.all_reduce, lib.error) &&
                  resolve(handle, "ncclGroupStart", lib.group_start, lib.error) &&
                  resolve(handle, "ncclGroupEnd", lib.group_end, lib.error) &&
                  resolve(handle, "ncclCommDestroy", lib.comm_destroy, lib.error) &&
                  resolve(handle, "ncclGetErrorString", lib.get_error_string, lib.error) &&
                  resolve(handle, "ncclCommGetAsyncError", lib.comm_get_async_error, lib.error) &&
                  resolve(handle, "ncclCommAbort", lib.comm_abort, lib.error);
  if (!ok) {
    dlclose(handle);  // nothing of it was used
    return;
  }
  dlerror();
  lib.get_last_error = reinterpret_cast<decltype(lib.get_last_error)>(dlsym(handle, "ncclGetLastError"));
  dlerror();
  lib.loaded = true;
}

/// The library, loaded on the first call (once, whichever thread comes first); or kError with
/// the loader's words.
int library(const Library** out) {
  static std::once_flag once;
  static Library* lib = new Library;  // never destroyed: see Library
  std::call_once(once, [] { load(*lib); });
  if (!lib->loaded) return fail(cuda_abi::kError, lib->error);
  *out = lib;
  return cuda_abi::kOk;
}

/// Ok, or kError with "<call> failed: <NCCL's error string>" and NCCL's last warning, which
/// usually says what went wrong (a socket, a peer) though it may belong to an earlier failure.
int check(const Library& lib, ncclResult_t result, const char* call) {
  if (result == ncclSuccess) return cuda_abi::kOk;
  const char* text = lib.get_error_string(result);
  std::string message = std::string(call) + " failed: " + (text ? text : "unknown NCCL error") + " (ncclResult " +
                        std::to_string(static_cast<int>(result)) + ")";
  if (lib.get_last_error) {
    const char* last = lib.get_last_error(nullptr);  // the argument is unused by NCCL
    if (last && *last) message += std::string("; NCCL's last warning: ") + last;
  }
  return fail(cuda_abi::kError, std::move(message));
}

}  // namespace

namespace {
// The communication stream and its two events, made once per device.
int comm_stream_ready(DeviceState& s) {
  std::lock_guard lock(s.mutex);
  if (s.comm_stream) return cuda_abi::kOk;
  KEROSENE_TRY(cuda_impl::check(cudaStreamCreateWithFlags(&s.comm_stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"));
  KEROSENE_TRY(cuda_impl::check(cudaEventCreateWithFlags(&s.compute_ready, cudaEventDisableTiming), "cudaEventCreateWithFlags"));
  return cuda_impl::check(cudaEventCreateWithFlags(&s.comm_done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
}
}  // namespace

int nccl_version(int* version) {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  if (!version) return fail(cuda_abi::kError, "nccl_version: version is null");
  *version = 0;
  return check(*lib, lib->get_version(version), "ncclGetVersion");
}

int nccl_unique_id(char* id128) {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  if (!id128) return fail(cuda_abi::kError, "nccl_unique_id: id128 is null");
  ncclUniqueId id{};
  KEROSENE_TRY(check(*lib, lib->get_unique_id(&id), "ncclGetUniqueId"));
  std::memcpy(id128, id.internal, NCCL_UNIQUE_ID_BYTES);
  return cuda_abi::kOk;
}

int nccl_comm_init_all(int count, const int* devices, void** comms) {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  if (count <= 0 || !devices || !comms) {
    return fail(cuda_abi::kError, "nccl_comm_init_all: needs count > 0 (got " + std::to_string(count) +
                                      "), devices and comms");
  }
  for (int i = 0; i < count; ++i) comms[i] = nullptr;
  // Checks each ordinal (and that init() ran) with the plugin's words; NCCL selects the devices
  // itself.
  for (int i = 0; i < count; ++i) KEROSENE_TRY(use_device(devices[i]));
  std::vector<ncclComm_t> made(static_cast<size_t>(count), nullptr);
  KEROSENE_TRY(check(*lib, lib->comm_init_all(made.data(), count, devices), "ncclCommInitAll"));
  for (int i = 0; i < count; ++i) comms[i] = made[static_cast<size_t>(i)];
  return cuda_abi::kOk;
}

int nccl_comm_init_rank(int device, int nranks, const char* id128, int rank, void** comm) {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  if (!comm || !id128) return fail(cuda_abi::kError, "nccl_comm_init_rank: id128 and comm must not be null");
  *comm = nullptr;
  if (nranks <= 0 || rank < 0 || rank >= nranks) {
    return fail(cuda_abi::kError, "nccl_comm_init_rank: rank " + std::to_string(rank) + " of " +
                                      std::to_string(nranks) + " ranks");
  }
  // ncclCommInitRank binds the communicator to the calling thread's current device.
  KEROSENE_TRY(use_device(device));
  ncclUniqueId id;
  std::memcpy(id.internal, id128, NCCL_UNIQUE_ID_BYTES);
  ncclComm_t made = nullptr;
  KEROSENE_TRY(check(*lib, lib->comm_init_rank(&made, nranks, id, rank), "ncclCommInitRank"));
  *comm = made;
  return cuda_abi::kOk;
}

int nccl_all_reduce(int device, void* comm, float* data, int64_t count) {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  if (!comm) return fail(cuda_abi::kError, "nccl_all_reduce: comm is null");
  if (count < 0) return fail(cuda_abi::kError, "nccl_all_reduce: count " + std::to_string(count) + " < 0");
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  auto* c = static_cast<ncclComm_t>(comm);
  // A communicator that has failed (a peer is gone, a network error) would hang or fail later;
  // say so now. Reading the state is cheap (an atomic) and allowed inside a group.
  ncclResult_t async = ncclSuccess;
  KEROSENE_TRY(check(*lib, lib->comm_get_async_error(c, &async), "ncclCommGetAsyncError"));
  if (async != ncclSuccess && async != ncclInProgress) {
    check(*lib, async, "the NCCL communicator");
    return fail(cuda_abi::kError, last_error_text() + "; it cannot be used again: abort it (nccl_comm_abort)");
  }
  KEROSENE_TRY(comm_stream_ready(*s));
  // The bucket's gradients are complete once the kernels queued so far on the compute stream
  // have run: the communication stream waits for exactly that, and the compute stream goes on
  // with the earlier layers' backward meanwhile.
  KEROSENE_TRY(check(cudaEventRecord(s->compute_ready, s->stream), "cudaEventRecord"));
  KEROSENE_TRY(check(cudaStreamWaitEvent(s->comm_stream, s->compute_ready, 0), "cudaStreamWaitEvent"));
  // Not under s->mutex: NCCL may block here (connecting to peers on first use), and the
  // communicator, not the device state, is what NCCL's calls share.
  return check(*lib, lib->all_reduce(data, data, static_cast<size_t>(count), ncclFloat32, ncclSum, c, s->comm_stream),
               "ncclAllReduce");
}

int nccl_join(int device) {
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (!s->comm_stream) return cuda_abi::kOk;  // no all-reduce was ever queued
  KEROSENE_TRY(check(cudaEventRecord(s->comm_done, s->comm_stream), "cudaEventRecord"));
  return check(cudaStreamWaitEvent(s->stream, s->comm_done, 0), "cudaStreamWaitEvent");
}

int nccl_group_start() {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  return check(*lib, lib->group_start(), "ncclGroupStart");
}

int nccl_group_end() {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  return check(*lib, lib->group_end(), "ncclGroupEnd");
}

int nccl_comm_destroy(void* comm) {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  if (!comm) return cuda_abi::kOk;
  return check(*lib, lib->comm_destroy(static_cast<ncclComm_t>(comm)), "ncclCommDestroy");
}

int nccl_comm_abort(void* comm) {
  const Library* lib = nullptr;
  KEROSENE_TRY(library(&lib));
  if (!comm) return cuda_abi::kOk;
  return check(*lib, lib->comm_abort(static_cast<ncclComm_t>(comm)), "ncclCommAbort");
}

}  // namespace kerosene::backends::cuda_impl
