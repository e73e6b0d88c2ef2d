//===- Metadata.h - GGUF metadata values and tensor infos ------*- C++ -*-===//
//
// The in-memory form of a GGUF file's header (GGUF_SPEC.md section 1): typed
// metadata values in file order, and one TensorInfo per tensor. Plain C++.
//
// Scalars and arrays of scalars keep their little-endian bytes exactly as in
// the file, so a value read and written again is byte-identical and a 128k
// entry token-score array costs one allocation.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_GGUF_METADATA_H
#define LOWBIT_GGUF_METADATA_H

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lowbit::gguf {

/// The value type ids of GGUF metadata (section 1.3).
enum class ValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

constexpr uint32_t kValueTypeCount = 13;

/// "UINT32", "STRING", ... (ggml's names); "?" for an id out of range.
std::string_view valueTypeName(ValueType type);
/// Bytes of one scalar of this type; 0 for String and Array.
size_t scalarSize(ValueType type);

namespace detail {
template <typename T> struct ScalarTypeOf;
template <> struct ScalarTypeOf<uint8_t> { static constexpr ValueType value = ValueType::UInt8; };
template <> struct ScalarTypeOf<int8_t> { static constexpr ValueType value = ValueType::Int8; };
template <> struct ScalarTypeOf<uint16_t> { static constexpr ValueType value = ValueType::UInt16; };
template <> struct ScalarTypeOf<int16_t> { static constexpr ValueType value = ValueType::Int16; };
template <> struct ScalarTypeOf<uint32_t> { static constexpr ValueType value = ValueType::UInt32; };
template <> struct ScalarTypeOf<int32_t> { static constexpr ValueType value = ValueType::Int32; };
template <> struct ScalarTypeOf<float> { static constexpr ValueType value = ValueType::Float32; };
template <> struct ScalarTypeOf<bool> { static constexpr ValueType value = ValueType::Bool; };
template <> struct ScalarTypeOf<uint64_t> { static constexpr ValueType value = ValueType::UInt64; };
template <> struct ScalarTypeOf<int64_t> { static constexpr ValueType value = ValueType::Int64; };
template <> struct ScalarTypeOf<double> { static constexpr ValueType value = ValueType::Float64; };
} // namespace detail

/// One metadata value: a scalar, a string, or a (non-nested) array of scalars
/// or strings.
class Value {
public:
  Value() = default;

  template <typename T> static Value scalar(T v) {
    Value value;
    value.type_ = detail::ScalarTypeOf<T>::value;
    value.appendScalar(v);
    return value;
  }
  static Value string(std::string s);
  template <typename T> static Value array(const std::vector<T> &elements) {
    Value value;
    value.type_ = ValueType::Array;
    value.elementType_ = detail::ScalarTypeOf<T>::value;
    value.count_ = elements.size();
    for (const T &e : elements)
      value.appendScalar(e);
    return value;
  }
  static Value stringArray(std::vector<std::string> elements);
  /// An array of scalars from their little-endian bytes (count · scalarSize).
  static Value rawArray(ValueType elementType, uint64_t count, std::vector<uint8_t> bytes);

  ValueType type() const { return type_; }
  /// The element type of an array (meaningless otherwise).
  ValueType elementType() const { return elementType_; }
  bool isArray() const { return type_ == ValueType::Array; }
  /// Elements of an array; 1 for a scalar or string.
  uint64_t count() const { return count_; }

  /// The scalar if this value is exactly of type T.
  template <typename T> std::optional<T> get() const {
    if (type_ != detail::ScalarTypeOf<T>::value)
      return std::nullopt;
    return scalarAt<T>(0);
  }
  /// Element i of an array whose element type is exactly T.
  template <typename T> std::optional<T> element(uint64_t i) const {
    if (type_ != ValueType::Array || elementType_ != detail::ScalarTypeOf<T>::value || i >= count_)
      return std::nullopt;
    return scalarAt<T>(i);
  }
  /// Any integer scalar type whose value is non-negative (counts are "by
  /// convention uint64" but many writers use uint32 or int32).
  std::optional<uint64_t> asUnsigned() const;
  /// The string of a String value.
  const std::string *asString() const { return type_ == ValueType::String ? &strings_[0] : nullptr; }
  /// The elements of an array of strings.
  const std::vector<std::string> *asStringArray() const {
    return type_ == ValueType::Array && elementType_ == ValueType::String ? &strings_ : nullptr;
  }
  /// The little-endian bytes of a scalar or of an array of scalars.
  const std::vector<uint8_t> &rawBytes() const { return bytes_; }

  /// A short human-readable rendering ("u32 15", "[string × 128256]").
  std::string toDisplayString() const;

  friend bool operator==(const Value &a, const Value &b) {
    return a.type_ == b.type_ && a.elementType_ == b.elementType_ && a.count_ == b.count_ &&
           a.bytes_ == b.bytes_ && a.strings_ == b.strings_;
  }
  friend bool operator!=(const Value &a, const Value &b) { return !(a == b); }

private:
  template <typename T> void appendScalar(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    // Bool is one byte in the file whatever sizeof(bool) is.
    if constexpr (std::is_same_v<T, bool>) {
      bytes_.push_back(v ? 1 : 0);
    } else {
      uint8_t raw[sizeof(T)];
      std::memcpy(raw, &v, sizeof(T)); // lowbit targets little-endian hosts only
      bytes_.insert(bytes_.end(), raw, raw + sizeof(T));
    }
  }
  template <typename T> T scalarAt(uint64_t i) const {
    if constexpr (std::is_same_v<T, bool>) {
      return bytes_[i] != 0;
    } else {
      T v;
      std::memcpy(&v, bytes_.data() + i * sizeof(T), sizeof(T));
      return v;
    }
  }

  ValueType type_ = ValueType::UInt8;
  ValueType elementType_ = ValueType::UInt8;
  uint64_t count_ = 1;
  std::vector<uint8_t> bytes_;
  std::vector<std::string> strings_;
};

/// Metadata key/value pairs in file order, with lookup by key.
class Metadata {
public:
  const Value *find(std::string_view key) const;
  /// Replaces the value of an existing key in place, or appends a new key.
  void set(const std::string &key, Value value);
  bool erase(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string, Value>> &entries() const { return entries_; }

  /// Convenience lookups used by tools: the value if present with a fitting type.
  std::optional<uint64_t> getUnsigned(std::string_view key) const;
  std::optional<std::string> getString(std::string_view key) const;

  friend bool operator==(const Metadata &a, const Metadata &b) { return a.entries_ == b.entries_; }

private:
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

constexpr uint32_t kMaxDims = 4;        ///< GGML_MAX_DIMS
constexpr size_t kMaxTensorName = 63;   ///< GGML_MAX_NAME (64) minus the NUL
constexpr uint32_t kDefaultAlignment = 32;

/// One tensor info (section 1.4). shape[0] is ne[0], the contiguous dimension.
struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  uint32_t type = 0;   ///< ggml type id
  uint64_t offset = 0; ///< relative to the start of the data section
  uint64_t byteSize = 0;

  int64_t elementCount() const;
  /// ne[i], 1 beyond the stored dimensions.
  int64_t dim(size_t i) const { return i < shape.size() ? shape[i] : 1; }
  /// The product of ne[1..3]: how many rows of ne[0] elements.
  int64_t rowCount() const;
};

/// "4096x128256" for display.
std::string shapeString(const std::vector<int64_t> &shape);

} // namespace lowbit::gguf

#endif // LOWBIT_GGUF_METADATA_H
