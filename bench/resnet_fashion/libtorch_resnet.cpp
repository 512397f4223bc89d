// The Fashion-MNIST residual network of examples/fashion_mnist_resnet.cpp in libtorch (C++),
// for the side-by-side benchmark (bench/resnet_fashion/compare.py). Prints one JSON line.
//
//   libtorch_resnet --data-dir DIR [--epochs E] [--seed S] [--threads N] [--steps N]
//                   [--batch-size B] [--channels-last 0|1]
//
// DIR holds the four Fashion-MNIST IDX files, gzip-compressed. The model matches Keras'
// definitions and defaults, not PyTorch's:
//   Conv2d(1,16,3,pad 1), ReLU, block(16), MaxPool2d(2), block(32, 1x1 projection), MaxPool2d(2),
//   Flatten, Linear(32*7*7, 10) (softmax folded into the cross-entropy);
//   block: relu(shortcut + BN(conv(relu(BN(conv(x)))))), convs before BN without bias;
//   weights Glorot-uniform and biases zero (Keras' initializers), BatchNorm eps 1e-3 and
//   momentum 0.01 (Keras' momentum 0.99), Adam lr 1e-3, betas (0.9,0.999), eps 1e-7.
// Flatten order differs from Keras' (NCHW against NHWC); that permutes the Dense weights only.
// Batch 128, a fresh permutation every epoch, the last partial batch kept (as Keras does).
// --threads N: torch::set_num_threads(N) and OpenBLAS' pool. --steps N: N batches per epoch.
// epoch_seconds: wall time of each epoch (data in memory, evaluation not included);
// warm_seconds: the same after the epoch's first --warmup-steps W (default 10) steps.
// --eval-each-epoch 1: test accuracy after every epoch too (not timed).
#include <torch/torch.h>
#include <torch/version.h>
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
  std::vector<uint8_t> out, buf(1 << 20);
  int n;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0)
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  gzclose(f);
  if (n < 0) throw std::runtime_error("error reading " + path);
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

torch::Tensor load_images(const std::string& path) {
  auto d = read_gz(path);
  if (d.size() < 16 || be32(d.data()) != 0x00000803) throw std::runtime_error(path + ": not an IDX3 ubyte file");
  const int64_t n = be32(d.data() + 4), h = be32(d.data() + 8), w = be32(d.data() + 12);
  if (d.size() != size_t(16 + n * h * w)) throw std::runtime_error(path + ": truncated");
  return torch::from_blob(d.data() + 16, {n, 1, h, w}, torch::kUInt8).clone().to(torch::kFloat32).div_(255.0f);
}

torch::Tensor load_labels(const std::string& path) {
  auto d = read_gz(path);
  if (d.size() < 8 || be32(d.data()) != 0x00000801) throw std::runtime_error(path + ": not an IDX1 ubyte file");
  const int64_t n = be32(d.data() + 4);
  if (d.size() != size_t(8 + n)) throw std::runtime_error(path + ": truncated");
  return torch::from_blob(d.data() + 8, {n}, torch::kUInt8).clone().to(torch::kInt64);
}

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2).bias(bias));
}
nn::BatchNorm2d bn(int64_t c) { return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).eps(1e-3).momentum(0.01)); }

struct BlockImpl : nn::Module {
  nn::Conv2d c1{nullptr}, c2{nullptr}, proj{nullptr};
  nn::BatchNorm2d b1{nullptr}, b2{nullptr};
  BlockImpl(int64_t in, int64_t out) {
    c1 = register_module("c1", conv(in, out, 3, false));
    b1 = register_module("b1", bn(out));
    c2 = register_module("c2", conv(out, out, 3, false));
    b2 = register_module("b2", bn(out));
    if (in != out) proj = register_module("proj", conv(in, out, 1, true));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = b2(c2(torch::relu(b1(c1(x)))));
    return torch::relu((proj ? proj(x) : x) + y);
  }
};
TORCH_MODULE(Block);

struct NetImpl : nn::Module {
  nn::Conv2d stem{nullptr};
  Block r1{nullptr}, r2{nullptr};
  nn::Linear fc{nullptr};
  NetImpl() {
    stem = register_module("stem", conv(1, 16, 3, true));
    r1 = register_module("r1", Block(16, 16));
    r2 = register_module("r2", Block(16, 32));
    fc = register_module("fc", nn::Linear(32 * 7 * 7, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(stem(x));
    y = torch::max_pool2d(r1(y), 2);
    y = torch::max_pool2d(r2(y), 2);
    return fc(y.flatten(1));  // logits
  }
};
TORCH_MODULE(Net);

// Keras' initializers: glorot_uniform kernels, zero biases; BN gamma 1, beta 0 (torch's too).
void keras_init(nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters()) {
    const std::string& name = p.key();
    auto& t = p.value();
    const bool is_bn = name.find(".b1.") != std::string::npos || name.find(".b2.") != std::string::npos;
    if (is_bn) continue;
    if (t.dim() >= 2) nn::init::xavier_uniform_(t);
    else t.zero_();
  }
}

std::string configure_blas(int threads) {
  using set_fn = void (*)(int);
  using cfg_fn = char* (*)();
  if (auto set = reinterpret_cast<set_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
  if (auto cfg = reinterpret_cast<cfg_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    std::string c = cfg();
    while (!c.empty() && (c.back() == ' ' || c.back() == '\n')) c.pop_back();
    return c;
  }
  return "libblas.so.3 (not OpenBLAS)";
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int epochs = 1, threads = 1, seed = 0, steps = 0, channels_last = 0, warmup = 10, eval_each = 0;
  int64_t batch = 128;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) { std::cerr << "usage: see the head of libtorch_resnet.cpp\n"; return 2; }
    const std::string v = argv[++i];
    if (a == "--data-dir") dir = v;
    else if (a == "--epochs") epochs = std::stoi(v);
    else if (a == "--seed") seed = std::stoi(v);
    else if (a == "--threads") threads = std::stoi(v);
    else if (a == "--steps") steps = std::stoi(v);
    else if (a == "--batch-size") batch = std::stoll(v);
    else if (a == "--channels-last") channels_last = std::stoi(v);
    else if (a == "--warmup-steps") warmup = std::stoi(v);
    else if (a == "--eval-each-epoch") eval_each = std::stoi(v);
    else { std::cerr << "unknown option " << a << "\n"; return 2; }
  }
  if (dir.empty()) { std::cerr << "--data-dir DIR is required\n"; return 2; }
  try {
    torch::set_num_threads(threads);
    const std::string blas = configure_blas(threads);
    torch::manual_seed(seed);
    auto x_train = load_images(dir + "/train-images-idx3-ubyte.gz");
    auto y_train = load_labels(dir + "/train-labels-idx1-ubyte.gz");
    auto x_test = load_images(dir + "/t10k-images-idx3-ubyte.gz");
    auto y_test = load_labels(dir + "/t10k-labels-idx1-ubyte.gz");
    const auto fmt = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;

    Net model;
    keras_init(*model);
    if (channels_last) {
      torch::NoGradGuard g;
      for (auto& p : model->parameters())
        if (p.dim() == 4) p.set_data(p.contiguous(fmt));
    }
    int64_t params = 0;
    for (auto& p : model->parameters()) params += p.numel();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7));

    auto evaluate = [&]() -> std::pair<double, double> {
      model->eval();
      torch::NoGradGuard no_grad;
      int64_t correct = 0;
      double loss_sum = 0;
      const int64_t nt = x_test.size(0);
      for (int64_t s = 0; s < nt; s += 1000) {
        const int64_t b = std::min<int64_t>(1000, nt - s);
        auto logits = model->forward(x_test.narrow(0, s, b).contiguous(fmt));
        auto yb = y_test.narrow(0, s, b);
        loss_sum += torch::nn::functional::cross_entropy(logits, yb).item<double>() * double(b);
        correct += logits.argmax(1).eq(yb).sum().item<int64_t>();
      }
      return {loss_sum / double(nt), double(correct) / double(nt)};
    };
    std::vector<double> accs;
    const int64_t n = x_train.size(0);
    std::vector<double> secs, warm;
    for (int e = 0; e < epochs; ++e) {
      model->train();
      const auto t0 = std::chrono::steady_clock::now();
      auto perm = torch::randperm(n, torch::kInt64);
      int64_t step = 0;
      auto tw = t0;
      bool have_tw = false;
      for (int64_t s = 0; s < n && (steps <= 0 || step < steps); s += batch, ++step) {
        const int64_t b = std::min(batch, n - s);
        auto idx = perm.narrow(0, s, b);
        auto xb = x_train.index_select(0, idx).contiguous(fmt);
        auto yb = y_train.index_select(0, idx);
        opt.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
        loss.backward();
        opt.step();
        (void)loss.item<float>();  // as Keras and kerosene read the loss every step
        if (step == warmup - 1) { tw = std::chrono::steady_clock::now(); have_tw = true; }
      }
      const auto t1 = std::chrono::steady_clock::now();
      secs.push_back(std::chrono::duration<double>(t1 - t0).count());
      warm.push_back(have_tw ? std::chrono::duration<double>(t1 - tw).count() : -1.0);
      if (eval_each) accs.push_back(evaluate().second);
    }

    const auto [test_loss, test_acc] = evaluate();
    std::string ss, ws, as;
    for (double a : accs) as += (as.empty() ? "" : ",") + std::to_string(a);
    for (double s : secs) ss += (ss.empty() ? "" : ",") + std::to_string(s);
    for (double s : warm) ws += (ws.empty() ? "" : ",") + (s < 0 ? std::string("null") : std::to_string(s));
    std::printf("{\"framework\":\"libtorch\",\"version\":\"%d.%d.%d\",\"threads\":%d,\"seed\":%d,\"epochs\":%d,"
                "\"batch_size\":%lld,\"steps\":%d,\"channels_last\":%d,\"train_samples\":%lld,\"params\":%lld,"
                "\"epoch_seconds\":[%s],\"warm_seconds\":[%s],\"warmup_steps\":%d,\"test_accuracy_per_epoch\":[%s],\"test_loss\":%.5f,\"test_accuracy\":%.4f,\"blas\":\"%s\"}\n",
                TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH, torch::get_num_threads(), seed,
                epochs, static_cast<long long>(batch), steps, channels_last, static_cast<long long>(n),
                static_cast<long long>(params), ss.c_str(), ws.c_str(), warmup, as.c_str(), test_loss, test_acc,
                blas.c_str());
    return 0;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "libtorch_resnet: %s\n", ex.what());
    return 1;
  }
}
