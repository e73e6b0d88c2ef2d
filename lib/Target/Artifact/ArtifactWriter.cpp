//===- ArtifactWriter.cpp - Writes lowbit artifacts (.lbm) ----------------===//
//
// One layout routine emits the file through a sink, so the in-memory form
// (serializeArtifact) and the file (writeArtifact) are the same bytes by
// construction.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Target/ArtifactWriter.h"

#include "lowbit/ArtifactFormat.h"
#include "lowbit/runtime.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lowbit::artifact {
namespace {

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// Little-endian encoders into a byte vector (the manifest and the header).
void putU32(std::vector<uint8_t> &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void putU64(std::vector<uint8_t> &out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void putString(std::vector<uint8_t> &out, const std::string &s) {
  putU32(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
void putTensor(std::vector<uint8_t> &out, const TensorDesc &t) {
  putString(out, t.name);
  putU32(out, t.dtype);
  putU32(out, static_cast<uint32_t>(t.dims.size()));
  for (int64_t d : t.dims)
    putU64(out, static_cast<uint64_t>(d));
}

Status checkString(const std::string &s, const std::string &field, bool allowEmpty) {
  if (s.size() > kMaxStringLength)
    return Status::error(field + " is " + std::to_string(s.size()) + " bytes, more than the " +
                         std::to_string(kMaxStringLength) + " a string may have");
  if (!allowEmpty && s.empty())
    return Status::error(field + " is empty");
  if (s.find('\0') != std::string::npos)
    return Status::error(field + " contains a NUL byte");
  return Status::ok();
}

/// Checks one tensor; sets `bytes` to its size when every dim is static.
Status checkTensor(const TensorDesc &t, const std::string &field, bool isStatic, uint64_t &bytes) {
  if (Status s = checkString(t.name, field + ".name", false); s.failed())
    return s;
  const uint64_t elementSize = dtypeSize(t.dtype);
  if (!elementSize)
    return Status::error(field + " ('" + t.name + "') has unknown dtype " + std::to_string(t.dtype));
  if (t.dims.size() > kMaxRank)
    return Status::error(field + " ('" + t.name + "') has rank " + std::to_string(t.dims.size()) +
                         ", more than " + std::to_string(kMaxRank));
  bytes = elementSize;
  for (size_t i = 0; i < t.dims.size(); ++i) {
    const int64_t d = t.dims[i];
    const std::string where = field + " ('" + t.name + "') dims[" + std::to_string(i) + "]";
    if (d < -1 || (isStatic && d < 0))
      return Status::error(where + " is " + std::to_string(d) +
                           (isStatic ? ": weights have static, non-negative dims"
                                     : ": dims are non-negative or -1 (dynamic)"));
    if (d >= 0) {
      if (d != 0 && bytes > UINT64_MAX / static_cast<uint64_t>(d))
        return Status::error(where + ": the tensor's byte size overflows 64 bits");
      bytes *= static_cast<uint64_t>(d);
    }
  }
  return Status::ok();
}

/// Where each part of the file goes.
struct Layout {
  std::vector<uint8_t> head;     ///< header + section table
  std::vector<uint8_t> manifest; ///< the manifest section's bytes
  uint64_t manifestOffset = 0, hostOffset = 0, weightsOffset = 0, weightsSize = 0, fileSize = 0;
  std::vector<uint64_t> weightOffsets; ///< within the Weights section
};

Status layOut(const ArtifactContents &c, Layout &l) {
  if (Status s = checkArtifactContents(c); s.failed())
    return s;
  l.weightOffsets.clear();
  uint64_t cursor = 0;
  for (const WeightDesc &w : c.weights) {
    cursor = alignUp(cursor, kWeightAlignment);
    l.weightOffsets.push_back(cursor);
    cursor += w.size;
  }
  l.weightsSize = cursor;

  std::vector<uint8_t> &m = l.manifest;
  m.clear();
  putU32(m, c.abiVersion);
  putString(m, c.targetTriple);
  putString(m, c.cpu);
  putString(m, c.entrySymbol);
  putU32(m, static_cast<uint32_t>(c.inputs.size()));
  for (const TensorDesc &t : c.inputs)
    putTensor(m, t);
  putU32(m, static_cast<uint32_t>(c.outputs.size()));
  for (const TensorDesc &t : c.outputs)
    putTensor(m, t);
  putU32(m, static_cast<uint32_t>(c.weights.size()));
  for (size_t i = 0; i < c.weights.size(); ++i) {
    putTensor(m, c.weights[i].tensor);
    putU64(m, l.weightOffsets[i]);
    putU64(m, c.weights[i].size);
  }

  constexpr uint32_t kSections = 3;
  const uint64_t tableOffset = sizeof(FileHeader);
  const uint64_t tableEnd = tableOffset + kSections * sizeof(SectionEntry);
  l.manifestOffset = alignUp(tableEnd, kSectionAlignment);
  l.hostOffset = alignUp(l.manifestOffset + m.size(), kSectionAlignment);
  l.weightsOffset = alignUp(l.hostOffset + c.hostCodeSize, kSectionAlignment);
  l.fileSize = l.weightsOffset + l.weightsSize;

  std::vector<uint8_t> &h = l.head;
  h.clear();
  h.insert(h.end(), kMagic, kMagic + sizeof kMagic);
  putU32(h, kVersion);
  putU32(h, kSections);
  putU64(h, l.fileSize);
  putU64(h, tableOffset);
  h.resize(sizeof(FileHeader), 0);
  const struct {
    SectionKind kind;
    uint64_t offset, size;
  } sections[kSections] = {
      {SectionKind::Manifest, l.manifestOffset, m.size()},
      {SectionKind::HostCode, l.hostOffset, c.hostCodeSize},
      {SectionKind::Weights, l.weightsOffset, l.weightsSize},
  };
  for (const auto &s : sections) {
    putU32(h, static_cast<uint32_t>(s.kind));
    putU32(h, 0);
    putU64(h, s.offset);
    putU64(h, s.size);
    putU64(h, 0);
  }
  return Status::ok();
}

/// Where emit() sends the bytes.
class Sink {
public:
  virtual ~Sink() = default;
  virtual Status write(const void *data, uint64_t size) = 0;
  Status zeros(uint64_t count) {
    static const uint8_t kZeros[4096] = {};
    while (count) {
      const uint64_t n = count < sizeof kZeros ? count : sizeof kZeros;
      if (Status s = write(kZeros, n); s.failed())
        return s;
      count -= n;
    }
    return Status::ok();
  }
};

class VectorSink final : public Sink {
public:
  explicit VectorSink(std::vector<uint8_t> &out) : out_(out) {}
  Status write(const void *data, uint64_t size) override {
    const uint8_t *p = static_cast<const uint8_t *>(data);
    out_.insert(out_.end(), p, p + size);
    return Status::ok();
  }

private:
  std::vector<uint8_t> &out_;
};

class FileSink final : public Sink {
public:
  FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status write(const void *data, uint64_t size) override {
    const uint8_t *p = static_cast<const uint8_t *>(data);
    while (size) {
      const size_t chunk = size < (uint64_t(1) << 30) ? static_cast<size_t>(size) : size_t(1) << 30;
      const ssize_t n = ::write(fd_, p, chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return Status::error("cannot write " + path_ + ": " + std::strerror(n < 0 ? errno : EIO));
      p += n;
      size -= static_cast<uint64_t>(n);
    }
    return Status::ok();
  }

private:
  int fd_;
  std::string path_;
};

Status emit(const ArtifactContents &c, const Layout &l, Sink &sink) {
  uint64_t at = 0;
  auto padTo = [&](uint64_t offset) -> Status {
    const uint64_t gap = offset - at;
    at = offset;
    return sink.zeros(gap);
  };
  auto put = [&](const void *data, uint64_t size) -> Status {
    at += size;
    return size ? sink.write(data, size) : Status::ok();
  };
  Status s = put(l.head.data(), l.head.size());
  if (s.isOk())
    s = padTo(l.manifestOffset);
  if (s.isOk())
    s = put(l.manifest.data(), l.manifest.size());
  if (s.isOk())
    s = padTo(l.hostOffset);
  if (s.isOk())
    s = put(c.hostCode, c.hostCodeSize);
  if (s.isOk())
    s = padTo(l.weightsOffset);
  for (size_t i = 0; s.isOk() && i < c.weights.size(); ++i) {
    s = padTo(l.weightsOffset + l.weightOffsets[i]);
    if (s.isOk())
      s = put(c.weights[i].data, c.weights[i].size);
  }
  return s;
}

} // namespace


Status checkArtifactContents(const ArtifactContents &c) {
  if (Status s = checkString(c.targetTriple, "target triple", false); s.failed())
    return s;
  if (Status s = checkString(c.cpu, "cpu", true); s.failed())
    return s;
  if (Status s = checkString(c.entrySymbol, "entry symbol", false); s.failed())
    return s;
  if (!c.hostCode || !c.hostCodeSize)
    return Status::error("the host code is empty");
  const struct {
    const char *what;
    size_t count;
  } counts[] = {{"inputs", c.inputs.size()}, {"outputs", c.outputs.size()}, {"weights", c.weights.size()}};
  for (const auto &n : counts)
    if (n.count > kMaxTensors)
      return Status::error(std::string("too many ") + n.what + ": " + std::to_string(n.count) +
                           ", at most " + std::to_string(kMaxTensors));
  uint64_t bytes = 0;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (Status s = checkTensor(c.inputs[i], "inputs[" + std::to_string(i) + "]", false, bytes); s.failed())
      return s;
  for (size_t i = 0; i < c.outputs.size(); ++i)
    if (Status s = checkTensor(c.outputs[i], "outputs[" + std::to_string(i) + "]", false, bytes); s.failed())
      return s;
  for (size_t i = 0; i < c.weights.size(); ++i) {
    const WeightDesc &w = c.weights[i];
    const std::string field = "weights[" + std::to_string(i) + "]";
    if (Status s = checkTensor(w.tensor, field, true, bytes); s.failed())
      return s;
    if (bytes != w.size)
      return Status::error(field + " ('" + w.tensor.name + "') has " + std::to_string(w.size) +
                           " bytes, but its dtype and shape need " + std::to_string(bytes));
    if (w.size && !w.data)
      return Status::error(field + " ('" + w.tensor.name + "') has no data");
  }
  return Status::ok();
}

Status serializeArtifact(const ArtifactContents &contents, std::vector<uint8_t> &out) {
  Layout layout;
  if (Status s = layOut(contents, layout); s.failed())
    return s;
  out.clear();
  out.reserve(layout.fileSize);
  VectorSink sink(out);
  return emit(contents, layout, sink);
}

Status writeArtifact(const ArtifactContents &contents, const std::string &path) {
  Layout layout;
  if (Status s = layOut(contents, layout); s.failed())
    return s;
  // The temporary name sits beside `path`, so the rename cannot cross file
  // systems.
  std::string temp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(temp.data());
  if (fd < 0)
    return Status::error("cannot create a temporary file beside " + path + ": " + std::strerror(errno));
  FileSink sink(fd, temp);
  Status s = emit(contents, layout, sink);
  if (s.isOk() && fchmod(fd, 0644) != 0)
    s = Status::error("cannot set the permissions of " + temp + ": " + std::strerror(errno));
  if (s.isOk() && fsync(fd) != 0)
    s = Status::error("cannot flush " + temp + ": " + std::strerror(errno));
  if (close(fd) != 0 && s.isOk())
    s = Status::error("cannot close " + temp + ": " + std::strerror(errno));
  if (s.isOk() && std::rename(temp.c_str(), path.c_str()) != 0)
    s = Status::error("cannot rename " + temp + " to " + path + ": " + std::strerror(errno));
  if (s.failed())
    unlink(temp.c_str());
  return s;
}

} // namespace lowbit::artifact
