// The line fit() logs when it starts: where training runs and, on the CPU, why not on a GPU.
#pragma once

#include <string>
#include <vector>

#include "kerosene/device.h"

namespace kerosene::train {

/// "Training will run on /GPU:0 (NVIDIA H100 80GB HBM3)", or
/// "Training will run on /CPU:0 because <reason>; fix: <fix>" (the doctor's verdict), or, when a
/// GPU is there but the model was placed on the CPU, that reason.
std::string device_verdict(const Device& model_device);

/// The verdict without its advice ("; fix: ..."), for every fit after the first.
std::string short_verdict(const std::string& verdict);

/// Logs device_verdict() to stderr (runtime/log.h): in full the first time in the process,
/// short_verdict() afterwards. A WARNING when training is off the GPU for a reason, else INFO;
/// KEROSENE_MIN_LOG_LEVEL alone silences it. fit calls it at every start, whatever `verbose`.
void announce_device(const Device& model_device);

/// For a mirrored model: "Training will run on /GPU:0, /GPU:1 (2 replicas in sync on 1 worker;
/// gradients summed by nccl)", with the doctor's reason when the replicas are CPUs.
std::string replicas_verdict(const std::vector<Device>& devices, int workers, const std::string& reduction);
/// Logs replicas_verdict() as announce_device logs device_verdict().
void announce_replicas(const std::vector<Device>& devices, int workers, const std::string& reduction);

}  // namespace kerosene::train
