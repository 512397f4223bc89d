#include "cli/train_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <set>

#include "cli/arguments.h"
#include "cli/interrupt.h"
#include "cli/model_source.h"
#include "cli/models.h"
#include "cli/train_compile.h"
#include "cli/train_files.h"
#include "kerosene/kerosene.h"
#include "saving/model_config.h"
#include "train/device_verdict.h"

namespace kerosene::cli {
namespace {

namespace config = kerosene::config;

bool g_multi_worker = false;

/// How many logical CPU devices --devices needs: one per /CPU:N it names, which must be /CPU:0
/// to /CPU:n-1 (so a typo such as /CPU:30000000 cannot ask for 30 million devices).
int cpu_devices_named(const std::vector<std::string>& devices) {
  std::vector<Device> cpus;
  for (const std::string& name : devices) {
    const Device d = Device::parse(name);
    if (d.is_gpu()) continue;
    if (std::find(cpus.begin(), cpus.end(), d) != cpus.end()) {
      throw ValueError("--devices names " + d.to_string() + " twice: expected each device once");
    }
    cpus.push_back(d);
  }
  const int count = static_cast<int>(cpus.size());
  for (const Device& d : cpus) {
    if (d.index() >= count) {
      throw ValueError("--devices names " + d.to_string() + ", but its " + std::to_string(count) +
                       " CPU device" + (count == 1 ? "" : "s") + " split the CPU into " +
                       (count == 1 ? "/CPU:0 alone" : "/CPU:0 to /CPU:" + std::to_string(count - 1)) +
                       ": expected those names");
    }
  }
  return count;
}

/// Where training runs: the devices whose memory --memory-limit caps.
struct Targets {
  bool cpu = false;
  std::vector<config::PhysicalDevice> gpus;
};

Targets training_targets(const TrainArgs& a, const std::vector<config::PhysicalDevice>& gpus) {
  std::vector<std::string> names = a.devices;
  if (names.empty() && !a.device.empty()) names.push_back(a.device);
  Targets t;
  if (names.empty()) {
    if (gpus.empty()) t.cpu = true;
    t.gpus = gpus;
    return t;
  }
  for (const std::string& name : names) {
    const Device d = Device::parse(name);
    if (!d.is_gpu()) {
      t.cpu = true;
    } else if (d.index() < static_cast<int>(gpus.size())) {
      t.gpus.push_back(gpus[static_cast<size_t>(d.index())]);
    }
  }
  return t;
}

/// Applies --soft-placement, --memory-growth, --memory-limit and the CPU split that --devices
/// implies, in one place and before anything initializes the runtime, so that none of them
/// overwrites another: a split CPU keeps the limit on each of its logical devices.
void configure_devices(const TrainArgs& a) {
  // Bad --devices names fail first, before anything is set or loaded.
  const int cpu_devices = std::max(1, a.strategy == "default" ? 1 : cpu_devices_named(a.devices));
  if (a.soft_placement) config::set_soft_device_placement(true);
  const auto gpus = config::list_physical_devices("GPU");
  // A GPU that does not exist is named now, before any data is loaded or a limit is applied to
  // another device; DeviceScope's error carries the doctor's reason and fix.
  if (!a.device.empty()) {
    const Device requested = Device::parse(a.device);
    if (requested.is_gpu() && requested.index() >= static_cast<int>(gpus.size())) {
      if (!a.soft_placement) DeviceScope probe(requested);
      if (a.memory_limit_mb > 0) {
        std::cerr << "kerosene: note: --memory-limit has no effect: " << requested.to_string()
                  << " does not exist, and soft placement runs on /CPU:0 without a limit\n";
      }
    }
  }
  if (!a.memory_growth.empty()) {
    if (gpus.empty()) {
      std::cerr << "kerosene: note: --memory-growth " << a.memory_growth << " has no effect: there is no GPU\n";
    }
    for (const auto& gpu : gpus) config::experimental::set_memory_growth(gpu, a.memory_growth == "on");
  }
  const Targets targets = training_targets(a, gpus);
  const std::optional<int64_t> limit = a.memory_limit_mb > 0 ? std::optional(a.memory_limit_mb) : std::nullopt;
  if (limit) {
    for (const auto& gpu : targets.gpus) config::set_logical_device_configuration(gpu, {{limit}});
  }
  if (cpu_devices > 1 || (limit && targets.cpu)) {
    config::set_logical_device_configuration(
        config::list_physical_devices("CPU")[0],
        std::vector<config::LogicalDeviceConfiguration>(static_cast<size_t>(cpu_devices), {targets.cpu ? limit : std::nullopt}));
  }
}

std::unique_ptr<distribute::Strategy> make_strategy(const TrainArgs& a) {
  if (a.strategy == "default") {
    if (!a.devices.empty()) throw ValueError("--devices needs --strategy mirrored or multi_worker");
    return nullptr;
  }
  if (!a.device.empty()) {
    throw ValueError("--device places a single-device model; with --strategy " + a.strategy +
                     " name the replicas' devices with --devices");
  }
  if (a.strategy == "mirrored") return std::make_unique<distribute::MirroredStrategy>(a.devices);
  g_multi_worker = true;
  distribute::MultiWorkerOptions options;
  options.devices = a.devices;
  return std::make_unique<distribute::MultiWorkerMirroredStrategy>(options);
}

std::string dtype_policy_of(const TrainArgs& a) {
  if (a.mixed_precision == "bf16") return "mixed_bfloat16";
  if (a.mixed_precision == "fp16") return "mixed_float16";
  return "float32";
}

// The policy the model ran under: its layers' when not float32 (a file may set it per layer).
std::string dtype_policy_of(const Model& model) {
  std::string policy = "float32";
  for (const Layer& layer : model.layers()) {
    if (layer.dtype_policy().name() != "float32") policy = layer.dtype_policy().name();
  }
  return policy;
}

void print_result(const TrainArgs& a, const Model& model, const distribute::Strategy* strategy,
                  const History& history, const EvaluateResult& result, const TrainFiles& files) {
  double seconds = 0, samples = 0;
  for (double t : history.epoch_seconds) seconds += t;
  for (int64_t n : history.epoch_samples) samples += static_cast<double>(n);
  if (!a.json) {
    // "Test accuracy" for the accuracy (whatever its name), as before --metrics; the others by name.
    const double accuracy = accuracy_of(result);
    bool accuracy_shown = std::isnan(accuracy);
    std::cout << "Test loss: " << result.loss() << "\n";
    if (!accuracy_shown) std::cout << "Test accuracy: " << accuracy << "\n";
    for (const auto& [name, value] : result.values) {
      if (name == "loss") continue;
      if (!accuracy_shown && name.find("acc") != std::string::npos && value == accuracy) {
        accuracy_shown = true;  // the one accuracy_of chose, shown above
        continue;
      }
      std::cout << "Test " << name << ": " << value << "\n";
    }
    std::cout << std::flush;
    return;
  }
  nlohmann::json out;
  out["model"] = a.model;
  out["dataset"] = a.dataset;
  out["device"] = model.device().to_string();
  out["device_verdict"] = strategy ? train::replicas_verdict(strategy->devices(), strategy->num_workers(),
                                                             strategy->reduction())
                                   : train::device_verdict(model.device());
  out["strategy"] = a.strategy;
  out["num_replicas_in_sync"] = strategy ? strategy->num_replicas_in_sync() : 1;
  out["num_workers"] = strategy ? strategy->num_workers() : 1;
  if (strategy) {
    std::vector<std::string> names;
    for (const auto& d : strategy->devices()) names.push_back(d.to_string());
    out["devices"] = names;
    out["reduction"] = strategy->reduction();
  }
  out["dtype_policy"] = dtype_policy_of(model);
  out["epochs"] = a.epochs;
  out["batch_size"] = a.batch_size;
  out["history"] = history.history;
  out["test_loss"] = result.loss();
  out["test_accuracy"] = accuracy_of(result);  // null when no metric is an accuracy
  out["test_metrics"] = nlohmann::json::object();
  for (const auto& [name, value] : result.values) out["test_metrics"][name] = value;
  // Keras' compile config, as --save writes it: the optimizer (clipping, schedule), loss, metrics.
  out["compile_config"] = saving::model_envelope(model)["compile_config"];
  out["epoch_seconds"] = history.epoch_seconds;
  out["train_samples_per_second"] = seconds > 0 ? samples / seconds : 0.0;
  out["files"] = files_written(a, files);
  if (files.backup && files.backup->restored()) out["resumed_from_epoch"] = files.backup->restored_epoch();
  std::cout << out.dump() << std::endl;
}

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainArgs& args) {
  auto* train = app.add_subcommand("train", "Train a classic Keras MNIST model, or one from a file, and report its test accuracy");
  train->add_option("--model", args.model,
                    built_in_model_names() + ", or a model file (.keras, .h5) to train further, compiled as saved unless "
                    "an optimizer, loss or metrics flag is given")
      ->check(model_name());
  train->add_option("--dataset", args.dataset, "mnist, fashion_mnist, or a directory of IDX files");
  train->add_option("--epochs", args.epochs)->check(positive());
  train->add_option("--batch-size", args.batch_size)->check(positive());
  train->add_option("--steps-per-epoch", args.steps_per_epoch, "batches per epoch (default: all)")
      ->check(non_negative_integer());
  train->add_option("--optimizer", args.optimizer, "sgd, adam, adamw, rmsprop, nadam, adamax, adagrad or lion (default: adam, or the model file's)");
  train->add_option("--learning-rate", args.learning_rate, "default: the optimizer's")->check(positive());
  add_compile_options(*train, args);
  train->add_option("--validation-split", args.validation_split)->check(number_between(0, 0.99));
  train->add_option("--class-weight", args.class_weight,
                    "weigh each training sample's loss by its class, e.g. 0:1.0,1:2.5 (classes not listed: 1)")
      ->check(class_weight_list());
  train->add_option("--seed", args.seed, "makes runs repeatable")->check(non_negative_integer());
  train->add_option("--verbose", args.verbose, "0 silent, 1 progress bar, 2 one line per epoch")
      ->check(one_of({"0", "1", "2"}));
  train->add_flag("--json", args.json, "print one JSON object with the results to stdout");
  train->add_option("--mixed-precision", args.mixed_precision,
                    "bf16: the mixed_bfloat16 dtype policy, fp16: mixed_float16 with LossScaleOptimizer, off: "
                    "float32 (the default)")
      ->check(CLI::IsMember({"bf16", "fp16", "off"}));
  train->add_option("--device", args.device, "where the model runs, e.g. /GPU:0 or /CPU:0 (default: /GPU:0 when usable)")
      ->check([](const std::string& v) -> std::string {
        try {
          Device::parse(v);
          return "";
        } catch (const Error& e) {
          return e.what();
        }
      });
  train->add_flag("--soft-placement", args.soft_placement,
                  "run on /CPU:0, with a warning, when --device names a device that does not exist");
  train->add_option("--memory-growth", args.memory_growth,
                    "on: reserve GPU memory as needed (default); off: reserve 90% of it at start")
      ->check(one_of({"on", "off"}));
  train->add_option("--memory-limit", args.memory_limit_mb, "hard cap on the training devices' memory, in MB")
      ->check(positive());
  train->add_option("--strategy", args.strategy,
                    "default: one device; mirrored: one replica per device of this machine; multi_worker: "
                    "one process per worker, started by mpirun or srun")
      ->check(one_of({"default", "mirrored", "multi_worker"}));
  train->add_option("--devices", args.devices,
                    "the strategy's devices, e.g. /CPU:0,/CPU:1 or /GPU:0,/GPU:1 (default: every GPU, else every "
                    "logical CPU; naming /CPU:0 to /CPU:N-1 splits the CPU into N)")
      ->delimiter(',');
  train->add_option("--save", args.save, "after training, write the model (FILE.keras) or its weights (FILE.weights.h5)")
      ->check(save_name());
  train->add_option("--checkpoint", args.checkpoint_dir,
                    std::string("write the model after every epoch to DIR/") + kCheckpointName + " (ckpt-01.keras, ...)")
      ->type_name("DIR");
  train->add_option("--backup-dir", args.backup_dir,
                    "back up the run to DIR after every epoch; the same command run again after a crash or Ctrl-C "
                    "resumes from the last backup (removed when training ends)")
      ->type_name("DIR");
  train->add_option("--tensorboard", args.tensorboard_dir, "write TensorBoard logs to DIR/train and DIR/validation")
      ->type_name("DIR");
  return train;
}

bool running_multi_worker() { return g_multi_worker; }

int run_train(const TrainArgs& a) {
  if (a.seed >= 0) utils::set_random_seed(static_cast<uint64_t>(a.seed));
  configure_devices(a);
  auto strategy = make_strategy(a);
  const bool chief = !strategy || strategy->is_chief();
  // The model and its compile first: a bad file or a loss that does not fit costs no download.
  // The data stays on the host; the model goes where --device says (fit copies each batch).
  std::optional<DeviceScope> scope;
  if (!a.device.empty()) scope.emplace(a.device);
  std::optional<distribute::StrategyScope> strategy_scope;
  if (strategy) strategy_scope.emplace(*strategy);
  const std::string policy = dtype_policy_of(a);
  mixed_precision::set_global_policy(policy);  // the built-in models' layers take it
  Model model = model_from(a.model);
  mixed_precision::set_global_policy("float32");
  if (a.mixed_precision != "off") {
    for (Layer& layer : model.layers()) layer.set_dtype_policy(mixed_precision::DTypePolicy(policy));  // a file's too
  }
  strategy_scope.reset();
  compile_for_training(model, a);
  auto [train, test] = datasets::load(a.dataset);
  check_split(train, "training", label_classes(model));
  check_split(test, "test", label_classes(model));
  const std::string source = is_model_file(a.model) ? a.model : "built-in " + a.model;
  Tensor x_train = fit_to_input(model, train.x.to_float() / 255.0f, source, "the training split of " + a.dataset);
  Tensor x_test = fit_to_input(model, test.x.to_float() / 255.0f, source, "the test split of " + a.dataset);

  FitOptions fit;
  fit.epochs = a.epochs;
  fit.batch_size = a.batch_size;
  fit.verbose = a.verbose;
  fit.validation_split = a.validation_split;
  if (a.steps_per_epoch > 0) fit.steps_per_epoch = a.steps_per_epoch;
  if (!a.class_weight.empty()) {
    if (const std::string error = parse_class_weight(a.class_weight, fit.class_weight); !error.empty()) {
      throw ValueError("--class-weight: " + error);
    }
  }
  const TrainFiles files = add_file_callbacks(a, chief, fit);
  // Progress goes to stdout, as Keras writes it, except with --json: stdout then holds the JSON
  // alone, and the bar (which replaces fit's own) goes to stderr.
  std::vector<CallbackPtr> progress;
  if (a.json) progress.push_back(std::make_shared<callbacks::ProgbarLogger>(-1, &std::cerr));
  fit.callbacks.insert(fit.callbacks.end(), progress.begin(), progress.end());
  // Workers must stop at the same step; under mpirun, SIGINT ends the job as MPI's launcher says.
  std::shared_ptr<StopOnInterrupt> interrupt;
  if (!g_multi_worker) {
    interrupt = std::make_shared<StopOnInterrupt>();
    fit.callbacks.push_back(interrupt);
  }
  History history = model.fit(x_train, targets_for(model, train.y), fit);
  if (interrupt && interrupt->interrupted()) {
    std::cerr << "kerosene: interrupted (SIGINT): training stopped after " << interrupt->where();
    if (backup_left(a)) {
      std::cerr << "; the last backup is in '" << a.backup_dir << "': run the same command again to resume from it";
    } else {
      std::cerr << "; the model was not evaluated or saved";
    }
    std::cerr << std::endl;
    return 130;  // 128 + SIGINT, as shells report it
  }
  interrupt.reset();
  save_trained(a, model, chief);  // before evaluate: an error there must not cost the training
  auto result = model.evaluate(x_test, targets_for(model, test.y),
                               {.batch_size = a.batch_size, .verbose = a.verbose > 0 ? 1 : 0, .callbacks = progress});
  if (chief) print_result(a, model, strategy.get(), history, result, files);  // only worker 0 prints results
  return 0;
}

}  // namespace kerosene::cli
