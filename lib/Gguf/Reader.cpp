//===- Reader.cpp - Memory-mapped GGUF v2/v3 reader -----------------------===//
//
// Every length or count read from the file is checked against the bytes that
// remain before anything is allocated for it, so a hostile header cannot make
// the reader allocate more than the file's size.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Gguf/Reader.h"

#include "lowbit/Gguf/TypeTable.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace lowbit::gguf {

//===----------------------------------------------------------------------===//
// MappedFile
//===----------------------------------------------------------------------===//

Status MappedFile::open(const std::string &path, std::unique_ptr<MappedFile> &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::error("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error("'" + path + "' is not a regular file");
  }
  std::unique_ptr<MappedFile> file(new MappedFile());
  file->size_ = static_cast<uint64_t>(st.st_size);
  // mmap of zero bytes fails; an empty file is reported as truncated by the parser.
  if (file->size_ > 0) {
    void *p = mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return Status::error("cannot map '" + path + "': " + std::strerror(err));
    }
    file->data_ = static_cast<const uint8_t *>(p);
  }
  ::close(fd); // the mapping keeps the file alive
  out = std::move(file);
  return Status::ok();
}

MappedFile::~MappedFile() {
  if (data_)
    munmap(const_cast<uint8_t *>(data_), size_);
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {

constexpr uint32_t kMagic = 0x46554747; // "GGUF" read as a little-endian u32
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;             // key length, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 4 + 8; // name length, name, n_dims, type, offset

std::string hexAndDecimal(uint64_t offset) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "byte %llu (0x%llx)", static_cast<unsigned long long>(offset),
                static_cast<unsigned long long>(offset));
  return buf;
}

uint64_t padTo(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

/// Reads little-endian fields from a bounded buffer; every failure names the
/// field and the byte offset where it starts.
class Cursor {
public:
  Cursor(const uint8_t *data, uint64_t size) : data_(data), size_(size) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  Status error(uint64_t at, const std::string &what) const {
    return Status::error("at " + hexAndDecimal(at) + ": " + what);
  }

  Status need(uint64_t bytes, const std::string &what) const {
    if (bytes <= remaining())
      return Status::ok();
    return error(pos_, "file truncated: " + what + " needs " + std::to_string(bytes) + " bytes but only " +
                           std::to_string(remaining()) + " remain (file size " + std::to_string(size_) + ")");
  }

  template <typename T> Status read(T &out, const std::string &what) {
    if (Status s = need(sizeof(T), what); s.failed())
      return s;
    std::memcpy(&out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::ok();
  }

  Status readBytes(uint64_t n, std::vector<uint8_t> &out, const std::string &what) {
    if (Status s = need(n, what); s.failed())
      return s;
    out.assign(data_ + pos_, data_ + pos_ + n);
    pos_ += n;
    return Status::ok();
  }

  Status readString(std::string &out, const std::string &what) {
    uint64_t start = pos_;
    uint64_t length = 0;
    if (Status s = read(length, what + " length"); s.failed())
      return s;
    if (length > remaining())
      return error(start, what + " length " + std::to_string(length) + " exceeds the " +
                              std::to_string(remaining()) + " bytes left in the file");
    out.assign(reinterpret_cast<const char *>(data_ + pos_), length);
    pos_ += length;
    return Status::ok();
  }

private:
  const uint8_t *data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

bool isPowerOfTwo(uint32_t x) { return x != 0 && (x & (x - 1)) == 0; }

class Parser {
public:
  Parser(const uint8_t *data, uint64_t size) : cursor_(data, size), size_(size) {}

  Status run(uint32_t &version, uint32_t &alignment, uint64_t &dataOffset, Metadata &metadata,
             std::vector<TensorInfo> &tensors);

private:
  Status parseVersion(uint32_t &version);
  Status parseCount(const char *what, uint64_t minBytesEach, uint64_t &count);
  Status parseKv(uint64_t index, uint64_t count, Metadata &metadata);
  Status parseValue(ValueType type, const std::string &key, Value &out);
  Status parseArray(const std::string &key, Value &out);
  Status parseScalar(ValueType type, const std::string &key, Value &out);
  Status checkAlignment(const Metadata &metadata, uint32_t &alignment);
  Status parseTensorInfo(uint64_t index, TensorInfo &info);
  Status checkTensorLayout(const std::vector<TensorInfo> &tensors, uint32_t alignment, uint64_t &dataOffset);

  Cursor cursor_;
  uint64_t size_;
};

Status Parser::parseVersion(uint32_t &version) {
  uint64_t at = cursor_.position();
  if (Status s = cursor_.read(version, "version"); s.failed())
    return s;
  if (version == 0)
    return cursor_.error(at, "invalid GGUF version 0");
  if ((version & 0xFFFF) == 0)
    return cursor_.error(at, "GGUF version field 0x" + [&] {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08x", version);
      return std::string(buf);
    }() + " looks byte-swapped: big-endian GGUF files are not supported");
  if (version == 1)
    return cursor_.error(at, "GGUF version 1 is no longer supported (only versions 2 and 3)");
  if (version > 3)
    return cursor_.error(at, "GGUF version " + std::to_string(version) +
                                 " is newer than this reader supports (only versions 2 and 3)");
  return Status::ok();
}

// ggml reads the counts as int64 and rejects negative ones; beyond that, a
// count whose minimal encoding cannot fit in the rest of the file is corrupt.
Status Parser::parseCount(const char *what, uint64_t minBytesEach, uint64_t &count) {
  uint64_t at = cursor_.position();
  if (Status s = cursor_.read(count, what); s.failed())
    return s;
  if (static_cast<int64_t>(count) < 0)
    return cursor_.error(at, std::string(what) + " " + std::to_string(static_cast<int64_t>(count)) +
                                 " is negative");
  if (count > cursor_.remaining() / minBytesEach)
    return cursor_.error(at, std::string(what) + " " + std::to_string(count) + " cannot fit in the " +
                                 std::to_string(cursor_.remaining()) + " bytes left in the file");
  return Status::ok();
}

Status Parser::parseScalar(ValueType type, const std::string &key, Value &out) {
  uint64_t at = cursor_.position();
  std::vector<uint8_t> bytes;
  if (Status s = cursor_.readBytes(scalarSize(type), bytes, "value of key '" + key + "'"); s.failed())
    return s;
  if (type == ValueType::Bool && bytes[0] > 1)
    return cursor_.error(at, "key '" + key + "': BOOL value " + std::to_string(bytes[0]) + " is neither 0 nor 1");
  // A one-element raw array's bytes are the scalar's; rebuild as a scalar.
  switch (type) {
  case ValueType::UInt8: out = Value::scalar<uint8_t>(bytes[0]); break;
  case ValueType::Int8: out = Value::scalar<int8_t>(static_cast<int8_t>(bytes[0])); break;
  case ValueType::Bool: out = Value::scalar<bool>(bytes[0] != 0); break;
#define LOWBIT_SCALAR_CASE(VT, T)                                                                         \
  case ValueType::VT: {                                                                                   \
    T v;                                                                                                  \
    std::memcpy(&v, bytes.data(), sizeof v);                                                              \
    out = Value::scalar<T>(v);                                                                            \
    break;                                                                                                \
  }
    LOWBIT_SCALAR_CASE(UInt16, uint16_t)
    LOWBIT_SCALAR_CASE(Int16, int16_t)
    LOWBIT_SCALAR_CASE(UInt32, uint32_t)
    LOWBIT_SCALAR_CASE(Int32, int32_t)
    LOWBIT_SCALAR_CASE(Float32, float)
    LOWBIT_SCALAR_CASE(UInt64, uint64_t)
    LOWBIT_SCALAR_CASE(Int64, int64_t)
    LOWBIT_SCALAR_CASE(Float64, double)
#undef LOWBIT_SCALAR_CASE
  default:
    return cursor_.error(at, "key '" + key + "': internal error: not a scalar type");
  }
  return Status::ok();
}

Status Parser::parseArray(const std::string &key, Value &out) {
  uint64_t at = cursor_.position();
  uint32_t elementTypeId = 0;
  if (Status s = cursor_.read(elementTypeId, "array element type of key '" + key + "'"); s.failed())
    return s;
  if (elementTypeId >= kValueTypeCount)
    return cursor_.error(at, "key '" + key + "': invalid array element type " + std::to_string(elementTypeId));
  auto elementType = static_cast<ValueType>(elementTypeId);
  if (elementType == ValueType::Array)
    return cursor_.error(at, "key '" + key + "': nested arrays are not supported (ggml rejects them)");

  uint64_t countAt = cursor_.position();
  uint64_t count = 0;
  if (Status s = cursor_.read(count, "array length of key '" + key + "'"); s.failed())
    return s;
  uint64_t minBytesEach = elementType == ValueType::String ? 8 : scalarSize(elementType);
  if (count > cursor_.remaining() / minBytesEach)
    return cursor_.error(countAt, "key '" + key + "': array of " + std::to_string(count) + " " +
                                      std::string(valueTypeName(elementType)) + " elements cannot fit in the " +
                                      std::to_string(cursor_.remaining()) + " bytes left in the file");

  if (elementType != ValueType::String) {
    uint64_t elementsAt = cursor_.position();
    std::vector<uint8_t> bytes;
    if (Status s = cursor_.readBytes(count * minBytesEach, bytes, "array of key '" + key + "'"); s.failed())
      return s;
    if (elementType == ValueType::Bool)
      for (uint64_t i = 0; i < count; ++i)
        if (bytes[i] > 1)
          return cursor_.error(elementsAt + i, "key '" + key + "': BOOL element " + std::to_string(i) +
                                                   " is " + std::to_string(bytes[i]) + ", neither 0 nor 1");
    out = Value::rawArray(elementType, count, std::move(bytes));
    return Status::ok();
  }

  std::vector<std::string> strings(count); // bounded: count · 8 <= bytes left
  for (uint64_t i = 0; i < count; ++i)
    if (Status s = cursor_.readString(strings[i], "element " + std::to_string(i) + " of key '" + key + "'");
        s.failed())
      return s;
  out = Value::stringArray(std::move(strings));
  return Status::ok();
}

Status Parser::parseValue(ValueType type, const std::string &key, Value &out) {
  if (type == ValueType::Array)
    return parseArray(key, out);
  if (type == ValueType::String) {
    std::string s;
    if (Status st = cursor_.readString(s, "string value of key '" + key + "'"); st.failed())
      return st;
    out = Value::string(std::move(s));
    return Status::ok();
  }
  return parseScalar(type, key, out);
}

Status Parser::parseKv(uint64_t index, uint64_t count, Metadata &metadata) {
  uint64_t at = cursor_.position();
  std::string where = "metadata pair " + std::to_string(index) + " of " + std::to_string(count);
  std::string key;
  if (Status s = cursor_.readString(key, where + ": key"); s.failed())
    return s;
  if (key.empty())
    return cursor_.error(at, where + ": empty key");
  if (metadata.contains(key))
    return cursor_.error(at, where + ": duplicate key '" + key + "'");

  uint64_t typeAt = cursor_.position();
  uint32_t typeId = 0;
  if (Status s = cursor_.read(typeId, "value type of key '" + key + "'"); s.failed())
    return s;
  if (typeId >= kValueTypeCount)
    return cursor_.error(typeAt, "key '" + key + "': invalid value type " + std::to_string(typeId));

  Value value;
  if (Status s = parseValue(static_cast<ValueType>(typeId), key, value); s.failed())
    return s;
  metadata.set(key, std::move(value));
  return Status::ok();
}

Status Parser::checkAlignment(const Metadata &metadata, uint32_t &alignment) {
  alignment = kDefaultAlignment;
  const Value *value = metadata.find("general.alignment");
  if (!value)
    return Status::ok();
  std::optional<uint32_t> a = value->get<uint32_t>();
  if (!a)
    return Status::error("key 'general.alignment' has type " + std::string(valueTypeName(value->type())) +
                         ", expected UINT32");
  if (!isPowerOfTwo(*a))
    return Status::error("key 'general.alignment' is " + std::to_string(*a) + ", expected a power of two");
  alignment = *a;
  return Status::ok();
}

Status Parser::parseTensorInfo(uint64_t index, TensorInfo &info) {
  uint64_t at = cursor_.position();
  std::string where = "tensor info " + std::to_string(index);
  if (Status s = cursor_.readString(info.name, where + ": name"); s.failed())
    return s;
  if (info.name.size() > kMaxTensorName)
    return cursor_.error(at, where + ": name of " + std::to_string(info.name.size()) +
                                 " bytes is too long (at most " + std::to_string(kMaxTensorName) + ")");
  where = "tensor '" + info.name + "'";

  uint64_t dimsAt = cursor_.position();
  uint32_t nDims = 0;
  if (Status s = cursor_.read(nDims, where + ": n_dims"); s.failed())
    return s;
  if (nDims > kMaxDims)
    return cursor_.error(dimsAt, where + ": n_dims " + std::to_string(nDims) + " exceeds the maximum of " +
                                     std::to_string(kMaxDims));
  info.shape.assign(nDims, 0);
  int64_t elements = 1;
  for (uint32_t d = 0; d < nDims; ++d) {
    uint64_t dimAt = cursor_.position();
    if (Status s = cursor_.read(info.shape[d], where + ": ne[" + std::to_string(d) + "]"); s.failed())
      return s;
    int64_t ne = info.shape[d];
    if (ne < 0)
      return cursor_.error(dimAt, where + ": ne[" + std::to_string(d) + "] = " + std::to_string(ne) + " is negative");
    if (ne != 0 && elements > std::numeric_limits<int64_t>::max() / ne)
      return cursor_.error(dimAt, where + ": element count of shape overflows int64");
    elements *= ne;
  }

  uint64_t typeAt = cursor_.position();
  if (Status s = cursor_.read(info.type, where + ": type"); s.failed())
    return s;
  const TypeGeometry *geometry = typeGeometry(info.type);
  if (!geometry)
    return cursor_.error(typeAt, where + ": unknown or removed ggml type id " + std::to_string(info.type));
  if (info.dim(0) % geometry->blockSize != 0)
    return cursor_.error(typeAt, where + ": ne[0] = " + std::to_string(info.dim(0)) + " is not a multiple of " +
                                     std::string(geometry->name) + "'s block size " +
                                     std::to_string(geometry->blockSize));
  std::optional<uint64_t> bytes = tensorByteSize(*geometry, info.shape.data(), info.shape.size());
  if (!bytes)
    return cursor_.error(typeAt, where + ": byte size of shape " + shapeString(info.shape) + " overflows");
  info.byteSize = *bytes;

  return cursor_.read(info.offset, where + ": offset");
}

// ggml requires the tensors to follow each other in info order, each padded
// to the alignment (section 1.5); the data of each must lie inside the file.
Status Parser::checkTensorLayout(const std::vector<TensorInfo> &tensors, uint32_t alignment, uint64_t &dataOffset) {
  dataOffset = padTo(cursor_.position(), alignment);
  uint64_t expected = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo &t = tensors[i];
    if (t.offset != expected)
      return Status::error("tensor '" + t.name + "' (index " + std::to_string(i) + ") has offset " +
                           std::to_string(t.offset) + ", expected " + std::to_string(expected) +
                           " (tensors must be contiguous in info order, aligned to " + std::to_string(alignment) +
                           ")");
    if (t.byteSize > size_ || dataOffset + t.offset > size_ - t.byteSize)
      return Status::error("tensor '" + t.name + "' (index " + std::to_string(i) + "): its " +
                           std::to_string(t.byteSize) + " bytes at file offset " +
                           std::to_string(dataOffset + t.offset) + " run past the end of the file (size " +
                           std::to_string(size_) + ")");
    // Cannot overflow: offset + byteSize <= file size, and padding adds < alignment.
    expected = padTo(t.offset + t.byteSize, alignment);
  }
  return Status::ok();
}

Status Parser::run(uint32_t &version, uint32_t &alignment, uint64_t &dataOffset, Metadata &metadata,
                   std::vector<TensorInfo> &tensors) {
  uint32_t magic = 0;
  if (Status s = cursor_.read(magic, "magic"); s.failed())
    return s;
  if (magic != kMagic)
    return cursor_.error(0, "bad magic: not a GGUF file (expected \"GGUF\")");
  if (Status s = parseVersion(version); s.failed())
    return s;

  uint64_t tensorCount = 0, kvCount = 0;
  if (Status s = parseCount("tensor count", 1, tensorCount); s.failed())
    return s;
  if (Status s = parseCount("metadata key/value count", kMinKvBytes, kvCount); s.failed())
    return s;
  for (uint64_t i = 0; i < kvCount; ++i)
    if (Status s = parseKv(i, kvCount, metadata); s.failed())
      return s;
  if (Status s = checkAlignment(metadata, alignment); s.failed())
    return s;

  if (tensorCount > cursor_.remaining() / kMinTensorInfoBytes)
    return Status::error("tensor count " + std::to_string(tensorCount) + " cannot fit in the " +
                         std::to_string(cursor_.remaining()) + " bytes left after the metadata");
  tensors.resize(tensorCount);
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < tensorCount; ++i) {
    uint64_t at = cursor_.position();
    if (Status s = parseTensorInfo(i, tensors[i]); s.failed())
      return s;
    if (!names.insert(tensors[i].name).second)
      return cursor_.error(at, "tensor info " + std::to_string(i) + ": duplicate tensor name '" +
                                   tensors[i].name + "'");
  }
  dataOffset = cursor_.position();
  if (tensors.empty())
    return Status::ok();
  return checkTensorLayout(tensors, alignment, dataOffset);
}

} // namespace

//===----------------------------------------------------------------------===//
// GgufReader
//===----------------------------------------------------------------------===//

Status GgufReader::open(const std::string &path, GgufReader &out) {
  std::unique_ptr<MappedFile> file;
  if (Status s = MappedFile::open(path, file); s.failed())
    return s;
  GgufReader reader;
  if (Status s = parse(file->data(), file->size(), reader); s.failed())
    return s.context("'" + path + "'");
  reader.file_ = std::move(file);
  out = std::move(reader);
  return Status::ok();
}

Status GgufReader::parse(const uint8_t *data, uint64_t size, GgufReader &out) {
  GgufReader reader;
  reader.data_ = data;
  reader.size_ = size;
  Parser parser(data, size);
  if (Status s = parser.run(reader.version_, reader.alignment_, reader.dataOffset_, reader.metadata_,
                            reader.tensors_);
      s.failed())
    return s;
  out = std::move(reader);
  return Status::ok();
}

const TensorInfo *GgufReader::findTensor(std::string_view name) const {
  for (const TensorInfo &t : tensors_)
    if (t.name == name)
      return &t;
  return nullptr;
}

} // namespace lowbit::gguf
