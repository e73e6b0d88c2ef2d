//===- BlockQuant.h - ggml block formats: quantize and dequantize -*- C++ -*-===//
//
// Byte-exact re-implementations of llama.cpp's quantizers for the ggml block
// formats (GGUF_SPEC.md sections 2 and 3), and their dequantizers. Plain C++:
// no MLIR, no LLVM, no exceptions.
//
// Every function works on `rows` rows of `rowLength` floats each, contiguous;
// the packed rows are contiguous too, rowBytes(type, rowLength) bytes each.
// F32, F16 and BF16 go through the same entry points as plain conversions, so
// a caller can treat every tensor type alike.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_BLOCKQUANT_H
#define LOWBIT_QUANT_BLOCKQUANT_H

#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Status.h"

#include <cstdint>

namespace lowbit::quant {

/// True for the types quantizeRows can write: F32, F16, BF16 and the block
/// formats Q4_0..Q8_K, IQ4_NL, IQ4_XS, TQ1_0, TQ2_0.
bool canQuantize(GgmlType type);
/// True for the types dequantizeRows can read (the same set).
bool canDequantize(GgmlType type);

/// Packed bytes of one row of `rowLength` weights, or -1 when rowLength is not
/// a positive multiple of the type's block size.
int64_t rowBytes(GgmlType type, int64_t rowLength);

/// Quantizes exactly as llama-quantize does (ggml's `quantize_<type>` entry
/// point): without `importance` the legacy and K types use the reference
/// quantizer; with it they use the importance-weighted search. IQ4_NL and
/// IQ4_XS always search; Q8_0, TQ1_0, TQ2_0 and the plain types ignore
/// `importance`. `importance` holds rowLength weights, one per column (the
/// mean squared activation of that input channel), shared by all rows.
///
/// Fails, naming the row and column, on NaN or Inf input, on a scale that
/// overflows its fp16 field (weights too large for the format), on a
/// rowLength that is not a multiple of the block size, or an unknown type.
/// `dst` is left partly written on failure.
Status quantizeRows(GgmlType type, const float *src, void *dst, int64_t rows, int64_t rowLength,
                    const float *importance = nullptr);

/// ggml's `quantize_row_<type>_ref`: what test-quantize-fns measures. It equals
/// quantizeRows without importance for every type except IQ4_NL, whose
/// reference variant skips the scale search (ntry = -1).
Status quantizeRowsReference(GgmlType type, const float *src, void *dst, int64_t rows,
                             int64_t rowLength);

/// Decodes packed rows to floats, bit for bit as ggml's dequantizers.
Status dequantizeRows(GgmlType type, const void *src, float *dst, int64_t rows, int64_t rowLength);

/// The same, with the rows split over `threads` threads (0: one per hardware
/// thread). The bytes are identical to the single-threaded call.
Status quantizeRowsParallel(GgmlType type, const float *src, void *dst, int64_t rows,
                            int64_t rowLength, const float *importance, int threads);
Status dequantizeRowsParallel(GgmlType type, const void *src, float *dst, int64_t rows,
                              int64_t rowLength, int threads);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_BLOCKQUANT_H
