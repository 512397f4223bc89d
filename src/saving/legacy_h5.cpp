#include "saving/legacy_h5.h"

#include <iostream>

#include "kerosene/error.h"
#include "ops/ops.h"
#include "saving/model_config.h"
#include "train/model_state.h"

namespace kerosene::saving {
namespace {

std::string shape_text(const std::vector<int64_t>& dims) { return Shape(dims).to_string(); }

// "dense/kernel:0" (Keras 2) or "sequential/dense/kernel" (Keras 3) -> "kernel".
std::string weight_basename(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  const size_t colon = name.rfind(':');
  return colon == std::string::npos ? name : name.substr(0, colon);
}

// The file's weight paths in the order of `variables`: by name when every variable's name is
// there once (gamma, beta, moving_mean, moving_variance whatever order the file lists them in),
// else in the file's order (Keras writes layer.weights' order, which is kerosene's).
std::vector<std::string> in_variable_order(const std::vector<std::string>& paths, const std::vector<nn::Variable>& variables) {
  std::vector<std::string> ordered;
  for (const nn::Variable& v : variables) {
    int found = 0;
    for (const std::string& p : paths) {
      if (weight_basename(p) == v.name) {
        ++found;
        ordered.push_back(p);
      }
    }
    if (found != 1) return paths;
  }
  return ordered;
}

json parse_attribute(const io::H5Group& root, const char* name) {
  const auto text = root.string_attribute(name);
  if (!text) return nullptr;
  try {
    return json::parse(*text);
  } catch (const json::parse_error& error) {
    throw IOError(root.origin() + ": attribute " + name + ": expected JSON, found a parse error: " + error.what());
  }
}

}  // namespace

bool is_legacy_h5(const io::H5Group& root) {
  return root.has_group("model_weights") || root.string_list_attribute("layer_names").has_value();
}

void read_legacy_weights(Model& model, const io::H5Group& root) {
  train::ModelState& s = model.state();
  const std::string& origin = root.origin();
  if (!s.built()) throw ValueError("model \"" + s.name + "\" is not built: build it before loading weights from " + origin);
  const io::H5Group weights = root.has_group("model_weights") ? root.group("model_weights") : root;
  const auto layer_names = weights.string_list_attribute("layer_names");
  if (!layer_names) throw IOError(origin + ": " + weights.path() + ": expected the attribute layer_names (a Keras 2 weights file)");
  // The file's layers that have weights, with their datasets in weight_names order.
  struct FileLayer {
    std::string name;
    std::vector<std::string> weight_paths;
  };
  std::vector<FileLayer> file_layers;
  for (const std::string& name : *layer_names) {
    if (!weights.has_group(name)) throw IOError(origin + ": layer_names lists \"" + name + "\" but there is no group " + weights.path() + "/" + name);
    const io::H5Group g = weights.group(name);
    const auto weight_names = g.string_list_attribute("weight_names").value_or(std::vector<std::string>{});
    if (!weight_names.empty()) file_layers.push_back({name, weight_names});
  }
  std::vector<nn::Layer*> model_layers;
  for (const auto& l : s.layers) {
    if (!l->variables().empty()) model_layers.push_back(l.get());
  }
  if (file_layers.size() != model_layers.size()) {
    throw ValueError(origin + ": the file has " + std::to_string(file_layers.size()) + " layers with weights, model \"" +
                     s.name + "\" has " + std::to_string(model_layers.size()));
  }
  std::vector<std::vector<data::Array>> values(model_layers.size());
  for (size_t i = 0; i < model_layers.size(); ++i) {
    auto& variables = model_layers[i]->variables();
    const FileLayer& f = file_layers[i];
    if (f.weight_paths.size() != variables.size()) {
      throw ValueError(origin + ": layer \"" + model_layers[i]->name() + "\" has " + std::to_string(variables.size()) +
                       " weights, the file's layer \"" + f.name + "\" has " + std::to_string(f.weight_paths.size()));
    }
    const std::vector<std::string> paths = in_variable_order(f.weight_paths, variables);
    for (size_t v = 0; v < variables.size(); ++v) {
      // "dense/kernel:0" is a path inside the layer's group.
      io::H5Group g = weights.group(f.name);
      const std::string& path = paths[v];
      size_t start = 0;
      for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', start)) {
        g = g.group(path.substr(start, slash - start));
        start = slash + 1;
      }
      data::Array a = g.read_dataset(path.substr(start));
      if (a.shape != variables[v].value.shape().to_vector()) {
        throw ValueError(origin + ": layer \"" + model_layers[i]->name() + "\": weight " + variables[v].name + " has shape " +
                         variables[v].value.shape().to_string() + " in the model, " + shape_text(a.shape) +
                         " in the file (" + f.name + "/" + path + ")");
      }
      values[i].push_back(std::move(a));
    }
  }
  for (size_t i = 0; i < model_layers.size(); ++i) {
    auto& variables = model_layers[i]->variables();
    for (size_t v = 0; v < variables.size(); ++v) {
      Tensor src = data::to_tensor(std::move(values[i][v])).astype(DType::float32).to(variables[v].value.device());
      ops::backend_of("copy_on_device", variables[v].value)
          .copy_on_device(variables[v].value.raw_data(), src.raw_data(), src.nbytes());
    }
  }
}

Model load_legacy_model(const std::string& path, bool compile) {
  io::H5File file = io::H5File::open(path);
  const io::H5Group root = file.root();
  const json model_config = parse_attribute(root, "model_config");
  if (model_config.is_null()) {
    throw IOError(path + ": expected a Keras model file (a model_config attribute); this HDF5 file has none: a weights-only "
                  "file? load it with model.load_weights into a model you build");
  }
  // Only Keras 1 and 2 wrote files without the attribute.
  Model model = decode_model(model_config, path, root.string_attribute("keras_version").value_or("2"));
  if (!model.built()) throw ValueError(path + ": model \"" + model.name() + "\" has no input shape in its config");
  if (compile) {
    const json training_config = parse_attribute(root, "training_config");
    if (!training_config.is_null()) {
      try {
        compile_from_config(model, training_config, path, /*legacy=*/true);
      } catch (const ValueError& error) {
        std::cerr << "kerosene: warning: " << error.what() << "; the model is loaded uncompiled: compile it yourself\n";
      }
    }
  }
  read_legacy_weights(model, root);
  return model;
}

}  // namespace kerosene::saving
