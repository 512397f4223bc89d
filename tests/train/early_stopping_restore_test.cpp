// EarlyStopping(restore_best_weights) against a real Sequential: the weights put back must be
// the best epoch's, even though the model's variables changed in place afterwards.
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "kerosene/callbacks.h"
#include "kerosene/sequential.h"

namespace kerosene {
namespace {

// A temporary as an lvalue: the hooks take Logs&, as Keras callbacks may change the logs.
template <class T>
T& lvalue(T&& t) {
  return t;
}

// Every weight of `model` set to `value`, keeping the shapes.
void fill_weights(Sequential& model, float value) {
  std::vector<Tensor> weights = model.get_weights();
  for (Tensor& w : weights) {
    w = Tensor::from_vector(std::vector<float>(w.numel(), value), w.shape());
  }
  model.set_weights(weights);
}

void expect_weights_equal(const Sequential& model, float value) {
  for (const Tensor& w : model.get_weights()) {
    for (float v : w.to_vector<float>()) EXPECT_EQ(v, value);
  }
}

Logs val_loss(double value) {
  Logs logs;
  logs.set("val_loss", value);
  return logs;
}

TEST(EarlyStoppingRestoreTest, RestoresBestEpochWeightsWhenStopping) {
  Sequential model({layers::Input({2}), layers::Dense(1)});
  model.compile(optimizers::SGD(), "mse");
  std::ostringstream out;
  auto es = std::make_shared<callbacks::EarlyStopping>(callbacks::EarlyStopping::Options{
      .patience = 1, .verbose = 1, .restore_best_weights = true, .out = &out});
  es->set_model(&model);
  es->on_train_begin(lvalue(Logs{}));

  fill_weights(model, 1.0f);
  es->on_epoch_end(0, lvalue(val_loss(0.5)));
  fill_weights(model, 2.0f);  // worse epoch: patience 1 runs out here
  es->on_epoch_end(1, lvalue(val_loss(0.6)));
  es->on_train_end(lvalue(Logs{}));

  EXPECT_TRUE(model.stop_training);
  EXPECT_EQ(es->stopped_epoch(), 1);
  expect_weights_equal(model, 1.0f);
  EXPECT_EQ(out.str(),
            "Restoring model weights from the end of the best epoch: 1.\n"
            "Epoch 2: early stopping\n");
}

TEST(EarlyStoppingRestoreTest, LeavesWeightsAloneWithoutRestore) {
  Sequential model({layers::Input({2}), layers::Dense(1)});
  model.compile(optimizers::SGD(), "mse");
  callbacks::EarlyStopping es({.patience = 1});
  es.set_model(&model);
  es.on_train_begin(lvalue(Logs{}));
  fill_weights(model, 1.0f);
  es.on_epoch_end(0, lvalue(val_loss(0.5)));
  fill_weights(model, 2.0f);
  es.on_epoch_end(1, lvalue(val_loss(0.6)));
  EXPECT_TRUE(model.stop_training);
  expect_weights_equal(model, 2.0f);
}

}  // namespace
}  // namespace kerosene
