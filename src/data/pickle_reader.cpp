// A stack machine for the few pickle opcodes a CIFAR batch holds (see pickle_reader.h). Values
// are shared as Python's are (the memo hands out the same object again); containers only ever
// hold scalars, strings and arrays, and tuples nest at most kMaxDepth deep, so no value can reach
// itself and freeing them never recurses deeply, whatever the file says.
#include "data/pickle_reader.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "kerosene/error.h"

namespace kerosene::data {
namespace {

// The most stack pushes, memo entries and marks one pickle may make. CIFAR-100's training batch,
// the largest, makes about 300,000 (50,000 file names, each memoized, and 100,000 labels).
constexpr size_t kMaxObjects = size_t{1} << 20;
// CIFAR's deepest tuple is _reconstruct's arguments, (ndarray, (0,), b'b'): depth 2.
constexpr int kMaxDepth = 3;
// A GLOBAL's module and name are short lines; longer ones are not numpy's.
constexpr size_t kMaxGlobalLine = 64;

enum class Kind : uint8_t { none, integer, string, tuple, list, dict, reconstruct, ndarray, dtype_class, dtype, array };

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  int64_t integer = 0;          // integer (True and False are 1 and 0, as in Python)
  std::string_view text;        // string, and an array's data: views of the pickle
  std::vector<Ref> items;       // tuple, list; dict: key, value, key, value, ...
  std::vector<int64_t> shape;   // array
  int depth = 0;                // tuples: how deeply they nest
  bool built = false;           // array, dtype: BUILD has set their state
};

std::string describe(uint8_t op) {
  static const char* hex = "0123456789abcdef";
  std::string code = "0x";
  code += hex[op >> 4];
  code += hex[op & 15];
  return op >= 0x20 && op < 0x7f ? "'" + std::string(1, static_cast<char>(op)) + "' (" + code + ")" : code;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& what) : data_(data), size_(size), what_(what) {}

  Ref run() {
    for (;;) {
      op_at_ = pos_;
      if (pos_ >= size_) fail("the pickle ends without its STOP opcode (truncated?)");
      op_ = data_[pos_++];
      if (op_at_ == 0 && op_ != 0x80) fail("expected PROTO 2 first, as cPickle writes a CIFAR batch");
      if (op_ == '.') return stop();
      step();
    }
  }

 private:
  void step() {
    switch (op_) {
      case 0x80:  // PROTO
        if (op_at_ != 0 || le(1) != 2) fail("expected protocol 2 (cPickle's), once, at the start");
        break;
      case '}': push(make(Kind::dict)); break;   // EMPTY_DICT
      case ']': push(make(Kind::list)); break;   // EMPTY_LIST
      case ')': push(make(Kind::tuple)); break;  // EMPTY_TUPLE
      case 'N': push(make(Kind::none)); break;   // NONE
      case '(':                                  // MARK
        count();
        marks_.push_back(stack_.size());
        break;
      case 0x88: case 0x89: push(integer(op_ == 0x88)); break;  // NEWTRUE, NEWFALSE
      case 'K': push(integer(static_cast<int64_t>(le(1)))); break;  // BININT1
      case 'M': push(integer(static_cast<int64_t>(le(2)))); break;  // BININT2
      case 'J': push(integer(static_cast<int32_t>(le(4)))); break;  // BININT
      case 'U': push(string(le(1))); break;                         // SHORT_BINSTRING
      case 'X': push(string(le(4))); break;                         // BINUNICODE (a key)
      case 'T': {                                                   // BINSTRING
        const int32_t n = static_cast<int32_t>(le(4));
        if (n < 0) fail("a string of negative length " + std::to_string(n));
        push(string(static_cast<uint64_t>(n)));
        break;
      }
      case 't': push(tuple(pop_mark())); break;  // TUPLE
      case 0x85: case 0x86: case 0x87: {         // TUPLE1, TUPLE2, TUPLE3
        std::vector<Ref> items(op_ - 0x84u);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(tuple(std::move(items)));
        break;
      }
      case 'a': append({pop()}); break;   // APPEND
      case 'e': append(pop_mark()); break;  // APPENDS
      case 's': {                          // SETITEM
        Ref value = pop();
        Ref key = pop();
        set_items({key, value});
        break;
      }
      case 'u': set_items(pop_mark()); break;  // SETITEMS
      case 'q': put(le(1)); break;                                            // BINPUT
      case 'r': put(le(4)); break;                                            // LONG_BINPUT
      case 'h': push(memo(le(1))); break;                                     // BINGET
      case 'j': push(memo(le(4))); break;                                     // LONG_BINGET
      case 'c': push(global()); break;                                        // GLOBAL
      case 'R': reduce(); break;                                              // REDUCE
      case 'b': build(); break;                                               // BUILD
      default:
        fail("not an opcode of a CIFAR batch (a protocol 2 dict of numpy arrays, lists and strings, as cPickle "
             "writes it); nothing else is read");
    }
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw IOError(what_ + ": not a CIFAR batch pickle: " + why + " (opcode " +
                  (op_at_ < size_ ? describe(data_[op_at_]) : std::string("none")) + " at offset " +
                  std::to_string(op_at_) + ")");
  }

  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) {
      fail("needs " + std::to_string(n) + " more bytes, but only " + std::to_string(size_ - pos_) +
           " are left (truncated?)");
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint64_t le(int n) {
    const uint8_t* p = take(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
  }

  void count() {
    if (++objects_ > kMaxObjects) fail("more than " + std::to_string(kMaxObjects) + " objects: not a CIFAR batch");
  }
  Ref make(Kind kind) const { return std::make_shared<Value>(kind); }
  Ref integer(int64_t v) const {
    Ref r = make(Kind::integer);
    r->integer = v;
    return r;
  }
  Ref string(uint64_t n) {
    Ref r = make(Kind::string);
    r->text = std::string_view(reinterpret_cast<const char*>(take(n)), static_cast<size_t>(n));
    return r;
  }
  Ref tuple(std::vector<Ref> items) const {
    Ref r = make(Kind::tuple);
    for (const Ref& item : items) r->depth = std::max(r->depth, item->depth);
    if (++r->depth > kMaxDepth) fail("tuples nested more than " + std::to_string(kMaxDepth) + " deep");
    r->items = std::move(items);
    return r;
  }

  // The stack above the innermost MARK; popping past it is an error, as in Python.
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Ref value) {
    count();
    stack_.push_back(std::move(value));
  }
  const Ref& top() const {
    if (stack_.size() <= floor()) fail("the stack is empty here");
    return stack_.back();
  }
  Ref pop() {
    Ref value = top();
    stack_.pop_back();
    return value;
  }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) fail("no MARK to close");
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void put(uint64_t index) {
    count();
    memo_[static_cast<uint32_t>(index)] = top();
  }
  Ref memo(uint64_t index) const {
    const auto it = memo_.find(static_cast<uint32_t>(index));
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    return it->second;
  }

  // Lists hold numbers and strings (labels, file names), so that no list can hold a container.
  void append(const std::vector<Ref>& items) {
    const Ref& list = top();
    if (list->kind != Kind::list) fail("appending to something other than a list");
    for (const Ref& item : items) {
      if (item->kind != Kind::integer && item->kind != Kind::string) fail("a list item other than a number or string");
      list->items.push_back(item);
    }
  }
  // Dict keys are strings; values are never dicts or tuples (CIFAR's are arrays, lists, strings).
  void set_items(const std::vector<Ref>& pairs) {
    const Ref& dict = top();
    if (dict->kind != Kind::dict) fail("setting an item of something other than a dict");
    if (pairs.size() % 2 != 0) fail("a key without a value");
    for (size_t i = 0; i < pairs.size(); i += 2) {
      if (pairs[i]->kind != Kind::string) fail("a dict key that is not a string");
      const Kind kind = pairs[i + 1]->kind;
      if (kind != Kind::array && kind != Kind::list && kind != Kind::string && kind != Kind::integer) {
        fail("a dict value other than a numpy array, list, string or number");
      }
      dict->items.push_back(pairs[i]);
      dict->items.push_back(pairs[i + 1]);
    }
  }

  std::string_view line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') {
      if (pos_ - start >= kMaxGlobalLine) fail("a GLOBAL name longer than any of numpy's");
      ++pos_;
    }
    if (pos_ >= size_) fail("the GLOBAL's name is cut short (truncated?)");
    return {reinterpret_cast<const char*>(data_ + start), pos_++ - start};
  }
  // Only the three names numpy's pickles use are known; they are never looked up or called.
  Ref global() {
    const std::string_view module = line(), name = line();
    if (module == "numpy.core.multiarray" && name == "_reconstruct") return make(Kind::reconstruct);
    if (module == "numpy" && name == "ndarray") return make(Kind::ndarray);
    if (module == "numpy" && name == "dtype") return make(Kind::dtype_class);
    fail("GLOBAL '" + std::string(module) + "." + std::string(name) +
         "' is not one a CIFAR batch uses (numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype)");
  }

  static bool is_int(const Ref& v, int64_t value) { return v->kind == Kind::integer && v->integer == value; }

  // _reconstruct(ndarray, (0,), b'b') makes an empty array and dtype('u1', 0, 1) the uint8 dtype;
  // BUILD then fills them in.
  void reduce() {
    const Ref args = pop();
    const Ref callable = pop();
    if (args->kind != Kind::tuple) fail("REDUCE with arguments that are not a tuple");
    const std::vector<Ref>& a = args->items;
    if (callable->kind == Kind::reconstruct) {
      if (a.size() != 3 || a[0]->kind != Kind::ndarray || a[1]->kind != Kind::tuple || a[1]->items.size() != 1 ||
          !is_int(a[1]->items[0], 0) || a[2]->kind != Kind::string || a[2]->text != "b") {
        fail("_reconstruct with arguments other than numpy's (ndarray, (0,), b'b')");
      }
      push(make(Kind::array));
    } else if (callable->kind == Kind::dtype_class) {
      if (a.size() != 3 || a[0]->kind != Kind::string || a[1]->kind != Kind::integer || a[2]->kind != Kind::integer) {
        fail("dtype with arguments other than numpy's (descr, align, copy)");
      }
      if (a[0]->text != "u1") fail("numpy dtype '" + std::string(a[0]->text) + "': expected 'u1' (uint8), as CIFAR's");
      push(make(Kind::dtype));
    } else {
      fail("REDUCE of something other than numpy's _reconstruct or dtype");
    }
  }

  // A dtype's state (byte order, fields) says nothing for uint8; an array's is
  // (1, shape, dtype, is_fortran, data).
  void build() {
    const Ref state = pop();
    const Ref& object = top();
    if ((object->kind != Kind::array && object->kind != Kind::dtype) || object->built) {
      fail("BUILD on something other than a new numpy array or dtype");
    }
    if (state->kind != Kind::tuple) fail("BUILD with a state that is not a tuple");
    object->built = true;
    if (object->kind == Kind::dtype) return;
    const std::vector<Ref>& s = state->items;
    if (s.size() != 5 || !is_int(s[0], 1) || s[1]->kind != Kind::tuple || s[2]->kind != Kind::dtype ||
        s[3]->kind != Kind::integer || s[4]->kind != Kind::string) {
      fail("an array state other than numpy's (1, shape, dtype, is_fortran, data)");
    }
    if (s[3]->integer != 0) fail("a Fortran-ordered array: CIFAR's are in C order");
    const uint64_t bytes = s[4]->text.size();
    uint64_t numel = 1;
    bool fits = true;  // the product stays within the data's size, so it cannot overflow
    for (const Ref& d : s[1]->items) {
      if (d->kind != Kind::integer || d->integer < 0) fail("an array shape that is not a tuple of sizes");
      const auto n = static_cast<uint64_t>(d->integer);
      if (fits && n != 0 && numel > bytes / n) fits = false;
      if (fits) numel *= n;
      object->shape.push_back(d->integer);
    }
    if (!fits || numel != bytes) {
      std::string shape;
      for (const Ref& d : s[1]->items) shape += (shape.empty() ? "" : ", ") + std::to_string(d->integer);
      fail("an array of shape (" + shape + ") with " + std::to_string(bytes) + " bytes of uint8 data");
    }
    object->text = s[4]->text;
  }

  Ref stop() {
    if (!marks_.empty()) fail("STOP inside an unclosed MARK");
    if (stack_.size() != 1 || stack_[0]->kind != Kind::dict) {
      fail("STOP with " + std::to_string(stack_.size()) + " objects on the stack, expected the batch's dict");
    }
    if (pos_ != size_) fail(std::to_string(size_ - pos_) + " bytes after STOP: one pickle per file");
    return stack_[0];
  }

  const uint8_t* data_;
  size_t size_;
  const std::string& what_;
  size_t pos_ = 0, op_at_ = 0, objects_ = 0;
  uint8_t op_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Ref> memo_;
};

}  // namespace

PickledBatch read_cifar_pickle(const uint8_t* data, size_t size, const std::string& what) {
  const Ref dict = Unpickler(data, size, what).run();
  PickledBatch batch;
  for (size_t i = 0; i + 1 < dict->items.size(); i += 2) {
    const std::string key(dict->items[i]->text);
    const Value& value = *dict->items[i + 1];
    if (value.kind == Kind::array) {
      if (!value.built) throw IOError(what + ": the numpy array '" + key + "' has no data (no BUILD)");
      batch.arrays[key] = {value.shape, reinterpret_cast<const uint8_t*>(value.text.data()), value.text.size()};
      batch.int_lists.erase(key);
    } else if (value.kind == Kind::list) {
      std::vector<int64_t> numbers;
      for (const Ref& item : value.items) {
        if (item->kind != Kind::integer) break;
        numbers.push_back(item->integer);
      }
      if (numbers.size() == value.items.size()) batch.int_lists[key] = std::move(numbers);
      batch.arrays.erase(key);
    }
  }
  return batch;
}

}  // namespace kerosene::data
