#include "train/layer_fusion.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "nn/normalization.h"
#include "nn/simple_layers.h"
#include "nn/conv2d.h"

namespace kerosene::train {

std::vector<int> plan_relu_fusion(const std::vector<Node>& nodes, const std::vector<int>& output_nodes) {
  std::vector<int> fused_into(nodes.size(), -1);
  if (const char* env = std::getenv("KEROSENE_FUSE_RELU"); env && std::strcmp(env, "0") == 0) return fused_into;
  // BatchNormalization + ReLU only when asked: it measured slower than unfused (layer_fusion.h).
  const char* bn_env = std::getenv("KEROSENE_FUSE_BN_RELU");
  const bool batch_norm = bn_env && std::strcmp(bn_env, "1") == 0;
  std::vector<int> consumers(nodes.size(), 0);
  for (const Node& n : nodes) {
    for (int t : n.inputs) ++consumers[static_cast<size_t>(t)];
  }
  auto is_output = [&](int i) { return std::find(output_nodes.begin(), output_nodes.end(), i) != output_nodes.end(); };
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    if (node.is_input() || node.inputs.size() != 1) continue;
    const auto* relu = dynamic_cast<const nn::ActivationLayer*>(node.layer.get());
    if (relu == nullptr || !backends::is_plain_relu(relu->params())) continue;
    const int p = node.inputs[0];
    const Node& producer = nodes[static_cast<size_t>(p)];
    if (producer.is_input() || consumers[static_cast<size_t>(p)] != 1 || is_output(p) ||
        is_output(static_cast<int>(i))) {
      continue;
    }
    if (!batch_norm && dynamic_cast<const nn::BatchNormalization*>(producer.layer.get())) continue;
    if (producer.layer->can_fuse_relu()) fused_into[i] = p;
  }
  return fused_into;
}

namespace {

bool env_is_zero(const char* name) {
  const char* env = std::getenv(name);
  return env && std::strcmp(env, "0") == 0;
}

}  // namespace

std::vector<int> plan_max_pool_fusion(const std::vector<Node>& nodes, const std::vector<int>& output_nodes) {
  std::vector<int> fused_into(nodes.size(), -1);
  if (env_is_zero("KEROSENE_FUSE_RELU") || env_is_zero("KEROSENE_FUSE_CONV_POOL")) return fused_into;
  std::vector<int> consumers(nodes.size(), 0);
  for (const Node& n : nodes) {
    for (int t : n.inputs) ++consumers[static_cast<size_t>(t)];
  }
  auto is_output = [&](int i) { return std::find(output_nodes.begin(), output_nodes.end(), i) != output_nodes.end(); };
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    if (node.is_input() || node.inputs.size() != 1) continue;
    const auto* pool = dynamic_cast<const nn::Pooling2D*>(node.layer.get());
    if (pool == nullptr) continue;
    const auto& c = pool->config();
    if (c.kind != backends::PoolKind::max || c.pool_h != 2 || c.pool_w != 2 || c.stride_h != 2 || c.stride_w != 2 ||
        c.padding != "valid") {
      continue;
    }
    const int p = node.inputs[0];
    const Node& producer = nodes[static_cast<size_t>(p)];
    if (producer.is_input() || producer.inputs.size() != 1 || consumers[static_cast<size_t>(p)] != 1 ||
        is_output(p) || is_output(static_cast<int>(i))) {
      continue;
    }
    if (!nodes[static_cast<size_t>(producer.inputs[0])].is_input()) continue;  // its input gradient is needed
    if (producer.layer->can_fuse_max_pool()) fused_into[i] = p;
  }
  return fused_into;
}

}  // namespace kerosene::train
