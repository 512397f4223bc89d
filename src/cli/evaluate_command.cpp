// `kerosene evaluate FILE --dataset D`: the saved model's loss and metrics on the test split,
// with the loss and metrics it was compiled with (Keras' model.evaluate after load_model).
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/arguments.h"
#include "cli/file_commands.h"
#include "cli/model_source.h"
#include "kerosene/kerosene.h"

namespace kerosene::cli {

CLI::App* add_evaluate_command(CLI::App& app, EvaluateArgs& args) {
  auto* cmd = app.add_subcommand("evaluate", "Print a saved, compiled model's loss and metrics on a dataset's test split");
  cmd->add_option("model", args.model, "the model file (.keras, .h5), saved after compile")->required()->check(model_file_name());
  cmd->add_option("--dataset", args.dataset, "mnist, fashion_mnist, or a directory of IDX files");
  cmd->add_option("--batch-size", args.batch_size)->check(positive());
  cmd->add_option("--verbose", args.verbose, "0 silent, 1 progress bar")->check(one_of({"0", "1"}));
  cmd->add_flag("--json", args.json, "print one JSON object with the results to stdout");
  return cmd;
}

int run_evaluate(const EvaluateArgs& a) {
  Model model = load_model_file(a.model, /*compile=*/true);
  if (!is_compiled(model)) {
    throw ValueError("the model in '" + a.model +
                     "' was saved without compile (no loss, metrics or optimizer in the file): expected a compiled "
                     "model; compile it before saving, or train it once with kerosene train --model " + a.model +
                     " --save FILE.keras");
  }
  auto [train, test] = datasets::load(a.dataset);
  check_split(test, "test", classes_of(model));
  const Tensor x = fit_to_input(model, test.x.to_float() / 255.0f, a.model, "the test split of " + a.dataset);
  // With --json the bar goes to stderr, so that stdout holds the JSON alone.
  std::vector<CallbackPtr> progress;
  if (a.json) progress.push_back(std::make_shared<callbacks::ProgbarLogger>(-1, &std::cerr));
  const EvaluateResult result =
      model.evaluate(x, test.y, {.batch_size = a.batch_size, .verbose = a.verbose, .callbacks = progress});
  if (!a.json) {
    for (const auto& [name, value] : result.values) std::cout << "Test " << name << ": " << value << "\n";
    std::cout.flush();
    return 0;
  }
  nlohmann::json out;
  out["model"] = a.model;
  out["dataset"] = a.dataset;
  out["samples"] = x.dim(0);
  for (const auto& [name, value] : result.values) out["test_" + name] = value;
  if (!out.contains("test_accuracy")) out["test_accuracy"] = accuracy_of(result);
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace kerosene::cli
