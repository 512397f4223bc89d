// Probes of the CUDA libraries: each is dlopen()ed by the soname the build links against, and
// asked its version (cublasGetProperty, cudnnGetVersion, ncclGetVersion all work without a GPU).
#include <functional>

#include "doctor/dl_library.h"
#include "doctor/probes.h"

namespace kerosene::doctor {
namespace {

using CublasGetProperty = int (*)(int type, int* value);  // libraryPropertyType: 0 major, 1 minor, 2 patch
using CudnnGetVersion = size_t (*)();
using NcclGetVersion = int (*)(int* version);

// Loads the first of `sonames` that loads; `read_version` fills the version or the error.
LibraryFacts probe_library(const std::vector<std::string>& sonames,
                           const std::function<void(void*, LibraryFacts&)>& read_version) {
  LibraryFacts first;
  for (const std::string& soname : sonames) {
    LibraryFacts lib;
    lib.soname = soname;
    const OpenedLibrary opened = open_library(soname);
    lib.error = opened.error;
    if (opened.handle) {
      lib.loaded = true;
      lib.path = opened.path;
      read_version(opened.handle, lib);
      return lib;
    }
    if (first.soname.empty()) first = lib;
  }
  return first;
}

// Sonames to try: the build's major, else (a build without CUDA) the recent majors, newest first.
std::vector<std::string> sonames(const std::string& stem, const Version& built, std::initializer_list<int> majors) {
  if (built.known()) return {stem + std::to_string(built.major)};
  std::vector<std::string> out;
  for (int major : majors) out.push_back(stem + std::to_string(major));
  return out;
}

}  // namespace

LibraryFacts probe_cublas(const BuildFacts& build) {
  const Version built = build.cublas.known() ? build.cublas : build.cuda;
  return probe_library(sonames("libcublas.so.", built, {13, 12, 11}), [](void* handle, LibraryFacts& lib) {
    auto get = find_symbol<CublasGetProperty>(handle, "cublasGetProperty");
    if (!get || get(0, &lib.version.major) != 0 || get(1, &lib.version.minor) != 0 || get(2, &lib.version.patch) != 0) {
      lib.version = {};
      lib.error = "cublasGetProperty did not answer";
    }
  });
}

LibraryFacts probe_cudnn(const BuildFacts& build) {
  return probe_library(sonames("libcudnn.so.", build.cudnn, {9, 8}), [](void* handle, LibraryFacts& lib) {
    auto get = find_symbol<CudnnGetVersion>(handle, "cudnnGetVersion");
    if (get) lib.version = cudnn_version_from_int(static_cast<long>(get()));
    if (!lib.version.known()) lib.error = "cudnnGetVersion did not answer";
  });
}

LibraryFacts probe_nccl(const BuildFacts& build) {
  return probe_library(sonames("libnccl.so.", build.nccl, {2}), [](void* handle, LibraryFacts& lib) {
    int version = 0;
    auto get = find_symbol<NcclGetVersion>(handle, "ncclGetVersion");
    if (get && get(&version) == 0) lib.version = nccl_version_from_int(version);
    if (!lib.version.known()) lib.error = "ncclGetVersion did not answer";
  });
}

}  // namespace kerosene::doctor
