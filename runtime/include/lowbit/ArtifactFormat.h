//===- ArtifactFormat.h - The .lbm file layout -----------------*- C++ -*-===//
//
// Shared by the compiler, which writes artifacts, and the runtime, which
// reads them. docs/ARTIFACT.md describes the format in prose. All numbers
// are little-endian; every section starts at a multiple of kSectionAlignment
// so the weights can be mapped, not read.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_ARTIFACTFORMAT_H
#define LOWBIT_ARTIFACTFORMAT_H

#include "lowbit/runtime.h"

#include <cstdint>

namespace lowbit::artifact {

inline constexpr char kMagic[8] = {'L', 'O', 'W', 'B', 'I', 'T', 'M', '\0'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint64_t kSectionAlignment = 4096;
inline constexpr uint32_t kMaxSections = 64;

/// The first 64 bytes of the file.
struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t sectionCount;
  uint64_t fileSize;           ///< must equal the file's size
  uint64_t sectionTableOffset; ///< SectionEntry[sectionCount] starts here
  uint8_t reserved[32];        ///< zero
};
static_assert(sizeof(FileHeader) == 64);

enum class SectionKind : uint32_t {
  Manifest = 1,  ///< inputs, outputs, weights, target (see Manifest below)
  HostCode = 2,  ///< an ELF shared object exporting the entry function
  Weights = 3,   ///< the weights, each at its manifest offset
};

struct SectionEntry {
  uint32_t kind;     ///< SectionKind
  uint32_t reserved; ///< zero
  uint64_t offset;   ///< from the start of the file; a multiple of kSectionAlignment
  uint64_t size;
  uint64_t reserved2; ///< zero
};
static_assert(sizeof(SectionEntry) == 32);

// The manifest is a sequence of fields, each a u32, u64, i64 or a string
// (u32 byte length, then the bytes, no terminator):
//
//   u32 abiVersion                 LOWBIT_ABI_VERSION of the compiled code
//   string targetTriple            e.g. x86_64-unknown-linux-gnu
//   string cpu                     the CPU the code was compiled for
//   string entrySymbol             the packed entry function in HostCode
//   u32 inputCount,  then per input:  Tensor
//   u32 outputCount, then per output: Tensor
//   u32 weightCount, then per weight: Tensor, u64 offset, u64 size
//                                  (offset within the Weights section)
//   Tensor = string name, u32 dtype (lowbit_dtype), u32 rank, i64 dims[rank] (-1: dynamic)
//
// The entry function is `void entry(void **args)`: args[0] points to an i64
// holding the lowbit_dispatch_context address, args[1] to the results
// struct (one MLIR memref descriptor per output, in order), and the next
// pointers to one memref descriptor per input, then per weight. A rank-R
// descriptor is {void *allocated, void *aligned, i64 offset, i64 sizes[R],
// i64 strides[R]}. Every output is a fresh malloc'ed buffer that the runtime
// frees with free().

/// Bytes of one element of a lowbit_dtype (ONNX's numbering), or 0 for a
/// type artifacts cannot hold. The writer and the loader share it.
inline constexpr uint64_t dtypeSize(uint32_t dtype) {
  switch (dtype) {
  case LOWBIT_U8:
  case LOWBIT_I8:
  case LOWBIT_BOOL:
    return 1;
  case LOWBIT_U16:
  case LOWBIT_I16:
  case LOWBIT_F16:
  case LOWBIT_BF16:
    return 2;
  case LOWBIT_F32:
  case LOWBIT_I32:
  case LOWBIT_U32:
    return 4;
  case LOWBIT_I64:
  case LOWBIT_F64:
  case LOWBIT_U64:
    return 8;
  default:
    return 0;
  }
}

inline constexpr uint32_t kMaxRank = 16;
inline constexpr uint32_t kMaxStringLength = 1 << 16;
inline constexpr uint32_t kMaxTensors = 1 << 20;

} // namespace lowbit::artifact

#endif // LOWBIT_ARTIFACTFORMAT_H
