#include "train/layer_fusion.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "nn/normalization.h"
#include "nn/simple_layers.h"

namespace kerosene::train {
namespace {

bool env_is(const char* name, const char* value) {
  const char* env = std::getenv(name);
  return env && std::strcmp(env, value) == 0;
}

/// Per node: the node before it when the two may fuse as far as the graph goes, or -1. The
/// node takes one input, from a layer (not a model input) that nothing else reads, and neither
/// is a model output (the producer's own value would be lost; the consumer's loss may fuse
/// with it).
std::vector<int> sole_producers(const std::vector<Node>& nodes, const std::vector<int>& output_nodes) {
  std::vector<int> consumers(nodes.size(), 0);
  for (const Node& n : nodes) {
    for (int t : n.inputs) ++consumers[static_cast<size_t>(t)];
  }
  auto is_output = [&](int i) { return std::find(output_nodes.begin(), output_nodes.end(), i) != output_nodes.end(); };
  std::vector<int> producer_of(nodes.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    if (node.is_input() || node.inputs.size() != 1) continue;
    const int p = node.inputs[0];
    if (nodes[static_cast<size_t>(p)].is_input() || consumers[static_cast<size_t>(p)] != 1 || is_output(p) ||
        is_output(static_cast<int>(i))) {
      continue;
    }
    producer_of[i] = p;
  }
  return producer_of;
}

}  // namespace

std::vector<int> plan_relu_fusion(const std::vector<Node>& nodes, const std::vector<int>& output_nodes) {
  std::vector<int> fused_into(nodes.size(), -1);
  if (env_is("KEROSENE_FUSE_RELU", "0")) return fused_into;
  // BatchNormalization + ReLU only when asked: it measured slower than unfused (layer_fusion.h).
  const bool batch_norm = env_is("KEROSENE_FUSE_BN_RELU", "1");
  const std::vector<int> producer_of = sole_producers(nodes, output_nodes);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const int p = producer_of[i];
    if (p < 0) continue;
    const auto* relu = dynamic_cast<const nn::ActivationLayer*>(nodes[i].layer.get());
    if (relu == nullptr || !backends::is_plain_relu(relu->params())) continue;
    const nn::Layer& producer = *nodes[static_cast<size_t>(p)].layer;
    if (!batch_norm && dynamic_cast<const nn::BatchNormalization*>(&producer)) continue;
    if (producer.can_fuse_relu()) fused_into[i] = p;
  }
  return fused_into;
}

std::vector<int> plan_max_pool_fusion(const std::vector<Node>& nodes, const std::vector<int>& output_nodes) {
  std::vector<int> fused_into(nodes.size(), -1);
  if (env_is("KEROSENE_FUSE_RELU", "0") || env_is("KEROSENE_FUSE_CONV_POOL", "0")) return fused_into;
  const std::vector<int> producer_of = sole_producers(nodes, output_nodes);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const int p = producer_of[i];
    if (p < 0) continue;
    const auto* pool = dynamic_cast<const nn::Pooling2D*>(nodes[i].layer.get());
    if (pool == nullptr) continue;
    const auto& c = pool->config();
    if (c.kind != backends::PoolKind::max || c.pool_h != 2 || c.pool_w != 2 || c.stride_h != 2 || c.stride_w != 2 ||
        c.padding != "valid") {
      continue;
    }
    const Node& producer = nodes[static_cast<size_t>(p)];
    // The fused op computes no input gradient: only a layer reading a model input qualifies.
    if (producer.inputs.size() != 1 || !nodes[static_cast<size_t>(producer.inputs[0])].is_input()) continue;
    if (producer.layer->can_fuse_max_pool()) fused_into[i] = p;
  }
  return fused_into;
}

}  // namespace kerosene::train
