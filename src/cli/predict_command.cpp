// `kerosene predict FILE --input x.npy --output y.npy`: the saved model's outputs for every row
// of a NumPy array, as np.save writes it, fed as it is (no scaling: the model sees x's values).
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/arguments.h"
#include "cli/file_commands.h"
#include "cli/model_source.h"
#include "kerosene/kerosene.h"

namespace kerosene::cli {
namespace {

const CLI::Validator& npy_name() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        const std::string end = ".npy";
        const bool ok = text.size() > end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
        return ok ? "" : "expected a name ending in .npy, got " + text;
      },
      "FILE.npy");
  return validator;
}

}  // namespace

CLI::App* add_predict_command(CLI::App& app, PredictArgs& args) {
  auto* cmd = app.add_subcommand("predict", "Run a saved model on a .npy array and write its outputs as .npy");
  cmd->add_option("model", args.model, "the model file (.keras, .h5)")->required()->check(model_file_name());
  cmd->add_option("--input", args.input, "the samples, one per row (np.save); fed as they are, not scaled")
      ->required()
      ->check(npy_name());
  cmd->add_option("--output", args.output, "where the outputs go, one row per sample")->required()->check(npy_name());
  cmd->add_option("--batch-size", args.batch_size)->check(positive());
  cmd->add_flag("--json", args.json, "print one JSON object naming the file written");
  return cmd;
}

int run_predict(const PredictArgs& a) {
  Model model = load_model_file(a.model, /*compile=*/false);
  require_file(a.input, "--input");
  const Tensor raw = io::load_npy(a.input);
  if (raw.shape().rank() == 0) {
    throw ValueError("--input '" + a.input + "' holds a scalar: expected an array with one sample per row");
  }
  const Tensor x = fit_to_input(model, raw.to_float(), a.model, "--input '" + a.input + "'");
  const Tensor y = model.predict(x, {.batch_size = a.batch_size});
  io::save_npy(a.output, y);
  if (a.json) {
    nlohmann::json out;
    out["model"] = a.model;
    out["input"] = a.input;
    out["samples"] = x.dim(0);
    out["output_shape"] = y.shape().to_vector();
    out["files"] = {{"predictions", a.output}};
    std::cout << out.dump() << std::endl;
  }
  return 0;
}

}  // namespace kerosene::cli
