//===- TernaryQuants.cpp - TQ1_0 and TQ2_0 ---------------------------------===//
//
// Ternary super-blocks of 256 (GGUF_SPEC.md 2.15, 2.16, 3.8): d = amax, trits
// t = lroundf(x * (1/d)) + 1, base-3 packed five to a byte (TQ1_0) or two bits
// each (TQ2_0). No importance.
//
//===----------------------------------------------------------------------===//

#include "QuantCommon.h"

namespace lowbit::quant::detail {
namespace {

/// d = amax of the super-block; id = 1/d (0 for an all-zero block).
float ternaryScale(const float *x, float &id) {
  const float amax = maxMagnitude(x, kQK);
  id = amax ? 1.0f / amax : 0.0f;
  return amax;
}

/// A trit in {0, 1, 2} for t - 1 in {-1, 0, +1}, as an 8-bit quantity the way
/// ggml accumulates it.
uint8_t trit(float x, float id) { return static_cast<uint8_t>(lroundToInt(x * id) + 1); }

/// Base-3 digits (first most significant) -> byte = ceil(v * 256 / 243).
uint8_t packTrits(const float *x, int stride, int count, float id) {
  uint8_t q = 0;
  for (int n = 0; n < count; ++n)
    q = static_cast<uint8_t>(q * 3 + trit(x[n * stride], id));
  if (count == 4)
    q = static_cast<uint8_t>(q * 3); // the unused fifth trit is 0
  return static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + 242) / 243);
}

/// Trit n of a base-3 packed byte.
int unpackTrit(uint8_t byte, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t u = static_cast<uint8_t>(byte * kPow3[n]);
  return (static_cast<uint16_t>(u) * 3) >> 8;
}

} // namespace

// TQ1_0: qs[48]@0, qh[4]@48, d@52.
void quantizeRow_TQ1_0(const float *x, uint8_t *y, int64_t n, const float *) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 54) {
    float id;
    storeHalf(y + 52, ternaryScale(x, id));
    for (int m = 0; m < 32; ++m) // elements 32n + m, n = 0..4
      y[m] = packTrits(x + m, 32, 5, id);
    for (int m = 0; m < 16; ++m) // elements 160 + 16n + m
      y[32 + m] = packTrits(x + 160 + m, 16, 5, id);
    for (int j = 0; j < 4; ++j) // elements 240 + 4n + j, n = 0..3
      y[48 + j] = packTrits(x + 240 + j, 4, 4, id);
  }
}

void dequantizeRow_TQ1_0(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 54) {
    const float d = loadHalf(y + 52);
    for (int t = 0; t < 5; ++t)
      for (int m = 0; m < 32; ++m)
        x[32 * t + m] = static_cast<float>(unpackTrit(y[m], t) - 1) * d;
    for (int t = 0; t < 5; ++t)
      for (int m = 0; m < 16; ++m)
        x[160 + 16 * t + m] = static_cast<float>(unpackTrit(y[32 + m], t) - 1) * d;
    for (int t = 0; t < 4; ++t)
      for (int j = 0; j < 4; ++j)
        x[240 + 4 * t + j] = static_cast<float>(unpackTrit(y[48 + j], t) - 1) * d;
  }
}

// TQ2_0: qs[64]@0, d@64.
void quantizeRow_TQ2_0(const float *x, uint8_t *y, int64_t n, const float *) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 66) {
    float id;
    storeHalf(y + 64, ternaryScale(x, id));
    for (int half = 0; half < 2; ++half) {
      for (int m = 0; m < 32; ++m) {
        uint8_t q = 0;
        for (int k = 0; k < 4; ++k)
          q = static_cast<uint8_t>(q + ((trit(x[128 * half + 32 * k + m], id) & 3) << (2 * k)));
        y[32 * half + m] = q;
      }
    }
  }
}

void dequantizeRow_TQ2_0(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 66) {
    const float d = loadHalf(y + 64);
    for (int h = 0; h < 2; ++h)
      for (int p = 0; p < 4; ++p)
        for (int m = 0; m < 32; ++m)
          x[128 * h + 32 * p + m] = static_cast<float>(((y[32 * h + m] >> (2 * p)) & 3) - 1) * d;
  }
}

} // namespace lowbit::quant::detail
