// One epoch of MNIST training in libtorch (C++), for the side-by-side benchmark with kerosene.
//
//   libtorch_mnist --data-dir DIR [--model mlp|cnn|convnet] [--threads N] [--epochs E]
//                  [--batch-size B] [--precision f32|bf16] [--seed S] [--limit N] [--blas-threads N]
//
// DIR holds the four MNIST IDX files, gzip-compressed (train-images-idx3-ubyte.gz, ...).
// Models (the classic Keras examples, softmax folded into the cross-entropy):
//   mlp: Flatten, Linear(784,128), ReLU, Linear(128,10)
//   cnn: Conv2d(1,32,3), ReLU, MaxPool2d(2), Flatten, Linear(5408,10)
//   convnet (keras.io/examples/vision/mnist_convnet): Conv2d(1,32,3), ReLU, MaxPool2d(2),
//     Conv2d(32,64,3), ReLU, MaxPool2d(2), Flatten, Dropout(0.5), Linear(1600,10)
// Adam(lr 1e-3, betas (0.9,0.999), eps 1e-7), batch 32 (--batch-size), shuffled each epoch,
// inputs /255. --precision bf16: the forward pass (and so the loss) under CPU autocast to
// bfloat16, as torch.autocast("cpu", dtype=torch.bfloat16) does; weights and Adam stay float32.
// Prints one JSON line:
//   {"framework":"libtorch","model":...,"threads":N,"epoch_seconds":...,"test_accuracy":...,
//    "blas":..., "blas_core": (OpenBLAS' kernel set, e.g. "SkylakeX"), "mkldnn": bool}
// epoch_seconds is the last epoch's wall time (data already in memory; no evaluation inside).
#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/autocast_mode.h>
#include <dlfcn.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  int n;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0)
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw std::runtime_error("error reading " + path + ": " + (msg ? msg : "?"));
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Images: float tensor (N,1,28,28) scaled to [0,1]. Labels: int64 tensor (N).
torch::Tensor load_images(const std::string& path) {
  auto d = read_gz(path);
  if (d.size() < 16 || be32(d.data()) != 0x00000803) throw std::runtime_error(path + ": not an IDX3 ubyte file");
  const int64_t n = be32(d.data() + 4), h = be32(d.data() + 8), w = be32(d.data() + 12);
  if (d.size() != size_t(16 + n * h * w)) throw std::runtime_error(path + ": truncated");
  auto t = torch::from_blob(d.data() + 16, {n, 1, h, w}, torch::kUInt8).clone();
  return t.to(torch::kFloat32).div_(255.0f);
}

torch::Tensor load_labels(const std::string& path) {
  auto d = read_gz(path);
  if (d.size() < 8 || be32(d.data()) != 0x00000801) throw std::runtime_error(path + ": not an IDX1 ubyte file");
  const int64_t n = be32(d.data() + 4);
  if (d.size() != size_t(8 + n)) throw std::runtime_error(path + ": truncated");
  return torch::from_blob(d.data() + 8, {n}, torch::kUInt8).clone().to(torch::kInt64);
}

torch::nn::Sequential make_model(const std::string& name) {
  namespace nn = torch::nn;
  if (name == "mlp")
    return nn::Sequential(nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
  if (name == "cnn")
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3)), nn::ReLU(),
                          nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(), nn::Linear(5408, 10));
  if (name == "convnet")
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                          nn::Conv2d(nn::Conv2dOptions(32, 64, 3)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                          nn::Flatten(), nn::Dropout(0.5), nn::Linear(1600, 10));
  throw std::runtime_error("unknown model '" + name + "' (mlp, cnn or convnet)");
}

// Debian's libtorch calls BLAS through libblas.so.3, i.e. whatever the alternatives system
// points at: the reference (netlib) BLAS by default, OpenBLAS once libopenblas0 is installed.
// OpenBLAS keeps its own thread pool, which torch::set_num_threads does not size; size it here.
std::string configure_blas(int threads) {
  using set_fn = void (*)(int);
  using cfg_fn = char* (*)();
  if (auto set = reinterpret_cast<set_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
  if (auto cfg = reinterpret_cast<cfg_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    std::string c = cfg();
    while (!c.empty() && (c.back() == ' ' || c.back() == '\n')) c.pop_back();
    return c;
  }
  return "libblas.so.3 (not OpenBLAS; likely the reference BLAS)";
}

// The kernel set OpenBLAS picked for this CPU (e.g. "SkylakeX" for its AVX-512 kernels,
// "Haswell" for AVX2; OPENBLAS_CORETYPE overrides it), or "" without OpenBLAS.
std::string blas_core() {
  using name_fn = char* (*)();
  auto name = reinterpret_cast<name_fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return name ? std::string(name()) : std::string();
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

void usage() {
  std::cerr << "usage: libtorch_mnist --data-dir DIR [--model mlp|cnn|convnet] [--threads N] [--epochs E]\n"
               "                      [--batch-size B] [--precision f32|bf16] [--seed S] [--limit N]\n"
               "                      [--blas-threads N]\n"
               "--threads N: torch::set_num_threads(N); --blas-threads: OpenBLAS pool (default N)\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, model_name = "mlp", precision = "f32";
  int threads = 1, epochs = 1, seed = 0, blas_threads = -1;
  int64_t batch = 32, limit = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { usage(); std::exit(2); }
      return argv[++i];
    };
    if (a == "--data-dir" || a == "--dataset") data_dir = next();
    else if (a == "--model") model_name = next();
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--blas-threads") blas_threads = std::stoi(next());
    else if (a == "--epochs") epochs = std::stoi(next());
    else if (a == "--batch-size") batch = std::stoll(next());
    else if (a == "--seed") seed = std::stoi(next());
    else if (a == "--precision") precision = next();
    else if (a == "--limit") limit = std::stoll(next());
    else if (a == "-h" || a == "--help") { usage(); return 0; }
    else if (data_dir.empty() && a[0] != '-') data_dir = a;
    else { usage(); return 2; }
  }
  if (data_dir.empty() || (precision != "f32" && precision != "bf16")) { usage(); return 2; }
  const bool bf16 = precision == "bf16";

  try {
    torch::set_num_threads(threads);
    if (blas_threads <= 0) blas_threads = threads;
    const std::string blas = configure_blas(blas_threads);
    torch::manual_seed(seed);
    auto x_train = load_images(data_dir + "/train-images-idx3-ubyte.gz");
    auto y_train = load_labels(data_dir + "/train-labels-idx1-ubyte.gz");
    auto x_test = load_images(data_dir + "/t10k-images-idx3-ubyte.gz");
    auto y_test = load_labels(data_dir + "/t10k-labels-idx1-ubyte.gz");
    if (limit > 0 && limit < x_train.size(0)) {
      x_train = x_train.narrow(0, 0, limit).contiguous();
      y_train = y_train.narrow(0, 0, limit).contiguous();
    }

    auto model = make_model(model_name);
    torch::optim::Adam opt(model->parameters(),
                           torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7));
    const int64_t n = x_train.size(0);
    double epoch_seconds = 0.0;
    double last_loss = 0.0;
    for (int e = 0; e < epochs; ++e) {
      model->train();
      auto t0 = std::chrono::steady_clock::now();
      auto perm = torch::randperm(n, torch::kInt64);
      auto xs = x_train.index_select(0, perm);
      auto ys = y_train.index_select(0, perm);
      double loss_sum = 0.0;
      for (int64_t s = 0; s < n; s += batch) {
        const int64_t b = std::min(batch, n - s);
        auto xb = xs.narrow(0, s, b);
        auto yb = ys.narrow(0, s, b);
        opt.zero_grad();
        if (bf16) {
          at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
          at::autocast::set_cpu_enabled(true);
        }
        auto loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
        if (bf16) {
          // Leaving the autocast region, as Python's context manager does: the cached bfloat16
          // copies of the weights are stale once the optimizer steps.
          at::autocast::set_cpu_enabled(false);
          at::autocast::clear_cache();
        }
        loss.backward();
        opt.step();
        loss_sum += loss.item<double>() * double(b);
      }
      epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      last_loss = loss_sum / double(n);
    }

    model->eval();
    torch::NoGradGuard no_grad;
    int64_t correct = 0;
    const int64_t nt = x_test.size(0);
    for (int64_t s = 0; s < nt; s += 1000) {
      const int64_t b = std::min<int64_t>(1000, nt - s);
      auto pred = model->forward(x_test.narrow(0, s, b)).argmax(1);
      correct += pred.eq(y_test.narrow(0, s, b)).sum().item<int64_t>();
    }
    const double acc = double(correct) / double(nt);
    std::printf("{\"framework\":\"libtorch\",\"version\":\"%d.%d.%d\",\"model\":\"%s\",\"threads\":%d,"
                "\"blas_threads\":%d,\"epochs\":%d,\"batch_size\":%lld,\"train_samples\":%lld,\"train_loss\":%.6f,"
                "\"precision\":\"%s\",\"epoch_seconds\":%.4f,\"test_accuracy\":%.4f,\"blas\":\"%s\","
                "\"blas_core\":\"%s\",\"mkldnn\":%s}\n",
                TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH, model_name.c_str(),
                torch::get_num_threads(), blas_threads, epochs, static_cast<long long>(batch),
                static_cast<long long>(n), last_loss, precision.c_str(), epoch_seconds, acc, json_escape(blas).c_str(),
                json_escape(blas_core()).c_str(), at::hasMKLDNN() ? "true" : "false");
    return 0;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "libtorch_mnist: %s\n", ex.what());
    return 1;
  }
}
