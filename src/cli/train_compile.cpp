#include "cli/train_compile.h"

#include <cctype>

#include "cli/arguments.h"
#include "cli/lr_schedule_flag.h"
#include "cli/model_source.h"
#include "kerosene/error.h"
#include "kerosene/optimizers.h"
#include "kerosene/utils.h"
#include "train/loss_catalog.h"
#include "train/model_state.h"

namespace kerosene::cli {
namespace {

using backends::LossKind;

/// The optimizer settings the command line gives (none given: the optimizer's defaults).
struct OptimizerFlags {
  std::optional<LearningRate> learning_rate;
  std::optional<float> clipnorm, clipvalue, global_clipnorm;
};

template <class Options>
Optimizer with_flags(Optimizer (*factory)(const Options&), const OptimizerFlags& f) {
  Options o;
  if (f.learning_rate) o.learning_rate = *f.learning_rate;
  o.clipnorm = f.clipnorm;
  o.clipvalue = f.clipvalue;
  o.global_clipnorm = f.global_clipnorm;
  return factory(o);
}

Optimizer make_optimizer(const std::string& name, const OptimizerFlags& f) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "sgd") return with_flags(optimizers::SGD, f);
  if (n == "adam") return with_flags(optimizers::Adam, f);
  if (n == "adamw") return with_flags(optimizers::AdamW, f);
  if (n == "rmsprop") return with_flags(optimizers::RMSprop, f);
  if (n == "nadam") return with_flags(optimizers::Nadam, f);
  if (n == "adamax") return with_flags(optimizers::Adamax, f);
  if (n == "adagrad") return with_flags(optimizers::Adagrad, f);
  if (n == "lion") return with_flags(optimizers::Lion, f);
  return optimizers::get(name);  // its error lists the names
}

std::optional<float> given(float value) { return value > 0 ? std::optional(value) : std::nullopt; }

bool optimizer_flag_given(const TrainArgs& a) {
  return !a.optimizer.empty() || a.learning_rate > 0 || !a.lr_schedule.empty() || a.clipnorm > 0 || a.clipvalue > 0 ||
         a.global_clipnorm > 0;
}

Optimizer optimizer_for(const Model& model, const TrainArgs& a) {
  // Without --optimizer, a compiled file's optimizer kind (with its defaults and these flags).
  const std::string name = !a.optimizer.empty() ? a.optimizer
                           : is_compiled(model)  ? model.optimizer().name()
                                                 : "adam";
  OptimizerFlags f;
  f.clipnorm = given(a.clipnorm);
  f.clipvalue = given(a.clipvalue);
  f.global_clipnorm = given(a.global_clipnorm);
  if (given(a.learning_rate)) f.learning_rate = LearningRate(a.learning_rate);
  if (!a.lr_schedule.empty()) {
    if (a.learning_rate > 0 && lr_schedule_sets_initial_rate(a.lr_schedule)) {
      throw ValueError("--learning-rate and --lr-schedule \"" + a.lr_schedule +
                       "\" both set the initial learning rate: give one of them");
    }
    const float initial = a.learning_rate > 0 ? a.learning_rate : make_optimizer(name, {}).learning_rate();
    f.learning_rate = LearningRate(parse_lr_schedule(a.lr_schedule, initial));
  }
  return make_optimizer(name, f);
}

const train::LossConfig& loss_of(const Model& model) { return model.state().losses.front(); }

bool is_sparse(const Model& model) { return loss_of(model).kind == LossKind::sparse_categorical_crossentropy; }

/// Refuses a loss that cannot take one class label per sample on this output.
void check_loss_fits(const Model& model) {
  if (is_sparse(model)) return;  // the library checks the labels against the output
  const Shape out = model.state().output_shape();
  const std::string loss = loss_of(model).name;
  const std::string shape = out.with_batch(0).to_string(/*batch_as_none=*/true);
  if (out.rank() != 1) {
    throw ValueError("--loss " + loss + " compares the model's output with targets of its shape, " + shape +
                     ", but the dataset gives one class label per sample, which becomes a target only for an output "
                     "of one score per class, (None, classes)");
  }
  if (out[-1] == 1 && (loss_of(model).kind == LossKind::categorical_crossentropy ||
                       loss_of(model).kind == LossKind::kl_divergence)) {
    throw ValueError("--loss " + loss + " compares distributions over classes, but the model's output " + shape +
                     " has one unit: use binary_crossentropy for one unit and labels 0 and 1, or a model with one "
                     "output unit per class");
  }
}

}  // namespace

void add_compile_options(CLI::App& train, TrainArgs& args) {
  train.add_option("--loss", args.loss,
                   "a Keras loss: " + train::loss_names() +
                       "; options as name:option=value (huber:delta=2, categorical_crossentropy:label_smoothing=0.1, "
                       ":from_logits, :reduction=sum). The labels are one-hot encoded for every loss but "
                       "sparse_categorical_crossentropy (default: it, or the model file's)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            try {
              train::parse_loss_spec(text, false);
              return "";
            } catch (const Error& e) {
              return e.what();
            }
          },
          ""))
      ->type_name("NAME[:OPTION=VALUE...]");
  train.add_option_function<std::vector<std::string>>(
           "--metrics",
           [&args](const std::vector<std::string>& names) {
             args.metrics = names;
             args.metrics_given = true;
           },
                   "comma-separated Keras metrics: accuracy, sparse_categorical_accuracy, categorical_accuracy, "
                   "binary_accuracy, mae, mse, root_mean_squared_error, precision, recall; \"\" for none (default: "
                   "accuracy, or the model file's)")
      ->delimiter(',')
      ->type_name("NAMES");
  train.add_option("--lr-schedule", args.lr_schedule,
                   "a Keras learning-rate schedule, KIND:parameter=value,... with Keras' parameter names: "
                   "exponential:decay_steps=1000,decay_rate=0.9[,staircase=true]; "
                   "piecewise_constant:boundaries=1000;2000,values=0.1;0.01;0.001; "
                   "cosine:decay_steps=5000[,alpha=0][,warmup_target=0.01,warmup_steps=500]; "
                   "inverse_time:decay_steps=1000,decay_rate=0.5; polynomial:decay_steps=1000[,end_learning_rate=0.0001]"
                   "[,power=1][,cycle=true]. initial_learning_rate defaults to --learning-rate, else the optimizer's")
      ->check(lr_schedule_spec())
      ->type_name("KIND:KEY=VALUE,...");
  auto* clipnorm = train.add_option("--clipnorm", args.clipnorm, "clip each gradient to this norm")->check(positive());
  auto* clipvalue =
      train.add_option("--clipvalue", args.clipvalue, "clip each gradient element to [-X, X]")->check(positive());
  auto* global = train.add_option("--global-clipnorm", args.global_clipnorm,
                                  "clip all gradients together to this global norm")
                     ->check(positive());
  // Keras takes one of the three.
  clipnorm->excludes(clipvalue)->excludes(global);
  clipvalue->excludes(global);
}

void compile_for_training(Model& model, const TrainArgs& a) {
  const bool compiled = is_compiled(model);
  const bool new_optimizer = !compiled || optimizer_flag_given(a);
  if (a.mixed_precision == "fp16" && !new_optimizer) {
    throw ValueError("--mixed-precision fp16 wraps the optimizer in LossScaleOptimizer: give --optimizer or "
                     "--learning-rate so that the model file's compiled optimizer is replaced");
  }
  if (compiled && !new_optimizer && a.loss.empty() && !a.metrics_given) {
    check_loss_fits(model);
    return;
  }
  const std::string loss = !a.loss.empty() ? a.loss
                           : compiled      ? train::loss_spec(loss_of(model))
                                           : "sparse_categorical_crossentropy";
  std::vector<std::string> metrics;
  if (a.metrics_given) {
    for (const std::string& m : a.metrics) {
      if (!m.empty()) metrics.push_back(m);
    }
  } else if (compiled) {
    for (const auto& m : model.state().metrics) metrics.push_back(m.name);
  } else {
    metrics = {"accuracy"};
  }
  // Kept as a handle, a file's optimizer keeps its state (slots, iterations).
  Optimizer optimizer = new_optimizer ? optimizer_for(model, a) : model.optimizer();
  // As Keras' compile does under mixed_float16: the loss is scaled against float16 underflow.
  if (a.mixed_precision == "fp16") optimizer = optimizers::LossScaleOptimizer(optimizer);
  try {
    model.compile(optimizer, loss, metrics);
  } catch (const ValueError& e) {
    const std::string what = e.what();
    if (a.metrics_given && what.find("metric") != std::string::npos) throw ValueError("--metrics: " + what);
    throw;
  }
  check_loss_fits(model);
}

int64_t label_classes(const Model& model) {
  const int64_t units = model.state().output_shape()[-1];
  return units == 1 && !is_sparse(model) ? 2 : units;
}

Tensor targets_for(const Model& model, const Tensor& labels) {
  if (is_sparse(model)) return labels;
  const int64_t units = model.state().output_shape()[-1];
  if (units == 1) return labels.to_float().reshape({labels.dim(0), 1});
  return utils::to_categorical(labels, units);
}

}  // namespace kerosene::cli
