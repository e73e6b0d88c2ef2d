//===- CalibrationData.cpp - Calibration statistics files ----------------===//
//
// The statistics file, little-endian (lowbit targets x86-64):
//
//   char[8]  "LBCALIB1"
//   u32      version (1)
//   u32      observers
//   u32      flags: bit 0 = X^T X present
//   u32      0 (reserved)
//   per observer:
//     u32 + bytes   name
//     u32           weights that read this input; per weight: u32 + bytes
//     i64 K, i64 rows (activation rows seen)
//     f32[K] max |x|, f32[K] mean |x|, f32[K] mean x^2
//     f32[K (K+1) / 2]  (flag) upper triangle of X^T X / rows, row by row
//
// Means, not sums, are stored: they read as they are (no rows needed) and
// keep the same relative precision in fp32; reading multiplies back by rows.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/CalibrationData.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unistd.h>

namespace lowbit {
namespace {

constexpr char kMagic[8] = {'L', 'B', 'C', 'A', 'L', 'I', 'B', '1'};
constexpr uint32_t kVersion = 1, kFlagGram = 1;
constexpr uint32_t kMaxName = 1 << 16, kMaxWeights = 1 << 16;
constexpr int64_t kMaxChannels = 1 << 20;

struct FileCloser {
  void operator()(FILE *f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

class Writer {
public:
  explicit Writer(FILE *f) : f_(f) {}
  template <typename T>
  void raw(const T *data, size_t count) {
    if (ok_ && count && std::fwrite(data, sizeof(T), count, f_) != count)
      ok_ = false;
  }
  template <typename T>
  void value(T v) { raw(&v, 1); }
  void text(const std::string &s) {
    value(uint32_t(s.size()));
    raw(s.data(), s.size());
  }
  bool ok() const { return ok_; }

private:
  FILE *f_;
  bool ok_ = true;
};

/// Reads a byte range of known size; every read checks what is left first.
class Reader {
public:
  Reader(FILE *f, int64_t size, std::string path) : f_(f), size_(size), left_(size), path_(std::move(path)) {}
  Status need(int64_t bytes, const std::string &what) {
    if (bytes < 0 || bytes > left_)
      return Status::error("'" + path_ + "': truncated or corrupt: " + what + " needs " + std::to_string(bytes) +
                           " bytes, " + std::to_string(left_) + " left");
    return Status::ok();
  }
  template <typename T>
  Status raw(T *data, size_t count, const std::string &what) {
    if (Status s = need(int64_t(count * sizeof(T)), what); s.failed())
      return s;
    if (count && std::fread(data, sizeof(T), count, f_) != count)
      return Status::error("'" + path_ + "': read error in " + what);
    left_ -= count * sizeof(T);
    return Status::ok();
  }
  template <typename T>
  Status value(T &v, const std::string &what) { return raw(&v, 1, what); }
  Status text(std::string &s, const std::string &what) {
    uint32_t size = 0;
    if (Status st = value(size, what + " length"); st.failed())
      return st;
    if (size > kMaxName)
      return Status::error("'" + path_ + "': " + what + " is " + std::to_string(size) + " bytes long (corrupt file?)");
    s.resize(size);
    return raw(s.data(), size, what);
  }
  Status skip(int64_t bytes, const std::string &what) {
    if (Status s = need(bytes, what); s.failed())
      return s;
    if (std::fseek(f_, long(bytes), SEEK_CUR) != 0)
      return Status::error("'" + path_ + "': cannot seek past " + what);
    left_ -= bytes;
    return Status::ok();
  }
  int64_t left() const { return left_; }
  int64_t offset() const { return size_ - left_; }

private:
  FILE *f_;
  int64_t size_, left_;
  std::string path_;
};

/// Reads the upper triangle of X^T X / rows that `r` is at into `gram` (K x
/// K, both triangles), times rows.
Status readGram(Reader &r, int64_t k, int64_t rows, const std::string &where, double *gram) {
  std::vector<float> row(k);
  for (int64_t i = 0; i < k; ++i) {
    if (Status s = r.raw(row.data(), k - i, where + " X^T X"); s.failed())
      return s;
    for (int64_t j = i; j < k; ++j)
      gram[i * k + j] = gram[j * k + i] = double(row[j - i]) * double(rows);
  }
  return Status::ok();
}

void writeInput(Writer &w, const ObservedInput &in, bool withGram) {
  const quant::CalibStats &s = in.stats;
  w.text(in.name);
  w.value(uint32_t(in.weights.size()));
  for (const std::string &weight : in.weights)
    w.text(weight);
  w.value(int64_t(s.channels));
  w.value(int64_t(s.rows));
  w.raw(s.absMax.data(), s.absMax.size());
  std::vector<float> absMean = s.absMean(), meanSquare = s.meanSquare();
  w.raw(absMean.data(), absMean.size());
  w.raw(meanSquare.data(), meanSquare.size());
  if (!withGram)
    return;
  double perRow = s.rows > 0 ? 1.0 / double(s.rows) : 0.0;
  std::vector<float> row(s.channels);
  for (int64_t i = 0; i < s.channels; ++i) {
    for (int64_t j = i; j < s.channels; ++j)
      row[j - i] = float(s.gram[i * s.channels + j] * perRow);
    w.raw(row.data(), s.channels - i);
  }
}

Status readInput(Reader &r, size_t index, bool hasGram, bool needGram, bool lazyGram, ObservedInput &in) {
  std::string where = "observer " + std::to_string(index);
  if (Status s = r.text(in.name, where + " name"); s.failed())
    return s;
  where += " ('" + in.name + "')";
  uint32_t weights = 0;
  if (Status s = r.value(weights, where + " weight count"); s.failed())
    return s;
  if (weights > kMaxWeights)
    return Status::error(where + ": " + std::to_string(weights) + " weights (corrupt file?)");
  in.weights.resize(weights);
  for (std::string &w : in.weights)
    if (Status s = r.text(w, where + " weight name"); s.failed())
      return s;
  int64_t k = 0, rows = 0;
  if (Status s = r.value(k, where + " K"); s.failed())
    return s;
  if (Status s = r.value(rows, where + " rows"); s.failed())
    return s;
  if (k < 1 || k > kMaxChannels || rows < 0)
    return Status::error(where + ": bad sizes K = " + std::to_string(k) + ", rows = " + std::to_string(rows));
  if (Status s = r.need(3 * 4 * k, where + " statistics"); s.failed())
    return s;
  if (Status s = quant::initCalibStats(k, hasGram && needGram && !lazyGram, in.stats); s.failed())
    return s;
  in.stats.rows = rows;
  std::vector<float> mean(k);
  if (Status s = r.raw(in.stats.absMax.data(), k, where + " max |x|"); s.failed())
    return s;
  if (Status s = r.raw(mean.data(), k, where + " mean |x|"); s.failed())
    return s;
  for (int64_t j = 0; j < k; ++j)
    in.stats.absSum[j] = double(mean[j]) * double(rows);
  if (Status s = r.raw(mean.data(), k, where + " mean x^2"); s.failed())
    return s;
  for (int64_t j = 0; j < k; ++j)
    in.stats.squareSum[j] = double(mean[j]) * double(rows);
  if (!hasGram)
    return Status::ok();
  int64_t triangle = k * (k + 1) / 2;
  if (needGram && lazyGram)
    in.gramOffset = r.offset();
  if (!needGram || lazyGram)
    return r.skip(4 * triangle, where + " X^T X");
  if (Status s = r.need(4 * triangle, where + " X^T X"); s.failed())
    return s;
  return readGram(r, k, rows, where, in.stats.gram.data());
}

} // namespace

const ObservedInput *CalibrationData::forWeight(const std::string &weight) const {
  for (const ObservedInput &in : inputs)
    for (const std::string &w : in.weights)
      if (w == weight)
        return &in;
  return nullptr;
}

CalibrationFileWriter::~CalibrationFileWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(temp_.c_str());
  }
}

Status CalibrationFileWriter::failWrite() {
  std::string why = errno ? std::strerror(errno) : "write error";
  std::fclose(file_);
  file_ = nullptr;
  std::remove(temp_.c_str());
  return Status::error("cannot write '" + path_ + "': " + why);
}

Status CalibrationFileWriter::open(const std::string &path, size_t observers, bool withGram) {
  path_ = path;
  temp_ = path + ".tmp" + std::to_string(::getpid());
  withGram_ = withGram;
  left_ = observers;
  file_ = std::fopen(temp_.c_str(), "wb");
  if (!file_)
    return Status::error("cannot write '" + temp_ + "': " + std::strerror(errno));
  Writer w(file_);
  w.raw(kMagic, sizeof kMagic);
  w.value(kVersion);
  w.value(uint32_t(observers));
  w.value(withGram ? kFlagGram : 0u);
  w.value(uint32_t(0));
  return w.ok() ? Status::ok() : failWrite();
}

Status CalibrationFileWriter::append(const ObservedInput &in) {
  if (!file_)
    return Status::error("cannot write '" + path_ + "': not open");
  if (left_ == 0)
    return Status::error("cannot write '" + path_ + "': more observed inputs than the header's count");
  if (withGram_ && !in.stats.hasGram())
    return Status::error("cannot write '" + path_ + "': the statistics of '" + in.name + "' have no X^T X");
  Writer w(file_);
  writeInput(w, in, withGram_);
  --left_;
  return w.ok() ? Status::ok() : failWrite();
}

Status CalibrationFileWriter::finish() {
  if (!file_)
    return Status::error("cannot write '" + path_ + "': not open");
  if (left_ != 0)
    return Status::error("cannot write '" + path_ + "': " + std::to_string(left_) + " observed inputs missing");
  if (std::fflush(file_) != 0)
    return failWrite();
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(temp_.c_str());
    return Status::error("cannot write '" + path_ + "': " + why);
  }
  return Status::ok();
}

Status writeCalibrationFile(const CalibrationData &data, const std::string &path, bool withGram) {
  for (const ObservedInput &in : data.inputs)
    withGram = withGram && in.stats.hasGram();
  CalibrationFileWriter writer;
  if (Status s = writer.open(path, data.inputs.size(), withGram); s.failed())
    return s;
  for (const ObservedInput &in : data.inputs)
    if (Status s = writer.append(in); s.failed())
      return s;
  return writer.finish();
}

Status readCalibrationFile(const std::string &path, bool needGram, CalibrationData &out, bool lazyGram) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f)
    return Status::error("cannot read calibration statistics '" + path + "': " + std::strerror(errno));
  if (std::fseek(f.get(), 0, SEEK_END) != 0)
    return Status::error("cannot read calibration statistics '" + path + "': not a regular file");
  int64_t size = std::ftell(f.get());
  std::rewind(f.get());
  Reader r(f.get(), size, path);
  char magic[8];
  uint32_t version = 0, count = 0, flags = 0, reserved = 0;
  if (r.raw(magic, 8, "header").failed() || std::memcmp(magic, kMagic, 8) != 0)
    return Status::error("'" + path + "' is not a lowbit calibration statistics file (no LBCALIB1 header)");
  if (Status s = r.value(version, "header"); s.failed())
    return s;
  if (version != kVersion)
    return Status::error("'" + path + "': statistics file version " + std::to_string(version) +
                         ", this lowbit reads version " + std::to_string(kVersion));
  if (Status s = r.value(count, "header"); s.failed())
    return s;
  if (Status s = r.value(flags, "header"); s.failed())
    return s;
  if (Status s = r.value(reserved, "header"); s.failed())
    return s;
  bool hasGram = flags & kFlagGram;
  if (needGram && !hasGram)
    return Status::error("'" + path + "' has no X^T X (it was saved for the importance matrix only); "
                         "calibrate again with --method gptq or awq");
  CalibrationData data;
  data.inputs.resize(count > kMaxWeights ? 0 : count);
  if (count > kMaxWeights)
    return Status::error("'" + path + "': " + std::to_string(count) + " observers (corrupt file?)");
  for (size_t i = 0; i < data.inputs.size(); ++i)
    if (Status s = readInput(r, i, hasGram, needGram, lazyGram, data.inputs[i]); s.failed())
      return s.failed() && s.message().rfind("'" + path, 0) == 0 ? s : Status::error("'" + path + "': " + s.message());
  if (r.left() != 0)
    return Status::error("'" + path + "': " + std::to_string(r.left()) + " unexpected bytes after the last observer");
  data.path = path;
  out = std::move(data);
  return Status::ok();
}

Status loadGram(const CalibrationData &data, const ObservedInput &in, std::vector<double> &storage,
                const double *&gram) {
  if (in.stats.hasGram()) {
    gram = in.stats.gram.data();
    return Status::ok();
  }
  if (in.gramOffset < 0)
    return Status::error("the statistics of '" + in.name + "' have no X^T X");
  const std::string &path = data.path;
  File f(std::fopen(path.c_str(), "rb"));
  const int64_t k = in.stats.channels, bytes = 4 * (k * (k + 1) / 2);
  if (!f || std::fseek(f.get(), long(in.gramOffset), SEEK_SET) != 0)
    return Status::error("cannot read X^T X of '" + in.name + "' from '" + path + "': " + std::strerror(errno));
  // The file was checked when it was read; it may have changed since.
  Reader r(f.get(), bytes, path);
  storage.assign(k * k, 0.0);
  if (Status s = readGram(r, k, in.stats.rows, "'" + in.name + "'", storage.data()); s.failed())
    return s;
  gram = storage.data();
  return Status::ok();
}

} // namespace lowbit
