//===- ArtifactWriter.h - Writes lowbit artifacts (.lbm) -------*- C++ -*-===//
//
// Lays out and writes the artifact file that runtime/ loads: the header, the
// section table, the manifest, the host code and the weights
// (docs/ARTIFACT.md, runtime/include/lowbit/ArtifactFormat.h). Plain C++, no
// MLIR or LLVM: lowbit-compile calls it at the end of code generation, and
// the runtime's tests use it to build artifacts by hand.
//
// The output is deterministic: the same contents give a byte-identical file
// (no timestamps, every padding byte zero).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TARGET_ARTIFACTWRITER_H
#define LOWBIT_TARGET_ARTIFACTWRITER_H

#include "lowbit/abi.h"
#include "lowbit/Quant/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::artifact {

/// One input, output or weight as the manifest describes it. `dtype` is a
/// lowbit_dtype (runtime/include/lowbit/runtime.h, ONNX's numbering); a dim
/// of -1 is dynamic (inputs and outputs only).
struct TensorDesc {
  std::string name;
  uint32_t dtype = 0;
  std::vector<int64_t> dims;
};

/// A weight and its bytes. The bytes are borrowed: they must stay valid until
/// writeArtifact / serializeArtifact returns. `size` must equal the element
/// size of `tensor.dtype` times the product of its dims (packed weights are
/// rank-1 i8 tensors of their byte count).
struct WeightDesc {
  TensorDesc tensor;
  const void *data = nullptr;
  uint64_t size = 0;
};

/// Everything an artifact holds.
struct ArtifactContents {
  uint32_t abiVersion = LOWBIT_ABI_VERSION; ///< of the compiled code (abi.h)
  std::string targetTriple; ///< e.g. x86_64-unknown-linux-gnu
  std::string cpu;          ///< the CPU the code was compiled for
  std::string entrySymbol;  ///< the entry function exported by the host code
  std::vector<TensorDesc> inputs;
  std::vector<TensorDesc> outputs;
  std::vector<WeightDesc> weights;
  /// The host code: an ELF shared object for the target (borrowed).
  const void *hostCode = nullptr;
  uint64_t hostCodeSize = 0;
};

/// Alignment of every weight inside the Weights section.
inline constexpr uint64_t kWeightAlignment = 64;

/// Checks `contents` against the format's limits (string lengths, counts,
/// ranks, dims, dtypes, weight sizes), naming the offending field.
Status checkArtifactContents(const ArtifactContents &contents);

/// Lays the artifact out in memory: header, section table (Manifest,
/// HostCode, Weights), then each section at a multiple of 4096 bytes, each
/// weight at a multiple of 64 inside the Weights section, in the order given.
Status serializeArtifact(const ArtifactContents &contents, std::vector<uint8_t> &out);

/// Writes the artifact to `path` through a temporary file in the same
/// directory, renamed over `path` at the end: on failure nothing is left
/// behind and an existing file at `path` is untouched. The file is built
/// section by section, so the weights are not copied into one buffer.
Status writeArtifact(const ArtifactContents &contents, const std::string &path);


} // namespace lowbit::artifact

#endif // LOWBIT_TARGET_ARTIFACTWRITER_H
