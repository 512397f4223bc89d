// The CUDA backend's DeviceCollectives: NCCL through the plugin's nccl_* entry points (the
// plugin loads libnccl.so.2 on first use, so each call fails with the loader's words where
// NCCL is missing).
#pragma once

#include "backends/cuda/plugin_api.h"
#include "backends/device_collectives.h"

namespace kerosene::backends::cuda_plugin {

/// The one instance for the plugin's table `api` (which lives as long as the process).
DeviceCollectives& cuda_collectives(const cuda_abi::Plugin& api);

}  // namespace kerosene::backends::cuda_plugin
