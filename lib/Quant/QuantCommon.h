//===- QuantCommon.h - Shared pieces of the block quantizers ---*- C++ -*-===//
//
// Private to lib/Quant. The rounding helpers here reproduce what ggml's C code
// does on x86-64, so that our bytes match llama.cpp's (GGUF_SPEC.md 3.0),
// including for inputs where a C cast would be undefined behaviour.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LIB_QUANT_QUANTCOMMON_H
#define LOWBIT_LIB_QUANT_QUANTCOMMON_H

#include "lowbit/Quant/Half.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace lowbit::quant::detail {

/// A group whose largest magnitude is below this is treated as all zero.
constexpr float kGroupMaxEps = 1e-15f;
constexpr int kQK = 256; ///< super-block size of the K, IQ4_XS and TQ formats

/// ggml's nearest_int: adding 1.5 * 2^23 makes the FPU round to an integer
/// (ties to even) in the low mantissa bits. Exact for |x| < 2^22; outside that
/// range it is well defined garbage, as in ggml.
inline int nearestInt(float x) {
  const float shifted = x + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

/// A C float -> integer cast as x86-64 executes it (cvttss2si): truncation
/// toward zero, and INT32_MIN for NaN or anything out of range.
inline int32_t truncToInt32(float x) {
  return (x > -2147483648.f && x < 2147483648.f) ? static_cast<int32_t>(x) : INT32_MIN;
}
/// (int8_t)x and (uint8_t)x in ggml: the 32-bit conversion, then the low byte.
inline int8_t truncToInt8(float x) { return static_cast<int8_t>(truncToInt32(x)); }
inline uint8_t truncToUint8(float x) { return static_cast<uint8_t>(truncToInt32(x)); }

/// lroundf as glibc on x86-64 computes it: ties away from zero, LONG_MIN for
/// NaN or out of range. Returned as the int that ggml then keeps (the low
/// 32 bits of the long).
inline int32_t roundAwayToInt32(float x);
inline int lroundToInt(float x) {
  if (x > -2147483648.f && x < 2147483648.f)
    return roundAwayToInt32(x);
  if (x > -9.2233720368547758e18f && x < 9.2233720368547758e18f) // integral here
    return static_cast<int>(static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(x))));
  return 0; // low word of LONG_MIN
}

inline int clampInt(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// roundf(x) converted to an integer as ggml's (int8_t)roundf(x) executes on
/// x86-64: ties away from zero, INT32_MIN out of range. Exact and branch-free
/// (the fraction x - trunc(x) is exact in fp32), so loops vectorize.
inline int32_t roundAwayToInt32(float x) {
  if (!(x > -2147483648.f && x < 2147483648.f))
    return INT32_MIN;
  const int32_t t = static_cast<int32_t>(x);
  const float fraction = x - static_cast<float>(t);
  return t + (fraction >= 0.5f) - (fraction <= -0.5f);
}

/// The largest |x| (ggml's running fmaxf from 0). For non-NaN floats the
/// order of |x| is the order of their bit patterns, and an integer max
/// vectorizes where a float one (NaN-sensitive) does not.
inline float maxMagnitude(const float *x, int n) {
  uint32_t largest = 0;
  for (int i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    bits &= 0x7fffffffu;
    largest = bits > largest ? bits : largest;
  }
  float amax;
  std::memcpy(&amax, &largest, sizeof amax);
  return amax;
}

/// The first value of largest magnitude, or +0 when all are zero: what
/// ggml's "if (amax < fabsf(v)) { amax = fabsf(v); max = v; }" scan leaves.
inline float signedExtreme(const float *x, int n, float amax) {
  if (amax == 0)
    return 0.f;
  int i = 0;
  while (std::fabs(x[i]) != amax)
    ++i;
  return x[i];
}

/// Index of the entry of the sorted 16-entry table `values` nearest to x,
/// ties to the upper entry, exactly as ggml's best_index_int8 (a binary
/// search). Counting the entries <= x finds the same bracketing pair without
/// branches, so loops over a block vectorize; the final comparison is ggml's
/// own, operation for operation.
inline int nearestTableIndex(const int8_t *values, float x) {
  if (x <= values[0])
    return 0;
  if (x >= values[15] || x != x) // the binary search walks NaN to the top
    return 15;
  int lo = 0;
  for (int k = 1; k < 15; ++k)
    lo += x >= values[k];
  return x - values[lo] < values[lo + 1] - x ? lo : lo + 1;
}

/// The K-quants' 6-bit scale and min packing (GGUF_SPEC.md 2.9), used by
/// Q4_K and Q5_K.
inline void packScaleMinK4(uint8_t *scales, const uint8_t *ls, const uint8_t *lm) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      scales[j] = ls[j];
      scales[j + 4] = lm[j];
    } else {
      scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

inline void unpackScaleMinK4(int j, const uint8_t *scales, uint8_t &sc, uint8_t &m) {
  if (j < 4) {
    sc = scales[j] & 63;
    m = scales[j + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

// The searches of GGUF_SPEC.md 3.2 (QuantSearch.cpp). Every sum runs in fp32
// in element order, as ggml's loops do.

/// make_qx_quants: symmetric levels -nmax..nmax-1, returned in L as l + nmax.
/// `weights` may be null, then rmseType picks them (1: x^2, 2: 1, 3: |x|, else sqrt|x|).
float makeQxQuants(int n, int nmax, const float *x, int8_t *L, int rmseType, const float *weights);
/// make_q3_quants: Q3_K's search without importance (w = x^2).
float makeQ3Quants(int n, int nmax, const float *x, int8_t *L, bool doRmse);
/// make_qkx2_quants / make_qkx3_quants (identical once weights are given):
/// asymmetric levels 0..nmax; returns the scale and sets theMin = -offset >= 0.
float makeQkxQuants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float &theMin,
                    uint8_t *Laux, float rmin, float rdelta, int nstep, bool useMad);
/// makeQkxQuants for `Lanes` groups of n (<= 32) weights side by side
/// (group j at x + j*n, weights + j*n, L + j*n): the same bytes, several
/// times faster because the lanes vectorize. Instantiated for 8 and 16.
template <int Lanes>
void makeQkxQuantsLanes(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *scale,
                        float *theMin, float rmin, float rdelta, int nstep, bool useMad);
/// makeQxQuants with rmse_type 1 for `Lanes` groups of n (<= 32) side by
/// side (group j at x + j*n; weights null means x^2): the same bytes,
/// vectorized over the groups. Instantiated for 8 and 16.
template <int Lanes>
void makeQxQuantsLanes(int n, int nmax, const float *x, int8_t *L, const float *weights, float *scale);
/// make_qp_quants: quantizes non-negative sub-block scales or mins.
float makeQpQuants(int n, int nmax, const float *x, uint8_t *L, const float *weights);

// Per-family row codecs. `n` is the row length, a multiple of the block size;
// `importance` is null or n weights.
#define LOWBIT_DECLARE_CODEC(T)                                                                   \
  void quantizeRow_##T(const float *x, uint8_t *y, int64_t n, const float *importance);          \
  void dequantizeRow_##T(const uint8_t *y, float *x, int64_t n);
LOWBIT_DECLARE_CODEC(Q4_0)
LOWBIT_DECLARE_CODEC(Q4_1)
LOWBIT_DECLARE_CODEC(Q5_0)
LOWBIT_DECLARE_CODEC(Q5_1)
LOWBIT_DECLARE_CODEC(Q8_0)
LOWBIT_DECLARE_CODEC(Q8_1)
LOWBIT_DECLARE_CODEC(Q2_K)
LOWBIT_DECLARE_CODEC(Q3_K)
LOWBIT_DECLARE_CODEC(Q4_K)
LOWBIT_DECLARE_CODEC(Q5_K)
LOWBIT_DECLARE_CODEC(Q6_K)
LOWBIT_DECLARE_CODEC(Q8_K)
LOWBIT_DECLARE_CODEC(IQ4_NL)
LOWBIT_DECLARE_CODEC(IQ4_XS)
LOWBIT_DECLARE_CODEC(TQ1_0)
LOWBIT_DECLARE_CODEC(TQ2_0)
#undef LOWBIT_DECLARE_CODEC

/// quantize_row_iq4_nl_ref: IQ4_NL without the scale search (ntry = -1).
void quantizeRowReference_IQ4_NL(const float *x, uint8_t *y, int64_t n);

/// Packs 2-bit codes (Q2_K's qs, Q3_K's low bits): each 32-byte half holds
/// 128 weights as four bit planes of 32.
inline void packTwoBitPlanes(const uint8_t *L, uint8_t *qs) {
  for (int j = 0; j < kQK; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
}

/// Packs 4-bit codes of Q4_K/Q5_K: chunk c of 64 weights in qs[32c..32c+31],
/// the first 32 in low nibbles, the next 32 in high nibbles.
inline void packChunkNibbles(const uint8_t *L, uint8_t *qs) {
  for (int j = 0; j < kQK; j += 64, qs += 32)
    for (int l = 0; l < 32; ++l)
      qs[l] = static_cast<uint8_t>((L[j + l] & 0xF) | ((L[j + l + 32] & 0xF) << 4));
}

} // namespace lowbit::quant::detail

#endif // LOWBIT_LIB_QUANT_QUANTCOMMON_H
