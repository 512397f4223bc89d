// Which layers the graph executor folds into the layer before them.
//
// ReLU: a BatchNormalization or
// an Add followed by a plain ReLU (a ResNet's conv-BN-ReLU and its residual join) otherwise
// costs a separate pass over the tensor forward and another backward; fused, the producer
// writes max(y, 0) itself and masks the incoming gradient inside its own backward pass.
//
// Layers stay unaware of each other: the producer only answers can_fuse_relu() and takes
// set_fused_relu(); the executor (ModelState::forward/backward) skips the ReLU node, passing the
// producer's output forward and the gradient back unchanged.
#pragma once

#include <vector>

#include "train/model_state.h"

namespace kerosene::train {

/// Per node: the node a plain-ReLU node (ActivationLayer, relu without slope, threshold or
/// max_value) is fused into, or -1. Fused when the producer's only consumer is that ReLU, the
/// producer is no model output (its pre-ReLU value would be lost), the ReLU node is no model
/// output either (kept simple: its loss may fuse with it) and the producer's can_fuse_relu().
/// KEROSENE_FUSE_RELU=0 in the environment plans no fusion (for A/B measurements and tests).
/// A BatchNormalization is fused only with KEROSENE_FUSE_BN_RELU=1: on the 2-core Zen 4 VM
/// (2026-12-03, bench/RESULTS.md) its fused backward cost more than the ReLU pass it saves
/// (BN + ReLU 5.6 -> 6.4 and 2.3 -> 4.3 CPU ms per step of the Fashion-MNIST ResNet, one
/// thread), for reasons not found yet; the Add's fusion gained 0.4-0.7 ms each and stays on.
std::vector<int> plan_relu_fusion(const std::vector<Node>& nodes, const std::vector<int>& output_nodes);

/// Max pooling: per node, the node a MaxPooling2D node (2x2, stride 2, "valid") is fused into, or
/// -1. Its producer (a Conv2D with a linear or ReLU activation, in practice the first layer of
/// an MNIST-style CNN) then writes the pooled output in one pass (backends/cpu/conv_max_pool.h)
/// and never its own. Fused when the producer's only consumer is the pooling, neither is a
/// model output, the producer's input is a model input (its gradient is not needed: the fused
/// op computes none) and the producer's can_fuse_max_pool(). KEROSENE_FUSE_RELU=0 turns this
/// off too (no fusion at all); KEROSENE_FUSE_CONV_POOL=0 turns off this one alone.
std::vector<int> plan_max_pool_fusion(const std::vector<Node>& nodes, const std::vector<int>& output_nodes);

}  // namespace kerosene::train
