/*
 * save_and_resume: training that survives being killed, and a model that outlives the process.
 *
 * The MNIST MLP of mnist_mlp.cpp, trained with two callbacks:
 *   - BackupAndRestore("backup", "100"): every 100 batches the weights, the optimizer state, the
 *     position in the epoch and the random state go to backup/. Kill the program (Ctrl-C, or
 *     kill -9) and run the same command again: it goes on from the last backup and ends with the
 *     same weights as a run never interrupted.
 *   - ModelCheckpoint("checkpoints/mnist-{epoch:02d}-{val_accuracy:.4f}.keras", save_best_only):
 *     the whole model, each time the validation accuracy improves.
 * Then the model is saved to mnist_mlp.keras, read back with models::load_model (Keras 3 reads
 * the same file: keras.saving.load_model("mnist_mlp.keras")) and evaluated on the test images.
 *
 * Build and run (from the repository root):
 *   cmake -S . -B build -G Ninja && ninja -C build example_save_and_resume
 *   ./build/example_save_and_resume 3
 * MNIST is found as in mnist_mlp.cpp (KEROSENE_DATASETS=<dir>, see kerosene/datasets.h).
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

namespace ks = kerosene;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 3;
  if (epochs < 1) {
    std::fprintf(stderr, "usage: %s [epochs >= 1]\n", argv[0]);
    return 2;
  }
  try {
    // The same seed on every start: a resumed run must shuffle and drop out as the first did.
    ks::utils::set_random_seed(42);
    auto [train, test] = ks::datasets::mnist::load_data();
    ks::Tensor x_train = train.x.to_float() / 255.0f;
    ks::Tensor x_test = test.x.to_float() / 255.0f;

    ks::Sequential model({
        ks::layers::Input({28, 28, 1}),
        ks::layers::Flatten(),
        ks::layers::Dense(128, "relu"),
        ks::layers::Dropout(0.2f),
        ks::layers::Dense(10, "softmax"),
    });
    model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});

    auto backup = std::make_shared<ks::callbacks::BackupAndRestore>("backup", "100");
    auto checkpoint = std::make_shared<ks::callbacks::ModelCheckpoint>(
        "checkpoints/mnist-{epoch:02d}-{val_accuracy:.4f}.keras",
        ks::callbacks::ModelCheckpoint::Options{.monitor = "val_accuracy", .verbose = 1, .save_best_only = true});

    ks::FitOptions fit;
    fit.epochs = epochs;
    fit.batch_size = 32;
    fit.validation_split = 0.1f;
    fit.callbacks = {backup, checkpoint};
    model.fit(x_train, train.y, fit);
    if (backup->restored()) {
      std::printf("Resumed from the backup at epoch %d, batch %d.\n", backup->restored_epoch() + 1,
                  backup->restored_batch());
    }

    model.save("mnist_mlp.keras");
    ks::Model loaded = ks::models::load_model("mnist_mlp.keras");
    ks::EvaluateResult result = loaded.evaluate(x_test, test.y);
    std::printf("Reloaded model: test loss %.4f, test accuracy %.4f\n", result.loss(), result["accuracy"]);
  } catch (const ks::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
