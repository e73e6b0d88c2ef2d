//===- Imatrix.h - Importance matrices (llama-imatrix output) --*- C++ -*-===//
//
// An importance matrix holds, per weight tensor, the mean squared activation
// of each input column (GGUF_SPEC.md section 3.9): what the quantizers weigh
// the error with. Two file formats are read, both documented in docs/GGUF.md:
// llama.cpp's legacy binary imatrix.dat and its newer GGUF imatrix
// (<name>.in_sum2 / <name>.counts tensors).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_GGUF_IMATRIX_H
#define LOWBIT_GGUF_IMATRIX_H

#include "lowbit/Quant/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lowbit::gguf {

struct ImportanceMatrix {
  /// Tensor name -> mean squared activation per column; ne[0] values per
  /// matrix, n_expert matrices one after another for MoE tensors.
  std::map<std::string, std::vector<float>> entries;
  std::string dataset;    ///< the calibration text, when the file names it
  int64_t chunkCount = 0; ///< calibration chunks, when the file says

  const std::vector<float> *find(const std::string &tensorName) const {
    auto it = entries.find(tensorName);
    return it == entries.end() ? nullptr : &it->second;
  }
};

/// Reads either format (GGUF when the file starts with "GGUF").
Status loadImatrix(const std::string &path, ImportanceMatrix &out);

/// Parses the legacy imatrix.dat format from memory.
Status parseLegacyImatrix(const uint8_t *data, uint64_t size, ImportanceMatrix &out);

/// Writes the legacy format (for tests and for converting): every value is
/// stored as mean · ncall with ncall = 1, which reads back unchanged.
std::vector<uint8_t> encodeLegacyImatrix(const ImportanceMatrix &matrix);

} // namespace lowbit::gguf

#endif // LOWBIT_GGUF_IMATRIX_H
