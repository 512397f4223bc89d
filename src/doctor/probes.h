// The doctor's probes: each gathers one part of the Facts from this machine, through files
// and dlopen()/dlsym() only. probe_system() (probe.cpp) runs them all.
#pragma once

#include <string>
#include <vector>

#include "doctor/facts.h"

namespace kerosene::doctor {

BuildFacts probe_build();                 // kerosene_build_info.h
PluginFacts probe_plugin();               // the plugin loader's state
KernelDriverFacts probe_kernel_driver();  // /proc/driver/nvidia/version
DriverFacts probe_driver();               // libcuda.so.1: version, cuInit, devices
NvmlFacts probe_nvml();                   // libnvidia-ml.so.1: physical GPUs, processes

/// cuBLAS of the build's major (or, for a build without CUDA, the newest found).
LibraryFacts probe_cublas(const BuildFacts& build);
LibraryFacts probe_cudnn(const BuildFacts& build);
LibraryFacts probe_nccl(const BuildFacts& build);

}  // namespace kerosene::doctor
