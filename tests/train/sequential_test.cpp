// Sequential: the summary table of the classic MNIST models, layers that do not fit refused at
// add(), and compile's checks of names and order of calls.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "kerosene/kerosene.h"

namespace kerosene {
namespace {

Sequential mnist_mlp() {
  return Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(128, "relu"),
                     layers::Dense(10, "softmax")});
}

// With every name given, so that the table does not depend on how many layers were made before.
Sequential mnist_cnn_named() {
  layers::Conv2DOptions conv;
  conv.activation = "relu";
  conv.name = "conv2d";
  layers::Pooling2DOptions pool;
  pool.name = "max_pooling2d";
  layers::DenseOptions dense;
  dense.activation = "softmax";
  dense.name = "dense";
  return Sequential({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, conv), layers::MaxPooling2D({2, 2}, pool),
                     layers::Flatten("flatten"), layers::Dense(10, dense)},
                    "sequential");
}

TEST(SequentialTest, MlpSummary) {
  Sequential model = mnist_mlp();
  EXPECT_TRUE(model.built());
  EXPECT_EQ(model.count_params(), 101770);
  const std::string s = model.summary_string(76);
  KEROSENE_EXPECT_CONTAINS(s, "Model: \"" + model.name() + "\"");
  KEROSENE_EXPECT_CONTAINS(s, " Total params: 101,770 (397.54 KB)\n");
  KEROSENE_EXPECT_CONTAINS(s, " Trainable params: 101,770 (397.54 KB)\n");
  KEROSENE_EXPECT_CONTAINS(s, " Non-trainable params: 0 (0.00 B)\n");
  const auto layers = model.layers();
  ASSERT_EQ(layers.size(), 3u);  // Input is not a layer of the model, as in Keras
  auto row = [](const std::string& name, const std::string& type, const std::string& shape, const std::string& params) {
    // Keras 3 at 76 columns: cells 31, 22 and 13 wide between "│ " and " │".
    std::string left = name + " (" + type + ")";
    left.resize(31, ' ');
    std::string middle = shape;
    middle.resize(22, ' ');
    return "│ " + left + " │ " + middle + " │ " + std::string(13 - params.size(), ' ') + params + " │\n";
  };
  KEROSENE_EXPECT_CONTAINS(s, row(layers[0].name(), "Flatten", "(None, 784)", "0"));
  KEROSENE_EXPECT_CONTAINS(s, row(layers[1].name(), "Dense", "(None, 128)", "100,480"));
  KEROSENE_EXPECT_CONTAINS(s, row(layers[2].name(), "Dense", "(None, 10)", "1,290"));
  EXPECT_EQ(layers[1].count_params(), 100480);
  EXPECT_EQ(layers[1].output_shape(), Shape({128}));
}

TEST(SequentialTest, CnnSummaryIsKerasTable) {
  Sequential model = mnist_cnn_named();
  EXPECT_EQ(model.count_params(), 54410);
  // Keras 3.15's output for this model (piped, so 80 columns and a 76-wide table).
  const std::string expected =
      "Model: \"sequential\"\n"
      "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
      "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
      "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
      "│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │\n"
      "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
      "│ max_pooling2d (MaxPooling2D)    │ (None, 13, 13, 32)     │             0 │\n"
      "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
      "│ flatten (Flatten)               │ (None, 5408)           │             0 │\n"
      "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
      "│ dense (Dense)                   │ (None, 10)             │        54,090 │\n"
      "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
      " Total params: 54,410 (212.54 KB)\n"
      " Trainable params: 54,410 (212.54 KB)\n"
      " Non-trainable params: 0 (0.00 B)\n";
  EXPECT_EQ(model.summary_string(76), expected);
  std::ostringstream out;
  model.summary(&out, 76);
  EXPECT_EQ(out.str(), expected);
}

TEST(SequentialTest, WeightsInKerasLayout) {
  Sequential model = mnist_cnn_named();
  const auto weights = model.get_weights();
  ASSERT_EQ(weights.size(), 4u);
  EXPECT_EQ(weights[0].shape(), Shape({3, 3, 1, 32}));  // (kh, kw, in, out)
  EXPECT_EQ(weights[1].shape(), Shape({32}));
  EXPECT_EQ(weights[2].shape(), Shape({5408, 10}));
  EXPECT_EQ(weights[3].shape(), Shape({10}));
  EXPECT_EQ(weights[1].to_vector<float>(), std::vector<float>(32, 0.0f));  // bias: zeros
  EXPECT_THROW(model.set_weights({weights[0]}), ValueError);
  EXPECT_THROW(model.set_weights({weights[0], weights[1], weights[3], weights[2]}), ValueError);
}

TEST(SequentialTest, ModelWithoutInputIsBuiltByData) {
  Sequential model({layers::Dense(4, "relu"), layers::Dense(1)});
  EXPECT_FALSE(model.built());
  KEROSENE_EXPECT_CONTAINS(model.summary_string(), "│ ?  ");  // Keras' shape of an unbuilt layer
  KEROSENE_EXPECT_CONTAINS(model.summary_string(), "0 (unbuilt) │");
  KEROSENE_EXPECT_CONTAINS(model.summary_string(), " Total params: 0 (0.00 B)\n");
  model.build({3});
  EXPECT_TRUE(model.built());
  EXPECT_EQ(model.count_params(), 3 * 4 + 4 + 4 + 1);
}

TEST(SequentialTest, AddRefusesALayerThatDoesNotFit) {
  Sequential model({layers::Input({28, 28, 1}), layers::Flatten()});
  try {
    model.add(layers::Conv2D(8, {3, 3}));
    FAIL() << "a Conv2D after Flatten was accepted";
  } catch (const ValueError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), "Conv2D");
    KEROSENE_EXPECT_CONTAINS(e.what(), "(784,)");
  }
  EXPECT_EQ(model.layers().size(), 1u);  // the model is as before, and still usable
  model.add(layers::Dense(10, "softmax"));
  EXPECT_EQ(model.count_params(), 7850);

  Sequential small({layers::Input({4, 4, 1})});
  EXPECT_THROW(small.add(layers::MaxPooling2D({5, 5})), ValueError);
  EXPECT_THROW(small.add(layers::Conv2D(1, {5, 5})), ValueError);
  EXPECT_THROW(small.add(layers::Reshape({3, 5})), ValueError);
  EXPECT_THROW(small.add(layers::Input({4, 4, 1})), ValueError);  // Input only first
  Layer dense = layers::Dense(2);
  small.add(layers::Flatten());
  small.add(dense);
  EXPECT_THROW(small.add(dense), ValueError);  // the same layer twice
}

TEST(SequentialTest, LayerArgumentsAreChecked) {
  EXPECT_THROW(layers::Dense(0), ValueError);
  EXPECT_THROW(layers::Dense(3, "swishy"), ValueError);
  EXPECT_THROW(layers::Dropout(1.0f), ValueError);
  EXPECT_THROW(layers::Input({28, 0}), ValueError);
}

TEST(SequentialTest, CompileRejectsUnknownNames) {
  Sequential model = mnist_mlp();
  try {
    model.compile(optimizers::Adam(), "sparse_categorical_crossentropyy");
    FAIL() << "an unknown loss was accepted";
  } catch (const ValueError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), "sparse_categorical_crossentropyy");
    KEROSENE_EXPECT_CONTAINS(e.what(), "mean_squared_error");
  }
  try {
    model.compile(optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy", "f1"});
    FAIL() << "an unknown metric was accepted";
  } catch (const ValueError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), "\"f1\"");
  }
  try {
    model.compile("adadelta", "sparse_categorical_crossentropy");
    FAIL() << "an unknown optimizer was accepted";
  } catch (const ValueError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), "adadelta");
    KEROSENE_EXPECT_CONTAINS(e.what(), "rmsprop");
  }
  EXPECT_THROW(optimizers::get("ftrl"), ValueError);
  optimizers::SGDOptions negative;
  negative.learning_rate = -1.0f;
  EXPECT_THROW(optimizers::SGD(negative), ValueError);
  EXPECT_NO_THROW(model.compile("adam", "mse"));
  EXPECT_NO_THROW(model.compile(optimizers::get("sgd", 0.1f), "categorical_crossentropy:from_logits", {"acc"}));
}

TEST(SequentialTest, FitEvaluateBeforeCompileIsARuntimeError) {
  Sequential model({layers::Input({2}), layers::Dense(1)});
  Tensor x = Tensor::zeros({4, 2}), y = Tensor::zeros({4, 1});
  try {
    model.fit(x, y);
    FAIL() << "fit before compile was accepted";
  } catch (const RuntimeError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), "compile");
    KEROSENE_EXPECT_CONTAINS(e.what(), model.name());
  }
  EXPECT_THROW(model.evaluate(x, y), RuntimeError);
  EXPECT_EQ(model.predict(x).shape(), Shape({4, 1}));  // predict needs no compile, as in Keras
}

}  // namespace
}  // namespace kerosene
