//===- Reader.h - Memory-mapped GGUF v2/v3 reader --------------*- C++ -*-===//
//
// Parses a GGUF file (GGUF_SPEC.md section 1) and checks everything ggml's
// reader checks (section 1.6) plus bounds: a truncated, corrupt or hostile
// file yields a Status naming what is wrong and at which byte, tensor or key,
// never a crash or an allocation larger than the file.
//
// Tensor data is not copied: tensorData() points into the mapping.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_GGUF_READER_H
#define LOWBIT_GGUF_READER_H

#include "lowbit/Gguf/Metadata.h"
#include "lowbit/Quant/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace lowbit::gguf {

/// A read-only memory mapping of a whole file, unmapped on destruction.
class MappedFile {
public:
  static Status open(const std::string &path, std::unique_ptr<MappedFile> &out);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }

private:
  MappedFile() = default;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
};

class GgufReader {
public:
  /// Maps and parses the file at path.
  static Status open(const std::string &path, GgufReader &out);
  /// Parses a buffer the caller keeps alive as long as this reader.
  static Status parse(const uint8_t *data, uint64_t size, GgufReader &out);

  uint32_t version() const { return version_; }
  const Metadata &metadata() const { return metadata_; }
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  uint32_t alignment() const { return alignment_; }
  /// File offset of the data section.
  uint64_t dataOffset() const { return dataOffset_; }
  uint64_t fileSize() const { return size_; }

  const TensorInfo *findTensor(std::string_view name) const;
  /// The tensor's bytes inside the mapping (valid while this reader lives).
  const uint8_t *tensorData(const TensorInfo &tensor) const { return data_ + dataOffset_ + tensor.offset; }

private:
  std::shared_ptr<MappedFile> file_;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t dataOffset_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
};

} // namespace lowbit::gguf

#endif // LOWBIT_GGUF_READER_H
