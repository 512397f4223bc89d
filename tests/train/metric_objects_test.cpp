// The counting metrics (top-k, AUC, F-beta, IoU) with options, accumulated over several batches
// as Keras 3 accumulates them: tests/reference/metric_objects.json
// (scripts/make_metric_objects_reference.py). The model is the identity, so its predictions are
// the reference's y_pred. Then the names in fit's logs, the compile config, and bad input.
#include <gtest/gtest.h>

#include "data/data_test_files.h"
#include "io/zip_archive.h"
#include "kerosene/kerosene.h"
#include "kerosene/metrics.h"
#include "test_util.h"
#include "train/metric_catalog.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using json = nlohmann::json;

Tensor floats(const test::json& rows) {
  std::vector<float> v;
  for (const auto& row : rows) {
    for (const auto& x : row) v.push_back(static_cast<float>(x.get<double>()));
  }
  return Tensor::from_vector(v, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
}

Tensor targets(const test::json& y_true) {
  if (y_true[0].is_array()) return floats(y_true);
  return Tensor::from_vector(y_true.get<std::vector<int32_t>>(), {static_cast<int64_t>(y_true.size())});
}

const char* loss_for(const std::string& data) {
  if (data == "one_hot") return "categorical_crossentropy";
  if (data == "sparse") return "sparse_categorical_crossentropy";
  if (data == "ids") return "mse";
  return "binary_crossentropy";
}

TEST(MetricObjects, AccumulatedOverBatchesAsKeras) {
  const test::json ref = test::load_reference("metric_objects.json");
  const int batch = ref["batch_size"].get<int>();
  ASSERT_GE(ref["cases"].size(), 20u);
  for (const auto& c : ref["cases"]) {
    const std::string data = c["data"].get<std::string>(), spec = c["spec"].get<std::string>();
    const Tensor pred = floats(ref["data"][data]["y_pred"]);
    Sequential model({layers::Input({pred.dim(1)}), layers::Activation("linear")});
    model.compile(optimizers::SGD(), loss_for(data), {spec});
    const EvaluateResult r = model.evaluate(pred, targets(ref["data"][data]["y_true"]), {.batch_size = batch, .verbose = 0});
    ASSERT_EQ(r.size(), 2u) << spec;
    EXPECT_NEAR(r[1], c["value"].get<double>(), 2e-6) << spec;
  }
}

TEST(MetricObjects, NamesCountsAndTheSpecsThatMakeThemAgain) {
  Sequential model({layers::Input({4}), layers::Activation("softmax")});
  model.compile(optimizers::SGD(), "sparse_categorical_crossentropy",
                {metrics::AUC({.num_thresholds = 50}), "auc", metrics::SparseTopKCategoricalAccuracy(3),
                 metrics::F1Score("macro"), metrics::MeanIoU(4, {.sparse_y_pred = false})});
  const auto& m = model.state().metrics;
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].log_name, "auc");
  EXPECT_EQ(m[1].log_name, "auc_1");  // as Keras names a second AUC
  EXPECT_EQ(m[2].log_name, "sparse_top_k_categorical_accuracy");
  EXPECT_EQ(m[3].log_name, "f1_score");
  EXPECT_EQ(m[4].log_name, "mean_io_u");
  EXPECT_EQ(m[0].count_size, 2 * 50 + 2);
  EXPECT_EQ(m[3].count_size, 4 * 4);
  EXPECT_EQ(m[4].count_size, 16);
  EXPECT_EQ(model.state().running_sum_count(), 102u + 402u + 1u + 16u + 16u);
  EXPECT_FALSE(m[1].as_object);  // a bare name stays a name in the compile config
  for (const auto& metric : m) {
    if (!metric.as_object) continue;
    const train::MetricConfig again = train::parse_metric_spec(train::metric_spec(metric), {}, 4);
    EXPECT_EQ(train::metric_spec(again), train::metric_spec(metric));
  }
}

TEST(MetricObjects, FitLogsThemAndTheCompileConfigKeepsThem) {
  TempDir dir;
  utils::set_random_seed(4);
  Sequential model({layers::Input({3}), layers::Dense(4, "softmax")});
  model.compile(optimizers::Adam(), "categorical_crossentropy",
                {"accuracy", metrics::AUC({.num_thresholds = 50, .curve = "PR"}), metrics::TopKCategoricalAccuracy(2),
                 "f1_score:average=weighted", metrics::MeanIoU(4, {.sparse_y_true = false, .sparse_y_pred = false, .name = "miou"})});
  const Tensor x = Tensor::from_vector(std::vector<float>{0.1f, 0.5f, -0.3f, 0.9f, -0.2f, 0.4f, 0.3f, 0.3f, 0.8f,
                                                          -0.7f, 0.2f, 0.6f},
                                       {4, 3});
  const Tensor y = Tensor::from_vector(std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, {4, 4});
  FitOptions fit{.batch_size = 2, .epochs = 2, .verbose = 0};
  fit.validation_data = std::make_pair(Tensors(x), Tensors(y));
  const History h = model.fit(x, y, fit);
  for (const char* key : {"auc", "top_k_categorical_accuracy", "f1_score", "miou", "val_auc", "val_miou"}) {
    ASSERT_TRUE(h.history.count(key)) << key;
    EXPECT_EQ(h.history.at(key).size(), 2u) << key;
    EXPECT_GE(h.history.at(key)[1], 0.0) << key;
    EXPECT_LE(h.history.at(key)[1], 1.0) << key;
  }
  const EvaluateResult before = model.evaluate(x, y, {.verbose = 0});

  model.save(dir / "m.keras");
  io::ZipReader zip(dir / "m.keras");
  const auto bytes = zip.read("config.json");
  const json metrics = json::parse(bytes.begin(), bytes.end())["compile_config"]["metrics"];
  ASSERT_EQ(metrics.size(), 5u);
  EXPECT_EQ(metrics[0], "accuracy");
  EXPECT_EQ(metrics[1]["module"], "keras.metrics");
  EXPECT_EQ(metrics[1]["class_name"], "AUC");
  EXPECT_EQ(metrics[1]["config"]["num_thresholds"], 50);
  EXPECT_EQ(metrics[1]["config"]["curve"], "PR");
  EXPECT_EQ(metrics[2]["class_name"], "TopKCategoricalAccuracy");
  EXPECT_EQ(metrics[2]["config"]["k"], 2);
  EXPECT_EQ(metrics[3]["class_name"], "F1Score");
  EXPECT_EQ(metrics[3]["config"]["average"], "weighted");
  EXPECT_TRUE(metrics[3]["config"]["threshold"].is_null());
  EXPECT_EQ(metrics[4]["class_name"], "MeanIoU");
  EXPECT_EQ(metrics[4]["config"]["name"], "miou");
  EXPECT_EQ(metrics[4]["config"]["sparse_y_true"], false);
  EXPECT_EQ(metrics[4]["config"]["sparse_y_pred"], false);

  Model loaded = models::load_model(dir / "m.keras");
  const EvaluateResult after = loaded.evaluate(x, y, {.verbose = 0});
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after.values[i].first, before.values[i].first);
    EXPECT_NEAR(after.values[i].second, before.values[i].second, 1e-6) << before.values[i].first;
  }
}

TEST(MetricObjects, BadOptionsAndTargetsAreClearErrors) {
  Sequential model({layers::Input({4}), layers::Activation("softmax")});
  auto compile_error = [&](const std::string& spec) {
    try {
      model.compile(optimizers::SGD(), "categorical_crossentropy", {spec});
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(compile_error("f1_score").find("average=None gives one score per class"), std::string::npos);
  EXPECT_NE(compile_error(metrics::F1Score(std::nullopt)).find("average"), std::string::npos);
  EXPECT_NE(compile_error("auc:num_thresholds=1").find("expects an integer >= 2, found \"1\""), std::string::npos);
  EXPECT_NE(compile_error("auc:curve=PRGAIN").find("expects one of ROC, PR"), std::string::npos);
  EXPECT_NE(compile_error("auc:k=3").find("\"k\" does not apply to AUC"), std::string::npos);
  EXPECT_NE(compile_error("mean_io_u").find("needs num_classes"), std::string::npos);
  EXPECT_NE(compile_error("io_u:num_classes=3:target_class_ids=0,3").find("not below num_classes = 3"),
            std::string::npos);
  EXPECT_NE(compile_error("fbeta_score:average=micro:beta=0").find("must be > 0"), std::string::npos);
  EXPECT_NE(compile_error("accuracy:k=2").find("takes no options"), std::string::npos);

  // A sparse top-k metric given one-hot targets: says what it expected and what it found.
  model.compile(optimizers::SGD(), "categorical_crossentropy", {metrics::SparseTopKCategoricalAccuracy(2)});
  const Tensor x = Tensor::from_vector(std::vector<float>(8, 0.5f), {2, 4});
  try {
    model.evaluate(x, Tensor::from_vector(std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0}, {2, 4}), {.verbose = 0});
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("expected one class id per row"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("found targets of shape"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kerosene
