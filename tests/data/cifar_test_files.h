// Writers for small CIFAR files in each form the CIFAR site and Keras keep them in: pickled
// batches byte for byte as Python 2's cPickle writes them (tests/data/cifar/ holds files written
// by cPickle itself, and cifar_test.cpp checks these writers against them), binary records, and
// tar archives. Built byte by byte so that every malformed variant a reader must reject can be made.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "data/data_test_files.h"

namespace kerosene::data_testing {

/// `images` CIFAR images as the files hold them (each 3 planes of 32x32), starting at image
/// `first` of one endless pattern whose byte i is (7i + 13(i / 1024) + 3) % 256, so that the
/// planes of an image, and successive images, differ (make_fixtures.py writes the same).
inline Bytes cifar_pixels(size_t images, size_t first = 0) {
  Bytes b(images * 3072);
  for (size_t k = 0; k < b.size(); ++k) {
    const size_t i = k + first * 3072;
    b[k] = static_cast<uint8_t>((7 * i + 13 * (i / 1024) + 3) % 256);
  }
  return b;
}

/// A pickled dict of CIFAR batch values, in the order they are added, as cPickle.dump(d, f, 2)
/// writes one: every key, list and file name memoized, lists and dicts in MARK batches of 1000.
class CifarPickle {
 public:
  CifarPickle& array(const std::string& key, const Bytes& data, const std::vector<int64_t>& shape,
                     const std::string& descr = "u1") {
    this->key(key);
    global("numpy.core.multiarray", "_reconstruct");
    global("numpy", "ndarray");
    integer(0);
    body_.push_back(0x85);  // TUPLE1
    string("b");
    body_.insert(body_.end(), {0x87, 'R'});  // TUPLE3, REDUCE
    put();
    body_.push_back('(');
    integer(1);
    tuple_of(shape);
    global("numpy", "dtype");
    string(descr);
    integer(0);
    integer(1);
    body_.insert(body_.end(), {0x87, 'R'});
    put();
    body_.push_back('(');
    integer(3);
    string("|");
    body_.insert(body_.end(), {'N', 'N', 'N'});
    for (int64_t v : {-1, -1, 0}) integer(v);
    body_.insert(body_.end(), {'t', 'b', 0x89});  // TUPLE, BUILD, NEWFALSE
    string(std::string(data.begin(), data.end()));
    body_.insert(body_.end(), {'t', 'b'});
    return *this;
  }
  CifarPickle& ints(const std::string& key, const std::vector<int64_t>& values) {
    this->key(key);
    list(values.size(), [&](size_t i) { integer(values[i]); });
    return *this;
  }
  CifarPickle& text(const std::string& key, const std::string& value) {
    this->key(key);
    string(value);
    put();
    return *this;
  }
  CifarPickle& texts(const std::string& key, const std::vector<std::string>& values) {
    this->key(key);
    list(values.size(), [&](size_t i) {
      string(values[i]);
      put();
    });
    return *this;
  }
  Bytes bytes() const {
    Bytes out = {0x80, 2, '}', 'q', 1};
    if (entries_ != 1) out.push_back('(');
    out.insert(out.end(), body_.begin(), body_.end());
    out.push_back(entries_ == 1 ? 's' : 'u');
    out.push_back('.');
    return out;
  }

 private:
  void put() {
    if (memo_ < 256) {
      body_.insert(body_.end(), {'q', static_cast<uint8_t>(memo_)});
    } else {
      body_.push_back('r');
      put_le(body_, memo_, 4);
    }
    ++memo_;
  }
  void key(const std::string& k) {
    ++entries_;
    string(k);
    put();
  }
  void string(const std::string& s) {
    if (s.size() < 256) {
      body_.insert(body_.end(), {'U', static_cast<uint8_t>(s.size())});
    } else {
      body_.push_back('T');
      put_le(body_, s.size(), 4);
    }
    body_.insert(body_.end(), s.begin(), s.end());
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      body_.insert(body_.end(), {'K', static_cast<uint8_t>(v)});
    } else if (v >= 0 && v < 65536) {
      body_.push_back('M');
      put_le(body_, static_cast<uint64_t>(v), 2);
    } else {
      body_.push_back('J');
      put_le(body_, static_cast<uint64_t>(v), 4);
    }
  }
  void global(const std::string& module, const std::string& name) {
    body_.push_back('c');
    body_.insert(body_.end(), module.begin(), module.end());
    body_.push_back('\n');
    body_.insert(body_.end(), name.begin(), name.end());
    body_.push_back('\n');
    put();
  }
  void tuple_of(const std::vector<int64_t>& values) {
    if (values.empty()) {
      body_.push_back(')');
      return;
    }
    if (values.size() > 3) body_.push_back('(');
    for (int64_t v : values) integer(v);
    body_.push_back(values.size() > 3 ? 't' : static_cast<uint8_t>(0x84 + values.size()));
  }
  // EMPTY_LIST, then the items in batches of 1000: MARK ... APPENDS, or APPEND for one item.
  template <typename F>
  void list(size_t n, F&& item) {
    body_.push_back(']');
    put();
    for (size_t start = 0; start < n; start += 1000) {
      const size_t end = std::min(n, start + 1000);
      if (end - start > 1) body_.push_back('(');
      for (size_t i = start; i < end; ++i) item(i);
      body_.push_back(end - start > 1 ? 'e' : 'a');
    }
  }

  Bytes body_;
  uint32_t memo_ = 2;  // 1 is the dict
  int entries_ = 0;
};

/// A CIFAR-10 python batch as the CIFAR site has it: data, labels, batch_label, filenames.
inline Bytes cifar10_pickle(const Bytes& pixels, const std::vector<int64_t>& labels) {
  std::vector<std::string> names;
  for (size_t i = 0; i < labels.size(); ++i) names.push_back("image_" + std::to_string(i) + ".png");
  return CifarPickle()
      .array("data", pixels, {static_cast<int64_t>(pixels.size() / 3072), 3072})
      .ints("labels", labels)
      .text("batch_label", "training batch 1 of 5")
      .texts("filenames", names)
      .bytes();
}

/// A CIFAR-100 python batch: data, fine_labels, coarse_labels (and the site's other keys).
inline Bytes cifar100_pickle(const Bytes& pixels, const std::vector<int64_t>& fine, const std::vector<int64_t>& coarse) {
  return CifarPickle()
      .text("batch_label", "training batch 1 of 1")
      .ints("fine_labels", fine)
      .ints("coarse_labels", coarse)
      .array("data", pixels, {static_cast<int64_t>(pixels.size() / 3072), 3072})
      .bytes();
}

/// Binary-version records: the label byte(s) (CIFAR-100: coarse, then fine) and the image.
inline Bytes cifar_records(const Bytes& pixels, const std::vector<std::vector<uint8_t>>& labels) {
  Bytes out;
  for (size_t i = 0; i < labels.size(); ++i) {
    out.insert(out.end(), labels[i].begin(), labels[i].end());
    out.insert(out.end(), pixels.begin() + static_cast<std::ptrdiff_t>(i * 3072),
               pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * 3072));
  }
  return out;
}

struct TarMember {
  std::string name;
  Bytes data;
  char type = '0';
  int64_t claimed_size = -1;  // the header's size field when not data.size()
};

/// A POSIX ustar archive of `members`, ended by two zero blocks.
inline Bytes tar_bytes(const std::vector<TarMember>& members) {
  Bytes out;
  for (const TarMember& m : members) {
    Bytes h(512, 0);
    std::copy(m.name.begin(), m.name.end(), h.begin());
    auto octal = [&](size_t at, size_t width, uint64_t v) {
      std::string digits(width - 1, '0');
      for (size_t i = width - 1; i-- > 0; v /= 8) digits[i] = static_cast<char>('0' + v % 8);
      std::copy(digits.begin(), digits.end(), h.begin() + static_cast<std::ptrdiff_t>(at));
    };
    octal(100, 8, 0644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, m.claimed_size >= 0 ? static_cast<uint64_t>(m.claimed_size) : m.data.size());
    octal(136, 12, 1243000000);
    h[156] = static_cast<uint8_t>(m.type);
    std::copy_n("ustar\0" "00", 8, h.begin() + 257);
    std::fill(h.begin() + 148, h.begin() + 156, ' ');
    uint64_t sum = 0;
    for (uint8_t b : h) sum += b;
    octal(148, 7, sum);
    out.insert(out.end(), h.begin(), h.end());
    out.insert(out.end(), m.data.begin(), m.data.end());
    out.resize((out.size() + 511) / 512 * 512, 0);
  }
  out.resize(out.size() + 1024, 0);
  return out;
}

}  // namespace kerosene::data_testing
