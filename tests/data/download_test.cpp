// Downloads into Keras' cache, against an HTTP server on the loopback address that this test
// runs (nothing leaves the machine): the files land in Keras' places and load; mnist.npz is
// checked against the SHA-256 Keras publishes; failures (offline, 404, a cut transfer, a wrong
// hash) are errors that say so and leave nothing in the cache.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

#include "data/cifar_test_files.h"
#include "data/data_test_files.h"
#include "data/download.h"
#include "data/gzip.h"
#include "data/sha256.h"
#include "kerosene/datasets.h"

namespace kerosene {
namespace {

using namespace data_testing;
namespace fs = std::filesystem;

/// Serves `files` (path -> bytes) over HTTP/1.1 on 127.0.0.1 from its own thread. With
/// `cut_short`, each response announces its full length and sends only half.
class LoopbackHttpServer {
 public:
  explicit LoopbackHttpServer(std::map<std::string, Bytes> files, bool cut_short = false)
      : files_(std::move(files)), cut_short_(cut_short) {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    EXPECT_EQ(::listen(socket_, 8), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(socket_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{socket_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(socket_, nullptr, nullptr);
      if (client < 0) continue;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      ++requests_;
      const size_t start = request.find(' ') + 2, end = request.find(' ', start);
      const std::string path = request.substr(start, end - start);
      const auto it = files_.find(path);
      std::string response;
      if (it == files_.end()) {
        response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else {
        const Bytes& body = it->second;
        response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
        response.append(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(cut_short_ ? body.size() / 2 : body.size()));
      }
      for (size_t sent = 0; sent < response.size();) {
        const ssize_t n = ::send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::close(client);
    }
  }

  std::map<std::string, Bytes> files_;
  bool cut_short_;
  int socket_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// Fashion-MNIST's four files, gzipped as Keras' server holds them, with `n` training images.
std::map<std::string, Bytes> fashion_files(uint32_t n) {
  return {{"train-images-idx3-ubyte.gz", gzip_bytes(idx_bytes(0x08, {n, 28, 28}, Bytes(n * 784, 9)))},
          {"train-labels-idx1-ubyte.gz", gzip_bytes(idx_bytes(0x08, {n}, Bytes(n, 4)))},
          {"t10k-images-idx3-ubyte.gz", gzip_bytes(idx_bytes(0x08, {2, 28, 28}, Bytes(2 * 784, 1)))},
          {"t10k-labels-idx1-ubyte.gz", gzip_bytes(idx_bytes(0x08, {2}, Bytes(2, 5)))}};
}

// Keras' cache under a fresh KERAS_HOME, no local copy anywhere else, downloads from `url`.
struct CacheEnvironment {
  TempDir root;
  ScopedEnv kerosene_datasets{"KEROSENE_DATASETS", std::nullopt};
  ScopedEnv keras_home{"KERAS_HOME", root.path().string()};
  ScopedEnv system{"KEROSENE_SYSTEM_DATASETS", (root.path() / "system").string()};
  ScopedEnv url;
  explicit CacheEnvironment(const std::string& server) : url("KEROSENE_DATASETS_URL", server) {}
  // Every file left in the cache: a failed download must leave none, not even a part.
  std::vector<std::string> cached() const {
    std::vector<std::string> names;
    if (!fs::exists(root.path() / "datasets")) return names;
    for (const auto& e : fs::recursive_directory_iterator(root.path() / "datasets")) {
      if (e.is_regular_file()) names.push_back(e.path().filename().string());
    }
    return names;
  }
};

TEST(Sha256, KnownAnswers) {
  // FIPS 180-4's examples.
  data::Sha256 empty;
  EXPECT_EQ(empty.hex_digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  data::Sha256 abc;
  abc.update(reinterpret_cast<const uint8_t*>("abc"), 3);
  EXPECT_EQ(abc.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  data::Sha256 split;  // fed in uneven pieces
  split.update(reinterpret_cast<const uint8_t*>(two_blocks.data()), 5);
  split.update(reinterpret_cast<const uint8_t*>(two_blocks.data()) + 5, two_blocks.size() - 5);
  EXPECT_EQ(split.hex_digest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Download, FashionMnistLandsInKerasCacheAndLoads) {
  if (!data::can_download()) GTEST_SKIP() << "this build has no libcurl";
  LoopbackHttpServer server(fashion_files(3));
  CacheEnvironment env(server.url());
  auto [train, test] = datasets::fashion_mnist::load_data();
  EXPECT_EQ(train.x.shape(), Shape({3, 28, 28}));
  EXPECT_EQ(test.y.to_vector<uint8_t>(), (std::vector<uint8_t>{5, 5}));
  EXPECT_TRUE(fs::exists(env.root.path() / "datasets/fashion-mnist/train-images-idx3-ubyte.gz"));
  EXPECT_EQ(env.cached().size(), 4u);
  EXPECT_EQ(server.requests(), 4);
  datasets::fashion_mnist::load_data();  // from the cache now
  EXPECT_EQ(server.requests(), 4);
}

TEST(Download, MnistIsCheckedAgainstKerasHash) {
  if (!data::can_download()) GTEST_SKIP() << "this build has no libcurl";
  // A well-formed mnist.npz, but not Keras' own: its hash differs, so it must not be kept.
  const Bytes npz = zip_bytes({{"x_train.npy", npy_bytes("|u1", "(1, 28, 28)", Bytes(784, 1))},
                               {"y_train.npy", npy_bytes("|u1", "(1,)", Bytes(1, 1))},
                               {"x_test.npy", npy_bytes("|u1", "(1, 28, 28)", Bytes(784, 1))},
                               {"y_test.npy", npy_bytes("|u1", "(1,)", Bytes(1, 1))}});
  LoopbackHttpServer server({{"mnist.npz", npz}});
  CacheEnvironment env(server.url());
  const std::string message = error_of([] { datasets::mnist::load_data(); });
  EXPECT_CONTAINS(message, "mnist.npz: the file's SHA-256 is ");
  EXPECT_CONTAINS(message, "expected 731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1");
  EXPECT_TRUE(env.cached().empty()) << "left in the cache: " << env.cached().front();
  // The same file with its own hash is kept and reads back.
  data::Sha256 hash;
  hash.update(npz.data(), npz.size());
  data::download_file(server.url() + "mnist.npz", (env.root.path() / "mnist.npz").string(), hash.hex_digest(), 1 << 20);
  EXPECT_EQ(data::read_file_bytes(env.root / "mnist.npz"), npz);
}

TEST(Download, CifarTarballIsCheckedAgainstKerasHash) {
  if (!data::can_download()) GTEST_SKIP() << "this build has no libcurl";
  // A well-formed tarball, but not the CIFAR site's: its hash differs, so it must not be kept.
  std::vector<TarMember> members = {{"cifar-10-batches-py/test_batch", cifar10_pickle(cifar_pixels(1), {1})}};
  for (int k = 1; k <= 5; ++k) members.push_back({"cifar-10-batches-py/data_batch_" + std::to_string(k), members[0].data});
  LoopbackHttpServer server({{"cifar-10-python.tar.gz", gzip_bytes(tar_bytes(members))}});
  CacheEnvironment env(server.url());
  const std::string message = error_of([] { datasets::cifar10::load_data(); });
  EXPECT_CONTAINS(message, "cannot download " + server.url() + "cifar-10-python.tar.gz: the file's SHA-256 is ");
  EXPECT_CONTAINS(message, "expected 6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce");
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(env.cached().empty()) << "left in the cache: " << env.cached().front();
  // CIFAR-100's name and hash.
  EXPECT_CONTAINS(error_of([] { datasets::cifar100::load_data(); }), "cifar-100-python.tar.gz: the server answered HTTP 404");
}

TEST(Download, FailuresSayWhyAndLeaveNothing) {
  if (!data::can_download()) GTEST_SKIP() << "this build has no libcurl";
  {
    CacheEnvironment env("http://127.0.0.1:9/");  // nothing listens: what being offline looks like
    const std::string message = error_of([] { datasets::fashion_mnist::load_data(); });
    EXPECT_CONTAINS(message, "dataset 'fashion_mnist' was not found, and downloading it failed: cannot download "
                             "http://127.0.0.1:9/train-images-idx3-ubyte.gz");
    EXPECT_CONTAINS(message, "(offline?)");
    EXPECT_CONTAINS(message, "Looked in:");
    EXPECT_TRUE(env.cached().empty());
  }
  {
    LoopbackHttpServer server({});
    CacheEnvironment env(server.url());
    EXPECT_CONTAINS(error_of([] { datasets::fashion_mnist::load_data(); }), "the server answered HTTP 404");
    EXPECT_TRUE(env.cached().empty());
  }
  {
    LoopbackHttpServer server(fashion_files(50), /*cut_short=*/true);
    CacheEnvironment env(server.url());
    EXPECT_CONTAINS(error_of([] { datasets::fashion_mnist::load_data(); }), "cannot download");
    EXPECT_TRUE(env.cached().empty()) << "left in the cache: " << env.cached().front();
  }
  {
    LoopbackHttpServer server(fashion_files(50));
    CacheEnvironment env(server.url());
    TempDir out;
    EXPECT_CONTAINS(error_of([&] { data::download_file(server.url() + "train-images-idx3-ubyte.gz", out / "x", "", 10); }),
                    "larger than the 10 bytes expected of it");
    EXPECT_FALSE(fs::exists(out / "x"));
  }
}

}  // namespace
}  // namespace kerosene
