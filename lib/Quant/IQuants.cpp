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

/// searchBlockScale for 16 blocks side by side (block j at x + 32j, weight +
/// 32j, L + 32j): arrays are [element][lane] so the lane loops vectorize, and
/// every lane does exactly searchBlockScale's arithmetic. All-zero blocks get
/// scale 0 and keep their L, as there.
constexpr int kLanes = 16;

void tableFitLanes(const float (*x)[kLanes], const float (*w)[kLanes], const float *id, uint8_t (*codes)[kLanes],
                   float *sumqx, float *sumq2) {
  for (int i = 0; i < kBlock; ++i)
    for (int j = 0; j < kLanes; ++j)
      codes[i][j] = static_cast<uint8_t>(nearestTableIndex(kIq4Values, id[j] * x[i][j]));
  for (int j = 0; j < kLanes; ++j)
    sumqx[j] = sumq2[j] = 0;
  for (int i = 0; i < kBlock; ++i)
    for (int j = 0; j < kLanes; ++j) {
      const float q = kIq4Values[codes[i][j]];
      sumqx[j] += w[i][j] * q * x[i][j];
      sumq2[j] += w[i][j] * q * q;
    }
}

void searchBlockScaleLanes(const float *x, const float *weight, uint8_t *L, int ntry, float *scales) {
  float xt[kBlock][kLanes], wt[kBlock][kLanes];
  uint8_t first[kBlock][kLanes], codes[kBlock][kLanes];
  for (int i = 0; i < kBlock; ++i)
    for (int j = 0; j < kLanes; ++j) {
      xt[i][j] = x[kBlock * j + i];
      wt[i][j] = weight[kBlock * j + i];
    }
  float amax[kLanes] = {}, max[kLanes] = {}, id[kLanes], d[kLanes], best[kLanes], sumqx[kLanes], sumq2[kLanes];
  for (int i = 0; i < kBlock; ++i)
    for (int j = 0; j < kLanes; ++j) {
      const float ax = std::fabs(xt[i][j]);
      const bool larger = ax > amax[j];
      amax[j] = larger ? ax : amax[j];
      max[j] = larger ? xt[i][j] : max[j];
    }
  for (int j = 0; j < kLanes; ++j)
    id[j] = 1 / (ntry > 0 ? -max[j] / kIq4Values[0] : max[j] / kIq4Values[0]);
  tableFitLanes(xt, wt, id, first, sumqx, sumq2);
  for (int j = 0; j < kLanes; ++j) {
    d[j] = sumqx[j] / sumq2[j];
    best[j] = d[j] * sumqx[j];
  }
  for (int t = -ntry; t <= ntry; ++t) {
    for (int j = 0; j < kLanes; ++j)
      id[j] = (t + kIq4Values[0]) / max[j];
    tableFitLanes(xt, wt, id, codes, sumqx, sumq2);
    for (int j = 0; j < kLanes; ++j) {
      if (sumq2[j] > 0 && sumqx[j] * sumqx[j] > best[j] * sumq2[j]) {
        d[j] = sumqx[j] / sumq2[j];
        best[j] = d[j] * sumqx[j];
      }
    }
  }
  for (int j = 0; j < kLanes; ++j) {
    const bool zero = amax[j] < kGroupMaxEps;
    scales[j] = zero ? 0.f : d[j];
    if (!zero)
      for (int i = 0; i < kBlock; ++i)
        L[kBlock * j + i] = first[i][j];
  }
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

/// The per-block scales of one IQ4_XS super-block (weights already set).
void searchSuperBlockIq4Xs(const float *x, const float *weight, uint8_t *L, float *scales) {
  for (int ib = 0; ib < 8; ++ib)
    scales[ib] = searchBlockScale(x + kBlock * ib, weight + kBlock * ib, L + kBlock * ib, 7);
}

void superBlockWeightsIq4Xs(const float *x, const float *qw, float *weight) {
  const float sigma2 = superBlockSigma2(x, kQK);
  for (int ib = 0; ib < 8; ++ib)
    searchWeights(x + kBlock * ib, qw ? qw + kBlock * ib : nullptr, sigma2, weight + kBlock * ib);
}

/// One IQ4_XS super-block, d@0, scales_h@2 (u16), scales_l@4, qs@8, from the
/// block scales of the search.
void finishBlockIq4Xs(const float *x, uint8_t *y, const float *scales) {
  uint8_t L[kQK];
  float maxScale = 0, amaxScale = 0;
  for (int ib = 0; ib < 8; ++ib) {
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
  const int64_t blocks = n / kBlock;
  int64_t b = 0;
  for (; b + kLanes <= blocks; b += kLanes) { // full chunks search side by side
    const float *xb = x + kBlock * b;
    float weight[kLanes * kBlock], scales[kLanes];
    uint8_t L[kLanes * kBlock];
    for (int c = 0; c < kLanes; ++c)
      searchWeights(xb + kBlock * c, importance ? importance + kBlock * (b + c) : nullptr,
                    superBlockSigma2(xb + kBlock * c, kBlock), weight + kBlock * c);
    searchBlockScaleLanes(xb, weight, L, 7, scales);
    for (int c = 0; c < kLanes; ++c) {
      // With the search (ntry > 0) the codes are always redone from the scale.
      uint8_t *block = y + 18 * (b + c);
      storeHalf(block, scales[c]);
      const float id = scales[c] ? 1 / scales[c] : 0;
      for (int j = 0; j < kBlock; ++j)
        L[kBlock * c + j] = static_cast<uint8_t>(nearestTableIndex(kIq4Values, id * xb[kBlock * c + j]));
      packIq4Nibbles(L + kBlock * c, block + 2, 1);
    }
  }
  for (; b < blocks; ++b)
    quantizeBlockIq4Nl(x + kBlock * b, y + 18 * b, importance ? importance + kBlock * b : nullptr, 7);
}

void quantizeRowReference_IQ4_NL(const float *x, uint8_t *y, int64_t n) {
  for (int64_t b = 0; b < n / kBlock; ++b)
    quantizeBlockIq4Nl(x + kBlock * b, y + 18 * b, nullptr, -1);
}

void quantizeRow_IQ4_XS(const float *x, uint8_t *y, int64_t n, const float *importance) {
  const int64_t blocks = n / kQK;
  for (int64_t b = 0; b < blocks; b += 2) { // two super-blocks = 16 lanes
    const int count = blocks - b >= 2 ? 2 : 1;
    const float *xb = x + kQK * b;
    float weight[2 * kQK], scales[16];
    uint8_t L[2 * kQK];
    for (int c = 0; c < count; ++c)
      superBlockWeightsIq4Xs(xb + kQK * c, importance ? importance + kQK * (b + c) : nullptr, weight + kQK * c);
    if (count == 2)
      searchBlockScaleLanes(xb, weight, L, 7, scales);
    else
      searchSuperBlockIq4Xs(xb, weight, L, scales);
    for (int c = 0; c < count; ++c)
      finishBlockIq4Xs(xb + kQK * c, y + 136 * (b + c), scales + 8 * c);
  }
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
