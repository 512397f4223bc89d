// Which 16-bit compute the CPU backend can do here (no oneDNN types, so tests may include it).
#pragma once

#include "backends/kernel_params.h"

namespace kerosene::backends::cpu {

/// oneDNN's effective ISA on this machine (dnnl_cpu_isa_t bits; DNNL_MAX_CPU_ISA lowers it).
unsigned cpu_isa_bits();
/// Throws DeviceError unless a CPU of ISA `isa` computes in `precision` natively (bfloat16:
/// AVX512-BF16 or AMX; float16: not in oneDNN 2.x), naming the missing feature.
void require_cpu_precision(ComputePrecision precision, unsigned isa);
/// The same for this machine.
void require_cpu_precision(ComputePrecision precision);
bool cpu_computes_in(ComputePrecision precision);

}  // namespace kerosene::backends::cpu
