//===- Imatrix.cpp - Importance matrices (llama-imatrix output) -----------===//

#include "lowbit/Gguf/Imatrix.h"

#include "lowbit/Gguf/Reader.h"

#include <cmath>
#include <cstring>

namespace lowbit::gguf {
namespace {

/// Bounded little-endian reads for the legacy format.
class LegacyCursor {
public:
  LegacyCursor(const uint8_t *data, uint64_t size) : data_(data), size_(size) {}
  uint64_t position() const { return pos_; }
  bool atEnd() const { return pos_ == size_; }

  Status readI32(int32_t &v, const std::string &what) {
    if (size_ - pos_ < 4)
      return truncated(4, what);
    std::memcpy(&v, data_ + pos_, 4);
    pos_ += 4;
    return Status::ok();
  }
  /// A non-negative int32 count or length (at most `limit`).
  Status readCount(int32_t &v, const std::string &what, uint64_t bytesEach) {
    uint64_t at = pos_;
    if (Status s = readI32(v, what); s.failed())
      return s;
    if (v < 0 || static_cast<uint64_t>(v) > (size_ - pos_) / bytesEach)
      return Status::error("imatrix byte " + std::to_string(at) + ": " + what + " " + std::to_string(v) +
                           " is negative or cannot fit in the " + std::to_string(size_ - pos_) + " bytes left");
    return Status::ok();
  }
  Status readString(std::string &s, const std::string &what) {
    int32_t length = 0;
    if (Status st = readCount(length, what + " length", 1); st.failed())
      return st;
    s.assign(reinterpret_cast<const char *>(data_ + pos_), static_cast<size_t>(length));
    pos_ += static_cast<uint64_t>(length);
    return Status::ok();
  }
  Status readFloats(std::vector<float> &out, int32_t count, const std::string &what) {
    out.resize(static_cast<size_t>(count)); // bounded by readCount
    std::memcpy(out.data(), data_ + pos_, out.size() * 4);
    uint64_t at = pos_;
    pos_ += out.size() * 4;
    for (size_t i = 0; i < out.size(); ++i)
      if (!std::isfinite(out[i]) || out[i] < 0)
        return Status::error("imatrix byte " + std::to_string(at + 4 * i) + ": " + what + " value " +
                             std::to_string(i) + " is negative or not finite");
    return Status::ok();
  }

private:
  Status truncated(uint64_t need, const std::string &what) const {
    return Status::error("imatrix truncated at byte " + std::to_string(pos_) + ": " + what + " needs " +
                         std::to_string(need) + " bytes");
  }
  const uint8_t *data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

Status parseLegacyEntry(LegacyCursor &cursor, int32_t index, ImportanceMatrix &out) {
  std::string where = "entry " + std::to_string(index);
  std::string name;
  if (Status s = cursor.readString(name, where + " name"); s.failed())
    return s;
  if (name.empty())
    return Status::error("imatrix " + where + ": empty tensor name");
  where = "entry '" + name + "'";
  int32_t calls = 0, count = 0;
  if (Status s = cursor.readI32(calls, where + " ncall"); s.failed())
    return s;
  if (Status s = cursor.readCount(count, where + " value count", 4); s.failed())
    return s;
  std::vector<float> values;
  if (Status s = cursor.readFloats(values, count, where); s.failed())
    return s;
  // The file stores sum(x^2)/count · ncall; dividing by ncall gives the mean.
  if (calls > 0)
    for (float &v : values)
      v /= static_cast<float>(calls);
  if (!out.entries.emplace(name, std::move(values)).second)
    return Status::error("imatrix: duplicate entry '" + name + "'");
  return Status::ok();
}

template <typename T> void appendLe(std::vector<uint8_t> &out, T v) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

/// The newer GGUF form: <name>.in_sum2 [ne0, n_mat] and <name>.counts
/// [1, n_mat], both F32; the mean is in_sum2 / counts per matrix.
Status parseGgufImatrix(const GgufReader &reader, ImportanceMatrix &out) {
  const std::string suffix = ".in_sum2";
  for (const TensorInfo &sums : reader.tensors()) {
    if (sums.name.size() <= suffix.size() || sums.name.compare(sums.name.size() - suffix.size(), suffix.size(), suffix))
      continue;
    std::string name = sums.name.substr(0, sums.name.size() - suffix.size());
    const TensorInfo *counts = reader.findTensor(name + ".counts");
    if (!counts)
      return Status::error("imatrix: '" + sums.name + "' has no matching '" + name + ".counts'");
    if (sums.type != 0 || counts->type != 0)
      return Status::error("imatrix: '" + name + "' sums and counts must be F32");
    int64_t matrices = sums.rowCount();
    if (counts->elementCount() != matrices)
      return Status::error("imatrix: '" + name + ".counts' has " + std::to_string(counts->elementCount()) +
                           " values for " + std::to_string(matrices) + " matrices");
    int64_t columns = sums.dim(0);
    std::vector<float> values(static_cast<size_t>(sums.elementCount()));
    std::memcpy(values.data(), reader.tensorData(sums), values.size() * 4);
    std::vector<float> perMatrix(static_cast<size_t>(matrices));
    std::memcpy(perMatrix.data(), reader.tensorData(*counts), perMatrix.size() * 4);
    for (int64_t m = 0; m < matrices; ++m)
      for (int64_t j = 0; j < columns; ++j) {
        float &v = values[static_cast<size_t>(m * columns + j)];
        // A matrix never reached during calibration (an unused expert) carries
        // no information: weigh its columns equally.
        v = perMatrix[static_cast<size_t>(m)] > 0 ? v / perMatrix[static_cast<size_t>(m)] : 1.0f;
      }
    out.entries[name] = std::move(values);
  }
  if (const Value *datasets = reader.metadata().find("imatrix.datasets"))
    if (const auto *names = datasets->asStringArray(); names && !names->empty())
      out.dataset = names->front();
  out.chunkCount = static_cast<int64_t>(reader.metadata().getUnsigned("imatrix.chunk_count").value_or(0));
  if (out.entries.empty())
    return Status::error("imatrix: GGUF file holds no '<tensor>.in_sum2' entries");
  return Status::ok();
}

} // namespace

Status parseLegacyImatrix(const uint8_t *data, uint64_t size, ImportanceMatrix &out) {
  out = ImportanceMatrix();
  LegacyCursor cursor(data, size);
  int32_t entryCount = 0;
  // Each entry needs at least 4 (name length) + 1 + 4 + 4 bytes.
  if (Status s = cursor.readCount(entryCount, "entry count", 13); s.failed())
    return s;
  if (entryCount == 0)
    return Status::error("imatrix holds no entries");
  for (int32_t i = 0; i < entryCount; ++i)
    if (Status s = parseLegacyEntry(cursor, i, out); s.failed())
      return s;
  // Optional trailer: the last chunk index and the dataset's file name.
  if (cursor.atEnd())
    return Status::ok();
  int32_t lastChunk = 0;
  if (Status s = cursor.readI32(lastChunk, "chunk count"); s.failed())
    return s;
  out.chunkCount = lastChunk;
  if (cursor.atEnd())
    return Status::ok();
  return cursor.readString(out.dataset, "dataset name");
}

std::vector<uint8_t> encodeLegacyImatrix(const ImportanceMatrix &matrix) {
  std::vector<uint8_t> out;
  appendLe<int32_t>(out, static_cast<int32_t>(matrix.entries.size()));
  for (const auto &[name, values] : matrix.entries) {
    appendLe<int32_t>(out, static_cast<int32_t>(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    appendLe<int32_t>(out, 1); // ncall
    appendLe<int32_t>(out, static_cast<int32_t>(values.size()));
    for (float v : values)
      appendLe<float>(out, v);
  }
  appendLe<int32_t>(out, static_cast<int32_t>(matrix.chunkCount));
  appendLe<int32_t>(out, static_cast<int32_t>(matrix.dataset.size()));
  out.insert(out.end(), matrix.dataset.begin(), matrix.dataset.end());
  return out;
}

Status loadImatrix(const std::string &path, ImportanceMatrix &out) {
  std::unique_ptr<MappedFile> file;
  if (Status s = MappedFile::open(path, file); s.failed())
    return s;
  out = ImportanceMatrix();
  Status status = Status::ok();
  if (file->size() >= 4 && std::memcmp(file->data(), "GGUF", 4) == 0) {
    GgufReader reader;
    status = GgufReader::parse(file->data(), file->size(), reader);
    if (status.isOk())
      status = parseGgufImatrix(reader, out);
  } else {
    status = parseLegacyImatrix(file->data(), file->size(), out);
  }
  return status.context("'" + path + "'");
}

} // namespace lowbit::gguf
