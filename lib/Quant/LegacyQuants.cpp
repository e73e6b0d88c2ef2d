//===- LegacyQuants.cpp - Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 --------------===//
//
// Blocks of 32 (GGUF_SPEC.md 2.1-2.6). Without importance the reference
// quantizers of 3.1: one fp32 scale per block, codes from x * (1/d) with the
// C casts' truncation. With importance (3.9) Q4_0/Q5_0 search with
// make_qx_quants and Q4_1/Q5_1 with make_qkx3_quants; Q8_0 ignores it.
//
//===----------------------------------------------------------------------===//

#include "QuantCommon.h"

#include <algorithm>

namespace lowbit::quant::detail {
namespace {

constexpr int kQK32 = 32;

/// The signed value of largest magnitude in a block (first one on ties).
float blockSignedMax(const float *x) { return signedExtreme(x, kQK32, maxMagnitude(x, kQK32)); }

void blockMinMax(const float *x, float &min, float &max) {
  min = 3.402823466e+38f;
  max = -3.402823466e+38f;
  for (int j = 0; j < kQK32; ++j) {
    if (x[j] < min)
      min = x[j];
    if (x[j] > max)
      max = x[j];
  }
}

/// Packs 32 four-bit codes: element j in the low nibble of byte j, element
/// j + 16 in the high nibble.
void packNibbles(const uint8_t *codes, uint8_t *qs) {
  for (int j = 0; j < 16; ++j)
    qs[j] = static_cast<uint8_t>((codes[j] & 0xF) | ((codes[j + 16] & 0xF) << 4));
}

/// Packs 32 five-bit codes into low nibbles and the little-endian u32 qh.
void packFiveBits(const uint8_t *codes, uint8_t *qh, uint8_t *qs) {
  packNibbles(codes, qs);
  uint32_t high = 0;
  for (int j = 0; j < kQK32; ++j)
    high |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  for (int b = 0; b < 4; ++b)
    qh[b] = static_cast<uint8_t>(high >> (8 * b));
}

uint32_t loadU32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

/// sigma^2 of the importance path: mean square over the whole row.
float rowMeanSquare(const float *x, int64_t n) {
  float sum = 0;
  for (int64_t j = 0; j < n; ++j)
    sum += x[j] * x[j];
  return sum / n;
}

void importanceWeights(const float *x, const float *qw, float sigma2, float *weight) {
  for (int j = 0; j < kQK32; ++j)
    weight[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

// ---- symmetric 4/5-bit: d = max / -2^(bits-1) -----------------------------

/// Reference Q4_0/Q5_0 codes: q = min(top, trunc(x * id + offset + 0.5)).
template <int Half>
float symmetricCodes(const float *x, uint8_t *codes) {
  const float d = blockSignedMax(x) / -Half;
  const float id = d ? 1.0f / d : 0.0f;
  // With a finite id, x * id + Half + 0.5 lies in [0, 2 Half + 1) and a
  // plain cast is exact (and vectorizes); an Inf id (a block of subnormals)
  // needs the x86 out-of-range result.
  if (std::isfinite(id)) {
    for (int j = 0; j < kQK32; ++j) {
      const int q = static_cast<int>(x[j] * id + (Half + 0.5f));
      codes[j] = static_cast<uint8_t>(q < 2 * Half - 1 ? q : 2 * Half - 1);
    }
    return d;
  }
  for (int j = 0; j < kQK32; ++j) {
    const int8_t q = truncToInt8(x[j] * id + (Half + 0.5f));
    codes[j] = static_cast<uint8_t>(q < 2 * Half - 1 ? q : 2 * Half - 1);
  }
  return d;
}

/// Importance-weighted Q4_0/Q5_0 codes for one block (quantize_row_q*_0_impl).
template <int Half>
float symmetricCodesWeighted(const float *x, const float *qw, float sigma2, uint8_t *codes) {
  float weight[kQK32];
  int8_t L[kQK32];
  importanceWeights(x, qw, sigma2, weight);
  const float d = makeQxQuants(kQK32, Half, x, L, 1, weight);
  for (int j = 0; j < kQK32; ++j)
    codes[j] = static_cast<uint8_t>(L[j]);
  return d;
}

constexpr int kChunk = 16; ///< blocks searched side by side

/// Importance-weighted codes and scales for up to kChunk consecutive blocks:
/// a full chunk goes through the lane search (same bytes, vectorized).
template <int Half>
void symmetricCodesWeightedChunk(const float *x, const float *qw, float sigma2, int blocks, uint8_t *codes,
                                 float *d) {
  if (blocks < kChunk) {
    for (int b = 0; b < blocks; ++b)
      d[b] = symmetricCodesWeighted<Half>(x + b * kQK32, qw + b * kQK32, sigma2, codes + b * kQK32);
    return;
  }
  float weight[kChunk * kQK32];
  int8_t L[kChunk * kQK32];
  for (int b = 0; b < kChunk; ++b)
    importanceWeights(x + b * kQK32, qw + b * kQK32, sigma2, weight + b * kQK32);
  makeQxQuantsLanes<kChunk>(kQK32, Half, x, L, weight, d);
  for (int i = 0; i < kChunk * kQK32; ++i)
    codes[i] = static_cast<uint8_t>(L[i]);
}

// ---- asymmetric 4/5-bit: d = (max - min) / (2^bits - 1), m = min -----------

template <int Top>
void asymmetricCodes(const float *x, uint8_t *codes, float &d, float &m) {
  float min, max;
  blockMinMax(x, min, max);
  d = (max - min) / Top;
  m = min;
  const float id = d ? 1.0f / d : 0.0f;
  if (std::isfinite(id)) { // (x - min) * id + 0.5 in [0, Top + 1): a plain cast is exact
    for (int j = 0; j < kQK32; ++j) {
      const int q = static_cast<int>((x[j] - min) * id + 0.5f);
      codes[j] = static_cast<uint8_t>(Top == 15 && q > 15 ? 15 : q);
    }
    return;
  }
  for (int j = 0; j < kQK32; ++j) {
    const float scaled = (x[j] - min) * id;
    if (Top == 15) { // Q4_1 clamps through int8; Q5_1 casts to uint8 with no clamp
      const int8_t q = truncToInt8(scaled + 0.5f);
      codes[j] = static_cast<uint8_t>(q < 15 ? q : 15);
    } else {
      codes[j] = truncToUint8(scaled + 0.5f);
    }
  }
}

template <int Top>
void asymmetricCodesWeighted(const float *x, const float *qw, float sigma2, uint8_t *codes, float &d,
                             float &m) {
  float weight[kQK32];
  uint8_t Laux[kQK32];
  importanceWeights(x, qw, sigma2, weight);
  float theMin;
  d = makeQkxQuants(kQK32, Top, x, weight, codes, theMin, Laux, -0.9f, 0.05f, 36, false);
  m = -theMin;
}

// ---- 8-bit -----------------------------------------------------------------

float q8Codes(const float *x, int8_t *qs) {
  const float amax = maxMagnitude(x, kQK32);
  const float d = amax / 127;
  const float id = d ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK32; ++j)
    qs[j] = static_cast<int8_t>(roundAwayToInt32(x[j] * id)); // roundf: ties away from zero
  return d;
}

} // namespace

// Block layouts: Q4_0 d@0 qs@2 (18 B); Q4_1 d@0 m@2 qs@4 (20 B);
// Q5_0 d@0 qh@2 qs@6 (22 B); Q5_1 d@0 m@2 qh@4 qs@8 (24 B);
// Q8_0 d@0 qs@2 (34 B); Q8_1 d@0 s@2 qs@4 (36 B).

/// Q4_0 (Half 8, 18-byte blocks) and Q5_0 (Half 16, 22-byte blocks).
template <int Half>
void quantizeRowSymmetric(const float *x, uint8_t *y, int64_t n, const float *importance) {
  constexpr int kBytes = Half == 8 ? 18 : 22;
  const int64_t blocks = n / kQK32;
  const float sigma2 = importance ? rowMeanSquare(x, n) : 0.f;
  uint8_t codes[kChunk * kQK32];
  float d[kChunk];
  for (int64_t b = 0; b < blocks; b += kChunk) {
    const int chunk = static_cast<int>(std::min<int64_t>(kChunk, blocks - b));
    if (importance)
      symmetricCodesWeightedChunk<Half>(x + b * kQK32, importance + b * kQK32, sigma2, chunk, codes, d);
    else
      for (int c = 0; c < chunk; ++c)
        d[c] = symmetricCodes<Half>(x + (b + c) * kQK32, codes + c * kQK32);
    for (int c = 0; c < chunk; ++c) {
      uint8_t *block = y + (b + c) * kBytes;
      storeHalf(block, d[c]);
      if (Half == 8)
        packNibbles(codes + c * kQK32, block + 2);
      else
        packFiveBits(codes + c * kQK32, block + 2, block + 6);
    }
  }
}

void quantizeRow_Q4_0(const float *x, uint8_t *y, int64_t n, const float *importance) {
  quantizeRowSymmetric<8>(x, y, n, importance);
}

void quantizeRow_Q5_0(const float *x, uint8_t *y, int64_t n, const float *importance) {
  quantizeRowSymmetric<16>(x, y, n, importance);
}

/// Q4_1 (Top 15, 20-byte blocks) and Q5_1 (Top 31, 24-byte blocks); with
/// importance, full chunks of 16 blocks search side by side.
template <int Top>
void quantizeRowAsymmetric(const float *x, uint8_t *y, int64_t n, const float *importance) {
  constexpr int kBytes = Top == 15 ? 20 : 24;
  const int64_t blocks = n / kQK32;
  const float sigma2 = importance ? rowMeanSquare(x, n) : 0.f;
  uint8_t codes[kChunk * kQK32];
  float d[kChunk], m[kChunk];
  for (int64_t b = 0; b < blocks; b += kChunk) {
    const int chunk = static_cast<int>(std::min<int64_t>(kChunk, blocks - b));
    const float *xb = x + b * kQK32;
    if (importance && chunk == kChunk) {
      float weight[kChunk * kQK32], theMin[kChunk];
      for (int c = 0; c < kChunk; ++c)
        importanceWeights(xb + c * kQK32, importance + (b + c) * kQK32, sigma2, weight + c * kQK32);
      makeQkxQuantsLanes<kChunk>(kQK32, Top, xb, weight, codes, d, theMin, -0.9f, 0.05f, 36, false);
      for (int c = 0; c < kChunk; ++c)
        m[c] = -theMin[c];
    } else {
      for (int c = 0; c < chunk; ++c) {
        if (importance)
          asymmetricCodesWeighted<Top>(xb + c * kQK32, importance + (b + c) * kQK32, sigma2, codes + c * kQK32,
                                       d[c], m[c]);
        else
          asymmetricCodes<Top>(xb + c * kQK32, codes + c * kQK32, d[c], m[c]);
      }
    }
    for (int c = 0; c < chunk; ++c) {
      uint8_t *block = y + (b + c) * kBytes;
      storeHalf(block, d[c]);
      storeHalf(block + 2, m[c]);
      if (Top == 15)
        packNibbles(codes + c * kQK32, block + 4);
      else
        packFiveBits(codes + c * kQK32, block + 4, block + 8);
    }
  }
}

void quantizeRow_Q4_1(const float *x, uint8_t *y, int64_t n, const float *importance) {
  quantizeRowAsymmetric<15>(x, y, n, importance);
}

void quantizeRow_Q5_1(const float *x, uint8_t *y, int64_t n, const float *importance) {
  quantizeRowAsymmetric<31>(x, y, n, importance);
}

void quantizeRow_Q8_0(const float *x, uint8_t *y, int64_t n, const float *) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 34) {
    int8_t qs[kQK32];
    storeHalf(y, q8Codes(x, qs));
    std::memcpy(y + 2, qs, kQK32);
  }
}

void quantizeRow_Q8_1(const float *x, uint8_t *y, int64_t n, const float *) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 36) {
    int8_t qs[kQK32];
    const float d = q8Codes(x, qs);
    int sum = 0;
    for (int j = 0; j < kQK32; ++j)
      sum += qs[j];
    storeHalf(y, d);
    storeHalf(y + 2, sum * d);
    std::memcpy(y + 4, qs, kQK32);
  }
}

void dequantizeRow_Q4_0(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 18) {
    const float d = loadHalf(y);
    for (int j = 0; j < 16; ++j) {
      x[j] = ((y[2 + j] & 0xF) - 8) * d;
      x[j + 16] = ((y[2 + j] >> 4) - 8) * d;
    }
  }
}

void dequantizeRow_Q4_1(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 20) {
    const float d = loadHalf(y), m = loadHalf(y + 2);
    for (int j = 0; j < 16; ++j) {
      x[j] = (y[4 + j] & 0xF) * d + m;
      x[j + 16] = (y[4 + j] >> 4) * d + m;
    }
  }
}

void dequantizeRow_Q5_0(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 22) {
    const float d = loadHalf(y);
    const uint32_t qh = loadU32(y + 2);
    for (int j = 0; j < 16; ++j) {
      const int lo = (y[6 + j] & 0xF) | (((qh >> j) & 1) << 4);
      const int hi = (y[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      x[j] = (lo - 16) * d;
      x[j + 16] = (hi - 16) * d;
    }
  }
}

void dequantizeRow_Q5_1(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 24) {
    const float d = loadHalf(y), m = loadHalf(y + 2);
    const uint32_t qh = loadU32(y + 4);
    for (int j = 0; j < 16; ++j) {
      const int lo = (y[8 + j] & 0xF) | (((qh >> j) & 1) << 4);
      const int hi = (y[8 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      x[j] = lo * d + m;
      x[j + 16] = hi * d + m;
    }
  }
}

void dequantizeRow_Q8_0(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 34) {
    const float d = loadHalf(y);
    for (int j = 0; j < kQK32; ++j)
      x[j] = static_cast<int8_t>(y[2 + j]) * d;
  }
}

void dequantizeRow_Q8_1(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK32; ++b, x += kQK32, y += 36) {
    const float d = loadHalf(y);
    for (int j = 0; j < kQK32; ++j)
      x[j] = static_cast<int8_t>(y[4 + j]) * d;
  }
}

} // namespace lowbit::quant::detail
