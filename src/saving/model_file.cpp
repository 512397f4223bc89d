// Model::save/save_weights/load_weights/to_json and models::load_model: the .keras archive
// (zip: metadata.json, config.json, model.weights.h5), .weights.h5, and the legacy .h5.
#include "saving/model_file.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "io/zip_archive.h"
#include "kerosene/error.h"
#include "kerosene/models.h"
#include "saving/legacy_h5.h"
#include "saving/model_config.h"
#include "train/model_state.h"
#include "kerosene_build_info.h"

namespace kerosene {
namespace saving {
namespace {

constexpr int64_t kMaxConfigBytes = int64_t{64} << 20;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

std::string metadata_json() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d@%H:%M:%S", &local);
  ordered_json m;
  // The Keras 3 format generation written (every key loads in Keras 3.0 and later).
  m["keras_version"] = "3.0.0";
  m["date_saved"] = date;
  m["kerosene_version"] = KEROSENE_VERSION;
  return m.dump();
}

json parse_json(const std::vector<uint8_t>& bytes, const std::string& where) {
  try {
    return json::parse(bytes.begin(), bytes.end());
  } catch (const json::parse_error& error) {
    throw IOError(where + ": expected JSON, found a parse error: " + error.what());
  }
}

struct KerasArchive {
  json config;
  io::H5File weights;
};

KerasArchive read_archive(const std::string& path) {
  io::ZipReader zip(path);
  const std::string config_name = path + ": config.json";
  json config = parse_json(zip.read("config.json", kMaxConfigBytes), config_name);
  if (!zip.has("model.weights.h5")) {
    if (zip.has("model.weights.npz")) {
      throw IOError(path + ": the weights are in model.weights.npz (weights_format=\"npz\"); kerosene reads "
                    "model.weights.h5, Keras' default");
    }
    zip.read("model.weights.h5");  // throws, listing the members
  }
  io::H5File weights = io::H5File::open_image(zip.read("model.weights.h5"), path + "/model.weights.h5");
  return {std::move(config), std::move(weights)};
}

}  // namespace

bool is_hdf5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char signature[8] = {};
  in.read(signature, 8);
  return in.gcount() == 8 && std::string(signature, 8) == "\x89HDF\r\n\x1a\n";
}

}  // namespace saving

void Model::save(const std::string& filepath) const {
  if (!saving::ends_with(filepath, ".keras")) {
    throw ValueError("save: the file name must end in \".keras\" (Keras 3's format), got \"" + filepath +
                     "\"; use save_weights for a \".weights.h5\" file");
  }
  if (!built()) throw ValueError("save: model \"" + name() + "\" is not built; build it or fit it before saving");
  const std::string config = saving::model_envelope(*this).dump();
  io::H5File weights = io::H5File::create(filepath + "/model.weights.h5");
  saving::write_weights(*this, weights.root());
  io::write_zip(filepath, {{"metadata.json", saving::bytes_of(saving::metadata_json())},
                           {"config.json", saving::bytes_of(config)},
                           {"model.weights.h5", weights.image()}});
}

void Model::save_weights(const std::string& filepath) const {
  if (!saving::ends_with(filepath, ".weights.h5")) {
    throw ValueError("save_weights: the file name must end in \".weights.h5\", got \"" + filepath + "\"");
  }
  io::H5File weights = io::H5File::create(filepath);
  saving::write_weights(*this, weights.root());
  weights.save(filepath);
}

void Model::load_weights(const std::string& filepath) {
  if (saving::ends_with(filepath, ".keras")) {
    saving::KerasArchive archive = saving::read_archive(filepath);
    saving::read_weights(*this, archive.weights.root());
    return;
  }
  io::H5File file = io::H5File::open(filepath);
  if (saving::is_legacy_h5(file.root())) {
    saving::read_legacy_weights(*this, file.root());
  } else {
    saving::read_weights(*this, file.root());
  }
}

std::string Model::to_json() const { return saving::model_envelope(*this).dump(); }

namespace models {

Model load_model(const std::string& filepath, bool compile) {
  if (saving::is_hdf5_file(filepath)) return saving::load_legacy_model(filepath, compile);
  saving::KerasArchive archive = saving::read_archive(filepath);
  Model model = saving::decode_model(archive.config, filepath);
  if (!model.built()) {
    throw ValueError(filepath + ": model \"" + model.name() + "\" has no input shape in its config, so its weights cannot be placed");
  }
  if (compile && archive.config.contains("compile_config") && !archive.config["compile_config"].is_null() &&
      !archive.config["compile_config"].empty()) {
    saving::compile_from_config(model, archive.config["compile_config"], filepath, /*legacy=*/false);
  }
  saving::read_weights(model, archive.weights.root());
  return model;
}

Model model_from_json(const std::string& text) {
  return saving::decode_model(saving::parse_json(saving::bytes_of(text), "model_from_json"), "model_from_json");
}

}  // namespace models
}  // namespace kerosene
