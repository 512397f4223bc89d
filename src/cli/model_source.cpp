#include "cli/model_source.h"

#include <filesystem>
#include <limits>

#include "cli/models.h"
#include "kerosene/error.h"
#include "kerosene/models.h"
#include "train/model_state.h"

namespace kerosene::cli {
namespace {

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

bool is_model_file(const std::string& name) { return ends_with(name, ".keras") || ends_with(name, ".h5"); }

const CLI::Validator& model_name() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        if (is_built_in_model(text) || is_model_file(text)) return "";
        return "expected " + built_in_model_names() + " or a model file (.keras, .h5), got " + text;
      },
      built_in_model_names() + " or FILE.keras");
  return validator;
}

const CLI::Validator& model_file_name() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        return is_model_file(text) ? "" : "expected a model file (.keras, .h5), got " + text;
      },
      "FILE.keras");
  return validator;
}

void require_file(const std::string& path, const char* what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    throw IOError(std::string(what) + " '" + path + "': no such file");
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw IOError(std::string(what) + " '" + path + "': not a regular file (a directory?): expected a file");
  }
}

Model load_model_file(const std::string& path, bool compile) {
  require_file(path, "model file");
  return models::load_model(path, compile);
}

Model model_from(const std::string& name) {
  return is_model_file(name) ? load_model_file(name, /*compile=*/true) : build_model(name);
}

bool is_compiled(const Model& model) { return model.state().compiled; }

int64_t classes_of(const Model& model) { return model.state().output_shape()[-1]; }

Tensor fit_to_input(const Model& model, const Tensor& x, const std::string& model_source,
                    const std::string& data_source) {
  const Shape want = model.state().input_shape();
  const Shape have = x.shape().drop_batch();
  if (have == want) return x;
  if (have.numel() == want.numel()) return x.reshape(want.with_batch(x.dim(0)));
  std::string message = "the model in '";
  message += model_source;
  message += "' takes inputs of shape ";
  message += Shape(want).with_batch(0).to_string(/*batch_as_none=*/true);
  message += ", but ";
  message += data_source;
  message += " holds samples of shape ";
  message += x.shape().to_string(/*batch_as_none=*/true);
  message += ": expected samples with ";
  message += std::to_string(want.numel());
  message += " values each, found ";
  message += std::to_string(have.numel());
  throw ValueError(message);
}

void check_split(const datasets::Split& split, const char* name, int64_t classes) {
  const std::string from = split.y_source.empty() ? "" : " (" + split.y_source + ")";
  if (split.x.dim(0) == 0) {
    throw ValueError(std::string("the ") + name + " split" + from + " holds no samples: expected at least one");
  }
  const Tensor labels = split.y.astype(DType::int64);
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i) {
    if (y[i] < 0 || y[i] >= classes) {
      throw ValueError(std::string("label out of range in the ") + name + " split" + from + ": label[" +
                       std::to_string(i) + "] = " + std::to_string(y[i]) + ", expected 0 <= label < " +
                       std::to_string(classes) + " (the model has " + std::to_string(classes) + " classes)");
    }
  }
}

double accuracy_of(const EvaluateResult& result) {
  for (const auto& [name, value] : result.values) {
    if (name == "accuracy") return value;
  }
  for (const auto& [name, value] : result.values) {
    if (name.find("acc") != std::string::npos) return value;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace kerosene::cli
