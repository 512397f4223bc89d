#include "kerosene/shape.h"

#include "kerosene/error.h"

namespace kerosene {

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}

Shape::Shape(const std::vector<int64_t>& dims) {
  for (int64_t d : dims) push_back(d);
}

int64_t Shape::operator[](int i) const {
  int j = i < 0 ? i + rank_ : i;
  if (j < 0 || j >= rank_) {
    throw ValueError("dimension index " + std::to_string(i) + " is out of range for shape " +
                     to_string());
  }
  return dims_[j];
}

int64_t& Shape::operator[](int i) {
  int j = i < 0 ? i + rank_ : i;
  if (j < 0 || j >= rank_) {
    throw ValueError("dimension index " + std::to_string(i) + " is out of range for shape " +
                     to_string());
  }
  return dims_[j];
}

int64_t Shape::numel() const { return numel_from(0); }

int64_t Shape::numel_from(int begin) const {
  int64_t n = 1;
  for (int i = begin; i < rank_; ++i) n *= dims_[i];
  return n;
}

void Shape::push_back(int64_t d) {
  if (rank_ == kMaxRank) {
    throw ValueError("shapes have at most " + std::to_string(kMaxRank) + " dimensions");
  }
  dims_[rank_++] = d;
}

Shape Shape::with_batch(int64_t n) const {
  Shape s;
  s.push_back(n);
  for (int i = 0; i < rank_; ++i) s.push_back(dims_[i]);
  return s;
}

Shape Shape::drop_batch() const {
  Shape s;
  for (int i = 1; i < rank_; ++i) s.push_back(dims_[i]);
  return s;
}

Shape Shape::resolve_wildcard(int64_t numel) const {
  Shape out = *this;
  int wildcard = -1;
  int64_t known = 1;
  for (int i = 0; i < rank_; ++i) {
    if (dims_[i] != -1) {
      known *= dims_[i];
    } else if (wildcard >= 0) {
      throw ValueError("shape " + to_string() + ": only one dimension may be -1");
    } else {
      wildcard = i;
    }
  }
  if (wildcard >= 0 && known > 0 && numel % known == 0) out.dims_[wildcard] = numel / known;
  return out;
}

std::string Shape::to_string(bool batch_as_none) const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += (i == 0 && batch_as_none) ? std::string("None") : std::to_string(dims_[i]);
  }
  if (rank_ == 1 && !batch_as_none) s += ",";
  return s + ")";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i) {
    if (a.dims_[i] != b.dims_[i]) return false;
  }
  return true;
}

}  // namespace kerosene
