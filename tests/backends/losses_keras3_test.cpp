// Keras 3's other losses (tests/reference/losses_keras3.json, scripts/make_loss_reference_values.py):
// the CPU backend's batch value and gradient w.r.t. y_pred against Keras' loss objects, each
// compiled from the spec compile takes ("huber:delta=2", "categorical_crossentropy:label_smoothing=0.1");
// finite differences of the smooth losses; the spec parser's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "kerosene/error.h"
#include "kerosene/losses.h"
#include "test_util.h"
#include "train/loss_catalog.h"

namespace kerosene::test {
namespace {

Tensor matrix_of(const json& rows) {
  std::vector<float> values;
  for (const json& row : rows) {
    for (const json& v : row) values.push_back(static_cast<float>(v.get<double>()));
  }
  return Tensor::from_vector(values, Shape({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}));
}

std::vector<float> flat(const json& rows) { return values_of(matrix_of(rows)); }

backends::LossArgs args_for(const train::LossConfig& loss, int64_t batch) {
  const float scale = loss.reduction == train::Reduction::sum ? 1.0f : 1.0f / static_cast<float>(batch);
  return {loss.kind, loss.from_logits, scale, loss.label_smoothing, loss.delta};
}

// The batch's loss as Keras reduces it: the mean (or the sum) of the per-sample losses.
double batch_loss(const train::LossConfig& loss, const Tensor& pred, const Tensor& truth) {
  auto& backend = backends::backend_for(DeviceType::CPU);
  const int64_t batch = pred.dim(0);
  Tensor sample = Tensor::empty({batch});
  backend.loss(args_for(loss, batch), pred, truth, sample, nullptr);
  double sum = 0;
  for (float v : values_of(sample)) sum += v;
  return loss.reduction == train::Reduction::sum ? sum : sum / static_cast<double>(batch);
}

TEST(LossKeras3Test, EveryLossMatchesKerasValueAndGradient) {
  const json ref = load_reference("losses_keras3.json");
  ASSERT_TRUE(ref.contains("cases"));
  ASSERT_GE(ref["cases"].size(), 19u);
  auto& backend = backends::backend_for(DeviceType::CPU);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const train::LossConfig loss = train::parse_loss_spec(c["spec"], false);
    const Tensor pred = matrix_of(c["y_pred"]), truth = matrix_of(c["y_true"]);
    const int64_t batch = pred.dim(0);
    Tensor sample = Tensor::empty({batch});
    Tensor grad = Tensor::empty(pred.shape());
    backend.loss(args_for(loss, batch), pred, truth, sample, &grad);
    const double expected = c["loss_value"].get<double>();
    EXPECT_NEAR(batch_loss(loss, pred, truth), expected, 1e-5 * std::max(1.0, std::fabs(expected))) << "loss value";
    expect_close(grad, flat(c["grad_y_pred"]), 1e-6, 1e-4, name + ": d(loss)/d(y_pred)");
  }
}

TEST(LossKeras3Test, SmoothLossesMatchFiniteDifferences) {
  const int64_t batch = 3, cols = 4;
  const std::vector<std::string> specs = {"huber:delta=0.5", "log_cosh", "msle", "kld", "poisson",
                                          "cosine_similarity", "mse", "categorical_crossentropy:label_smoothing=0.2",
                                          "binary_crossentropy:from_logits:label_smoothing=0.1"};
  for (const std::string& spec : specs) {
    SCOPED_TRACE(spec);
    const train::LossConfig loss = train::parse_loss_spec(spec, false);
    // Predictions in (0.1, 0.9) keep kl_divergence, msle and poisson inside their domains;
    // targets are probabilities too (the cross-entropies and kld need them).
    Tensor pred = make_tensor(uniform_values(batch * cols, 11, 0.1f, 0.9f), {batch, cols});
    Tensor truth = make_tensor(uniform_values(batch * cols, 12, 0.0f, 1.0f), {batch, cols});
    if (loss.kind == backends::LossKind::huber) {
      // Errors away from the kink at |e| = delta.
      pred = make_tensor({-1.7f, -0.3f, 0.2f, 0.9f, 1.3f, -0.8f, 0.05f, 2.0f, -0.1f, 0.35f, -1.1f, 0.7f}, {batch, cols});
      truth = make_tensor(std::vector<float>(static_cast<size_t>(batch * cols), 0.0f), {batch, cols});
    }
    Tensor grad = Tensor::empty(pred.shape());
    Tensor sample = Tensor::empty({batch});
    backends::backend_for(DeviceType::CPU).loss(args_for(loss, batch), pred, truth, sample, &grad);
    const auto numeric = numeric_gradient(static_cast<float*>(pred.raw_data()), pred.numel(), 1e-3f,
                                          [&] { return batch_loss(loss, pred, truth); });
    expect_close(values_of(grad), numeric, kGradAtol, kGradRtol, spec + ": gradient vs finite differences");
  }
}

TEST(LossKeras3Test, SpecsAndLossObjects) {
  const train::LossConfig huber = train::parse_loss_spec(losses::Huber(2.5f), false);
  EXPECT_EQ(huber.kind, backends::LossKind::huber);
  EXPECT_FLOAT_EQ(huber.delta, 2.5f);
  EXPECT_TRUE(huber.as_object);
  const train::LossConfig cce = train::parse_loss_spec(
      losses::CategoricalCrossentropy({.from_logits = true, .label_smoothing = 0.1f, .reduction = losses::Reduction::sum}),
      false);
  EXPECT_TRUE(cce.from_logits);
  EXPECT_FLOAT_EQ(cce.label_smoothing, 0.1f);
  EXPECT_EQ(cce.reduction, train::Reduction::sum);
  EXPECT_EQ(train::parse_loss_spec("mae", false).kind, backends::LossKind::mean_absolute_error);
  EXPECT_EQ(train::parse_loss_spec("kld", false).name, "kl_divergence");
  EXPECT_FALSE(train::parse_loss_spec("mse", true).from_logits);  // compile's flag: cross-entropies only
  EXPECT_EQ(train::loss_spec(train::parse_loss_spec(train::loss_spec(cce), false)), train::loss_spec(cce));
  auto message = [](const std::string& spec) {
    try {
      train::parse_loss_spec(spec, false);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("hinge:label_smoothing=0.1").find("applies to categorical_crossentropy"), std::string::npos);
  EXPECT_NE(message("huber:delta=x").find("expects a number, found \"x\""), std::string::npos);
  EXPECT_NE(message("mae:reduction=none").find("fit cannot minimise"), std::string::npos);
  EXPECT_NE(message("mse:from_logits").find("does not apply"), std::string::npos);
  EXPECT_NE(message("focal").find("expected one of"), std::string::npos);
}

TEST(LossKeras3Test, MaeAndMseMetricsArePerSampleMeans) {
  auto& backend = backends::backend_for(DeviceType::CPU);
  const Tensor pred = make_tensor({1, 2, 3, 4}, {2, 2}), truth = make_tensor({0, 4, 3, 1}, {2, 2});
  Tensor out = Tensor::empty({2});
  backend.metric(backends::MetricKind::mean_absolute_error, pred, truth, out);
  expect_close(out, {1.5f, 1.5f}, 1e-7, 0, "mae");
  backend.metric(backends::MetricKind::mean_squared_error, pred, truth, out);
  expect_close(out, {2.5f, 4.5f}, 1e-7, 0, "mse");
}

}  // namespace
}  // namespace kerosene::test
