//===- Artifact.cpp - Maps and checks a lowbit artifact -------------------===//
//
// Every read goes through bounds-checked helpers, every count is checked
// against the format's limit and against the bytes that remain before it is
// used, and containers grow only as entries are actually read, so a hostile
// count cannot make the loader allocate more than the file's size.
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"

#include "lowbit/ArtifactFormat.h"
#include "lowbit/abi.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lowbit::runtime {

using namespace lowbit::artifact;

namespace {

uint32_t loadU32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t loadU64(const uint8_t *p) { return uint64_t(loadU32(p)) | uint64_t(loadU32(p + 4)) << 32; }

Status fail(uint64_t offset, const std::string &message) {
  return Status::error("artifact: " + message + " (at byte offset " + std::to_string(offset) + ")");
}

/// Reads the manifest's fields in order, within [begin, end) of the file.
class ManifestReader {
public:
  ManifestReader(const uint8_t *file, uint64_t begin, uint64_t end) : file_(file), pos_(begin), end_(end) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return end_ - pos_; }

  template <typename Field> Status u32(const Field &field, uint32_t &v) {
    if (remaining() < 4)
      return truncated(field, 4);
    v = loadU32(file_ + pos_);
    pos_ += 4;
    return Status::ok();
  }
  template <typename Field> Status u64(const Field &field, uint64_t &v) {
    if (remaining() < 8)
      return truncated(field, 8);
    v = loadU64(file_ + pos_);
    pos_ += 8;
    return Status::ok();
  }
  template <typename Field> Status string(const Field &field, std::string &s, bool allowEmpty = true) {
    const uint64_t at = pos_;
    uint32_t length = 0;
    if (Status st = u32([&] { return field() + " length"; }, length); st.failed())
      return st;
    if (length > kMaxStringLength)
      return fail(at, "manifest field " + field() + " has length " + std::to_string(length) +
                          ", more than the limit of " + std::to_string(kMaxStringLength));
    if (length > remaining())
      return fail(at, "manifest field " + field() + " has length " + std::to_string(length) + ", but only " +
                          std::to_string(remaining()) + " bytes of the manifest remain");
    if (!allowEmpty && length == 0)
      return fail(at, "manifest field " + field() + " is empty");
    const char *bytes = reinterpret_cast<const char *>(file_ + pos_);
    if (std::memchr(bytes, 0, length))
      return fail(at, "manifest field " + field() + " contains a NUL byte");
    s.assign(bytes, length);
    pos_ += length;
    return Status::ok();
  }
  /// A count of entries that each take at least `minEntryBytes`.
  template <typename Field> Status count(const Field &field, uint64_t minEntryBytes, uint32_t &n) {
    const uint64_t at = pos_;
    if (Status st = u32(field, n); st.failed())
      return st;
    if (n > kMaxTensors)
      return fail(at, "manifest field " + field() + " is " + std::to_string(n) + ", more than the limit of " +
                          std::to_string(kMaxTensors));
    if (uint64_t(n) * minEntryBytes > remaining())
      return fail(at, "manifest field " + field() + " is " + std::to_string(n) + ", but " +
                          std::to_string(n) + " entries need at least " + std::to_string(n * minEntryBytes) +
                          " bytes and only " + std::to_string(remaining()) + " remain");
    return Status::ok();
  }

  template <typename Field> Status tensor(const Field &field, bool isStatic, TensorInfo &t) {
    if (Status st = string([&] { return field() + ".name"; }, t.name); st.failed())
      return st;
    uint64_t at = pos_;
    uint32_t dtype = 0, rank = 0;
    if (Status st = u32([&] { return field() + ".dtype"; }, dtype); st.failed())
      return st;
    if (!artifact::dtypeSize(dtype))
      return fail(at, "manifest field " + field() + ".dtype ('" + t.name + "') is " + std::to_string(dtype) +
                          ", not a lowbit_dtype");
    t.dtype = static_cast<lowbit_dtype>(dtype);
    at = pos_;
    if (Status st = u32([&] { return field() + ".rank"; }, rank); st.failed())
      return st;
    if (rank > kMaxRank)
      return fail(at, "manifest field " + field() + ".rank ('" + t.name + "') is " + std::to_string(rank) +
                          ", more than the limit of " + std::to_string(kMaxRank));
    if (uint64_t(rank) * 8 > remaining())
      return truncated([&] { return field() + ".dims"; }, uint64_t(rank) * 8);
    t.dims.resize(rank);
    for (uint32_t i = 0; i < rank; ++i) {
      at = pos_;
      uint64_t raw = 0;
      auto dimField = [&] { return field() + ".dims[" + std::to_string(i) + "]"; };
      if (Status st = u64(dimField, raw); st.failed())
        return st;
      const int64_t d = static_cast<int64_t>(raw);
      if (d < -1 || (isStatic && d < 0))
        return fail(at, "manifest field " + dimField() + " ('" + t.name + "') is " + std::to_string(d) +
                            (isStatic ? ", but a weight's dims are static and non-negative"
                                      : ", but a dim is non-negative or -1 (dynamic)"));
      t.dims[i] = d;
    }
    return Status::ok();
  }

private:
  template <typename Field> Status truncated(const Field &field, uint64_t need) {
    return fail(pos_, "manifest field " + field() + " needs " + std::to_string(need) + " bytes, but only " +
                          std::to_string(remaining()) + " remain in the manifest");
  }

  const uint8_t *file_;
  uint64_t pos_, end_;
};

const char *sectionName(uint32_t kind) {
  switch (static_cast<SectionKind>(kind)) {
  case SectionKind::Manifest:
    return "Manifest";
  case SectionKind::HostCode:
    return "HostCode";
  case SectionKind::Weights:
    return "Weights";
  }
  return "unknown";
}

/// True when [a, a + n) and [b, b + m) share a byte (empty ranges share none).
bool overlaps(uint64_t a, uint64_t n, uint64_t b, uint64_t m) { return n && m && a < b + m && b < a + n; }

/// Checks a weight's place in the Weights section and its size; `at` is the
/// file offset of its offset field.
Status checkWeight(const WeightInfo &w, size_t i, uint64_t at, uint64_t weightsSize) {
  const std::string field = "weights[" + std::to_string(i) + "] ('" + w.tensor.name + "')";
  if (w.offset % 64)
    return fail(at, "manifest field " + field + ".offset is " + std::to_string(w.offset) +
                        ", not a multiple of 64");
  if (w.offset > weightsSize || w.size > weightsSize - w.offset)
    return fail(at, "manifest field " + field + " spans [" + std::to_string(w.offset) + ", +" +
                        std::to_string(w.size) + ") of the Weights section, which has " +
                        std::to_string(weightsSize) + " bytes");
  uint64_t bytes = artifact::dtypeSize(w.tensor.dtype);
  bool overflow = false;
  for (int64_t d : w.tensor.dims) {
    if (d && bytes > UINT64_MAX / static_cast<uint64_t>(d))
      overflow = true;
    else
      bytes *= static_cast<uint64_t>(d);
  }
  if (overflow || bytes != w.size)
    return fail(at + 8, "manifest field " + field + ".size is " + std::to_string(w.size) +
                            ", but its dtype and dims need " +
                            (overflow ? std::string("more than 2^64") : std::to_string(bytes)) + " bytes");
  return Status::ok();
}

Status parseManifest(const uint8_t *data, uint64_t begin, uint64_t end, uint64_t weightsSize, Manifest &m) {
  ManifestReader r(data, begin, end);
  uint64_t at = r.position();
  if (Status s = r.u32([] { return std::string("abiVersion"); }, m.abiVersion); s.failed())
    return s;
  if (m.abiVersion != LOWBIT_ABI_VERSION)
    return fail(at, "manifest field abiVersion is " + std::to_string(m.abiVersion) +
                        ", but this runtime implements ABI version " + std::to_string(LOWBIT_ABI_VERSION));
  if (Status s = r.string([] { return std::string("targetTriple"); }, m.targetTriple, false); s.failed())
    return s;
  if (Status s = r.string([] { return std::string("cpu"); }, m.cpu); s.failed())
    return s;
  if (Status s = r.string([] { return std::string("entrySymbol"); }, m.entrySymbol, false); s.failed())
    return s;

  // A tensor takes at least 12 bytes (name length, dtype, rank); a weight 16 more.
  const struct {
    const char *name, *countName;
    std::vector<TensorInfo> *list;
  } lists[] = {{"inputs", "inputCount", &m.inputs}, {"outputs", "outputCount", &m.outputs}};
  for (const auto &l : lists) {
    uint32_t n = 0;
    if (Status s = r.count([&] { return std::string(l.countName); }, 12, n); s.failed())
      return s;
    l.list->clear();
    for (uint32_t i = 0; i < n; ++i) {
      TensorInfo t;
      auto field = [&] { return std::string(l.name) + "[" + std::to_string(i) + "]"; };
      if (Status s = r.tensor(field, false, t); s.failed())
        return s;
      l.list->push_back(std::move(t));
    }
  }
  uint32_t n = 0;
  if (Status s = r.count([] { return std::string("weightCount"); }, 28, n); s.failed())
    return s;
  m.weights.clear();
  for (uint32_t i = 0; i < n; ++i) {
    WeightInfo w;
    auto field = [&] { return "weights[" + std::to_string(i) + "]"; };
    if (Status s = r.tensor(field, true, w.tensor); s.failed())
      return s;
    const uint64_t at = r.position();
    if (Status s = r.u64([&] { return field() + ".offset"; }, w.offset); s.failed())
      return s;
    if (Status s = r.u64([&] { return field() + ".size"; }, w.size); s.failed())
      return s;
    if (Status s = checkWeight(w, i, at, weightsSize); s.failed())
      return s;
    m.weights.push_back(std::move(w));
  }
  if (r.remaining())
    return fail(r.position(), "the manifest has " + std::to_string(r.remaining()) +
                                  " bytes after its last field (weights[" + std::to_string(n) + "])");
  return Status::ok();
}

} // namespace


Status parseArtifact(const uint8_t *data, uint64_t size, ParsedArtifact &out) {
  out = ParsedArtifact();
  if (size < sizeof(FileHeader))
    return fail(0, "the file has " + std::to_string(size) + " bytes, fewer than the " +
                       std::to_string(sizeof(FileHeader)) + "-byte header");
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0)
    return fail(0, "the magic is not \"LOWBITM\\0\": this is not a lowbit artifact");
  const uint32_t version = loadU32(data + 8);
  if (version != kVersion)
    return fail(8, "the header's version is " + std::to_string(version) + ", but this runtime reads version " +
                       std::to_string(kVersion));
  const uint32_t sectionCount = loadU32(data + 12);
  if (sectionCount == 0 || sectionCount > kMaxSections)
    return fail(12, "the header's sectionCount is " + std::to_string(sectionCount) + ", not in [1, " +
                        std::to_string(kMaxSections) + "]");
  const uint64_t fileSize = loadU64(data + 16);
  if (fileSize != size)
    return fail(16, "the header's fileSize is " + std::to_string(fileSize) + ", but the file has " +
                        std::to_string(size) + " bytes (truncated or padded)");
  const uint64_t tableOffset = loadU64(data + 24);
  const uint64_t tableSize = uint64_t(sectionCount) * sizeof(SectionEntry);
  if (tableOffset < sizeof(FileHeader))
    return fail(24, "the header's sectionTableOffset is " + std::to_string(tableOffset) +
                        ", inside the 64-byte header");
  if (tableOffset > size || tableSize > size - tableOffset)
    return fail(24, "the section table [" + std::to_string(tableOffset) + ", +" + std::to_string(tableSize) +
                        ") lies outside the file of " + std::to_string(size) + " bytes");
  for (uint64_t i = 32; i < 64; ++i)
    if (data[i])
      return fail(i, "the header's reserved bytes are not zero");

  struct Section {
    uint64_t offset = 0, size = 0;
    int entry = -1;
  } sections[4];
  for (uint32_t i = 0; i < sectionCount; ++i) {
    const uint64_t at = tableOffset + uint64_t(i) * sizeof(SectionEntry);
    const uint8_t *e = data + at;
    const std::string entry = "section " + std::to_string(i);
    const uint32_t kind = loadU32(e);
    if (kind < 1 || kind > 3)
      return fail(at, entry + " has kind " + std::to_string(kind) +
                          ", not one of Manifest (1), HostCode (2) or Weights (3)");
    const std::string what = entry + " (" + sectionName(kind) + ")";
    if (loadU32(e + 4) || loadU64(e + 24))
      return fail(at + (loadU32(e + 4) ? 4 : 24), what + " has non-zero reserved fields");
    const uint64_t offset = loadU64(e + 8), length = loadU64(e + 16);
    if (sections[kind].entry >= 0)
      return fail(at, what + " repeats section " + std::to_string(sections[kind].entry) +
                          ": each kind appears once");
    if (offset % kSectionAlignment)
      return fail(at + 8, what + " starts at " + std::to_string(offset) + ", not a multiple of " +
                              std::to_string(kSectionAlignment));
    if (offset > size || length > size - offset)
      return fail(at + 16, what + " [" + std::to_string(offset) + ", +" + std::to_string(length) +
                               ") lies outside the file of " + std::to_string(size) + " bytes");
    if (overlaps(offset, length, 0, sizeof(FileHeader)))
      return fail(at + 8, what + " overlaps the file header");
    if (overlaps(offset, length, tableOffset, tableSize))
      return fail(at + 8, what + " overlaps the section table");
    for (uint32_t k = 1; k <= 3; ++k)
      if (sections[k].entry >= 0 && overlaps(offset, length, sections[k].offset, sections[k].size))
        return fail(at + 8, what + " overlaps section " + std::to_string(sections[k].entry) + " (" +
                                sectionName(k) + ")");
    sections[kind] = {offset, length, static_cast<int>(i)};
  }
  for (uint32_t k = 1; k <= 3; ++k)
    if (sections[k].entry < 0)
      return fail(tableOffset, std::string("the section table has no ") + sectionName(k) + " section");

  const Section &host = sections[uint32_t(SectionKind::HostCode)];
  static const uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
  if (host.size < sizeof kElfMagic || std::memcmp(data + host.offset, kElfMagic, sizeof kElfMagic) != 0)
    return fail(host.offset, "the HostCode section is not an ELF shared object");
  out.hostCode = data + host.offset;
  out.hostCodeSize = host.size;
  const Section &weights = sections[uint32_t(SectionKind::Weights)];
  out.weights = data + weights.offset;
  out.weightsSize = weights.size;

  const Section &manifest = sections[uint32_t(SectionKind::Manifest)];
  return parseManifest(data, manifest.offset, manifest.offset + manifest.size, weights.size, out.manifest);
}

Artifact::~Artifact() {
  if (map_)
    munmap(map_, mapSize_);
}

namespace {
/// True when [p, p + n) lies inside [base, base + size).
bool within(const void *base, uint64_t size, const void *p, uint64_t n) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(base), at = reinterpret_cast<uintptr_t>(p);
  return base && at >= begin && at - begin <= size && n <= size - (at - begin);
}

/// Weights sections smaller than this stay in the file mapping: a huge page
/// is 2 MiB.
constexpr uint64_t kHugePageCopyFrom = uint64_t(2) << 20;
} // namespace

bool Artifact::contains(const void *p, uint64_t n) const {
  return within(map_, mapSize_, p, n) || within(weightsCopy_.data(), weightsCopy_.size(), p, n);
}

void Artifact::copyWeightsToHugePages(int fd) {
  const uint64_t size = parsed_.weightsSize;
  if (size < kHugePageCopyFrom || !HugePageBuffer::available())
    return;
  HugePageBuffer copy(size);
  if (copy.empty())
    return;
  // Read from the file, not through the mapping: the mapping's pages of the
  // section are then never touched (no second copy in this process).
  const uint64_t offset = static_cast<uint64_t>(parsed_.weights - static_cast<const uint8_t *>(map_));
  for (uint64_t done = 0; done < size;) {
    const ssize_t n = pread(fd, copy.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n <= 0) {
      if (n < 0 && errno == EINTR)
        continue;
      return; // keep reading from the mapping
    }
    done += static_cast<uint64_t>(n);
  }
  parsed_.weights = copy.data();
  weightsCopy_ = std::move(copy);
}

Status Artifact::open(const std::string &path, std::unique_ptr<Artifact> &out, bool &ioError) {
  ioError = true;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return Status::error("cannot stat " + path + ": " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Status::error(path + " is not a regular file");
  }
  std::unique_ptr<Artifact> a(new Artifact());
  a->path_ = path;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size >= sizeof(FileHeader)) {
    void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      const int e = errno;
      close(fd);
      return Status::error("cannot map " + path + ": " + std::strerror(e));
    }
    a->map_ = map;
    a->mapSize_ = size;
  }
  ioError = false;
  static const uint8_t kEmpty[1] = {0};
  const uint8_t *bytes = a->map_ ? static_cast<const uint8_t *>(a->map_) : kEmpty;
  if (Status s = parseArtifact(bytes, size, a->parsed_); s.failed()) {
    close(fd);
    return s.context(path);
  }
  a->copyWeightsToHugePages(fd);
  close(fd);
  out = std::move(a);
  return Status::ok();
}

} // namespace lowbit::runtime
