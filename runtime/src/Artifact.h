//===- Artifact.h - Maps and checks a lowbit artifact ----------*- C++ -*-===//
//
// The loader of docs/ARTIFACT.md. parseArtifact checks every number in the
// header, the section table and the manifest before using it (see "What the
// loader checks"), on bytes that may be truncated or hostile: it reads only
// inside [data, data + size), allocates only in proportion to bytes it has
// already read, and reports the first problem with the field's name and its
// byte offset in the file.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_ARTIFACT_H
#define LOWBIT_RUNTIME_ARTIFACT_H

#include "HugePages.h"
#include "lowbit/Quant/Status.h"
#include "lowbit/runtime.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::runtime {

struct TensorInfo {
  std::string name;
  lowbit_dtype dtype = LOWBIT_F32;
  std::vector<int64_t> dims; ///< -1: dynamic
};

struct WeightInfo {
  TensorInfo tensor;
  uint64_t offset = 0; ///< within the Weights section; a multiple of 64
  uint64_t size = 0;   ///< equals the dtype's size times the product of dims
};

struct Manifest {
  uint32_t abiVersion = 0;
  std::string targetTriple, cpu, entrySymbol;
  std::vector<TensorInfo> inputs, outputs;
  std::vector<WeightInfo> weights;
};

/// A checked view of an artifact's bytes; pointers point into those bytes.
struct ParsedArtifact {
  Manifest manifest;
  const uint8_t *hostCode = nullptr;
  uint64_t hostCodeSize = 0;
  const uint8_t *weights = nullptr; ///< the Weights section
  uint64_t weightsSize = 0;
};

/// Checks `size` bytes at `data` as a whole artifact file and fills `out`.
/// Never reads outside the bytes, whatever they hold.
Status parseArtifact(const uint8_t *data, uint64_t size, ParsedArtifact &out);

/// An artifact file mapped read-only (MAP_PRIVATE) and parsed, its Weights
/// section copied into huge pages where the system has them (HugePages.h;
/// parsed().weights then points at the copy). Immutable once opened, so
/// threads may share it.
class Artifact {
public:
  ~Artifact();
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  /// Maps `path` and parses it. I/O failures come back with `ioError` set
  /// (LOWBIT_ERROR_IO), format problems without (LOWBIT_ERROR_FORMAT).
  static Status open(const std::string &path, std::unique_ptr<Artifact> &out, bool &ioError);

  const ParsedArtifact &parsed() const { return parsed_; }
  const Manifest &manifest() const { return parsed_.manifest; }
  const std::string &path() const { return path_; }
  /// True when [p, p + n) lies inside the mapped file or the weights' copy.
  bool contains(const void *p, uint64_t n = 0) const;
  /// True when the weights were copied into huge pages.
  bool weightsInHugePages() const { return !weightsCopy_.empty(); }

private:
  Artifact() = default;
  void copyWeightsToHugePages(int fd);
  std::string path_;
  void *map_ = nullptr;
  uint64_t mapSize_ = 0;
  HugePageBuffer weightsCopy_;
  ParsedArtifact parsed_;
};

} // namespace lowbit::runtime

#endif // LOWBIT_RUNTIME_ARTIFACT_H
