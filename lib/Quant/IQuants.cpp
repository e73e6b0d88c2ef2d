//===- IQuants.cpp - IQ4_NL and IQ4_XS -------------------------------------===//
//
// Non-uniform 4-bit codes through a fixed 16-entry table (GGUF_SPEC.md 2.13,
// 2.14) and the nearest-grid search of 3.7. llama-quantize always runs the
// search (ntry = 7), with or without importance; only IQ4_NL's `_ref`
// variant, which test-quantize-fns measures, skips it (ntry = -1).
//
//===----------------------------------------------------------------------===//

#include "QuantCommon.h"

namespace lowbit::quant::detail {
namespace {

constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
constexpr int kBlock = 32;

/// Sxq = sum w*T[q]*x and Sqq = sum w*T[q]^2 for the codes nearest id*x.
void tableFit(const float *x, const float *weight, float id, uint8_t *L, float &sumqx, float &sumq2) {
  // The codes first (independent, so this loop vectorizes), then the sums in
  // element order as ggml adds them.
  uint8_t codes[kBlock];
  for (int j = 0; j < kBlock; ++j)
    codes[j] = static_cast<uint8_t>(nearestTableIndex(kIq4Values, id * x[j]));
  sumqx = sumq2 = 0;
  for (int j = 0; j < kBlock; ++j) {
    const float q = kIq4Values[codes[j]];
    const float w = weight[j];
    sumqx += w * q * x[j];
    sumq2 += w * q * q;
  }
  if (L)
    std::memcpy(L, codes, kBlock);
}

/// The best scale of one block of 32; sets its codes L. Returns 0 for an
/// all-zero block and leaves L alone.
float searchBlockScale(const float *x, const float *weight, uint8_t *L, int ntry) {
  float amax = 0, max = 0;
  for (int j = 0; j < kBlock; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps)
    return 0;
  float d = ntry > 0 ? -max / kIq4Values[0] : max / kIq4Values[0];
  float sumqx, sumq2;
  tableFit(x, weight, 1 / d, L, sumqx, sumq2);
  d = sumqx / sumq2;
  float best = d * sumqx;
  for (int t = -ntry; t <= ntry; ++t) {
    tableFit(x, weight, (t + kIq4Values[0]) / max, nullptr, sumqx, sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

/// Weights of the search: x^2 alone, or importance * sqrt(sigma^2 + x^2)
/// with sigma^2 = 2 * mean square over the super-block.
void searchWeights(const float *x, const float *qw, float sigma2, float *weight) {
  for (int j = 0; j < kBlock; ++j)
    weight[j] = qw ? qw[j] * std::sqrt(sigma2 + x[j] * x[j]) : x[j] * x[j];
}

float superBlockSigma2(const float *x, int size) {
  float sigma2 = 0;
  for (int j = 0; j < size; ++j)
    sigma2 += x[j] * x[j];
  return sigma2 * (2.f / size);
}

void packIq4Nibbles(const uint8_t *L, uint8_t *qs, int blocks) {
  for (int i = 0; i < blocks; ++i)
    for (int j = 0; j < 16; ++j)
      qs[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

/// One IQ4_NL block: d@0, qs@2.
void quantizeBlockIq4Nl(const float *x, uint8_t *y, const float *qw, int ntry) {
  float weight[kBlock];
  // An all-zero block keeps these codes; they decode to 0 either way (ggml
  // would pack whatever its buffer held; we pick the code nearest zero).
  uint8_t L[kBlock];
  std::memset(L, 8, sizeof L);
  searchWeights(x, qw, superBlockSigma2(x, kBlock), weight);
  const float scale = searchBlockScale(x, weight, L, ntry);
  storeHalf(y, scale);
  if (ntry > 0) {
    const float id = scale ? 1 / scale : 0;
    for (int j = 0; j < kBlock; ++j)
      L[j] = static_cast<uint8_t>(nearestTableIndex(kIq4Values, id * x[j]));
  }
  packIq4Nibbles(L, y + 2, 1);
}

/// One IQ4_XS super-block: d@0, scales_h@2 (u16), scales_l@4, qs@8.
void quantizeBlockIq4Xs(const float *x, uint8_t *y, const float *qw) {
  float weight[kBlock], scales[8];
  uint8_t L[kQK];
  const float sigma2 = superBlockSigma2(x, kQK);
  float maxScale = 0, amaxScale = 0;
  for (int ib = 0; ib < 8; ++ib) {
    searchWeights(x + kBlock * ib, qw ? qw + kBlock * ib : nullptr, sigma2, weight);
    scales[ib] = searchBlockScale(x + kBlock * ib, weight, L + kBlock * ib, 7);
    if (std::fabs(scales[ib]) > amaxScale) {
      amaxScale = std::fabs(scales[ib]);
      maxScale = scales[ib];
    }
  }
  const float d = -maxScale / 32; // -0.0 for an all-zero super-block, as in ggml
  storeHalf(y, d);
  const float id = d ? 1 / d : 0.f;
  uint16_t scalesH = 0;
  std::memset(y + 4, 0, 4);
  for (int ib = 0; ib < 8; ++ib) {
    int l = clampInt(nearestInt(id * scales[ib]), -32, 31);
    const float dl = d * l;
    const float idl = dl ? 1 / dl : 0.f;
    for (int j = 0; j < kBlock; ++j)
      L[kBlock * ib + j] = static_cast<uint8_t>(nearestTableIndex(kIq4Values, idl * x[kBlock * ib + j]));
    l += 32;
    y[4 + ib / 2] |= static_cast<uint8_t>((l & 0xF) << (4 * (ib % 2)));
    scalesH |= static_cast<uint16_t>((l >> 4) << (2 * ib));
  }
  storeU16(y + 2, scalesH);
  packIq4Nibbles(L, y + 8, 8);
}

} // namespace

void quantizeRow_IQ4_NL(const float *x, uint8_t *y, int64_t n, const float *importance) {
  for (int64_t b = 0; b < n / kBlock; ++b)
    quantizeBlockIq4Nl(x + kBlock * b, y + 18 * b, importance ? importance + kBlock * b : nullptr, 7);
}

void quantizeRowReference_IQ4_NL(const float *x, uint8_t *y, int64_t n) {
  for (int64_t b = 0; b < n / kBlock; ++b)
    quantizeBlockIq4Nl(x + kBlock * b, y + 18 * b, nullptr, -1);
}

void quantizeRow_IQ4_XS(const float *x, uint8_t *y, int64_t n, const float *importance) {
  for (int64_t b = 0; b < n / kQK; ++b)
    quantizeBlockIq4Xs(x + kQK * b, y + 136 * b, importance ? importance + kQK * b : nullptr);
}

void dequantizeRow_IQ4_NL(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kBlock; ++b, x += kBlock, y += 18) {
    const float d = loadHalf(y);
    for (int j = 0; j < 16; ++j) {
      x[j] = d * kIq4Values[y[2 + j] & 0xF];
      x[j + 16] = d * kIq4Values[y[2 + j] >> 4];
    }
  }
}

void dequantizeRow_IQ4_XS(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 136) {
    const float d = loadHalf(y);
    const uint16_t scalesH = loadU16(y + 2);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((y[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scalesH >> (2 * ib)) & 3) << 4);
      const float dl = d * (ls - 32);
      const uint8_t *qs = y + 8 + 16 * ib;
      float *out = x + kBlock * ib;
      for (int j = 0; j < 16; ++j) {
        out[j] = dl * kIq4Values[qs[j] & 0xF];
        out[j + 16] = dl * kIq4Values[qs[j] >> 4];
      }
    }
  }
}

} // namespace lowbit::quant::detail
