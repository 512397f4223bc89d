// The Fashion-MNIST residual network of examples/fashion_mnist_resnet.cpp, trained for the
// side-by-side benchmark (bench/resnet_fashion/compare.py) and printing one JSON line.
//
//   bench_resnet_fashion [--epochs E] [--seed S] [--threads N] [--steps N] [--batch-size B]
//
// Model: Input (28,28,1), Conv2D(16,3x3,same,relu), residual block(16), MaxPooling2D(2),
// residual block(32, 1x1 projection shortcut), MaxPooling2D(2), Flatten, Dense(10, softmax);
// a block is relu(shortcut + BN(conv(relu(BN(conv(x)))))), bias-free convs before BN.
// Adam (Keras defaults), sparse categorical cross-entropy, batch 128, shuffled, images /255,
// all 60000 training images (no validation split), then test accuracy on the 10000 test images.
// Data: kerosene::datasets::fashion_mnist::load_data(); set KEROSENE_DATASETS to the folder
// that holds fashion-mnist/ (compare.py does) to be sure which files are read.
// --threads N: config::threading::set_intra_op_parallelism_threads(N) (0: kerosene's default).
// --steps N: train only N batches per epoch (Keras' steps_per_epoch).
// epoch_seconds: wall time of each epoch measured by a callback (data in memory, no evaluation);
// warm_seconds: the same after the epoch's first --warmup-steps W (default 10) batches.
// --eval-each-epoch 1: test accuracy after every epoch too (fit's validation_data; not timed).
// --eval 0: no evaluation at the end (for profiling the training steps alone).
#include <kerosene/kerosene.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace ks = kerosene;
using ks::KerasTensor;
namespace layers = ks::layers;

namespace {

KerasTensor residual_block(const KerasTensor& x, int64_t filters) {
  layers::Conv2DOptions no_bias{.padding = "same", .use_bias = false};
  KerasTensor shortcut = x;
  if (x.shape()[-1] != filters)
    shortcut = layers::Conv2D(filters, {1, 1}, layers::Conv2DOptions{.padding = "same"})(x);
  KerasTensor y = layers::Conv2D(filters, {3, 3}, no_bias)(x);
  y = layers::Activation("relu")(layers::BatchNormalization()(y));
  y = layers::Conv2D(filters, {3, 3}, no_bias)(y);
  y = layers::BatchNormalization()(y);
  return layers::Activation("relu")(layers::Add()({shortcut, y}));
}

class EpochTimer : public ks::Callback {
 public:
  explicit EpochTimer(int warmup) : warmup_(warmup) {}
  std::vector<double> seconds, warm;
  void on_epoch_begin(int, ks::Logs&) override {
    t0_ = std::chrono::steady_clock::now();
    have_tw_ = false;
  }
  std::vector<double> val_accuracy;
  void on_train_batch_end(int batch, ks::Logs&) override {
    t1_ = std::chrono::steady_clock::now();  // the epoch ends with its last batch, before validation
    if (batch == warmup_ - 1) { tw_ = t1_; have_tw_ = true; }
  }
  void on_epoch_end(int, ks::Logs& logs) override {
    seconds.push_back(std::chrono::duration<double>(t1_ - t0_).count());
    warm.push_back(have_tw_ ? std::chrono::duration<double>(t1_ - tw_).count() : -1.0);
    if (auto v = logs.get("val_accuracy")) val_accuracy.push_back(*v);
  }

 private:
  int warmup_;
  bool have_tw_ = false;
  std::chrono::steady_clock::time_point t0_, tw_, t1_;
};

}  // namespace

int main(int argc, char** argv) {
  int epochs = 1, threads = 0, steps = 0, batch = 128, warmup = 10, eval_each = 0, eval_end = 1;
  uint64_t seed = 0;
  std::string precision = "float32";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: %s [--epochs E] [--seed S] [--threads N] [--steps N] [--batch-size B] [--warmup-steps W] [--eval-each-epoch 0|1] [--eval 0|1] [--dtype-policy float32|mixed_bfloat16]\n", argv[0]);
      return 2;
    }
    const char* v = argv[++i];
    if (a == "--epochs") epochs = std::atoi(v);
    else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (a == "--threads") threads = std::atoi(v);
    else if (a == "--steps") steps = std::atoi(v);
    else if (a == "--batch-size") batch = std::atoi(v);
    else if (a == "--warmup-steps") warmup = std::atoi(v);
    else if (a == "--eval-each-epoch") eval_each = std::atoi(v);
    else if (a == "--eval") eval_end = std::atoi(v);
    else if (a == "--dtype-policy") precision = v;
    else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
  }
  try {
    if (threads > 0) ks::config::threading::set_intra_op_parallelism_threads(threads);
    ks::utils::set_random_seed(seed);
    ks::mixed_precision::set_global_policy(precision);
    auto [train, test] = ks::datasets::fashion_mnist::load_data();
    ks::Tensor x_train = train.x.to_float() / 255.0f;
    ks::Tensor x_test = test.x.to_float() / 255.0f;

    auto inputs = ks::Input({28, 28, 1}, "image");
    KerasTensor x = layers::Conv2D(16, {3, 3}, layers::Conv2DOptions{.padding = "same", .activation = "relu"})(inputs);
    x = residual_block(x, 16);
    x = layers::MaxPooling2D({2, 2})(x);
    x = residual_block(x, 32);
    x = layers::MaxPooling2D({2, 2})(x);
    x = layers::Flatten()(x);
    auto outputs = layers::Dense(10, "softmax")(x);
    ks::Model model(inputs, outputs, "fashion_resnet");
    model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});

    auto timer = std::make_shared<EpochTimer>(warmup);
    ks::FitOptions fit;
    fit.epochs = epochs;
    fit.batch_size = batch;
    fit.verbose = 0;
    fit.shuffle = true;
    fit.callbacks = {timer};
    if (steps > 0) fit.steps_per_epoch = steps;
    if (eval_each) fit.validation_data = std::make_pair(x_test, test.y);
    model.fit(x_train, train.y, fit);
    ks::EvaluateResult result{{{"loss", -1.0}, {"accuracy", -1.0}}};  // --eval 0 (profiling): -1
    if (eval_end) result = model.evaluate(x_test, test.y, {.batch_size = 1000, .verbose = 0});

    std::string secs;
    std::string warm, accs;
    for (double a : timer->val_accuracy) accs += (accs.empty() ? "" : ",") + std::to_string(a);
    for (double s : timer->seconds) secs += (secs.empty() ? "" : ",") + std::to_string(s);
    for (double s : timer->warm) warm += (warm.empty() ? "" : ",") + (s < 0 ? std::string("null") : std::to_string(s));
    std::printf("{\"framework\":\"kerosene\",\"dtype_policy\":\"%s\",\"threads\":%d,\"seed\":%llu,\"epochs\":%d,\"batch_size\":%d,"
                "\"steps\":%d,\"train_samples\":%lld,\"params\":%lld,\"epoch_seconds\":[%s],"
                "\"warm_seconds\":[%s],\"warmup_steps\":%d,\"test_accuracy_per_epoch\":[%s],\"test_loss\":%.5f,\"test_accuracy\":%.4f,\"data\":\"%s\"}\n",
                precision.c_str(), ks::config::threading::get_intra_op_parallelism_threads(), static_cast<unsigned long long>(seed),
                epochs, batch, steps, static_cast<long long>(x_train.dim(0)),
                static_cast<long long>(model.count_params()), secs.c_str(), warm.c_str(), warmup, accs.c_str(), result.loss(), result["accuracy"],
                train.x_source.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_resnet_fashion: %s\n", e.what());
    return 1;
  }
}
