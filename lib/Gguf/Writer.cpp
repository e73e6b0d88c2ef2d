//===- Writer.cpp - GGUF v3 writer ----------------------------------------===//

#include "lowbit/Gguf/Writer.h"

#include "lowbit/Gguf/TypeTable.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace lowbit::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747; // "GGUF"
constexpr uint32_t kVersion = 3;

uint64_t padTo(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

template <typename T> void append(std::vector<uint8_t> &out, T v) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

void appendString(std::vector<uint8_t> &out, const std::string &s) {
  append<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void appendValue(std::vector<uint8_t> &out, const Value &value) {
  append<uint32_t>(out, static_cast<uint32_t>(value.type()));
  if (value.type() == ValueType::String) {
    appendString(out, *value.asString());
    return;
  }
  if (value.isArray()) {
    append<uint32_t>(out, static_cast<uint32_t>(value.elementType()));
    append<uint64_t>(out, value.count());
    if (const std::vector<std::string> *strings = value.asStringArray())
      for (const std::string &s : *strings)
        appendString(out, s);
    else
      out.insert(out.end(), value.rawBytes().begin(), value.rawBytes().end());
    return;
  }
  out.insert(out.end(), value.rawBytes().begin(), value.rawBytes().end());
}

Status checkMetadata(const Metadata &metadata) {
  for (const auto &[key, value] : metadata.entries()) {
    if (key.empty())
      return Status::error("metadata has an empty key");
    if (static_cast<uint32_t>(value.type()) >= kValueTypeCount)
      return Status::error("key '" + key + "': invalid value type");
    if (value.isArray() && (value.elementType() == ValueType::Array ||
                            static_cast<uint32_t>(value.elementType()) >= kValueTypeCount))
      return Status::error("key '" + key + "': nested or invalid array element type (ggml rejects them)");
    if (value.isArray() && !value.asStringArray() &&
        value.rawBytes().size() != value.count() * scalarSize(value.elementType()))
      return Status::error("key '" + key + "': array holds " + std::to_string(value.rawBytes().size()) +
                           " bytes, expected " + std::to_string(value.count()) + " elements");
  }
  return Status::ok();
}

Status checkTensorShape(const TensorInfo &t) {
  std::string where = "tensor '" + t.name + "'";
  if (t.name.empty() || t.name.size() > kMaxTensorName)
    return Status::error(where + ": name must be 1 to " + std::to_string(kMaxTensorName) + " bytes");
  if (t.shape.size() > kMaxDims)
    return Status::error(where + ": " + std::to_string(t.shape.size()) + " dimensions exceed the maximum of " +
                         std::to_string(kMaxDims));
  for (int64_t ne : t.shape)
    if (ne < 0)
      return Status::error(where + ": negative dimension in shape " + shapeString(t.shape));
  return Status::ok();
}

/// Writes all of bytes to fd, retrying short writes.
Status writeAll(int fd, const uint8_t *bytes, size_t size, const std::string &path) {
  while (size > 0) {
    ssize_t n = ::write(fd, bytes, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return Status::error("cannot write '" + path + "': " + std::strerror(errno));
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return Status::ok();
}

/// Streams the file through sink(bytes, size) in order; shared by the file
/// and memory writers so that both produce the same bytes.
Status produce(const Metadata &metadata, std::vector<TensorInfo> &tensors, const TensorDataFn &data,
               const std::function<Status(const uint8_t *, size_t)> &sink) {
  if (Status s = layoutTensors(metadata, tensors); s.failed())
    return s;
  uint32_t alignment = 0;
  if (Status s = alignmentOf(metadata, alignment); s.failed())
    return s;
  std::vector<uint8_t> bytes;
  if (Status s = encodeHeader(metadata, tensors, bytes); s.failed())
    return s;
  if (Status s = sink(bytes.data(), bytes.size()); s.failed())
    return s;
  for (size_t i = 0; i < tensors.size(); ++i) {
    bytes.clear();
    if (Status s = data(i, tensors[i], bytes); s.failed())
      return s;
    if (bytes.size() != tensors[i].byteSize)
      return Status::error("tensor '" + tensors[i].name + "': got " + std::to_string(bytes.size()) +
                           " bytes of data, expected " + std::to_string(tensors[i].byteSize));
    bytes.resize(padTo(bytes.size(), alignment), 0);
    if (Status s = sink(bytes.data(), bytes.size()); s.failed())
      return s;
  }
  return Status::ok();
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string baseNameOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

Status alignmentOf(const Metadata &metadata, uint32_t &alignment) {
  alignment = kDefaultAlignment;
  const Value *value = metadata.find("general.alignment");
  if (!value)
    return Status::ok();
  std::optional<uint32_t> a = value->get<uint32_t>();
  if (!a || *a == 0 || (*a & (*a - 1)) != 0)
    return Status::error("general.alignment must be a UINT32 power of two, got " + value->toDisplayString());
  alignment = *a;
  return Status::ok();
}

Status layoutTensors(const Metadata &metadata, std::vector<TensorInfo> &tensors) {
  uint32_t alignment = 0;
  if (Status s = alignmentOf(metadata, alignment); s.failed())
    return s;
  std::unordered_set<std::string> names;
  uint64_t offset = 0;
  for (TensorInfo &t : tensors) {
    if (Status s = checkTensorShape(t); s.failed())
      return s;
    if (!names.insert(t.name).second)
      return Status::error("duplicate tensor name '" + t.name + "'");
    while (t.shape.size() > 1 && t.shape.back() == 1)
      t.shape.pop_back();
    if (t.shape.empty())
      t.shape.push_back(1);
    const TypeGeometry *geometry = typeGeometry(t.type);
    if (!geometry)
      return Status::error("tensor '" + t.name + "': unknown ggml type id " + std::to_string(t.type));
    std::optional<uint64_t> bytes = tensorByteSize(*geometry, t.shape.data(), t.shape.size());
    if (!bytes)
      return Status::error("tensor '" + t.name + "': shape " + shapeString(t.shape) + " does not fit type " +
                           std::string(geometry->name) + " (ne[0] must be a multiple of " +
                           std::to_string(geometry->blockSize) + ", and the size must not overflow)");
    t.byteSize = *bytes;
    t.offset = offset;
    offset = padTo(offset + t.byteSize, alignment);
  }
  return Status::ok();
}

Status encodeHeader(const Metadata &metadata, const std::vector<TensorInfo> &tensors, std::vector<uint8_t> &out) {
  if (Status s = checkMetadata(metadata); s.failed())
    return s;
  uint32_t alignment = 0;
  if (Status s = alignmentOf(metadata, alignment); s.failed())
    return s;
  out.clear();
  append<uint32_t>(out, kMagic);
  append<uint32_t>(out, kVersion);
  append<uint64_t>(out, tensors.size());
  append<uint64_t>(out, metadata.size());
  for (const auto &[key, value] : metadata.entries()) {
    appendString(out, key);
    appendValue(out, value);
  }
  for (const TensorInfo &t : tensors) {
    appendString(out, t.name);
    append<uint32_t>(out, static_cast<uint32_t>(t.shape.size()));
    for (int64_t ne : t.shape)
      append<int64_t>(out, ne);
    append<uint32_t>(out, t.type);
    append<uint64_t>(out, t.offset);
  }
  if (!tensors.empty())
    out.resize(padTo(out.size(), alignment), 0);
  return Status::ok();
}

Status encodeGguf(const Metadata &metadata, std::vector<TensorInfo> tensors, const TensorDataFn &data,
                  std::vector<uint8_t> &out) {
  out.clear();
  return produce(metadata, tensors, data, [&](const uint8_t *bytes, size_t size) {
    out.insert(out.end(), bytes, bytes + size);
    return Status::ok();
  });
}

Status writeGguf(const std::string &path, const Metadata &metadata, std::vector<TensorInfo> tensors,
                 const TensorDataFn &data) {
  // The temporary file lives next to the target so that rename() is atomic.
  std::string tempPath = directoryOf(path) + "/." + baseNameOf(path) + ".tmp-XXXXXX";
  int fd = mkstemp(tempPath.data());
  if (fd < 0)
    return Status::error("cannot create a temporary file in '" + directoryOf(path) + "': " + std::strerror(errno));

  Status status = produce(metadata, tensors, data,
                          [&](const uint8_t *bytes, size_t size) { return writeAll(fd, bytes, size, tempPath); });
  if (status.isOk()) {
    // mkstemp creates the file 0600; give it the permissions a plain create would.
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || fsync(fd) != 0)
      status = Status::error("cannot finish '" + tempPath + "': " + std::strerror(errno));
  }
  if (::close(fd) != 0 && status.isOk())
    status = Status::error("cannot close '" + tempPath + "': " + std::strerror(errno));
  if (status.isOk() && std::rename(tempPath.c_str(), path.c_str()) != 0)
    status = Status::error("cannot rename '" + tempPath + "' to '" + path + "': " + std::strerror(errno));
  if (status.failed())
    ::unlink(tempPath.c_str());
  return status;
}

} // namespace lowbit::gguf
