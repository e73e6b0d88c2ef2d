//===- TypeTable.h - Geometry of every ggml type id ------------*- C++ -*-===//
//
// A GGUF reader must size tensors of every ggml type a file may hold, not only
// the ones lowbit can quantize (lowbit::quant::GgmlType), so that it can check
// offsets and copy unknown tensors through unchanged. This table covers ids
// 0..39 (GGUF_SPEC.md section 1.7); removed ids have block size 0 and are
// rejected, as ggml does.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_GGUF_TYPETABLE_H
#define LOWBIT_GGUF_TYPETABLE_H

#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit::gguf {

constexpr uint32_t kGgmlTypeCount = 40; ///< GGML_TYPE_COUNT of docs/gguf.md

struct TypeGeometry {
  std::string_view name;  ///< "Q4_K"; "" for a removed id
  uint32_t blockSize;     ///< elements per block; 0 for a removed id
  uint32_t bytesPerBlock;
  bool quantized;         ///< false for F32/F16/BF16/F64 and the integer types
};

/// The geometry of a type id, or nullptr when the id is out of range or removed.
const TypeGeometry *typeGeometry(uint32_t typeId);
/// The name of a type id for messages: "Q4_K", or "type 77" when unknown.
std::string typeName(uint32_t typeId);

/// Bytes of a tensor of this type and shape, or nullopt on overflow or when
/// ne[0] is not a multiple of the block size.
std::optional<uint64_t> tensorByteSize(const TypeGeometry &geometry, const int64_t *shape, size_t nDims);

} // namespace lowbit::gguf

#endif // LOWBIT_GGUF_TYPETABLE_H
