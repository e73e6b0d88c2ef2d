//===- TypeTable.cpp - Geometry of every ggml type id ---------------------===//

#include "lowbit/Gguf/TypeTable.h"

#include <array>
#include <limits>
#include <string>

namespace lowbit::gguf {
namespace {

// Indexed by type id. Block sizes and bytes per block are ggml's (static
// facts of the format); the IQ types lowbit does not quantize are here so
// that their tensors can be sized and copied.
constexpr std::array<TypeGeometry, kGgmlTypeCount> kTable = {{
    /* 0 */ {"F32", 1, 4, false},
    /* 1 */ {"F16", 1, 2, false},
    /* 2 */ {"Q4_0", 32, 18, true},
    /* 3 */ {"Q4_1", 32, 20, true},
    /* 4 */ {"", 0, 0, false}, // Q4_2, removed
    /* 5 */ {"", 0, 0, false}, // Q4_3, removed
    /* 6 */ {"Q5_0", 32, 22, true},
    /* 7 */ {"Q5_1", 32, 24, true},
    /* 8 */ {"Q8_0", 32, 34, true},
    /* 9 */ {"Q8_1", 32, 36, true},
    /* 10 */ {"Q2_K", 256, 84, true},
    /* 11 */ {"Q3_K", 256, 110, true},
    /* 12 */ {"Q4_K", 256, 144, true},
    /* 13 */ {"Q5_K", 256, 176, true},
    /* 14 */ {"Q6_K", 256, 210, true},
    /* 15 */ {"Q8_K", 256, 292, true},
    /* 16 */ {"IQ2_XXS", 256, 66, true},
    /* 17 */ {"IQ2_XS", 256, 74, true},
    /* 18 */ {"IQ3_XXS", 256, 98, true},
    /* 19 */ {"IQ1_S", 256, 50, true},
    /* 20 */ {"IQ4_NL", 32, 18, true},
    /* 21 */ {"IQ3_S", 256, 110, true},
    /* 22 */ {"IQ2_S", 256, 82, true},
    /* 23 */ {"IQ4_XS", 256, 136, true},
    /* 24 */ {"I8", 1, 1, false},
    /* 25 */ {"I16", 1, 2, false},
    /* 26 */ {"I32", 1, 4, false},
    /* 27 */ {"I64", 1, 8, false},
    /* 28 */ {"F64", 1, 8, false},
    /* 29 */ {"IQ1_M", 256, 56, true},
    /* 30 */ {"BF16", 1, 2, false},
    /* 31 */ {"", 0, 0, false}, // Q4_0_4_4, removed
    /* 32 */ {"", 0, 0, false}, // Q4_0_4_8, removed
    /* 33 */ {"", 0, 0, false}, // Q4_0_8_8, removed
    /* 34 */ {"TQ1_0", 256, 54, true},
    /* 35 */ {"TQ2_0", 256, 66, true},
    /* 36 */ {"", 0, 0, false}, // IQ4_NL_4_4, removed
    /* 37 */ {"", 0, 0, false}, // IQ4_NL_4_8, removed
    /* 38 */ {"", 0, 0, false}, // IQ4_NL_8_8, removed
    /* 39 */ {"MXFP4", 32, 17, true},
}};

bool multiplyChecked(uint64_t a, uint64_t b, uint64_t &out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a)
    return false;
  out = a * b;
  return true;
}

} // namespace

const TypeGeometry *typeGeometry(uint32_t typeId) {
  if (typeId >= kGgmlTypeCount || kTable[typeId].blockSize == 0)
    return nullptr;
  return &kTable[typeId];
}

std::string typeName(uint32_t typeId) {
  if (const TypeGeometry *g = typeGeometry(typeId))
    return std::string(g->name);
  return "type " + std::to_string(typeId);
}

std::optional<uint64_t> tensorByteSize(const TypeGeometry &geometry, const int64_t *shape, size_t nDims) {
  uint64_t ne0 = nDims > 0 ? static_cast<uint64_t>(shape[0]) : 1;
  if (ne0 % geometry.blockSize != 0)
    return std::nullopt;
  uint64_t bytes = 0;
  if (!multiplyChecked(ne0 / geometry.blockSize, geometry.bytesPerBlock, bytes))
    return std::nullopt;
  for (size_t i = 1; i < nDims; ++i)
    if (!multiplyChecked(bytes, static_cast<uint64_t>(shape[i]), bytes))
      return std::nullopt;
  return bytes;
}

} // namespace lowbit::gguf
