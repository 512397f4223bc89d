# The CUDA plugin (libkerosene_cuda.so): built whenever a CUDA toolkit with cuBLAS and cuDNN is
# found, which it is on every machine the project builds on, GPU or not. The core never links
# CUDA; it loads this library at start-up (src/backends/cuda_plugin/plugin_loader.cpp).
set(KEROSENE_WITH_CUDA AUTO CACHE STRING "Build the CUDA plugin: AUTO (when a toolkit is found), ON, OFF")
set_property(CACHE KEROSENE_WITH_CUDA PROPERTY STRINGS AUTO ON OFF)
# Native code for A100 (sm_80) and H100 (sm_90), plus PTX for sm_90 so newer GPUs JIT it.
set(KEROSENE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual" CACHE STRING "CUDA architectures of the plugin")

set(KEROSENE_BUILT_WITH_CUDA 0)
set(KEROSENE_WITHOUT_CUDA_REASON "")
if(KEROSENE_WITH_CUDA STREQUAL "OFF")
  set(KEROSENE_WITHOUT_CUDA_REASON "the build was configured with -DKEROSENE_WITH_CUDA=OFF")
else()
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    set(KEROSENE_WITHOUT_CUDA_REASON "no CUDA compiler (nvcc) was found when kerosene was built")
  else()
    set(CMAKE_CUDA_ARCHITECTURES ${KEROSENE_CUDA_ARCHITECTURES})
    enable_language(CUDA)
    find_package(CUDAToolkit)
    find_path(KEROSENE_CUDNN_INCLUDE_DIR cudnn_version.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    find_library(KEROSENE_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib)
    if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cublasLt)
      set(KEROSENE_WITHOUT_CUDA_REASON "the CUDA toolkit or its cuBLAS was not found when kerosene was built")
    elseif(NOT KEROSENE_CUDNN_INCLUDE_DIR OR NOT KEROSENE_CUDNN_LIBRARY)
      set(KEROSENE_WITHOUT_CUDA_REASON "cuDNN (cudnn_version.h, libcudnn.so) was not found when kerosene was built")
    else()
      set(KEROSENE_BUILT_WITH_CUDA 1)
    endif()
  endif()
  if(KEROSENE_WITH_CUDA STREQUAL "ON" AND NOT KEROSENE_BUILT_WITH_CUDA)
    message(FATAL_ERROR "KEROSENE_WITH_CUDA=ON but ${KEROSENE_WITHOUT_CUDA_REASON}")
  endif()
endif()

# Versions for build_info(): read from the headers the plugin is compiled against.
function(kerosene_header_version out header)
  set(parts "")
  foreach(macro ${ARGN})
    file(STRINGS "${header}" line REGEX "#define ${macro} +[0-9]+")
    string(REGEX REPLACE ".*#define ${macro} +([0-9]+).*" "\\1" value "${line}")
    list(APPEND parts ${value})
  endforeach()
  list(JOIN parts "." joined)
  set(${out} "${joined}" PARENT_SCOPE)
endfunction()

set(KEROSENE_BUILD_CUDA_VERSION "")
set(KEROSENE_BUILD_CUDNN_VERSION "")
set(KEROSENE_BUILD_CUBLAS_VERSION "")
set(KEROSENE_BUILD_NCCL_VERSION "")
set(KEROSENE_BUILD_CUDA_ARCHS_TEXT "")
if(KEROSENE_BUILT_WITH_CUDA)
  set(KEROSENE_BUILD_CUDA_VERSION "${CUDAToolkit_VERSION}")
  kerosene_header_version(KEROSENE_BUILD_CUDNN_VERSION "${KEROSENE_CUDNN_INCLUDE_DIR}/cudnn_version.h"
                          CUDNN_MAJOR CUDNN_MINOR CUDNN_PATCHLEVEL)
  foreach(dir ${CUDAToolkit_INCLUDE_DIRS})
    if(EXISTS "${dir}/cublas_api.h")
      kerosene_header_version(KEROSENE_BUILD_CUBLAS_VERSION "${dir}/cublas_api.h"
                              CUBLAS_VER_MAJOR CUBLAS_VER_MINOR CUBLAS_VER_PATCH)
    endif()
  endforeach()
  find_path(KEROSENE_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  if(KEROSENE_NCCL_INCLUDE_DIR)
    kerosene_header_version(KEROSENE_BUILD_NCCL_VERSION "${KEROSENE_NCCL_INCLUDE_DIR}/nccl.h"
                            NCCL_MAJOR NCCL_MINOR NCCL_PATCH)
  endif()
  set(archs "")
  foreach(arch ${KEROSENE_CUDA_ARCHITECTURES})
    string(REGEX REPLACE "^([0-9]+).*" "\\1" number "${arch}")
    if(arch MATCHES "virtual")
      list(APPEND archs "compute_${number}")
    else()
      list(APPEND archs "sm_${number}")
    endif()
  endforeach()
  list(JOIN archs " " KEROSENE_BUILD_CUDA_ARCHS_TEXT)

  file(GLOB KEROSENE_CUDA_SOURCES CONFIGURE_DEPENDS src/backends/cuda/*.cu src/backends/cuda/*.cpp)
  add_library(kerosene_cuda SHARED ${KEROSENE_CUDA_SOURCES})
  target_include_directories(kerosene_cuda PRIVATE include src ${KEROSENE_CUDNN_INCLUDE_DIR})
  # The runtime is linked statically, so the plugin needs no libcudart.so at run time; the driver
  # (libcuda.so.1) is loaded by the runtime when init() runs, which is what lets the plugin load
  # and say "no driver" on machines without one.
  target_link_libraries(kerosene_cuda PRIVATE CUDA::cudart_static CUDA::cublas CUDA::cublasLt
                        ${KEROSENE_CUDNN_LIBRARY})
  # versions() reports the architectures the plugin carries code for.
  target_compile_definitions(kerosene_cuda PRIVATE
    KEROSENE_CUDA_ARCHITECTURES_TEXT="${KEROSENE_BUILD_CUDA_ARCHS_TEXT}")
  # Export only the entry point: the static CUDA runtime's symbols and libstdc++'s template
  # instances stay inside (another copy in the process must not bind to ours). An unresolved
  # symbol fails the link here rather than the dlopen on a user's machine.
  set(KEROSENE_CUDA_EXPORTS "${CMAKE_CURRENT_SOURCE_DIR}/src/backends/cuda/exports.map")
  target_link_options(kerosene_cuda PRIVATE "-Wl,--version-script=${KEROSENE_CUDA_EXPORTS}" -Wl,--no-undefined)
  set_property(TARGET kerosene_cuda APPEND PROPERTY LINK_DEPENDS "${KEROSENE_CUDA_EXPORTS}")
  target_compile_options(kerosene_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-O3 --expt-relaxed-constexpr -Xcompiler=-fvisibility=hidden>
    $<$<COMPILE_LANGUAGE:CXX>:-O2>)
  set_target_properties(kerosene_cuda PROPERTIES
    CUDA_ARCHITECTURES "${KEROSENE_CUDA_ARCHITECTURES}"
    CXX_VISIBILITY_PRESET hidden
    CUDA_VISIBILITY_PRESET hidden
    # CMake 3.25 does not know nvcc's C++20 flag and would otherwise take CXX_STANDARD (20) for
    # CUDA too; the .cu files need C++17 only.
    CUDA_STANDARD 17
    CUDA_STANDARD_REQUIRED ON
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}"
    BUILD_RPATH "${CUDAToolkit_LIBRARY_DIR};${CUDAToolkit_LIBRARY_ROOT}/lib"
    INSTALL_RPATH "${CUDAToolkit_LIBRARY_DIR};${CUDAToolkit_LIBRARY_ROOT}/lib")
endif()

configure_file(cmake/build_info.h.in "${CMAKE_BINARY_DIR}/generated/kerosene_build_info.h" @ONLY)
