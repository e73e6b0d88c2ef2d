//===- GptqGrid.cpp - A format's quantization grid, fixed, code by code ---===//
//
// Every encode below repeats the final code choice of the format's quantizer
// (LegacyQuants.cpp, KQuants.cpp, IQuants.cpp, TernaryQuants.cpp, Uniform.cpp)
// operation for operation, with one addition: the result is clamped to the
// code range, since an error-updated weight may fall outside the range the
// quantizer's scale was fitted to (the quantizer's own inputs never do, so
// the clamp does not change its codes). test/unit/Quant/GptqTest.cpp checks
// that with H = I (no feedback) GPTQ's bytes equal the quantizers' for every
// format, and the decoders against dequantizeRows on random bytes.
//
//===----------------------------------------------------------------------===//

#include "GptqGrid.h"

#include "QuantCommon.h"

#include <algorithm>
#include <cmath>

namespace lowbit::quant::detail {
namespace {

constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// (int)v clamped to [0, top], for the legacy encoders' "x * id + offset"
/// truncation: for v in [0, top + 1] this is exactly the quantizer's cast.
inline int truncClamped(float v, int top) {
  if (!(v >= 0))
    return 0;
  if (v >= static_cast<float>(top))
    return top;
  return static_cast<int>(v);
}

/// nearestInt of an argument clamped to +-2^21 (it is exact below 2^22), then to
/// [lo, hi]: the K-quants' clampInt(nearestInt(v), lo, hi) for any v the
/// quantizer itself produces.
inline int nearestClamped(float v, int lo, int hi) {
  v = std::min(std::max(v, -2097152.f), 2097152.f);
  return clampInt(nearestInt(v), lo, hi);
}

// ---- IQ4: the scale search of IQuants.cpp (scalar form), whose fp32 result
// ---- the codes are chosen with but the block stores only as fp16.

float iq4SearchBlockScale(const float *x, const float *weight) {
  constexpr int ntry = 7;
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps)
    return 0;
  auto fit = [&](float id, float &sumqx, float &sumq2) {
    uint8_t codes[32];
    for (int j = 0; j < 32; ++j)
      codes[j] = static_cast<uint8_t>(nearestTableIndex(kIq4Values, id * x[j]));
    sumqx = sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const float q = kIq4Values[codes[j]];
      const float w = weight[j];
      sumqx += w * q * x[j];
      sumq2 += w * q * q;
    }
  };
  float d = -max / kIq4Values[0];
  float sumqx, sumq2;
  fit(1 / d, sumqx, sumq2);
  d = sumqx / sumq2;
  float best = d * sumqx;
  for (int t = -ntry; t <= ntry; ++t) {
    fit((t + kIq4Values[0]) / max, sumqx, sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

float iq4Sigma2(const float *x, int size) {
  float sigma2 = 0;
  for (int j = 0; j < size; ++j)
    sigma2 += x[j] * x[j];
  return sigma2 * (2.f / size);
}

void iq4Weights(const float *x, const float *qw, float sigma2, float *weight) {
  for (int j = 0; j < 32; ++j)
    weight[j] = qw ? qw[j] * std::sqrt(sigma2 + x[j] * x[j]) : x[j] * x[j];
}

float inverseOrZero(float d) { return d ? 1 / d : 0.f; }

// ---- code layouts -------------------------------------------------------

void unpackTwoBitPlanes(const uint8_t *qs, uint8_t *L) {
  for (int j = 0; j < kQK; j += 128)
    for (int l = 0; l < 32; ++l)
      for (int p = 0; p < 4; ++p)
        L[j + 32 * p + l] = (qs[j / 4 + l] >> (2 * p)) & 3;
}

void unpackChunkNibbles(const uint8_t *qs, uint8_t *L) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      L[64 * c + l] = qs[32 * c + l] & 0xF;
      L[64 * c + 32 + l] = qs[32 * c + l] >> 4;
    }
}

/// Legacy and IQ4 blocks: element j in the low nibble of byte j, j + 16 in
/// the high nibble (blocks of 32).
void unpackHalves(const uint8_t *qs, uint8_t *L, int blocks) {
  for (int b = 0; b < blocks; ++b)
    for (int j = 0; j < 16; ++j) {
      L[32 * b + j] = qs[16 * b + j] & 0xF;
      L[32 * b + 16 + j] = qs[16 * b + j] >> 4;
    }
}

void packHalves(const uint8_t *L, uint8_t *qs, int blocks) {
  for (int b = 0; b < blocks; ++b)
    for (int j = 0; j < 16; ++j)
      qs[16 * b + j] = static_cast<uint8_t>((L[32 * b + j] & 0xF) | ((L[32 * b + 16 + j] & 0xF) << 4));
}

/// Q5_0 / Q5_1: low nibbles as above plus bit 4 of element j in bit j of the
/// little-endian u32 qh.
void unpackFiveBits(const uint8_t *qh, const uint8_t *qs, uint8_t *L) {
  unpackHalves(qs, L, 1);
  const uint32_t high = static_cast<uint32_t>(qh[0]) | (static_cast<uint32_t>(qh[1]) << 8) |
                        (static_cast<uint32_t>(qh[2]) << 16) | (static_cast<uint32_t>(qh[3]) << 24);
  for (int j = 0; j < 32; ++j)
    L[j] = static_cast<uint8_t>(L[j] | (((high >> j) & 1) << 4));
}

void packFiveBits(const uint8_t *L, uint8_t *qh, uint8_t *qs) {
  packHalves(L, qs, 1);
  uint32_t high = 0;
  for (int j = 0; j < 32; ++j)
    high |= static_cast<uint32_t>((L[j] >> 4) & 1) << j;
  for (int b = 0; b < 4; ++b)
    qh[b] = static_cast<uint8_t>(high >> (8 * b));
}

int unpackTrit(uint8_t byte, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t u = static_cast<uint8_t>(byte * kPow3[n]);
  return (static_cast<uint16_t>(u) * 3) >> 8;
}

uint8_t packTrits(const uint8_t *codes, int stride, int count) {
  uint8_t q = 0;
  for (int n = 0; n < count; ++n)
    q = static_cast<uint8_t>(q * 3 + codes[n * stride]);
  if (count == 4)
    q = static_cast<uint8_t>(q * 3);
  return static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + 242) / 243);
}

int unpackQ3Scale(const uint8_t *scales, int j) {
  const int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

} // namespace

Status makeGrid(const Format &f, int64_t columns, bool importance, Grid &g) {
  g = Grid();
  g.format = f;
  if (std::string why = checkFormat(f); !why.empty())
    return Status::error(why);
  if (std::string why = checkRowLength(f, columns); !why.empty())
    return Status::error(why);
  if (f.kind == FormatKind::Int || f.kind == FormatKind::Ternary) {
    const bool ternary = f.kind == FormatKind::Ternary;
    g.lo = 0;
    g.hi = ternary ? 2 : (1 << f.bits) - 1;
    g.useMin = !ternary && f.offset == Offset::Min;
    g.codeBits = ternary ? 2 : f.bits;
    g.runLength = f.granularity == Granularity::Group ? f.groupSize : columns;
    return Status::ok();
  }
  if (f.kind == FormatKind::Codebook)
    return Status::error("GPTQ cannot write codebook formats (lowbit has no codebook trainer)");
  const std::optional<GgmlType> type = ggmlTypeOf(f.kind);
  if (!type)
    return Status::error("GPTQ cannot write " + toString(f));
  g.block = true;
  g.type = *type;
  g.blockSize = ggmlTypeInfo(*type).blockSize;
  g.bytesPerBlock = ggmlTypeInfo(*type).bytesPerBlock;
  switch (f.kind) {
  case FormatKind::Q2_K:
  case FormatKind::Q3_K:
  case FormatKind::Q6_K:
    g.runLength = 16;
    break;
  case FormatKind::TQ1_0:
  case FormatKind::TQ2_0:
    g.runLength = 256;
    break;
  default:
    g.runLength = 32;
    break;
  }
  g.storedGrid = importance && (f.kind == FormatKind::Q4_0 || f.kind == FormatKind::Q5_0 ||
                                f.kind == FormatKind::Q4_1 || f.kind == FormatKind::Q5_1);
  return Status::ok();
}

GridParams uniformParams(const Grid &g, float scale, int32_t zeroPoint, float min) {
  GridParams p;
  p.enc0 = scale != 0 ? 1.f / scale : 0.f;
  p.enc1 = g.useMin ? min : static_cast<float>(zeroPoint);
  p.dec0 = scale;
  p.dec1 = g.useMin ? min : static_cast<float>(zeroPoint);
  return p;
}

int encodeOnGrid(const Grid &g, const GridParams &p, float x) {
  switch (g.format.kind) {
  case FormatKind::Int:
  case FormatKind::Ternary: {
    // Uniform.cpp's encode: clamp, then round half to even.
    float v = g.useMin ? (x - p.enc1) * p.enc0 : x * p.enc0 + p.enc1;
    v = std::min(std::max(v, static_cast<float>(g.lo)), static_cast<float>(g.hi));
    return static_cast<int>((v + 12582912.f) - 12582912.f);
  }
  case FormatKind::Q4_0:
    return truncClamped(x * p.enc0 + 8.5f, 15);
  case FormatKind::Q5_0:
    return truncClamped(x * p.enc0 + 16.5f, 31);
  case FormatKind::Q4_1:
    return truncClamped((x - p.enc1) * p.enc0 + 0.5f, 15);
  case FormatKind::Q5_1:
    return truncClamped((x - p.enc1) * p.enc0 + 0.5f, 31);
  case FormatKind::Q8_0: {
    const float v = std::min(std::max(x * p.enc0, -127.f), 127.f);
    return static_cast<uint8_t>(static_cast<int8_t>(roundAwayToInt32(v)));
  }
  case FormatKind::Q2_K:
    return nearestClamped((x + p.enc1) / p.enc0, 0, 3);
  case FormatKind::Q3_K:
    return nearestClamped(x / p.enc0, -4, 3) + 4;
  case FormatKind::Q4_K:
    return nearestClamped((x + p.enc1) / p.enc0, 0, 15);
  case FormatKind::Q5_K:
    return nearestClamped((x + p.enc1) / p.enc0, 0, 31);
  case FormatKind::Q6_K:
    return nearestClamped(x / p.enc0, -32, 31) + 32;
  case FormatKind::IQ4_NL:
  case FormatKind::IQ4_XS:
    return nearestTableIndex(kIq4Values, p.enc0 * x);
  case FormatKind::TQ1_0:
  case FormatKind::TQ2_0: {
    const float v = std::min(std::max(x * p.enc0, -2.f), 2.f);
    return clampInt(lroundToInt(v) + 1, 0, 2);
  }
  default:
    return 0;
  }
}

float decodeOnGrid(const Grid &g, const GridParams &p, int code) {
  switch (g.format.kind) {
  case FormatKind::Int:
  case FormatKind::Ternary:
    return g.useMin ? p.dec0 * code + p.dec1
                    : p.dec0 * static_cast<float>(code - static_cast<int32_t>(p.dec1));
  case FormatKind::Q4_0:
    return (code - 8) * p.dec0;
  case FormatKind::Q5_0:
    return (code - 16) * p.dec0;
  case FormatKind::Q4_1:
  case FormatKind::Q5_1:
    return code * p.dec0 + p.dec1;
  case FormatKind::Q8_0:
    return static_cast<int8_t>(static_cast<uint8_t>(code)) * p.dec0;
  case FormatKind::Q2_K:
  case FormatKind::Q4_K:
  case FormatKind::Q5_K:
    return p.dec0 * code - p.dec1;
  case FormatKind::Q3_K:
    return p.dec0 * (code - 4);
  case FormatKind::Q6_K:
    return p.dec0 * (code - 32);
  case FormatKind::IQ4_NL:
  case FormatKind::IQ4_XS:
    return p.dec0 * kIq4Values[code];
  case FormatKind::TQ1_0:
  case FormatKind::TQ2_0:
    return static_cast<float>(code - 1) * p.dec0;
  default:
    return 0;
  }
}

void blockParams(const Grid &g, const float *x, const float *qw, const uint8_t *y, GridParams *params) {
  switch (g.format.kind) {
  case FormatKind::Q4_0:
  case FormatKind::Q5_0: {
    const float stored = loadHalf(y);
    GridParams &p = params[0];
    if (g.storedGrid) {
      p.enc0 = inverseOrZero(stored);
    } else {
      const float amax = maxMagnitude(x, 32);
      const float d = signedExtreme(x, 32, amax) / -(g.format.kind == FormatKind::Q4_0 ? 8 : 16);
      p.enc0 = inverseOrZero(d);
    }
    p.dec0 = stored;
    p.keep = !std::isfinite(p.enc0);
    return;
  }
  case FormatKind::Q4_1:
  case FormatKind::Q5_1: {
    GridParams &p = params[0];
    p.dec0 = loadHalf(y);
    p.dec1 = loadHalf(y + 2);
    if (g.storedGrid) {
      p.enc0 = inverseOrZero(p.dec0);
      p.enc1 = p.dec1;
    } else {
      float min = 3.402823466e+38f, max = -3.402823466e+38f;
      for (int j = 0; j < 32; ++j) {
        if (x[j] < min)
          min = x[j];
        if (x[j] > max)
          max = x[j];
      }
      p.enc0 = inverseOrZero((max - min) / (g.format.kind == FormatKind::Q4_1 ? 15 : 31));
      p.enc1 = min;
    }
    p.keep = !std::isfinite(p.enc0);
    return;
  }
  case FormatKind::Q8_0: {
    GridParams &p = params[0];
    p.enc0 = inverseOrZero(maxMagnitude(x, 32) / 127);
    p.dec0 = loadHalf(y);
    p.keep = !std::isfinite(p.enc0);
    return;
  }
  case FormatKind::Q2_K: {
    const float dAll = loadHalf(y + 80), mAll = loadHalf(y + 82);
    for (int j = 0; j < 16; ++j) {
      GridParams &p = params[j];
      p.enc0 = p.dec0 = dAll * (y[j] & 0xF);
      p.enc1 = p.dec1 = mAll * (y[j] >> 4);
      p.keep = !p.enc0;
    }
    return;
  }
  case FormatKind::Q3_K: {
    const float dAll = loadHalf(y + 108);
    for (int j = 0; j < 16; ++j) {
      GridParams &p = params[j];
      p.enc0 = p.dec0 = dAll * unpackQ3Scale(y + 96, j);
      p.keep = !p.enc0;
    }
    return;
  }
  case FormatKind::Q4_K:
  case FormatKind::Q5_K: {
    const float dAll = loadHalf(y), mAll = loadHalf(y + 2);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      unpackScaleMinK4(j, y + 4, sc, m);
      GridParams &p = params[j];
      p.enc0 = p.dec0 = dAll * sc;
      p.enc1 = p.dec1 = mAll * m;
      p.keep = !p.enc0;
    }
    return;
  }
  case FormatKind::Q6_K: {
    const float dAll = loadHalf(y + 208);
    const int8_t *sc = reinterpret_cast<const int8_t *>(y + 192);
    for (int j = 0; j < 16; ++j) {
      GridParams &p = params[j];
      p.enc0 = p.dec0 = dAll * sc[j];
      p.keep = !p.enc0;
    }
    return;
  }
  case FormatKind::IQ4_NL: {
    float weight[32];
    iq4Weights(x, qw, iq4Sigma2(x, 32), weight);
    const float scale = iq4SearchBlockScale(x, weight);
    GridParams &p = params[0];
    p.dec0 = loadHalf(y);
    // The search reproduces the quantizer's scale; should it ever not, the
    // stored one still gives a valid grid.
    p.enc0 = fp32ToFp16(scale) == loadU16(y) ? inverseOrZero(scale) : inverseOrZero(p.dec0);
    return;
  }
  case FormatKind::IQ4_XS: {
    float weight[256], scales[8];
    const float sigma2 = iq4Sigma2(x, 256);
    for (int ib = 0; ib < 8; ++ib) {
      iq4Weights(x + 32 * ib, qw ? qw + 32 * ib : nullptr, sigma2, weight + 32 * ib);
      scales[ib] = iq4SearchBlockScale(x + 32 * ib, weight + 32 * ib);
    }
    float maxScale = 0, amaxScale = 0;
    for (int ib = 0; ib < 8; ++ib) {
      if (std::fabs(scales[ib]) > amaxScale) {
        amaxScale = std::fabs(scales[ib]);
        maxScale = scales[ib];
      }
    }
    const float d = -maxScale / 32;
    const float id = inverseOrZero(d);
    const float dStored = loadHalf(y);
    const uint16_t scalesH = loadU16(y + 2);
    for (int ib = 0; ib < 8; ++ib) {
      const int l = clampInt(nearestInt(id * scales[ib]), -32, 31);
      const int ls = ((y[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scalesH >> (2 * ib)) & 3) << 4);
      GridParams &p = params[ib];
      p.dec0 = dStored * (ls - 32);
      p.enc0 = (l == ls - 32 && fp32ToFp16(d) == loadU16(y)) ? inverseOrZero(d * l) : inverseOrZero(p.dec0);
    }
    return;
  }
  case FormatKind::TQ1_0:
  case FormatKind::TQ2_0: {
    GridParams &p = params[0];
    p.enc0 = inverseOrZero(maxMagnitude(x, 256));
    p.dec0 = loadHalf(y + (g.format.kind == FormatKind::TQ1_0 ? 52 : 64));
    p.keep = !std::isfinite(p.enc0);
    return;
  }
  default:
    return;
  }
}

void unpackBlockCodes(const Grid &g, const uint8_t *y, uint8_t *L) {
  switch (g.format.kind) {
  case FormatKind::Q4_0:
    unpackHalves(y + 2, L, 1);
    return;
  case FormatKind::Q4_1:
    unpackHalves(y + 4, L, 1);
    return;
  case FormatKind::Q5_0:
    unpackFiveBits(y + 2, y + 6, L);
    return;
  case FormatKind::Q5_1:
    unpackFiveBits(y + 4, y + 8, L);
    return;
  case FormatKind::Q8_0:
    std::memcpy(L, y + 2, 32);
    return;
  case FormatKind::Q2_K:
    unpackTwoBitPlanes(y + 16, L);
    return;
  case FormatKind::Q3_K:
    unpackTwoBitPlanes(y + 32, L);
    for (int i = 0; i < kQK; ++i)
      L[i] = static_cast<uint8_t>(L[i] + 4 * ((y[i % 32] >> (i / 32)) & 1));
    return;
  case FormatKind::Q4_K:
    unpackChunkNibbles(y + 16, L);
    return;
  case FormatKind::Q5_K:
    unpackChunkNibbles(y + 48, L);
    for (int i = 0; i < kQK; ++i)
      L[i] = static_cast<uint8_t>(L[i] | (((y[16 + i % 32] >> (i / 32)) & 1) << 4));
    return;
  case FormatKind::Q6_K:
    for (int h = 0; h < 2; ++h) {
      const uint8_t *ql = y + 64 * h, *qh = y + 128 + 32 * h;
      uint8_t *out = L + 128 * h;
      for (int l = 0; l < 32; ++l) {
        out[l] = static_cast<uint8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
        out[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
        out[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
        out[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
      }
    }
    return;
  case FormatKind::IQ4_NL:
    unpackHalves(y + 2, L, 1);
    return;
  case FormatKind::IQ4_XS:
    unpackHalves(y + 8, L, 8);
    return;
  case FormatKind::TQ1_0:
    for (int t = 0; t < 5; ++t)
      for (int m = 0; m < 32; ++m)
        L[32 * t + m] = static_cast<uint8_t>(unpackTrit(y[m], t));
    for (int t = 0; t < 5; ++t)
      for (int m = 0; m < 16; ++m)
        L[160 + 16 * t + m] = static_cast<uint8_t>(unpackTrit(y[32 + m], t));
    for (int t = 0; t < 4; ++t)
      for (int j = 0; j < 4; ++j)
        L[240 + 4 * t + j] = static_cast<uint8_t>(unpackTrit(y[48 + j], t));
    return;
  case FormatKind::TQ2_0:
    for (int h = 0; h < 2; ++h)
      for (int p = 0; p < 4; ++p)
        for (int m = 0; m < 32; ++m)
          L[128 * h + 32 * p + m] = (y[32 * h + m] >> (2 * p)) & 3;
    return;
  default:
    return;
  }
}

void packBlockCodes(const Grid &g, const uint8_t *L, uint8_t *y) {
  switch (g.format.kind) {
  case FormatKind::Q4_0:
    packHalves(L, y + 2, 1);
    return;
  case FormatKind::Q4_1:
    packHalves(L, y + 4, 1);
    return;
  case FormatKind::Q5_0:
    packFiveBits(L, y + 2, y + 6);
    return;
  case FormatKind::Q5_1:
    packFiveBits(L, y + 4, y + 8);
    return;
  case FormatKind::Q8_0:
    std::memcpy(y + 2, L, 32);
    return;
  case FormatKind::Q2_K:
    packTwoBitPlanes(L, y + 16);
    return;
  case FormatKind::Q3_K: {
    std::memset(y, 0, 32);
    uint8_t low[kQK];
    for (int i = 0; i < kQK; ++i) {
      if (L[i] > 3)
        y[i % 32] |= static_cast<uint8_t>(1u << (i / 32));
      low[i] = static_cast<uint8_t>(L[i] > 3 ? L[i] - 4 : L[i]);
    }
    packTwoBitPlanes(low, y + 32);
    return;
  }
  case FormatKind::Q4_K:
    packChunkNibbles(L, y + 16);
    return;
  case FormatKind::Q5_K:
    std::memset(y + 16, 0, 32);
    for (int i = 0; i < kQK; ++i)
      if (L[i] > 15)
        y[16 + i % 32] |= static_cast<uint8_t>(1u << (i / 32));
    packChunkNibbles(L, y + 48);
    return;
  case FormatKind::Q6_K: {
    uint8_t *ql = y, *qh = y + 128;
    for (int j = 0; j < kQK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
    return;
  }
  case FormatKind::IQ4_NL:
    packHalves(L, y + 2, 1);
    return;
  case FormatKind::IQ4_XS:
    packHalves(L, y + 8, 8);
    return;
  case FormatKind::TQ1_0:
    for (int m = 0; m < 32; ++m)
      y[m] = packTrits(L + m, 32, 5);
    for (int m = 0; m < 16; ++m)
      y[32 + m] = packTrits(L + 160 + m, 16, 5);
    for (int j = 0; j < 4; ++j)
      y[48 + j] = packTrits(L + 240 + j, 4, 4);
    return;
  case FormatKind::TQ2_0:
    for (int h = 0; h < 2; ++h)
      for (int m = 0; m < 32; ++m) {
        uint8_t q = 0;
        for (int k = 0; k < 4; ++k)
          q = static_cast<uint8_t>(q + ((L[128 * h + 32 * k + m] & 3) << (2 * k)));
        y[32 * h + m] = q;
      }
    return;
  default:
    return;
  }
}

} // namespace lowbit::quant::detail
