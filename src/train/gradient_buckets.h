// Where backward hands gradients to the replicas' all-reduce. Kept as pure logic (no device, no
// collective) because its one promise is invisible on the CPU: the step's final send must say
// `last`, since that is where an asynchronous engine (NCCL on its own stream) makes the compute
// stream wait for the sums. A plan whose final send is not `last` lets the optimizer read
// gradients that are still being summed in place; the CPU's synchronous collectives hide it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kerosene::train {

/// Big enough that an MNIST model's gradients are one or two buckets (one rendezvous each), small
/// enough that a large model's last layers are reduced while its first layers run backward.
inline constexpr size_t kGradientBucketBytes = size_t{4} << 20;

enum class BucketSend : uint8_t {
  none,  ///< keep filling the bucket
  send,  ///< send the bucket after this layer's backward
  last,  ///< send it, and it is the step's final bucket: join before the optimizer step
};

/// One entry per layer (layer order). Backward visits layers last to first; each layer's
/// gradients join the bucket, which is sent once it holds at least `limit` bytes. The lowest
/// layer with variables sends whatever is left, and the final send of the step is `last`
/// (exactly one, unless no layer has variables).
std::vector<BucketSend> plan_gradient_buckets(const std::vector<size_t>& layer_bytes, size_t limit);

}  // namespace kerosene::train
