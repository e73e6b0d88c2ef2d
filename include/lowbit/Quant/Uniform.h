//===- Uniform.h - Round-to-nearest integer and ternary codes --*- C++ -*-===//
//
// The quantizers of lowbit's external-scale formats (Format.h): FormatKind::Int
// with 2..8 bits, symmetric, integer zero point or float minimum, per tensor,
// per channel (row) or per group along the row; and FormatKind::Ternary.
// docs/FORMATS.md gives the packed layout bit by bit.
//
// Each group's scale is chosen by a small grid search over the clipping range
// that minimizes the (optionally importance-weighted) squared error; see
// quantizeUniform. Plain C++, no exceptions.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_UNIFORM_H
#define LOWBIT_QUANT_UNIFORM_H

#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/Status.h"

#include <cstdint>
#include <vector>

namespace lowbit::quant {

/// The element type scales and mins are stored in. The quantizer rounds each
/// scale to it before choosing codes, so codes and stored scales agree.
enum class ScaleType : uint8_t { F32, F16, BF16 };

/// Rounds `value` to the nearest `type` value (ties to even), kept as float.
float roundToScaleType(float value, ScaleType type);

struct UniformOptions {
  ScaleType scaleType = ScaleType::F32;
  /// Clipping candidates: the range is scaled by 1 - k * clipStep for k in
  /// [0, clipSteps), and the one with the least weighted error wins. 1 step
  /// means plain min/max round-to-nearest.
  int clipSteps = 11;
  float clipStep = 0.03f;
  /// Threads over rows (per-channel and per-group formats); 0: all cores.
  int threads = 1;
};

/// A quantized tensor of `rows` x `rowLength` weights. Side arrays are
/// row-major [rows, groupsPerRow] (one entry when per-tensor); `zeroPoints`
/// is filled only for Offset::ZeroPoint, `mins` only for Offset::Min.
struct UniformTensor {
  std::vector<uint8_t> codes; ///< rows * packedRowBytes(format, rowLength)
  std::vector<float> scales;
  std::vector<int32_t> zeroPoints;
  std::vector<float> mins;
};

/// Quantizes `src` (rows x rowLength, row-major). `importance`, when given,
/// holds rowLength non-negative weights, one per input column (e.g. the mean
/// squared activation); the search then minimizes
///   sum_j importance[j] * (x_j - dequantized_j)^2
/// over each group instead of the plain squared error.
/// Fails on an invalid format, a row length the grouping does not divide,
/// NaN/Inf input (naming row and column), or a scale that overflows its type.
Status quantizeUniform(const Format &format, const float *src, int64_t rows, int64_t rowLength,
                       const UniformOptions &options, const float *importance, UniformTensor &out);

/// Decodes a tensor written by quantizeUniform (or any producer of the same
/// layout) into rows x rowLength floats.
Status dequantizeUniform(const Format &format, const UniformTensor &tensor, int64_t rows, int64_t rowLength,
                         float *dst);

/// Packs `count` codes of `bits` bits (each < 2^bits) LSB-first into
/// ceil(count * bits / 8) bytes; spare high bits of the last byte are zero.
void packCodes(const uint8_t *codes, int64_t count, unsigned bits, uint8_t *dst);
/// The inverse of packCodes.
void unpackCodes(const uint8_t *src, int64_t count, unsigned bits, uint8_t *codes);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_UNIFORM_H
