//===- Metadata.cpp - GGUF metadata values and tensor infos ---------------===//

#include "lowbit/Gguf/Metadata.h"

#include <array>
#include <limits>

namespace lowbit::gguf {

std::string_view valueTypeName(ValueType type) {
  static constexpr std::array<std::string_view, kValueTypeCount> kNames = {
      "UINT8", "INT8",   "UINT16", "INT16",  "UINT32", "INT32",  "FLOAT32",
      "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64",  "FLOAT64"};
  auto id = static_cast<uint32_t>(type);
  return id < kValueTypeCount ? kNames[id] : "?";
}

size_t scalarSize(ValueType type) {
  switch (type) {
  case ValueType::UInt8:
  case ValueType::Int8:
  case ValueType::Bool:
    return 1;
  case ValueType::UInt16:
  case ValueType::Int16:
    return 2;
  case ValueType::UInt32:
  case ValueType::Int32:
  case ValueType::Float32:
    return 4;
  case ValueType::UInt64:
  case ValueType::Int64:
  case ValueType::Float64:
    return 8;
  case ValueType::String:
  case ValueType::Array:
    return 0;
  }
  return 0;
}

Value Value::string(std::string s) {
  Value value;
  value.type_ = ValueType::String;
  value.strings_.push_back(std::move(s));
  return value;
}

Value Value::stringArray(std::vector<std::string> elements) {
  Value value;
  value.type_ = ValueType::Array;
  value.elementType_ = ValueType::String;
  value.count_ = elements.size();
  value.strings_ = std::move(elements);
  return value;
}

Value Value::rawArray(ValueType elementType, uint64_t count, std::vector<uint8_t> bytes) {
  Value value;
  value.type_ = ValueType::Array;
  value.elementType_ = elementType;
  value.count_ = count;
  value.bytes_ = std::move(bytes);
  return value;
}

std::optional<uint64_t> Value::asUnsigned() const {
  auto nonNegative = [](int64_t v) -> std::optional<uint64_t> {
    if (v < 0)
      return std::nullopt;
    return static_cast<uint64_t>(v);
  };
  switch (type_) {
  case ValueType::UInt8:
    return *get<uint8_t>();
  case ValueType::UInt16:
    return *get<uint16_t>();
  case ValueType::UInt32:
    return *get<uint32_t>();
  case ValueType::UInt64:
    return *get<uint64_t>();
  case ValueType::Int8:
    return nonNegative(*get<int8_t>());
  case ValueType::Int16:
    return nonNegative(*get<int16_t>());
  case ValueType::Int32:
    return nonNegative(*get<int32_t>());
  case ValueType::Int64:
    return nonNegative(*get<int64_t>());
  default:
    return std::nullopt;
  }
}

namespace {

std::string scalarDisplay(const Value &v) {
  switch (v.type()) {
  case ValueType::Bool:
    return *v.get<bool>() ? "true" : "false";
  case ValueType::Float32:
    return std::to_string(*v.get<float>());
  case ValueType::Float64:
    return std::to_string(*v.get<double>());
  case ValueType::String:
    return "\"" + *v.asString() + "\"";
  default:
    if (auto u = v.asUnsigned())
      return std::to_string(*u);
    if (auto i = v.get<int8_t>())
      return std::to_string(*i);
    if (auto i = v.get<int16_t>())
      return std::to_string(*i);
    if (auto i = v.get<int32_t>())
      return std::to_string(*i);
    if (auto i = v.get<int64_t>())
      return std::to_string(*i);
    return "?";
  }
}

} // namespace

std::string Value::toDisplayString() const {
  if (isArray())
    return "[" + std::string(valueTypeName(elementType_)) + " x " + std::to_string(count_) + "]";
  return std::string(valueTypeName(type_)) + " " + scalarDisplay(*this);
}

const Value *Metadata::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void Metadata::set(const std::string &key, Value value) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(key, std::move(value));
}

bool Metadata::erase(std::string_view key) {
  auto it = index_.find(std::string(key));
  if (it == index_.end())
    return false;
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (size_t i = 0; i < entries_.size(); ++i)
    index_.emplace(entries_[i].first, i);
  return true;
}

std::optional<uint64_t> Metadata::getUnsigned(std::string_view key) const {
  const Value *v = find(key);
  return v ? v->asUnsigned() : std::nullopt;
}

std::optional<std::string> Metadata::getString(std::string_view key) const {
  const Value *v = find(key);
  if (!v || !v->asString())
    return std::nullopt;
  return *v->asString();
}

int64_t TensorInfo::elementCount() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d; // the reader has checked that this cannot overflow
  return n;
}

int64_t TensorInfo::rowCount() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    n *= shape[i];
  return n;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

} // namespace lowbit::gguf
