//===- BlockQuant.cpp - ggml block formats: dispatch and checks ----------===//
//
// Validates the arguments, checks every input value, runs the per-family row
// codecs and checks the fp16 fields they wrote (a weight too large for the
// format gives an Inf scale, which llama.cpp would silently write).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Parallel.h"

#include "QuantCommon.h"

#include <cstdio>
#include <string>

namespace lowbit::quant {
namespace {

using QuantizeRowFn = void (*)(const float *, uint8_t *, int64_t, const float *);
using DequantizeRowFn = void (*)(const uint8_t *, float *, int64_t);

struct Codec {
  GgmlType type;
  QuantizeRowFn quantize;
  DequantizeRowFn dequantize;
  /// Offsets of the fp16 fields in a block, to catch scales that overflowed.
  uint8_t halfOffsets[2];
  uint8_t halfCount;
  /// The largest level times sub-block scale a weight can be decoded with;
  /// times 65504, the largest fp16 scale, it bounds the weights the format
  /// can hold. Larger ones are rejected before they reach the searches, where
  /// x^2 and the like would overflow fp32 and end in a silent all-zero block.
  float maxMultiplier;
};

#define LOWBIT_CODEC(T, ...) {GgmlType::T, detail::quantizeRow_##T, detail::dequantizeRow_##T, __VA_ARGS__}
const Codec kCodecs[] = {
    LOWBIT_CODEC(Q4_0, {0, 0}, 1, 8),          LOWBIT_CODEC(Q4_1, {0, 2}, 2, 15),
    LOWBIT_CODEC(Q5_0, {0, 0}, 1, 16),         LOWBIT_CODEC(Q5_1, {0, 2}, 2, 31),
    LOWBIT_CODEC(Q8_0, {0, 0}, 1, 127),        LOWBIT_CODEC(Q8_1, {0, 2}, 2, 127),
    LOWBIT_CODEC(Q2_K, {80, 82}, 2, 15 * 3),   LOWBIT_CODEC(Q3_K, {108, 0}, 1, 32 * 4),
    LOWBIT_CODEC(Q4_K, {0, 2}, 2, 63 * 15),    LOWBIT_CODEC(Q5_K, {0, 2}, 2, 63 * 31),
    LOWBIT_CODEC(Q6_K, {208, 0}, 1, 128 * 32), LOWBIT_CODEC(Q8_K, {0, 0}, 0, 0),
    LOWBIT_CODEC(IQ4_NL, {0, 0}, 1, 127),      LOWBIT_CODEC(IQ4_XS, {0, 0}, 1, 32 * 127),
    LOWBIT_CODEC(TQ1_0, {52, 0}, 1, 1),        LOWBIT_CODEC(TQ2_0, {64, 0}, 1, 1),
};
#undef LOWBIT_CODEC

const Codec *findCodec(GgmlType type) {
  for (const Codec &codec : kCodecs)
    if (codec.type == type)
      return &codec;
  return nullptr;
}

bool isPlainFloat(GgmlType type) {
  return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

std::string typeName(GgmlType type) {
  const GgmlTypeInfo *info = ggmlTypeInfo(static_cast<uint32_t>(type));
  return info ? std::string(info->name) : "ggml type " + std::to_string(static_cast<uint32_t>(type));
}

std::string formatFloat(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

Status checkShape(GgmlType type, int64_t rows, int64_t rowLength, const char *what) {
  if (!findCodec(type) && !isPlainFloat(type))
    return Status::error(std::string(what) + ": " + typeName(type) + " is not a type lowbit can " +
                         (std::string(what) == "quantize" ? "write" : "read"));
  if (rows < 0)
    return Status::error(std::string(what) + " " + typeName(type) + ": negative row count " + std::to_string(rows));
  const int64_t blockSize = ggmlTypeInfo(type).blockSize;
  if (rowLength <= 0 || rowLength % blockSize != 0)
    return Status::error(std::string(what) + " " + typeName(type) + ": the row length " +
                         std::to_string(rowLength) + " is not a positive multiple of the block size " +
                         std::to_string(blockSize));
  return Status::ok();
}

/// Index of the first NaN or Inf, or -1. The first pass only ORs a flag so
/// it vectorizes; the search runs only when something is wrong.
int64_t firstNonFinite(const float *x, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i)
    bad |= static_cast<uint32_t>((floatBits(x[i]) & 0x7f800000u) == 0x7f800000u);
  if (!bad)
    return -1;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      return i;
  return -1;
}

/// `rowIndex` < 0: the importance vector, which has no row.
Status checkFinite(GgmlType type, const float *row, int64_t rowIndex, int64_t n, const char *what) {
  const int64_t column = firstNonFinite(row, n);
  if (column < 0)
    return Status::ok();
  const std::string where = rowIndex < 0 ? "" : " row " + std::to_string(rowIndex) + ",";
  return Status::error("quantize " + typeName(type) + ": " + what + where + " column " + std::to_string(column) +
                       " is " + (std::isnan(row[column]) ? "NaN" : "Inf"));
}

Status checkImportance(GgmlType type, const float *importance, int64_t n) {
  if (!importance)
    return Status::ok();
  if (Status s = checkFinite(type, importance, -1, n, "importance"); s.failed())
    return s;
  for (int64_t i = 0; i < n; ++i)
    if (importance[i] < 0)
      return Status::error("quantize " + typeName(type) + ": importance column " + std::to_string(i) +
                           " is negative (" + formatFloat(importance[i]) + ")");
  return Status::ok();
}

/// max |x| of finite values: their magnitudes order as their bit patterns,
/// and an integer max vectorizes.
float largestMagnitude(const float *x, int64_t n) {
  uint32_t largest = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = floatBits(x[i]) & 0x7fffffffu;
    largest = bits > largest ? bits : largest;
  }
  return bitsToFloat(largest);
}

/// Fails when a weight is beyond what the format's fp16 scales can reach
/// (Q8_K, with its fp32 scale, has no limit).
Status checkMagnitude(const Codec &codec, const float *x, int64_t rowIndex, int64_t n) {
  if (codec.maxMultiplier == 0)
    return Status::ok();
  const float limit = 65504.f * codec.maxMultiplier;
  if (largestMagnitude(x, n) <= limit)
    return Status::ok();
  int64_t column = 0;
  while (std::fabs(x[column]) <= limit)
    ++column;
  return Status::error("quantize " + typeName(codec.type) + ": row " + std::to_string(rowIndex) + ", column " +
                       std::to_string(column) + ": " + formatFloat(x[column]) +
                       " does not fit in fp16 scales (largest magnitude " + typeName(codec.type) +
                       " can hold: " + formatFloat(limit) + ")");
}

/// Fails when a block of the packed row holds an fp16 field that overflowed.
Status checkHalfFields(const Codec &codec, const uint8_t *packed, const float *row, int64_t rowIndex,
                       int64_t rowLength) {
  const GgmlTypeInfo &info = ggmlTypeInfo(codec.type);
  for (int64_t b = 0; b < rowLength / info.blockSize; ++b) {
    for (int f = 0; f < codec.halfCount; ++f) {
      const uint16_t h = loadU16(packed + b * info.bytesPerBlock + codec.halfOffsets[f]);
      if ((h & 0x7c00u) != 0x7c00u)
        continue;
      const int64_t first = b * info.blockSize;
      return Status::error(
          "quantize " + typeName(codec.type) + ": row " + std::to_string(rowIndex) + ", block at columns " +
          std::to_string(first) + ".." + std::to_string(first + info.blockSize - 1) +
          ": its scale does not fit in fp16 (largest weight magnitude " +
          formatFloat(largestMagnitude(row + first, info.blockSize)) + "); the weights are too large for " +
          typeName(codec.type));
    }
  }
  return Status::ok();
}

Status quantizePlainRow(GgmlType type, const float *x, void *dst, int64_t rowIndex, int64_t n) {
  if (type == GgmlType::F32) {
    std::memcpy(dst, x, n * sizeof(float));
    return Status::ok();
  }
  auto *out = static_cast<uint16_t *>(dst);
  bool overflow = false;
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = type == GgmlType::F16 ? fp32ToFp16(x[i]) : fp32ToBf16(x[i]);
    out[i] = h;
    overflow |= type == GgmlType::F16 ? (h & 0x7c00u) == 0x7c00u : (h & 0x7f80u) == 0x7f80u;
  }
  if (!overflow)
    return Status::ok();
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = out[i];
    if (type == GgmlType::F16 ? (h & 0x7c00u) == 0x7c00u : (h & 0x7f80u) == 0x7f80u)
      return Status::error("quantize " + typeName(type) + ": row " + std::to_string(rowIndex) + ", column " +
                           std::to_string(i) + ": " + formatFloat(x[i]) + " overflows " + typeName(type));
  }
  return Status::ok();
}

void dequantizePlainRow(GgmlType type, const void *src, float *x, int64_t n) {
  if (type == GgmlType::F32) {
    std::memcpy(x, src, n * sizeof(float));
    return;
  }
  const auto *in = static_cast<const uint16_t *>(src);
  if (type == GgmlType::F16)
    for (int64_t i = 0; i < n; ++i)
      x[i] = fp16ToFp32(in[i]);
  else
    for (int64_t i = 0; i < n; ++i)
      x[i] = bf16ToFp32(in[i]);
}

/// Quantizes rows [begin, end); row numbers in messages are absolute.
Status quantizeRowRange(GgmlType type, const float *src, void *dst, int64_t begin, int64_t end,
                        int64_t rowLength, const float *importance, bool reference) {
  const int64_t bytes = rowBytes(type, rowLength);
  const Codec *codec = findCodec(type);
  for (int64_t r = begin; r < end; ++r) {
    const float *x = src + r * rowLength;
    uint8_t *y = static_cast<uint8_t *>(dst) + r * bytes;
    if (Status s = checkFinite(type, x, r, rowLength, "input"); s.failed())
      return s;
    if (!codec) {
      if (Status s = quantizePlainRow(type, x, y, r, rowLength); s.failed())
        return s;
      continue;
    }
    if (Status s = checkMagnitude(*codec, x, r, rowLength); s.failed())
      return s;
    if (reference && type == GgmlType::IQ4_NL)
      detail::quantizeRowReference_IQ4_NL(x, y, rowLength);
    else
      codec->quantize(x, y, rowLength, reference ? nullptr : importance);
    if (Status s = checkHalfFields(*codec, y, x, r, rowLength); s.failed())
      return s;
  }
  return Status::ok();
}

void dequantizeRowRange(GgmlType type, const void *src, float *dst, int64_t begin, int64_t end,
                        int64_t rowLength) {
  const int64_t bytes = rowBytes(type, rowLength);
  const Codec *codec = findCodec(type);
  for (int64_t r = begin; r < end; ++r) {
    const uint8_t *y = static_cast<const uint8_t *>(src) + r * bytes;
    float *x = dst + r * rowLength;
    if (codec)
      codec->dequantize(y, x, rowLength);
    else
      dequantizePlainRow(type, y, x, rowLength);
  }
}

Status quantizeChecked(GgmlType type, const float *src, void *dst, int64_t rows, int64_t rowLength,
                       const float *importance, bool reference, int threads) {
  if (Status s = checkShape(type, rows, rowLength, "quantize"); s.failed())
    return s;
  if (!reference)
    if (Status s = checkImportance(type, importance, rowLength); s.failed())
      return s;
  return parallelFor(rows, threads, [&](int64_t begin, int64_t end) {
    return quantizeRowRange(type, src, dst, begin, end, rowLength, importance, reference);
  });
}

} // namespace

bool canQuantize(GgmlType type) { return findCodec(type) || isPlainFloat(type); }
bool canDequantize(GgmlType type) { return canQuantize(type); }

int64_t rowBytes(GgmlType type, int64_t rowLength) {
  const GgmlTypeInfo *info = ggmlTypeInfo(static_cast<uint32_t>(type));
  if (!info || rowLength <= 0 || rowLength % info->blockSize != 0)
    return -1;
  return rowLength / info->blockSize * info->bytesPerBlock;
}

Status quantizeRows(GgmlType type, const float *src, void *dst, int64_t rows, int64_t rowLength,
                    const float *importance) {
  return quantizeChecked(type, src, dst, rows, rowLength, importance, false, 1);
}

Status quantizeRowsReference(GgmlType type, const float *src, void *dst, int64_t rows, int64_t rowLength) {
  return quantizeChecked(type, src, dst, rows, rowLength, nullptr, true, 1);
}

Status quantizeRowsParallel(GgmlType type, const float *src, void *dst, int64_t rows, int64_t rowLength,
                            const float *importance, int threads) {
  return quantizeChecked(type, src, dst, rows, rowLength, importance, false, threads);
}

Status dequantizeRows(GgmlType type, const void *src, float *dst, int64_t rows, int64_t rowLength) {
  return dequantizeRowsParallel(type, src, dst, rows, rowLength, 1);
}

Status dequantizeRowsParallel(GgmlType type, const void *src, float *dst, int64_t rows, int64_t rowLength,
                              int threads) {
  if (Status s = checkShape(type, rows, rowLength, "dequantize"); s.failed())
    return s;
  return parallelFor(rows, threads, [&](int64_t begin, int64_t end) {
    dequantizeRowRange(type, src, dst, begin, end, rowLength);
    return Status::ok();
  });
}

} // namespace lowbit::quant
