//===- Npy.h - NumPy .npy files, the subset lowbit-run needs ---*- C++ -*-===//
//
// Reads and writes the .npy format (versions 1.0, 2.0 and 3.0): C-order,
// little-endian (or single-byte) arrays of the element types the runtime
// knows. Anything else (Fortran order, big-endian, object or string arrays,
// a truncated file) is an error that says what was found.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TOOLS_NPY_H
#define LOWBIT_TOOLS_NPY_H

#include "lowbit/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::npy {

struct Array {
  lowbit_dtype dtype = LOWBIT_F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; ///< C order, little-endian
};

/// Parses the bytes of a .npy file; on failure returns false and says why.
bool parse(const std::vector<uint8_t> &file, Array &out, std::string &error);
/// Reads and parses `path`.
bool read(const std::string &path, Array &out, std::string &error);

/// The .npy bytes (version 1.0, or 2.0 when the header needs it) of an
/// array of `dtype` shaped `shape`, from `bytes` bytes at `data`. Returns
/// false for a dtype .npy cannot name (bfloat16).
bool serialize(lowbit_dtype dtype, const int64_t *shape, int32_t rank, const void *data, uint64_t bytes,
               std::vector<uint8_t> &out, std::string &error);
/// Writes the array to `path` through a temporary file renamed at the end.
bool write(const std::string &path, lowbit_dtype dtype, const int64_t *shape, int32_t rank, const void *data,
           uint64_t bytes, std::string &error);

/// The short name used in messages: f32, f16, i8, ...
const char *dtypeName(lowbit_dtype dtype);

} // namespace lowbit::npy

#endif // LOWBIT_TOOLS_NPY_H
