// Shape: the dimensions of a tensor, stored inline (no heap allocation), so that
// creating and comparing shapes on the training hot path costs nothing.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace kerosene {

class Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  /// Dimension i; negative i counts from the end, as in Python.
  int64_t operator[](int i) const;
  int64_t& operator[](int i);
  /// Product of all dimensions (1 for a scalar).
  int64_t numel() const;
  /// Product of dimensions [begin, rank).
  int64_t numel_from(int begin) const;

  void push_back(int64_t d);
  std::vector<int64_t> to_vector() const { return {dims_.begin(), dims_.begin() + rank_}; }
  /// The shape with dimension 0 replaced by n (a batch of n samples).
  Shape with_batch(int64_t n) const;
  /// The shape without its first dimension (one sample).
  Shape drop_batch() const;
  /// This shape with its one -1 entry (if any) replaced so that it holds `numel` elements, when
  /// that divides evenly; callers compare numel() to decide. Throws ValueError for two -1s.
  Shape resolve_wildcard(int64_t numel) const;

  /// "(32, 28, 28, 1)"; with batch_as_none, "(None, 28, 28, 1)" as Keras prints.
  std::string to_string(bool batch_as_none = false) const;

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace kerosene
