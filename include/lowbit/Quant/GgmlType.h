//===- GgmlType.h - ggml tensor types and their geometry -------*- C++ -*-===//
//
// The ggml type ids stored in GGUF tensor infos (GGUF_SPEC.md section 1.7)
// with their block geometry (section 2.0). Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_GGMLTYPE_H
#define LOWBIT_QUANT_GGMLTYPE_H

#include "lowbit/Quant/Format.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit::quant {

/// The ggml types lowbit reads and writes; the value is the id in the file.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ4_NL = 20,
  IQ4_XS = 23,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;  ///< ggml's upper-case name, e.g. "Q4_K"
  uint32_t blockSize;     ///< elements per block (1 for F32/F16/BF16)
  uint32_t bytesPerBlock; ///< bytes per block
};

/// The type with this id, or nullptr when lowbit does not know it.
const GgmlTypeInfo *ggmlTypeInfo(uint32_t id);
const GgmlTypeInfo &ggmlTypeInfo(GgmlType type);

/// Looks a type up by name, case-insensitively ("q4_k", "Q4_K").
std::optional<GgmlType> parseGgmlType(std::string_view name);

/// The ggml type of a GGUF block format kind, and back.
std::optional<GgmlType> ggmlTypeOf(FormatKind kind);
std::optional<FormatKind> formatKindOf(GgmlType type);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_GGMLTYPE_H
