// The commands that take a model file: `kerosene evaluate FILE.keras --dataset D` and
// `kerosene predict FILE.keras --input x.npy --output y.npy`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace kerosene::cli {

struct EvaluateArgs {
  std::string model;  // a .keras or .h5 file, saved compiled
  std::string dataset = "mnist";
  int batch_size = 32;
  int verbose = 0;
  bool json = false;
};

struct PredictArgs {
  std::string model;
  std::string input;   // .npy, one sample per row
  std::string output;  // .npy, written
  int batch_size = 32;
  bool json = false;
};

CLI::App* add_evaluate_command(CLI::App& app, EvaluateArgs& args);
CLI::App* add_predict_command(CLI::App& app, PredictArgs& args);

/// Loss and metrics of the file's model on the dataset's test split. Throws kerosene::Error
/// naming the file for one that cannot be read or was not compiled.
int run_evaluate(const EvaluateArgs& args);
/// The file's model on the input array, written to the output array.
int run_predict(const PredictArgs& args);

}  // namespace kerosene::cli
