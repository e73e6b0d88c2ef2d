//===- KQuants.cpp - Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K --------------------===//
//
// Super-blocks of 256 (GGUF_SPEC.md 2.7-2.12, algorithms 3.3-3.6). Each
// quantizer finds per-sub-block scales (and mins), quantizes those to 4, 6 or
// 8 bits under an fp16 super-scale, then re-quantizes every weight against
// the scales as stored, dividing by d * sc as ggml does.
//
//===----------------------------------------------------------------------===//

#include "QuantCommon.h"

namespace lowbit::quant::detail {
namespace {

float sumOfSquares(const float *x, int n) {
  float sum = 0;
  for (int j = 0; j < n; ++j)
    sum += x[j] * x[j];
  return sum;
}

// ---- Q2_K: d@80 dmin@82 scales@0 qs@16 ------------------------------------

void requantizeQ2K(const float *x, uint8_t *y, uint8_t *L) {
  const float dAll = loadHalf(y + 80), mAll = loadHalf(y + 82);
  for (int j = 0; j < 16; ++j) {
    const float d = dAll * (y[j] & 0xF);
    if (!d)
      continue; // keeps the search's codes, as ggml does
    const float dm = mAll * (y[j] >> 4);
    for (int ii = 0; ii < 16; ++ii)
      L[16 * j + ii] = static_cast<uint8_t>(clampInt(nearestInt((x[16 * j + ii] + dm) / d), 0, 3));
  }
}

void quantizeBlockQ2K(const float *x, uint8_t *y) {
  uint8_t L[kQK];
  float weights[kQK], mins[16], scales[16];
  float maxScale = 0, maxMin = 0;
  for (int i = 0; i < kQK; ++i)
    weights[i] = std::fabs(x[i]);
  makeQkxQuantsLanes<16>(16, 3, x, weights, L, scales, mins, -0.5f, 0.1f, 15, true);
  for (int j = 0; j < 16; ++j) {
    if (scales[j] > maxScale)
      maxScale = scales[j];
    if (mins[j] > maxMin)
      maxMin = mins[j];
  }
  const float q4scale = 15.f;
  if (maxScale > 0) {
    const float iscale = q4scale / maxScale;
    for (int j = 0; j < 16; ++j)
      y[j] = static_cast<uint8_t>(nearestInt(iscale * scales[j]));
    storeHalf(y + 80, maxScale / q4scale);
  } else {
    std::memset(y, 0, 16);
    storeHalf(y + 80, 0.f);
  }
  if (maxMin > 0) {
    const float iscale = q4scale / maxMin;
    for (int j = 0; j < 16; ++j)
      y[j] |= static_cast<uint8_t>(static_cast<unsigned>(nearestInt(iscale * mins[j])) << 4); // two's complement, as in C on x86
    storeHalf(y + 82, maxMin / q4scale);
  } else {
    storeHalf(y + 82, 0.f);
  }
  requantizeQ2K(x, y, L);
  packTwoBitPlanes(L, y + 16);
}

void quantizeBlockQ2KWeighted(const float *x, uint8_t *y, const float *qw) {
  uint8_t L[kQK], Ls[16], Lm[16];
  float weight[kQK], mins[16], scales[16], sw[16];
  const float sigma2 = sumOfSquares(x, kQK) / kQK; // no factor 2 for Q2_K
  for (int i = 0; i < kQK; ++i)
    weight[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
  for (int j = 0; j < 16; ++j) {
    sw[j] = 0;
    for (int l = 0; l < 16; ++l)
      sw[j] += weight[16 * j + l];
  }
  makeQkxQuantsLanes<16>(16, 3, x, weight, L, scales, mins, -0.9f, 0.05f, 36, false);
  const float dm = makeQpQuants(16, 15, scales, Ls, sw);
  const float mm = makeQpQuants(16, 15, mins, Lm, sw);
  storeHalf(y + 80, dm);
  storeHalf(y + 82, mm);
  for (int j = 0; j < 16; ++j)
    y[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
  requantizeQ2K(x, y, L);
  packTwoBitPlanes(L, y + 16);
}

// ---- Q3_K: hmask@0 qs@32 scales@96 d@108 ----------------------------------

/// Stores sixteen 6-bit codes (0..63) in Q3_K's 12-byte scale field.
void packQ3Scales(const int *codes, uint8_t *scales) {
  std::memset(scales, 0, 12);
  for (int j = 0; j < 16; ++j) {
    const int l = codes[j];
    if (j < 8)
      scales[j] = static_cast<uint8_t>(l & 0xF);
    else
      scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
    scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
  }
}

int unpackQ3Scale(const uint8_t *scales, int j) {
  const int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

void requantizeAndPackQ3K(const float *x, uint8_t *y, int8_t *L) {
  const float dAll = loadHalf(y + 108);
  for (int j = 0; j < 16; ++j) {
    const float d = dAll * unpackQ3Scale(y + 96, j);
    if (!d)
      continue;
    for (int ii = 0; ii < 16; ++ii)
      L[16 * j + ii] = static_cast<int8_t>(clampInt(nearestInt(x[16 * j + ii] / d), -4, 3) + 4);
  }
  std::memset(y, 0, 32);
  uint8_t low[kQK];
  for (int i = 0; i < kQK; ++i) {
    if (L[i] > 3)
      y[i % 32] |= static_cast<uint8_t>(1u << (i / 32));
    low[i] = static_cast<uint8_t>(L[i] > 3 ? L[i] - 4 : L[i]);
  }
  packTwoBitPlanes(low, y + 32);
}

void quantizeBlockQ3K(const float *x, uint8_t *y) {
  int8_t L[kQK];
  float scales[16];
  float maxScale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = makeQ3Quants(16, 4, x + 16 * j, L + 16 * j, true);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      maxScale = scales[j];
    }
  }
  if (maxScale) {
    const float iscale = -32.f / maxScale;
    int codes[16];
    for (int j = 0; j < 16; ++j) {
      const int8_t l = static_cast<int8_t>(nearestInt(iscale * scales[j]));
      codes[j] = clampInt(l, -32, 31) + 32;
    }
    packQ3Scales(codes, y + 96);
    storeHalf(y + 108, 1 / iscale);
  } else {
    std::memset(y + 96, 0, 12);
    storeHalf(y + 108, 0.f);
  }
  requantizeAndPackQ3K(x, y, L);
}

void quantizeBlockQ3KWeighted(const float *x, uint8_t *y, const float *qw) {
  int8_t L[kQK], Ls[16];
  float scales[16], sw[16];
  const float sigma2 = 2 * sumOfSquares(x, kQK) / kQK;
  float weights[kQK];
  for (int i = 0; i < kQK; ++i)
    weights[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
  for (int j = 0; j < 16; ++j) {
    float sumw = 0;
    for (int l = 0; l < 16; ++l)
      sumw += weights[16 * j + l];
    sw[j] = sumw;
  }
  makeQxQuantsLanes<16>(16, 4, x, L, weights, scales);
  const float dBlock = makeQxQuants(16, 32, scales, Ls, 1, sw);
  int codes[16];
  for (int j = 0; j < 16; ++j)
    codes[j] = Ls[j];
  packQ3Scales(codes, y + 96);
  storeHalf(y + 108, dBlock);
  requantizeAndPackQ3K(x, y, L);
}

// ---- Q4_K / Q5_K: d@0 dmin@2 scales@4, Q4_K qs@16, Q5_K qh@16 qs@48 ---------

template <int Nmax>
void requantizeQ45K(const float *x, const uint8_t *y, uint8_t *L) {
  const float dAll = loadHalf(y), mAll = loadHalf(y + 2);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    unpackScaleMinK4(j, y + 4, sc, m);
    const float d = dAll * sc;
    if (!d)
      continue;
    const float dm = mAll * m;
    for (int ii = 0; ii < 32; ++ii)
      L[32 * j + ii] = static_cast<uint8_t>(clampInt(nearestInt((x[32 * j + ii] + dm) / d), 0, Nmax));
  }
}

template <int Nmax>
void packQ45K(const uint8_t *L, uint8_t *y) {
  if (Nmax == 15) {
    packChunkNibbles(L, y + 16);
    return;
  }
  std::memset(y + 16, 0, 32);
  for (int i = 0; i < kQK; ++i)
    if (L[i] > 15)
      y[16 + i % 32] |= static_cast<uint8_t>(1u << (i / 32));
  packChunkNibbles(L, y + 48);
}

/// Search weights of the reference Q4_K/Q5_K: per sub-block of 32,
/// sqrt(mean x^2) + |x|.
void referenceWeightsQ45K(const float *x, float *weights) {
  for (int j = 0; j < 8; ++j) {
    const float avX = std::sqrt(sumOfSquares(x + 32 * j, 32) / 32);
    for (int l = 0; l < 32; ++l)
      weights[32 * j + l] = avX + std::fabs(x[32 * j + l]);
  }
}

/// Importance weights qw * sqrt(sigma^2 + x^2), sigma^2 = 2 * mean square of
/// the super-block, and their sums per sub-block.
void importanceWeightsQ45K(const float *x, const float *qw, float *weights, float *sw) {
  const float sigma2 = 2 * sumOfSquares(x, kQK) / kQK;
  for (int i = 0; i < kQK; ++i)
    weights[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
  for (int j = 0; j < 8; ++j) {
    float sumw = 0;
    for (int l = 0; l < 32; ++l)
      sumw += weights[32 * j + l];
    sw[j] = sumw;
  }
}

/// Reference Q4_K (Nmax 15) and Q5_K (Nmax 31) once the sub-block search has
/// run: 6-bit codes against the largest scale and min.
template <int Nmax>
void finishBlockQ45K(const float *x, uint8_t *y, uint8_t *L, const float *scales, const float *mins) {
  float maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; ++j) {
    if (scales[j] > maxScale)
      maxScale = scales[j];
    if (mins[j] > maxMin)
      maxMin = mins[j];
  }
  const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
  const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    const uint8_t s = static_cast<uint8_t>(nearestInt(invScale * scales[j]));
    const uint8_t m = static_cast<uint8_t>(nearestInt(invMin * mins[j]));
    ls[j] = s < 63 ? s : 63;
    lm[j] = m < 63 ? m : 63;
  }
  packScaleMinK4(y + 4, ls, lm);
  storeHalf(y, maxScale / 63.f);
  storeHalf(y + 2, maxMin / 63.f);
  requantizeQ45K<Nmax>(x, y, L);
  packQ45K<Nmax>(L, y);
}

/// The importance variant: scales and mins coded by make_qp_quants.
template <int Nmax>
void finishBlockQ45KWeighted(const float *x, uint8_t *y, uint8_t *L, const float *scales, const float *mins,
                             const float *sw) {
  uint8_t Ls[8], Lm[8];
  const float dBlock = makeQpQuants(8, 63, scales, Ls, sw);
  const float mBlock = makeQpQuants(8, 63, mins, Lm, sw);
  packScaleMinK4(y + 4, Ls, Lm);
  storeHalf(y, dBlock);
  storeHalf(y + 2, mBlock);
  requantizeQ45K<Nmax>(x, y, L);
  packQ45K<Nmax>(L, y);
}

/// Q4_K/Q5_K rows, two super-blocks at a time so that the sub-block search
/// runs 16 lanes wide (each super-block's bytes are independent of the other).
template <int Nmax>
void quantizeRowQ45K(const float *x, uint8_t *y, int64_t n, const float *importance) {
  constexpr int kBytes = Nmax == 15 ? 144 : 176;
  const float rmin = importance ? -0.9f : (Nmax == 15 ? -1.f : -0.5f);
  const float rdelta = importance ? 0.05f : 0.1f;
  const int nstep = importance ? 36 : (Nmax == 15 ? 20 : 15);
  const int64_t blocks = n / kQK;
  for (int64_t b = 0; b < blocks; b += 2) {
    const int count = blocks - b >= 2 ? 2 : 1;
    const float *xb = x + b * kQK;
    float weights[2 * kQK], scales[16], mins[16], sw[16];
    uint8_t L[2 * kQK];
    for (int c = 0; c < count; ++c) {
      if (importance)
        importanceWeightsQ45K(xb + c * kQK, importance + (b + c) * kQK, weights + c * kQK, sw + 8 * c);
      else
        referenceWeightsQ45K(xb + c * kQK, weights + c * kQK);
    }
    if (count == 2)
      makeQkxQuantsLanes<16>(32, Nmax, xb, weights, L, scales, mins, rmin, rdelta, nstep, false);
    else
      makeQkxQuantsLanes<8>(32, Nmax, xb, weights, L, scales, mins, rmin, rdelta, nstep, false);
    for (int c = 0; c < count; ++c) {
      uint8_t *yb = y + (b + c) * kBytes;
      if (importance)
        finishBlockQ45KWeighted<Nmax>(xb + c * kQK, yb, L + c * kQK, scales + 8 * c, mins + 8 * c, sw + 8 * c);
      else
        finishBlockQ45K<Nmax>(xb + c * kQK, yb, L + c * kQK, scales + 8 * c, mins + 8 * c);
    }
  }
}

// ---- Q6_K: ql@0 qh@128 scales@192 d@208 -----------------------------------

void quantizeBlockQ6K(const float *x, uint8_t *y, const float *qw) {
  int8_t L[kQK];
  float scales[16];
  float maxScale = 0, maxAbsScale = 0;
  // With importance Q6_K weighs by the raw importance (no sigma term).
  makeQxQuantsLanes<16>(16, 32, x, L, qw, scales);
  for (int ib = 0; ib < 16; ++ib) {
    if (std::fabs(scales[ib]) > maxAbsScale) {
      maxAbsScale = std::fabs(scales[ib]);
      maxScale = scales[ib];
    }
  }
  if (maxAbsScale < kGroupMaxEps) {
    std::memset(y, 0, 210);
    return;
  }
  const float iscale = -128.f / maxScale;
  storeHalf(y + 208, 1 / iscale);
  int8_t *sc = reinterpret_cast<int8_t *>(y + 192);
  for (int ib = 0; ib < 16; ++ib) {
    const int s = nearestInt(iscale * scales[ib]);
    sc[ib] = static_cast<int8_t>(s < 127 ? s : 127);
  }
  const float dAll = loadHalf(y + 208);
  for (int j = 0; j < 16; ++j) {
    const float d = dAll * sc[j];
    if (!d)
      continue;
    for (int ii = 0; ii < 16; ++ii)
      L[16 * j + ii] = static_cast<int8_t>(clampInt(nearestInt(x[16 * j + ii] / d), -32, 31) + 32);
  }
  uint8_t *ql = y, *qh = y + 128;
  for (int j = 0; j < kQK; j += 128, ql += 64, qh += 32) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
      ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
}

// ---- Q8_K: d (fp32)@0 qs@4 bsums@260 --------------------------------------

void quantizeBlockQ8K(const float *x, uint8_t *y) {
  const float amax = maxMagnitude(x, kQK);
  const float max = signedExtreme(x, kQK, amax);
  if (!amax) { // ggml leaves bsums untouched here; we zero them
    std::memset(y, 0, 292);
    return;
  }
  const float iscale = -127.f / max;
  int8_t *qs = reinterpret_cast<int8_t *>(y + 4);
  for (int j = 0; j < kQK; ++j) {
    const int v = nearestInt(iscale * x[j]);
    qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
  }
  for (int j = 0; j < 16; ++j) {
    int sum = 0;
    for (int ii = 0; ii < 16; ++ii)
      sum += qs[16 * j + ii];
    storeU16(y + 260 + 2 * j, static_cast<uint16_t>(static_cast<int16_t>(sum)));
  }
  const float d = 1 / iscale;
  std::memcpy(y, &d, 4);
}

template <typename Block, typename Weighted>
void forEachSuperBlock(const float *x, uint8_t *y, int64_t n, const float *importance, int bytes, Block plain,
                       Weighted weighted) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += bytes) {
    if (importance)
      weighted(x, y, importance + b * kQK);
    else
      plain(x, y);
  }
}

} // namespace

void quantizeRow_Q2_K(const float *x, uint8_t *y, int64_t n, const float *importance) {
  forEachSuperBlock(x, y, n, importance, 84, quantizeBlockQ2K, quantizeBlockQ2KWeighted);
}
void quantizeRow_Q3_K(const float *x, uint8_t *y, int64_t n, const float *importance) {
  forEachSuperBlock(x, y, n, importance, 110, quantizeBlockQ3K, quantizeBlockQ3KWeighted);
}
void quantizeRow_Q4_K(const float *x, uint8_t *y, int64_t n, const float *importance) {
  quantizeRowQ45K<15>(x, y, n, importance);
}
void quantizeRow_Q5_K(const float *x, uint8_t *y, int64_t n, const float *importance) {
  quantizeRowQ45K<31>(x, y, n, importance);
}
void quantizeRow_Q6_K(const float *x, uint8_t *y, int64_t n, const float *importance) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 210)
    quantizeBlockQ6K(x, y, importance ? importance + b * kQK : nullptr);
}
void quantizeRow_Q8_K(const float *x, uint8_t *y, int64_t n, const float *) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 292)
    quantizeBlockQ8K(x, y);
}

void dequantizeRow_Q2_K(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 84) {
    const float d = loadHalf(y + 80), dmin = loadHalf(y + 82);
    // Half h, bit plane p: weights 128h + 32p + l come from qs[32h + l].
    for (int h = 0; h < 2; ++h)
      for (int p = 0; p < 4; ++p)
        for (int sub = 0; sub < 2; ++sub) { // two sub-blocks of 16 per plane
          const uint8_t sc = y[8 * h + 2 * p + sub];
          const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
          const uint8_t *qs = y + 16 + 32 * h + 16 * sub;
          float *out = x + 128 * h + 32 * p + 16 * sub;
          for (int l = 0; l < 16; ++l)
            out[l] = dl * ((qs[l] >> (2 * p)) & 3) - ml;
        }
  }
}

void dequantizeRow_Q3_K(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 110) {
    const float dAll = loadHalf(y + 108);
    for (int h = 0; h < 2; ++h)
      for (int p = 0; p < 4; ++p)
        for (int sub = 0; sub < 2; ++sub) {
          const int j = 8 * h + 2 * p + sub; // sub-block of weights 16j .. 16j+15
          const float dl = dAll * unpackQ3Scale(y + 96, j);
          const uint8_t *qs = y + 32 + 32 * h + 16 * sub;
          const uint8_t *hmask = y + 16 * sub;
          const int bit = 4 * h + p; // weight i = 128h + 32p + l' has its high bit in bit i/32 of hmask[i%32]
          float *out = x + 16 * j;
          for (int l = 0; l < 16; ++l) {
            const int high = (hmask[l] >> bit) & 1;
            out[l] = dl * (((qs[l] >> (2 * p)) & 3) - (high ? 0 : 4));
          }
        }
  }
}

template <int Nmax>
void dequantizeRowQ45K(const uint8_t *y, float *x, int64_t n) {
  const int bytes = Nmax == 15 ? 144 : 176;
  const int qsOffset = Nmax == 15 ? 16 : 48;
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += bytes) {
    const float d = loadHalf(y), dmin = loadHalf(y + 2);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      unpackScaleMinK4(j, y + 4, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      const uint8_t *qs = y + qsOffset + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) {
        int q = (qs[l] >> shift) & 0xF;
        if (Nmax == 31)
          q += ((y[16 + l] >> j) & 1) << 4;
        x[32 * j + l] = d1 * q - m1;
      }
    }
  }
}

void dequantizeRow_Q4_K(const uint8_t *y, float *x, int64_t n) { dequantizeRowQ45K<15>(y, x, n); }
void dequantizeRow_Q5_K(const uint8_t *y, float *x, int64_t n) { dequantizeRowQ45K<31>(y, x, n); }

void dequantizeRow_Q6_K(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 210) {
    const float d = loadHalf(y + 208);
    const int8_t *sc = reinterpret_cast<const int8_t *>(y + 192);
    for (int h = 0; h < 2; ++h) {
      const uint8_t *ql = y + 64 * h, *qh = y + 128 + 32 * h;
      float *out = x + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        const int is = 8 * h + l / 16;
        out[l] = d * sc[is] * q1;
        out[l + 32] = d * sc[is + 2] * q2;
        out[l + 64] = d * sc[is + 4] * q3;
        out[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void dequantizeRow_Q8_K(const uint8_t *y, float *x, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, y += 292) {
    float d;
    std::memcpy(&d, y, 4);
    for (int j = 0; j < kQK; ++j)
      x[j] = d * static_cast<int8_t>(y[4 + j]);
  }
}

} // namespace lowbit::quant::detail
