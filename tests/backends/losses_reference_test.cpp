// The CPU backend's losses against Keras (tests/reference/losses.json): the mean loss and its
// gradient w.r.t. y_pred, including probabilities Keras clips to [1e-7, 1 - 1e-7], and, where
// y_pred came from a softmax/sigmoid, the gradient w.r.t. those logits through the unfused chain
// (loss on probabilities, then the activation's backward).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/backend.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

using backends::ActivationKind;
using backends::LossKind;

LossKind loss_kind(const std::string& name) {
  if (name == "sparse_categorical_crossentropy") return LossKind::sparse_categorical_crossentropy;
  if (name == "categorical_crossentropy") return LossKind::categorical_crossentropy;
  if (name == "binary_crossentropy") return LossKind::binary_crossentropy;
  if (name == "mean_squared_error") return LossKind::mean_squared_error;
  ADD_FAILURE() << "unknown loss " << name;
  return LossKind::mean_squared_error;
}

TEST(LossReferenceTest, EveryCaseMatchesKeras) {
  const json ref = load_reference("losses.json");
  ASSERT_TRUE(ref.contains("cases"));
  ASSERT_GE(ref["cases"].size(), 10u);
  EXPECT_FLOAT_EQ(ref["epsilon"].get<float>(), 1e-7f);
  auto& backend = backends::backend_for(DeviceType::CPU);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const LossKind kind = loss_kind(c["loss"]);
    const bool from_logits = c["config"].value("from_logits", false);
    const Tensor pred = tensor_of(c["y_pred"]);
    const Tensor truth =
        kind == LossKind::sparse_categorical_crossentropy ? int_tensor_of(c["y_true"]) : tensor_of(c["y_true"]);
    const int64_t batch = pred.dim(0);
    Tensor sample = Tensor::empty({batch});
    Tensor grad = Tensor::empty(pred.shape());
    backend.loss({kind, from_logits, 1.0f / static_cast<float>(batch)}, pred, truth, sample, &grad);

    double mean = 0;
    for (float v : values_of(sample)) mean += v;
    mean /= static_cast<double>(batch);
    const double expected = c["loss_value"].get<double>();
    EXPECT_NEAR(mean, expected, 1e-5 * std::max(1.0, std::fabs(expected))) << name << ": loss value";
    expect_close(grad, floats_of(c["grad_y_pred"]["values"]), 1e-6, 1e-5, name + ": d(loss)/d(y_pred)");

    if (c.contains("grad_logits")) {
      // y_pred = activation(logits); the chain rule through the activation's backward.
      const std::string from = c["config"].value("probabilities_from", "");
      const ActivationKind act = from == "softmax" ? ActivationKind::softmax : ActivationKind::sigmoid;
      const Tensor logits = tensor_of(c["logits"]);
      Tensor probs = Tensor::empty(logits.shape());
      backend.activation_forward({act}, logits, probs);
      expect_close(probs, values_of(pred), 1e-7, 1e-5, name + ": " + from + "(logits)");
      Tensor dlogits = Tensor::empty(logits.shape());
      backend.activation_backward({act}, logits, pred, grad, dlogits);
      expect_close(dlogits, floats_of(c["grad_logits"]["values"]), 1e-6, 1e-4, name + ": d(loss)/d(logits)");
    }
  }
}

}  // namespace
}  // namespace kerosene::test
