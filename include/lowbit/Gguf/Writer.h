//===- Writer.h - GGUF v3 writer --------------------------------*- C++ -*-===//
//
// Writes metadata, tensor infos and aligned tensor data exactly as ggml lays
// them out (GGUF_SPEC.md sections 1.2-1.5): tensors contiguous in info order,
// each padded with zeros to the alignment (the last one too), the data
// section starting at the next multiple of the alignment after the infos.
// The alignment is the general.alignment stored in the metadata (default 32),
// so the padding always agrees with the value the file declares.
//
// A file is written to a temporary file in the destination's directory and
// renamed over the target only when everything succeeded: a failed write
// leaves nothing behind and an existing target untouched.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_GGUF_WRITER_H
#define LOWBIT_GGUF_WRITER_H

#include "lowbit/Gguf/Metadata.h"
#include "lowbit/Quant/Status.h"

#include <functional>
#include <string>
#include <vector>

namespace lowbit::gguf {

/// Checks the tensors (names, dimensions, types, block divisibility) and
/// fills in each byteSize and offset. Trailing size-1 dimensions are dropped
/// (at least one dimension stays), as ggml's writer does.
Status layoutTensors(const Metadata &metadata, std::vector<TensorInfo> &tensors);

/// The alignment the metadata declares (general.alignment, default 32), or an
/// error when it is not a power-of-two UINT32.
Status alignmentOf(const Metadata &metadata, uint32_t &alignment);

/// The header bytes: magic, version 3, counts, metadata, tensor infos, and the
/// zero padding up to the data section (when there are tensors). The tensors
/// must have been laid out by layoutTensors.
Status encodeHeader(const Metadata &metadata, const std::vector<TensorInfo> &tensors, std::vector<uint8_t> &out);

/// Supplies tensor i's bytes; their count must equal tensors[i].byteSize.
using TensorDataFn = std::function<Status(size_t index, const TensorInfo &tensor, std::vector<uint8_t> &bytes)>;

/// Lays out the tensors and writes the whole file through a temporary file
/// renamed over path on success.
Status writeGguf(const std::string &path, const Metadata &metadata, std::vector<TensorInfo> tensors,
                 const TensorDataFn &data);

/// The same bytes as writeGguf, into memory (for tests and small files).
Status encodeGguf(const Metadata &metadata, std::vector<TensorInfo> tensors, const TensorDataFn &data,
                  std::vector<uint8_t> &out);

} // namespace lowbit::gguf

#endif // LOWBIT_GGUF_WRITER_H
