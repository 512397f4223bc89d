// `kerosene train`: its options, the device configuration they imply, and the run.
// The model is a built-in one (mlp, cnn, convnet) or a model file; the files a run writes are in
// train_files.h.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kerosene::cli {

struct TrainArgs {
  std::string model = "cnn";
  std::string dataset = "mnist";
  int epochs = 1;
  int batch_size = 32;
  int steps_per_epoch = 0;
  std::string optimizer;  // empty: the model file's own when it is compiled, else adam
  float learning_rate = 0;
  // Keras' compile arguments (train_compile.h): empty/0 when not given.
  std::string loss;                  // a loss spec compile takes ("huber:delta=2")
  std::vector<std::string> metrics;  // with metrics_given: these ([] for none)
  bool metrics_given = false;
  std::string lr_schedule;           // lr_schedule_flag.h's syntax
  float clipnorm = 0, clipvalue = 0, global_clipnorm = 0;
  float validation_split = 0;
  std::string class_weight;  // "CLASS:WEIGHT,..." (fit's class_weight); empty: none
  int64_t seed = -1;
  int verbose = 1;
  bool json = false;
  std::string device;          // empty: /GPU:0 when there is one, else /CPU:0
  bool soft_placement = false;
  std::string memory_growth;   // "", "on", "off"
  int64_t memory_limit_mb = 0;
  std::string strategy = "default";  // default, mirrored, multi_worker
  std::vector<std::string> devices;  // the strategy's devices
  std::string save;            // after training: FILE.keras or FILE.weights.h5
  std::string checkpoint_dir;  // ModelCheckpoint(DIR/ckpt-{epoch:02d}.keras)
  std::string backup_dir;      // BackupAndRestore(DIR): a killed run resumes when re-run
  std::string tensorboard_dir; // TensorBoard(DIR)
  std::string mixed_precision = "off";  // off, bf16 (mixed_bfloat16), fp16 (mixed_float16)
};

/// Adds the `train` subcommand and its options to `app`, filling `args`.
CLI::App* add_train_command(CLI::App& app, TrainArgs& args);

/// Trains, evaluates and prints the result. Returns the exit status: 0, or 130 when SIGINT
/// stopped training (after the current batch, with a message saying where). Throws
/// kerosene::Error for anything the user can fix.
int run_train(const TrainArgs& args);

/// Whether the run under way is one worker of several (an error must then end them all).
bool running_multi_worker();

}  // namespace kerosene::cli
