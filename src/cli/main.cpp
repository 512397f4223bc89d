// The `kerosene` command: train the classic Keras models, print their summaries.
//   kerosene train --model cnn --dataset mnist --epochs 1 --json
//   kerosene summary --model mlp
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/device_commands.h"
#include "cli/models.h"
#include "train/device_verdict.h"
#include "kerosene/kerosene.h"

namespace ks = kerosene;

namespace {

// CLI11's PositiveNumber prints its range as 0 to 1.8e308; say it the way a user reads it.
const CLI::Validator kPositive(
    [](std::string& value) -> std::string {
      try {
        size_t used = 0;
        if (std::stod(value, &used) > 0 && used == value.size()) return "";
      } catch (const std::exception&) {
      }
      return "expected a number greater than 0, got " + value;
    },
    "POSITIVE");

struct TrainArgs {
  std::string model = "cnn";
  std::string dataset = "mnist";
  int epochs = 1;
  int batch_size = 32;
  int steps_per_epoch = 0;
  std::string optimizer = "adam";
  float learning_rate = 0;
  float validation_split = 0;
  int64_t seed = -1;
  int verbose = 1;
  bool json = false;
  std::string device;          // empty: /GPU:0 when there is one, else /CPU:0
  bool soft_placement = false;
  std::string memory_growth;   // "", "on", "off"
  int64_t memory_limit_mb = 0;
  std::string strategy = "default";  // default, mirrored, multi_worker
  std::vector<std::string> devices;  // the strategy's devices
};

bool g_multi_worker = false;  // an error must then end every worker, not only this one

/// Splits the CPU into as many logical devices as --devices names (/CPU:0,/CPU:1 -> two), so a
/// mirrored run on one machine without GPUs needs no configuration code.
void split_cpu_for(const std::vector<std::string>& devices) {
  int needed = 0;
  for (const auto& name : devices) {
    const ks::Device d = ks::Device::parse(name);
    if (!d.is_gpu()) needed = std::max(needed, d.index() + 1);
  }
  if (needed > 1) {
    ks::config::set_logical_device_configuration(
        ks::config::list_physical_devices("CPU")[0],
        std::vector<ks::config::LogicalDeviceConfiguration>(static_cast<size_t>(needed)));
  }
}

std::unique_ptr<ks::distribute::Strategy> make_strategy(const TrainArgs& a) {
  if (a.strategy == "default") {
    if (!a.devices.empty()) throw ks::ValueError("--devices needs --strategy mirrored or multi_worker");
    return nullptr;
  }
  if (!a.device.empty()) {
    throw ks::ValueError("--device places a single-device model; with --strategy " + a.strategy +
                         " name the replicas' devices with --devices");
  }
  if (a.strategy == "mirrored") return std::make_unique<ks::distribute::MirroredStrategy>(a.devices);
  g_multi_worker = true;
  ks::distribute::MultiWorkerOptions options;
  options.devices = a.devices;
  return std::make_unique<ks::distribute::MultiWorkerMirroredStrategy>(options);
}

/// Applies --memory-growth and --memory-limit before anything initializes the runtime. Both
/// configure the physical device behind --device (by default every GPU; the CPU when there is
/// none and the limit is asked for).
void configure_devices(const TrainArgs& a) {
  if (a.soft_placement) ks::config::set_soft_device_placement(true);
  auto gpus = ks::config::list_physical_devices("GPU");
  if (!a.device.empty() && ks::Device::parse(a.device).is_gpu()) {
    const int index = ks::Device::parse(a.device).index();
    if (index < static_cast<int>(gpus.size())) gpus = {gpus[index]};
  }
  if (!a.memory_growth.empty()) {
    if (gpus.empty()) {
      std::cerr << "kerosene: note: --memory-growth " << a.memory_growth << " has no effect: there is no GPU\n";
    }
    for (const auto& gpu : gpus) ks::config::experimental::set_memory_growth(gpu, a.memory_growth == "on");
  }
  if (a.memory_limit_mb > 0) {
    const bool on_cpu = gpus.empty() || (!a.device.empty() && !ks::Device::parse(a.device).is_gpu());
    const auto targets = on_cpu ? ks::config::list_physical_devices("CPU") : gpus;
    for (const auto& d : targets) {
      ks::config::set_logical_device_configuration(d, {ks::config::LogicalDeviceConfiguration{a.memory_limit_mb}});
    }
  }
}

int run_train(const TrainArgs& a) {
  if (a.seed >= 0) ks::utils::set_random_seed(static_cast<uint64_t>(a.seed));
  configure_devices(a);
  if (a.strategy != "default") split_cpu_for(a.devices);
  auto strategy = make_strategy(a);
  const bool chief = !strategy || strategy->is_chief();
  auto [train, test] = ks::datasets::load(a.dataset);
  ks::Tensor x_train = train.x.to_float() / 255.0f, x_test = test.x.to_float() / 255.0f;

  // The data stays on the host; the model goes where --device says (fit copies each batch).
  std::optional<ks::DeviceScope> scope;
  if (!a.device.empty()) scope.emplace(a.device);
  std::optional<ks::distribute::StrategyScope> strategy_scope;
  if (strategy) strategy_scope.emplace(*strategy);
  ks::Sequential model = ks::cli::build_model(a.model);
  strategy_scope.reset();
  auto optimizer = ks::optimizers::get(a.optimizer, a.learning_rate > 0 ? std::optional<float>(a.learning_rate) : std::nullopt);
  model.compile(optimizer, "sparse_categorical_crossentropy", {"accuracy"});

  ks::FitOptions fit;
  fit.epochs = a.epochs;
  fit.batch_size = a.batch_size;
  fit.verbose = a.verbose;
  fit.validation_split = a.validation_split;
  if (a.steps_per_epoch > 0) fit.steps_per_epoch = a.steps_per_epoch;
  ks::History history = model.fit(x_train, train.y, fit);
  auto result = model.evaluate(x_test, test.y, {.batch_size = a.batch_size, .verbose = a.verbose > 0 ? 1 : 0});

  double seconds = 0, samples = 0;
  for (double t : history.epoch_seconds) seconds += t;
  for (int64_t n : history.epoch_samples) samples += static_cast<double>(n);

  if (!chief) return 0;  // only worker 0 prints results
  if (a.json) {
    nlohmann::json out;
    out["model"] = a.model;
    out["dataset"] = a.dataset;
    out["device"] = model.device().to_string();
    out["device_verdict"] = strategy ? ks::train::replicas_verdict(strategy->devices(), strategy->num_workers(),
                                                                   strategy->reduction())
                                     : ks::train::device_verdict(model.device());
    out["strategy"] = a.strategy;
    out["num_replicas_in_sync"] = strategy ? strategy->num_replicas_in_sync() : 1;
    out["num_workers"] = strategy ? strategy->num_workers() : 1;
    if (strategy) {
      std::vector<std::string> names;
      for (const auto& d : strategy->devices()) names.push_back(d.to_string());
      out["devices"] = names;
      out["reduction"] = strategy->reduction();
    }
    out["epochs"] = a.epochs;
    out["batch_size"] = a.batch_size;
    out["history"] = history.history;
    out["test_loss"] = result.loss();
    out["test_accuracy"] = result["accuracy"];
    out["epoch_seconds"] = history.epoch_seconds;
    out["train_samples_per_second"] = seconds > 0 ? samples / seconds : 0.0;
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << "Test loss: " << result.loss() << "\nTest accuracy: " << result["accuracy"] << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kerosene: Keras-style deep learning in C++, with devices under explicit control"};
  app.require_subcommand(1);

  TrainArgs train_args;
  auto* train = app.add_subcommand("train", "Train a classic Keras MNIST model and report its test accuracy");
  train->add_option("--model", train_args.model, "mlp or cnn")->check(CLI::IsMember({"mlp", "cnn"}));
  train->add_option("--dataset", train_args.dataset, "mnist, fashion_mnist, or a directory of IDX files");
  train->add_option("--epochs", train_args.epochs)->check(kPositive);
  train->add_option("--batch-size", train_args.batch_size)->check(kPositive);
  train->add_option("--steps-per-epoch", train_args.steps_per_epoch, "batches per epoch (default: all)")->check(CLI::NonNegativeNumber);
  train->add_option("--optimizer", train_args.optimizer, "sgd, adam, adamw or rmsprop");
  train->add_option("--learning-rate", train_args.learning_rate, "default: the optimizer's")->check(kPositive);
  train->add_option("--validation-split", train_args.validation_split)->check(CLI::Range(0.0, 0.99));
  train->add_option("--seed", train_args.seed, "makes runs repeatable")->check(CLI::NonNegativeNumber);
  train->add_option("--verbose", train_args.verbose, "0 silent, 1 progress bar, 2 one line per epoch")->check(CLI::Range(0, 2));
  train->add_flag("--json", train_args.json, "print one JSON object with the results to stdout");
  train->add_option("--device", train_args.device, "where the model runs, e.g. /GPU:0 or /CPU:0 (default: /GPU:0 when usable)")
      ->check([](const std::string& v) -> std::string {
        try {
          ks::Device::parse(v);
          return "";
        } catch (const ks::Error& e) {
          return e.what();
        }
      });
  train->add_flag("--soft-placement", train_args.soft_placement,
                  "run on /CPU:0, with a warning, when --device names a device that does not exist");
  train->add_option("--memory-growth", train_args.memory_growth,
                    "on: reserve GPU memory as needed (default); off: reserve 90% of it at start")
      ->check(CLI::IsMember({"on", "off"}));
  train->add_option("--memory-limit", train_args.memory_limit_mb, "hard cap on the device's memory, in MB")
      ->check(kPositive);

  bool devices_json = false, doctor_json = false;
  train->add_option("--strategy", train_args.strategy,
                    "default: one device; mirrored: one replica per device of this machine; multi_worker: "
                    "one process per worker, started by mpirun or srun")
      ->check(CLI::IsMember({"default", "mirrored", "multi_worker"}));
  train->add_option("--devices", train_args.devices,
                    "the strategy's devices, e.g. /CPU:0,/CPU:1 or /GPU:0,/GPU:1 (default: every GPU, else every "
                    "logical CPU; /CPU:N splits the CPU as needed)")
      ->delimiter(',');
  auto* devices = app.add_subcommand("devices", "List physical and logical devices, with memory");
  devices->add_flag("--json", devices_json, "print one JSON object");
  auto* doctor = app.add_subcommand("doctor", "Check every reason a GPU could not be used; exit 0 when one is usable, 1 when not");
  doctor->add_flag("--json", doctor_json, "print one JSON object");

  std::string summary_model = "cnn";
  auto* summary = app.add_subcommand("summary", "Print a model's summary table");
  summary->add_option("--model", summary_model, "mlp or cnn")->check(CLI::IsMember({"mlp", "cnn"}));

  CLI11_PARSE(app, argc, argv);
  try {
    if (*train) return run_train(train_args);
    if (*devices) return ks::cli::run_devices(devices_json);
    if (*doctor) return ks::cli::run_doctor(doctor_json);
    if (*summary) {
      ks::cli::build_model(summary_model).summary();
      return 0;
    }
  } catch (const ks::Error& e) {
    std::cerr << "kerosene: error: " << e.what() << std::endl;
    if (g_multi_worker) ks::distribute::abort_all_workers(1);  // the others would wait for this one
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kerosene: internal error: " << e.what() << std::endl;
    if (g_multi_worker) ks::distribute::abort_all_workers(3);
    return 3;
  }
  return 0;
}
