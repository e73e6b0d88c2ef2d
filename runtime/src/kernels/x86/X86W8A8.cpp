//===- X86W8A8.cpp - W8A8 kernels: AVX-512 VNNI and AVX2 ------------------===//
//
// See X86W8A8.h for the method and MatmulW8A8.h for the numerics. The
// prepared activations are 64-byte aligned rows of paddedK int8 (zeros
// past K), so their loads never need a mask; a weight row has exactly K
// bytes, so its last partial vector is loaded with a mask (AVX-512) or
// summed in scalar code (AVX2).
//
//===----------------------------------------------------------------------===//

#include "kernels/x86/X86W8A8.h"
#include "kernels/MatmulW8A8.h"
#include "kernels/x86/X86Matmul.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lowbit::runtime::kernels::x86 {

#if defined(__x86_64__)

namespace {

/// The tile size: 4 weight rows by 4 activation rows (16 accumulators).
constexpr int kTile = 4;

/// y = float(acc) * (s_x * s_w) + bias, as MatmulW8A8.h fixes it.
inline void storeOutput(const MatmulArgs &a, const w8a8::Prepared &p, int64_t m, int64_t n, int32_t acc) {
  const float t = static_cast<float>(acc) * (p.scale[m] * a.scales[n]);
  a.y[m * a.N + n] = t + (a.bias ? a.bias[n] : 0.f);
}

/// Runs tile(n, m) over [n0, n1) x [0, M) in R x C tiles, with 1-row tiles
/// for the remainders.
template <typename Tile4x4, typename Tile4x1, typename Tile1x4, typename Tile1x1>
void forTiles(const MatmulArgs &a, int64_t n0, int64_t n1, Tile4x4 t44, Tile4x1 t41, Tile1x4 t14, Tile1x1 t11) {
  int64_t n = n0;
  const int64_t m4 = a.M / kTile * kTile;
  for (; n + kTile <= n1; n += kTile) {
    for (int64_t m = 0; m < m4; m += kTile)
      t44(n, m);
    for (int64_t m = m4; m < a.M; ++m)
      t41(n, m);
  }
  for (; n < n1; ++n) {
    for (int64_t m = 0; m < m4; m += kTile)
      t14(n, m);
    for (int64_t m = m4; m < a.M; ++m)
      t11(n, m);
  }
}

} // namespace

// ---- AVX-512 VNNI ---------------------------------------------------------

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,bmi2")
#endif

namespace {

/// R weight rows from n by C activation rows from m.
template <int R, int C>
void tileAvx512(const MatmulArgs &a, const w8a8::Prepared &p, int64_t n, int64_t m) {
  __m512i acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      acc[r][c] = _mm512_setzero_si512();
  const int64_t full = a.K / 64 * 64;
  auto step = [&](int64_t k, auto loadW) {
    __m512i x[C];
    for (int c = 0; c < C; ++c)
      x[c] = _mm512_load_si512(p.q + (m + c) * p.paddedK + k);
    for (int r = 0; r < R; ++r) {
      const __m512i w = loadW(a.w + (n + r) * a.rowBytes + k);
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], w, x[c]);
    }
  };
  for (int64_t k = 0; k < full; k += 64)
    step(k, [](const uint8_t *w) { return _mm512_loadu_si512(w); });
  if (full < a.K) {
    const __mmask64 mask = _bzhi_u64(~0ull, static_cast<unsigned>(a.K - full));
    step(full, [mask](const uint8_t *w) { return _mm512_maskz_loadu_epi8(mask, w); });
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      storeOutput(a, p, m + c, n + r, _mm512_reduce_add_epi32(acc[r][c]) - 128 * p.sum[m + c]);
}

/// w8a8::quantizeRow's bits, 16 lanes at a time: the same max, the same
/// product x * (127 / a) rounded to nearest even, the same clamp.
int32_t quantizeRowAvx512(const float *x, int64_t K, int8_t *q, float &scale) {
  __m512 amax = _mm512_setzero_ps();
  __mmask16 nan = 0;
  const int64_t full = K / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>(_bzhi_u32(0xffff, static_cast<unsigned>(K - full)));
  for (int64_t k = 0; k < K; k += 16) {
    const __m512 v = k < full ? _mm512_loadu_ps(x + k) : _mm512_maskz_loadu_ps(tail, x + k);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
  }
  const float a = _mm512_reduce_max_ps(amax);
  if (nan || !(a < INFINITY) || a == 0.f)
    return w8a8::quantizeRow(x, K, q, scale); // the rare rows, as the portable code says
  const __m512 inv = _mm512_set1_ps(127.f / a), lo = _mm512_set1_ps(-127.f), hi = _mm512_set1_ps(127.f);
  __m512i sum = _mm512_setzero_si512();
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 mask = k < full ? __mmask16(0xffff) : tail;
    const __m512 v = _mm512_maskz_loadu_ps(mask, x + k);
    const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(v, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i i = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(r, lo), hi));
    _mm_mask_storeu_epi8(q + k, mask, _mm512_cvtepi32_epi8(i));
    sum = _mm512_add_epi32(sum, i);
  }
  scale = a / 127.f;
  return _mm512_reduce_add_epi32(sum);
}

void prepareAvx512(const lowbit_dispatch_context *ctx, const MatmulArgs &a, void *buffer) {
  w8a8::prepareRows(ctx, a, buffer, quantizeRowAvx512);
}

void rowsAvx512(const MatmulArgs &a, int64_t n0, int64_t n1, float *) {
  const w8a8::Prepared p = w8a8::view(a);
  forTiles(
      a, n0, n1, [&](int64_t n, int64_t m) { tileAvx512<4, 4>(a, p, n, m); },
      [&](int64_t n, int64_t m) { tileAvx512<4, 1>(a, p, n, m); },
      [&](int64_t n, int64_t m) { tileAvx512<1, 4>(a, p, n, m); },
      [&](int64_t n, int64_t m) { tileAvx512<1, 1>(a, p, n, m); });
}

} // namespace

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- AVX2 -----------------------------------------------------------------

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

namespace {

inline int32_t sumLanes(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

template <int R, int C>
void tileAvx2(const MatmulArgs &a, const w8a8::Prepared &p, int64_t n, int64_t m) {
  __m256i acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      acc[r][c] = _mm256_setzero_si256();
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
  const int64_t full = a.K / 32 * 32;
  for (int64_t k = 0; k < full; k += 32) {
    __m256i x[C];
    for (int c = 0; c < C; ++c)
      x[c] = _mm256_load_si256(reinterpret_cast<const __m256i *>(p.q + (m + c) * p.paddedK + k));
    for (int r = 0; r < R; ++r) {
      // w_q = c - 128 as int8; |w_q| times q with w_q's sign.
      const __m256i w = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(a.w + (n + r) * a.rowBytes + k)), bias);
      const __m256i aw = _mm256_abs_epi8(w);
      for (int c = 0; c < C; ++c) {
        const __m256i pairs = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(x[c], w));
        acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(pairs, ones));
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    const uint8_t *w = a.w + (n + r) * a.rowBytes;
    for (int c = 0; c < C; ++c) {
      const int8_t *q = p.q + (m + c) * p.paddedK;
      int32_t tail = 0;
      for (int64_t k = full; k < a.K; ++k)
        tail += int32_t(q[k]) * (int32_t(w[k]) - 128);
      storeOutput(a, p, m + c, n + r, sumLanes(acc[r][c]) + tail);
    }
  }
}

/// w8a8::quantizeRow's bits, 8 lanes at a time (the last K % 8 values in
/// scalar code with the same operations).
int32_t quantizeRowAvx2(const float *x, int64_t K, int8_t *q, float &scale) {
  const __m256 signMask = _mm256_set1_ps(-0.f);
  __m256 amax = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
  const int64_t full = K / 8 * 8;
  for (int64_t k = 0; k < full; k += 8) {
    const __m256 v = _mm256_loadu_ps(x + k);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(signMask, v));
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float a = _mm_cvtss_f32(m4);
  bool hasNan = _mm256_movemask_ps(nan) != 0;
  for (int64_t k = full; k < K; ++k) {
    a = std::max(a, std::fabs(x[k]));
    hasNan |= x[k] != x[k];
  }
  if (hasNan || !(a < INFINITY) || a == 0.f)
    return w8a8::quantizeRow(x, K, q, scale); // the rare rows, as the portable code says
  const float invScalar = 127.f / a;
  const __m256 inv = _mm256_set1_ps(invScalar), lo = _mm256_set1_ps(-127.f), hi = _mm256_set1_ps(127.f);
  __m256i sum = _mm256_setzero_si256();
  for (int64_t k = 0; k < full; k += 8) {
    const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k), inv),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i i = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi));
    const __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i *>(q + k), _mm_packs_epi16(i16, i16));
    sum = _mm256_add_epi32(sum, i);
  }
  int32_t total = sumLanes(sum);
  for (int64_t k = full; k < K; ++k) {
    q[k] = static_cast<int8_t>(std::min(std::max(std::nearbyint(x[k] * invScalar), -127.f), 127.f));
    total += q[k];
  }
  scale = a / 127.f;
  return total;
}

void prepareAvx2(const lowbit_dispatch_context *ctx, const MatmulArgs &a, void *buffer) {
  w8a8::prepareRows(ctx, a, buffer, quantizeRowAvx2);
}

void rowsAvx2(const MatmulArgs &a, int64_t n0, int64_t n1, float *) {
  const w8a8::Prepared p = w8a8::view(a);
  forTiles(
      a, n0, n1, [&](int64_t n, int64_t m) { tileAvx2<4, 4>(a, p, n, m); },
      [&](int64_t n, int64_t m) { tileAvx2<4, 1>(a, p, n, m); },
      [&](int64_t n, int64_t m) { tileAvx2<1, 4>(a, p, n, m); },
      [&](int64_t n, int64_t m) { tileAvx2<1, 1>(a, p, n, m); });
}

} // namespace

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

bool w8a8Avx512Kernel(MatmulKernel &out) {
  if (!hasIsa(Isa::Avx512Vnni))
    return false;
  out = {"w8a8-avx512vnni", rowsAvx512, w8a8::preparedBytes, prepareAvx512};
  return true;
}

bool w8a8Avx2Kernel(MatmulKernel &out) {
  if (!hasIsa(Isa::Avx2))
    return false;
  out = {"w8a8-avx2", rowsAvx2, w8a8::preparedBytes, prepareAvx2};
  return true;
}

#else // not x86-64

bool w8a8Avx512Kernel(MatmulKernel &) { return false; }
bool w8a8Avx2Kernel(MatmulKernel &) { return false; }

#endif

} // namespace lowbit::runtime::kernels::x86
