//===- X86Matmul.cpp - AVX-512 VNNI matmul kernels ------------------------===//
//
// See X86Matmul.h for the method and its error bound. Layout of the prepared
// activations: for each activation row, one 448-byte record per group of
// 128 elements (K padded with zeros to a multiple of 128):
//
//   @0   x0    64 int8   the group's activations in the order the format's
//   @64  x1    64 int8   first / second unpacked weight vector comes out
//   @128 init0 16 int32  -offset * (sum of the int8 activations of the
//   @192 init1 16 int32   block in each 128-bit lane), in the lane's first
//                         32-bit slot: the offset folded into the accumulator
//   @256 dx0   16 f32    the activation scale of each lane's 32-block
//   @320 dx1   16 f32
//   @384 xs    16 f32    sum of x over natural 32-block j in slot 4j, for
//                         mins and zero points (0 elsewhere)
//
// A format's traits (below) say which permutation of the group's 128
// elements x0 ++ x1 is (Perm), whether x0 and x1 feed one accumulator
// (shared: both vectors' lane l come from the same block) or two, and load
// group g of a weight row as unsigned codes (w0, w1), per-lane weight scales
// (s0, s1) and, for formats with mins or zero points, per-block float terms
// mv (slot 4j, multiplied by xs).
//
//===----------------------------------------------------------------------===//

#include "kernels/x86/X86Matmul.h"
#include "kernels/x86/X86Avx2Matmul.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <type_traits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lowbit::runtime::kernels::x86 {

using quant::Format;
using quant::FormatKind;
using quant::Granularity;
using quant::Offset;

#if defined(__x86_64__)

namespace {

constexpr int64_t kGroup = 128;
constexpr int64_t kRecord = 448;
/// The decode path keeps a compact copy (the record's x0, x1, then init0,
/// init1, dx, xs as 4 values each, expanded in registers): 192 bytes per 128
/// elements, so a row of K = 11008 (16.5 KB) stays in L1 beside the weight
/// stream (the 448-byte records thrashed it from K ~ 6000 on).
constexpr int64_t kDecodeRecord = 192;

enum class Perm { Natural, Nibble32, EvenOdd32, Q4K };

/// The natural element (0..127) at layout position `pos` (x0: 0..63, x1:
/// 64..127).
constexpr int permAt(Perm p, int pos) {
  const int v = pos / 64, q = pos % 64, l = q / 16, i = q % 16;
  switch (p) {
  case Perm::Natural:
    return pos;
  case Perm::Nibble32: // lane l: block l, first (x0) or second (x1) half
    return 32 * l + 16 * v + i;
  case Perm::EvenOdd32: // lane l: block l, even (x0) or odd (x1) elements
    return 32 * l + 2 * i + v;
  case Perm::Q4K: // x0: elements 0..31, 64..95; x1: 32..63, 96..127
    return q < 32 ? 32 * v + q : 32 * v + q + 32;
  }
  return 0;
}

struct alignas(64) Bytes64 {
  uint8_t b[64];
};
struct alignas(64) Ints16 {
  int32_t i[16];
};

struct PermTables {
  Bytes64 idx0, idx1; ///< vpermt2b indices: x0 / x1 from the natural 128
  Ints16 dx0, dx1;    ///< block of each lane, for vpermps
};

constexpr PermTables makePermTables(Perm p) {
  PermTables t{};
  for (int pos = 0; pos < 64; ++pos) {
    t.idx0.b[pos] = static_cast<uint8_t>(permAt(p, pos));
    t.idx1.b[pos] = static_cast<uint8_t>(permAt(p, 64 + pos));
  }
  for (int lane = 0; lane < 16; ++lane) {
    t.dx0.i[lane] = permAt(p, 16 * (lane / 4)) / 32;
    t.dx1.i[lane] = permAt(p, 64 + 16 * (lane / 4)) / 32;
  }
  return t;
}

constexpr PermTables kPermTables[] = {makePermTables(Perm::Natural), makePermTables(Perm::Nibble32),
                                      makePermTables(Perm::EvenOdd32), makePermTables(Perm::Q4K)};

/// Runtime feature check, once.
bool detectAvx512Vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi") &&
         __builtin_cpu_supports("f16c") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("fma");
}

} // namespace

// Everything below runs only after detectAvx512Vnni() said yes.
#if defined(__clang__)
#pragma clang attribute push(                                                                                    \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,f16c,fma,bmi,bmi2"))),        \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,f16c,fma,bmi,bmi2")
#endif

namespace {

inline __m512i load64(const void *p) { return _mm512_load_si512(p); }

/// min(64, avail) bytes from p, zeros after them; never touches the rest.
inline __m512i loadUpTo(const uint8_t *p, int64_t avail) {
  if (avail >= 64)
    return _mm512_loadu_si512(p);
  if (avail <= 0)
    return _mm512_setzero_si512();
  return _mm512_maskz_loadu_epi8(_bzhi_u64(~0ull, static_cast<unsigned>(avail)), p);
}

/// loadUpTo, or (Tail false: the caller knows 64 bytes are there) a plain
/// load, without the bounds test.
template <bool Tail> inline __m512i loadAt(const uint8_t *p, int64_t avail) {
  if constexpr (Tail)
    return loadUpTo(p, avail);
  (void)avail;
  return _mm512_loadu_si512(p);
}

/// Unit u of a packed row (Tail false: the caller knows it is not the row's
/// last unit, which may lie apart from the others).
template <bool Tail> inline const uint8_t *unitAt(const PackedRow &row, int64_t u) {
  return Tail ? row.unit(u) : row.head + u * row.stride;
}

inline __m512 halfsToFloats(__m512i bytes) { return _mm512_cvtph_ps(_mm512_castsi512_si256(bytes)); }

inline float halfToFloat(const uint8_t *p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline uint32_t load32(const uint8_t *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

int64_t groupsOf(int64_t K) { return (K + kGroup - 1) / kGroup; }

//===----------------------------------------------------------------------===//
// Prefill layout. For M >= kPrefillMinRows, activations and (per workgroup)
// weights are regrouped four groups (512 elements) at a time so that each
// 32-bit lane of an accumulator holds one 16-element chunk for the whole
// supergroup: VPDPBUSD step s (0..3) multiplies dword s of 16 chunks, and the
// scales are applied once per 4 steps (shared formats: once per 8, x0 and x1
// chunks of a block landing in the same lane) instead of once per step.
// Chunk c = 4 * (group in supergroup) + (128-bit lane in the group's vector).
//
// Per supergroup and activation row (kSuperRecord bytes):
//   @0    T[v][s], v = 0, 1 (x0, x1), s = 0..3: dword s of the 16 chunks
//   @512  init[v]  the records' init0 / init1, compressed to one per chunk
//   @640  dx[v]    likewise
//   @768  xs       the records' xs, compressed (slot 4g + j: block j of group g)
//===----------------------------------------------------------------------===//

constexpr int64_t kPrefillMinRows = 8;
constexpr int64_t kSuperRecord = 832;

bool usePrefill(const MatmulArgs &a) { return a.M >= kPrefillMinRows; }
int64_t supergroupsOf(int64_t K) { return (groupsOf(K) + 3) / 4; }

/// Four vectors A[g] (128-bit lane l = chunk l, 4 dwords) -> T[s] with
/// T[s] dword 4g + l = A[g] dword 4l + s.
struct Transposer {
  __m512i lo, hi, pick0, pick1;
  Transposer() {
    alignas(64) int32_t a[16], b[16], c[16], d[16];
    for (int p = 0; p < 16; ++p) {
      const int s = p / 8, g = (p / 4) % 2, l = p % 4;
      a[p] = 16 * g + 4 * l + s;     // P: s in {0, 1} of A0, A1
      b[p] = 16 * g + 4 * l + s + 2; // Q: s in {2, 3}
      const int gg = p / 4, ll = p % 4;
      c[p] = gg < 2 ? 4 * gg + ll : 16 + 4 * (gg - 2) + ll;         // s = 0 (and 2)
      d[p] = gg < 2 ? 8 + 4 * gg + ll : 16 + 8 + 4 * (gg - 2) + ll; // s = 1 (and 3)
    }
    lo = _mm512_load_si512(a);
    hi = _mm512_load_si512(b);
    pick0 = _mm512_load_si512(c);
    pick1 = _mm512_load_si512(d);
  }
  void operator()(const __m512i A[4], __m512i T[4]) const {
    const __m512i P = _mm512_permutex2var_epi32(A[0], lo, A[1]), R = _mm512_permutex2var_epi32(A[2], lo, A[3]);
    const __m512i Q = _mm512_permutex2var_epi32(A[0], hi, A[1]), S = _mm512_permutex2var_epi32(A[2], hi, A[3]);
    T[0] = _mm512_permutex2var_epi32(P, pick0, R);
    T[1] = _mm512_permutex2var_epi32(P, pick1, R);
    T[2] = _mm512_permutex2var_epi32(Q, pick0, S);
    T[3] = _mm512_permutex2var_epi32(Q, pick1, S);
  }
  /// T[0] only: dword 0 of each lane of the four vectors.
  __m512i compress(const __m512i A[4]) const {
    return _mm512_permutex2var_epi32(_mm512_permutex2var_epi32(A[0], lo, A[1]), pick0,
                                     _mm512_permutex2var_epi32(A[2], lo, A[3]));
  }
};

/// Records of 4 * supergroups groups (zero padded) -> the prefill layout.
void transposeActivations(const uint8_t *records, int64_t supergroups, uint8_t *out) {
  const Transposer t;
  for (int64_t sg = 0; sg < supergroups; ++sg, out += kSuperRecord) {
    const uint8_t *r = records + sg * 4 * kRecord;
    __m512i A[4], T[4];
    for (int v = 0; v < 2; ++v) {
      for (int g = 0; g < 4; ++g)
        A[g] = _mm512_load_si512(r + g * kRecord + 64 * v);
      t(A, T);
      for (int s = 0; s < 4; ++s)
        _mm512_store_si512(out + 64 * (4 * v + s), T[s]);
    }
    for (int field = 0; field < 5; ++field) { // init0, init1, dx0, dx1, xs
      for (int g = 0; g < 4; ++g)
        A[g] = _mm512_load_si512(r + g * kRecord + 128 + 64 * field);
      _mm512_store_si512(out + 512 + 64 * field, t.compress(A));
    }
  }
}

/// Quantizes rows [m0, m1) of x into their records.
void prepareRows(const MatmulArgs &a, uint8_t *buffer, Perm perm, bool shared, int offset, int64_t m0,
                 int64_t m1) {
  const int64_t K = a.K, groups = groupsOf(K), stride = groups * kDecodeRecord;
  const PermTables &t = kPermTables[static_cast<int>(perm)];
  const __m512i idx0 = load64(t.idx0.b), idx1 = load64(t.idx1.b);
  const __m512i dxIdx0 = load64(t.dx0.i), dxIdx1 = load64(t.dx1.i);
  const __m512i ones = _mm512_set1_epi8(1), negOffset = _mm512_set1_epi32(-offset);
  const __m512 absMask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  const bool transposed = usePrefill(a);
  const int64_t supergroups = supergroupsOf(K);
  std::vector<Bytes64> temp(transposed ? static_cast<size_t>(supergroups * 4 * kRecord / 64) : kRecord / 64);
  for (int64_t m = m0; m < m1; ++m) {
    const float *x = a.x + m * K;
    if (transposed)
      std::memset(temp.data(), 0, temp.size() * 64);
    for (int64_t g = 0; g < groups; ++g) {
      uint8_t *record = reinterpret_cast<uint8_t *>(temp.data()) + (transposed ? g * kRecord : 0);
      alignas(64) int8_t q[128];
      alignas(16) float dx[4], xs[4];
      for (int b = 0; b < 4; ++b) {
        const int64_t k = g * kGroup + 32 * b, count = std::min<int64_t>(32, K - k);
        __m512 v0, v1;
        if (count == 32) {
          v0 = _mm512_loadu_ps(x + k);
          v1 = _mm512_loadu_ps(x + k + 16);
        } else if (count > 0) {
          v0 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(_bzhi_u32(0xffff, std::min<int64_t>(16, count))), x + k);
          v1 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(_bzhi_u32(0xffff, std::max<int64_t>(0, count - 16))),
                                     x + k + 16);
        } else {
          v0 = v1 = _mm512_setzero_ps();
        }
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(v0, absMask), _mm512_and_ps(v1, absMask)));
        const float sum = _mm512_reduce_add_ps(_mm512_add_ps(v0, v1));
        // A NaN or Inf in the block (max drops NaNs) makes its scale NaN, so
        // the row's outputs are NaN, never a rounded-away finite value.
        const bool finite = std::isfinite(sum) && std::isfinite(amax);
        const float d = finite ? amax / 127.f : NAN, id = finite && d != 0.f ? 1.f / d : 0.f;
        const __m512 scale = _mm512_set1_ps(id);
        _mm_store_si128(reinterpret_cast<__m128i *>(q + 32 * b),
                        _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, scale))));
        _mm_store_si128(reinterpret_cast<__m128i *>(q + 32 * b + 16),
                        _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, scale))));
        dx[b] = d;
        xs[b] = sum;
      }
      const __m512i qa = load64(q), qb = load64(q + 64);
      const __m512i x0 = _mm512_permutex2var_epi8(qa, idx0, qb), x1 = _mm512_permutex2var_epi8(qa, idx1, qb);
      _mm512_store_si512(record, x0);
      _mm512_store_si512(record + 64, x1);
      // Per-lane sums of the int8 activations (every slot of a 128-bit lane
      // gets the lane's sum).
      __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, x0);
      __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, x1);
      if (shared) {
        s0 = _mm512_add_epi32(s0, s1);
        s1 = _mm512_setzero_si512();
      }
      s0 = _mm512_add_epi32(s0, _mm512_shuffle_epi32(s0, _MM_PERM_CDAB));
      s0 = _mm512_add_epi32(s0, _mm512_shuffle_epi32(s0, _MM_PERM_BADC));
      s1 = _mm512_add_epi32(s1, _mm512_shuffle_epi32(s1, _MM_PERM_CDAB));
      s1 = _mm512_add_epi32(s1, _mm512_shuffle_epi32(s1, _MM_PERM_BADC));
      _mm512_store_si512(record + 128, _mm512_maskz_mullo_epi32(0x1111, s0, negOffset));
      _mm512_store_si512(record + 192, _mm512_maskz_mullo_epi32(0x1111, s1, negOffset));
      const __m512 dx4 = _mm512_castps128_ps512(_mm_load_ps(dx));
      _mm512_store_ps(record + 256, _mm512_permutexvar_ps(dxIdx0, dx4));
      _mm512_store_ps(record + 320, _mm512_permutexvar_ps(dxIdx1, dx4));
      _mm512_store_ps(record + 384, _mm512_maskz_expand_ps(0x1111, _mm512_castps128_ps512(_mm_load_ps(xs))));
      if (!transposed) {
        uint8_t *compact = buffer + m * stride + g * kDecodeRecord;
        _mm512_store_si512(compact, x0);
        _mm512_store_si512(compact + 64, x1);
        _mm_store_si128(reinterpret_cast<__m128i *>(compact + 128),
                        _mm512_castsi512_si128(_mm512_maskz_compress_epi32(0x1111, load64(record + 128))));
        _mm_store_si128(reinterpret_cast<__m128i *>(compact + 144),
                        _mm512_castsi512_si128(_mm512_maskz_compress_epi32(0x1111, load64(record + 192))));
        _mm_store_ps(reinterpret_cast<float *>(compact + 160), _mm_load_ps(dx));
        _mm_store_ps(reinterpret_cast<float *>(compact + 176), _mm_load_ps(xs));
      }
    }
    if (transposed)
      transposeActivations(reinterpret_cast<const uint8_t *>(temp.data()), supergroups,
                           buffer + m * supergroups * kSuperRecord);
  }
}

struct PrepareJob {
  const MatmulArgs *args;
  uint8_t *buffer;
  Perm perm;
  bool shared;
  int offset;
  int64_t rowsPerGroup;
};

void prepareGroup(void *arg, int64_t group) {
  const PrepareJob &j = *static_cast<const PrepareJob *>(arg);
  const int64_t m0 = group * j.rowsPerGroup, m1 = std::min(j.args->M, m0 + j.rowsPerGroup);
  prepareRows(*j.args, j.buffer, j.perm, j.shared, j.offset, m0, m1);
}

void prepareActivations(const lowbit_dispatch_context *ctx, const MatmulArgs &a, void *buffer, Perm perm,
                        bool shared, int offset) {
  PrepareJob job{&a, static_cast<uint8_t *>(buffer), perm, shared, offset, a.M};
  const int64_t workers = ctx && ctx->parallel_for ? std::max<int64_t>(1, ctx->num_workers) : 1;
  if (workers > 1 && a.M >= 8) {
    job.rowsPerGroup = (a.M + workers * 2 - 1) / (workers * 2);
    ctx->parallel_for(ctx->pool, (a.M + job.rowsPerGroup - 1) / job.rowsPerGroup, prepareGroup, &job);
  } else {
    prepareRows(a, job.buffer, perm, shared, offset, 0, a.M);
  }
}

int64_t preparedBytes(const MatmulArgs &a) {
  return usePrefill(a) ? a.M * supergroupsOf(a.K) * kSuperRecord : a.M * groupsOf(a.K) * kDecodeRecord;
}

//===----------------------------------------------------------------------===//
// Weight formats
//===----------------------------------------------------------------------===//

/// One group of 128 weights, unpacked.
struct Unpacked {
  __m512i w0, w1;
  __m512 s0, s1, mv;
  __m512 m0, m1; ///< lane-min formats: the min coefficient of each lane
};

/// Formats whose mins change every 16 weights (Q2_K), finer than the exact
/// sums of x (per 32-block): they set kLaneMins, are prepared with offset -1
/// (init0 / init1 = the int8 sum of each lane) and apply the lane's min
/// against d_x times that sum, i.e. against the rounded activations.
template <class F, class = void> struct LaneMinsOf : std::false_type {};
template <class F> struct LaneMinsOf<F, std::void_t<decltype(F::kLaneMins)>> : std::bool_constant<F::kLaneMins> {};

/// vpermt2b / vpermb index tables, built once.
template <typename Fn> Bytes64 makeIndex(Fn fn) {
  Bytes64 t{};
  for (int i = 0; i < 64; ++i)
    t.b[i] = static_cast<uint8_t>(fn(i));
  return t;
}

/// Bytes of 4 blocks of `blockBytes` with the codes at `codeOffset`: the
/// index that gathers the 4 x 16 code bytes from z0 = p[0, 64) and
/// z1 = p[shift, shift + 64).
Bytes64 codeIndex(int blockBytes, int codeOffset, int shift) {
  return makeIndex([=](int r) {
    const int b = blockBytes * (r / 16) + codeOffset + r % 16;
    return b < 64 ? b : 64 + b - shift;
  });
}

/// The index that spreads 4 fp16 fields (at `fieldOffset` of each block)
/// over 16 halves, 4 per block (block l in halves 4l..4l+3), from z0/z1.
Bytes64 halfIndex(int blockBytes, int fieldOffset, int shift) {
  return makeIndex([=](int r) {
    if (r >= 32)
      return 0;
    const int b = blockBytes * (r / 8) + fieldOffset + r % 2;
    return b < 64 ? b : 64 + b - shift;
  });
}

/// Q4_0, IQ4_NL, Q4_1, Q5_0, Q5_1: 32-blocks whose low nibbles hold the
/// first 16 elements and high nibbles the last 16.
template <FormatKind Kind> struct Legacy32 {
  static constexpr bool kHasMin = Kind == FormatKind::Q4_1 || Kind == FormatKind::Q5_1;
  static constexpr bool kHas5th = Kind == FormatKind::Q5_0 || Kind == FormatKind::Q5_1;
  static constexpr int kBlockBytes = Kind == FormatKind::Q4_1   ? 20
                                     : Kind == FormatKind::Q5_0 ? 22
                                     : Kind == FormatKind::Q5_1 ? 24
                                                                : 18;
  static constexpr int kCodeOffset = kBlockBytes - 16;
  static constexpr int kShift = 4 * kBlockBytes - 64;
  static constexpr Perm kPerm = Perm::Nibble32;
  static constexpr bool kShared = true;
  static constexpr int kOffset = Kind == FormatKind::Q4_0   ? 8
                                 : Kind == FormatKind::Q5_0 ? 16
                                 : Kind == FormatKind::IQ4_NL ? 128
                                                              : 0;
  static constexpr int kGroupBytes = 4 * kBlockBytes; ///< packed bytes of 128 weights
  /// Rows per pass of the one-row decode (DecodeRowsOf).
  static constexpr int kDecodeRows = Kind == FormatKind::Q4_0 || Kind == FormatKind::IQ4_NL ? 1 : 4;

  struct Tables {
    Bytes64 codes, scales, mins, high;
  };
  static const Tables &tables() {
    static const Tables t = [] {
      Tables t{};
      t.codes = codeIndex(kBlockBytes, kCodeOffset, kShift);
      t.scales = halfIndex(kBlockBytes, 0, kShift);
      t.mins = halfIndex(kBlockBytes, 2, kShift);
      // The 5th bits, qh at kCodeOffset - 4: bytes 0..7 = the low halves
      // (bits 0..15) of blocks 0..3, bytes 8..15 = the high halves.
      t.high = makeIndex([](int r) {
        if (r >= 16)
          return 0;
        const int block = (r % 8) / 2, byte = (r / 8) * 2 + r % 2;
        const int b = kBlockBytes * block + kCodeOffset - 4 + byte;
        return b < 64 ? b : 64 + b - kShift;
      });
      return t;
    }();
    return t;
  }

  PackedRow row; ///< units of 128 weights: group g is unit g
  int64_t rowBytes;
  __m512i codeIdx, scaleIdx, minIdx, highIdx;

  Legacy32(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)), rowBytes(a.rowBytes) {
    const Tables &t = tables();
    codeIdx = load64(t.codes.b);
    scaleIdx = load64(t.scales.b);
    minIdx = load64(t.mins.b);
    highIdx = load64(t.high.b);
  }

  template <bool Tail = true> Unpacked load(int64_t g) const {
    const int64_t avail = rowBytes - kGroupBytes * g;
    const uint8_t *p = unitAt<Tail>(row, g);
    const __m512i z0 = loadAt<Tail>(p, avail), z1 = loadAt<Tail>(p + kShift, avail - kShift);
    const __m512i raw = _mm512_permutex2var_epi8(z0, codeIdx, z1), nibble = _mm512_set1_epi8(0x0f);
    Unpacked u;
    u.w0 = _mm512_and_si512(raw, nibble);
    u.w1 = _mm512_and_si512(_mm512_srli_epi16(raw, 4), nibble);
    if constexpr (Kind == FormatKind::IQ4_NL) {
      // T[q] + 128, so the codes are unsigned with offset 128.
      const __m512i table = _mm512_broadcast_i32x4(
          _mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, (char)129, (char)141, (char)153, (char)166, (char)181,
                        (char)197, (char)217, (char)241));
      u.w0 = _mm512_shuffle_epi8(table, u.w0);
      u.w1 = _mm512_shuffle_epi8(table, u.w1);
    }
    if constexpr (kHas5th) {
      const __m128i h = _mm512_castsi512_si128(_mm512_permutex2var_epi8(z0, highIdx, z1));
      const __mmask64 lo = _cvtu64_mask64(static_cast<uint64_t>(_mm_cvtsi128_si64(h)));
      const __mmask64 hi = _cvtu64_mask64(static_cast<uint64_t>(_mm_extract_epi64(h, 1)));
      const __m512i sixteen = _mm512_set1_epi8(16);
      u.w0 = _mm512_mask_add_epi8(u.w0, lo, u.w0, sixteen);
      u.w1 = _mm512_mask_add_epi8(u.w1, hi, u.w1, sixteen);
    }
    u.s0 = halfsToFloats(_mm512_permutex2var_epi8(z0, scaleIdx, z1));
    u.s1 = u.s0;
    if constexpr (kHasMin)
      u.mv = _mm512_maskz_mov_ps(0x1111, halfsToFloats(_mm512_permutex2var_epi8(z0, minIdx, z1)));
    else
      u.mv = _mm512_setzero_ps();
    return u;
  }
};

/// Q8_0: codes are signed bytes; x ^ 0x80 makes them unsigned, offset 128.
/// Laid out like the nibble formats (x0 lane l = first 16 codes of block l,
/// x1 = last 16), so both vectors feed one accumulator.
struct Q8_0Traits {
  static constexpr const char *kName = "avx512vnni-q8_0";
  static constexpr bool kHasMin = false;
  static constexpr Perm kPerm = Perm::Nibble32;
  static constexpr bool kShared = true;
  static constexpr int kOffset = 128;
  static constexpr int kGroupBytes = 136;

  struct Tables {
    Bytes64 first, second, tail, scales;
  };
  static const Tables &tables() {
    static const Tables t = [] {
      Tables t{};
      // First halves (bytes 2..17, 36..51, 70..85, 104..119 of the group)
      // from z0 = p[0, 64) and z1 = p[64, 128); second halves (18..33,
      // 52..67, 86..101, 120..135) from the same two, but for bytes
      // 128..135, which come from an 8-byte load (tail index): the group's
      // bytes are loaded once, not by four overlapping 64-byte loads.
      t.first = makeIndex([](int r) { return 34 * (r / 16) + 2 + r % 16; });
      t.second = makeIndex([](int r) { return std::min(34 * (r / 16) + 18 + r % 16, 127); });
      t.tail = makeIndex([](int r) { return std::max(34 * (r / 16) + 18 + r % 16 - 128, 0); });
      t.scales = makeIndex([](int r) { return r < 32 ? 34 * (r / 8) + r % 2 : 0; });
      return t;
    }();
    return t;
  }

  PackedRow row; ///< units of 128 weights: group g is unit g
  int64_t rowBytes;
  __m512i first, second, tail, scales;

  Q8_0Traits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)), rowBytes(a.rowBytes) {
    const Tables &t = tables();
    first = load64(t.first.b);
    second = load64(t.second.b);
    tail = load64(t.tail.b);
    scales = load64(t.scales.b);
  }

  template <bool Tail = true> Unpacked load(int64_t g) const {
    const int64_t avail = rowBytes - 136 * g;
    const uint8_t *p = unitAt<Tail>(row, g);
    const __m512i z0 = loadAt<Tail>(p, avail), z1 = loadAt<Tail>(p + 64, avail - 64);
    const __m128i last = Tail ? _mm_maskz_loadu_epi8(static_cast<__mmask16>(_bzhi_u32(0xff, static_cast<unsigned>(
                                                        std::clamp<int64_t>(avail - 128, 0, 8)))),
                                                    p + 128)
                              : _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p + 128));
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    // Positions 56..63 (block 3's bytes 128..135) from the 8-byte load.
    const __m512i second = _mm512_mask_permutexvar_epi8(_mm512_permutex2var_epi8(z0, this->second, z1),
                                                        0xff00000000000000ull, tail, _mm512_castsi128_si512(last));
    Unpacked u;
    u.w0 = _mm512_xor_si512(_mm512_permutex2var_epi8(z0, first, z1), flip);
    u.w1 = _mm512_xor_si512(second, flip);
    u.s0 = u.s1 = halfsToFloats(_mm512_permutex2var_epi8(z0, scales, z1));
    u.mv = _mm512_setzero_ps();
    return u;
  }
};

/// int4 and int8 with external scales: per-tensor, per-channel, or groups
/// of 32, 64 or a multiple of 128.
template <unsigned Bits, Offset Off> struct IntTraits {
  static_assert(Bits == 4 || Bits == 8);
  static constexpr bool kHasMin = Off != Offset::None;
  static constexpr Perm kPerm = Bits == 4 ? Perm::EvenOdd32 : Perm::Natural;
  static constexpr bool kShared = Bits == 4;
  static constexpr int kOffset = Off == Offset::None ? 1 << (Bits - 1) : 0;
  static constexpr int kGroupBytes = 16 * Bits;

  PackedRow row; ///< units of 128 weights: group g is unit g
  int64_t rowBytes;
  const float *scales, *mins;
  const int32_t *zeroPoints;
  int64_t groupSize; ///< 0: one entry for the whole row
  int64_t entries;   ///< this row's side-array entries
  __m512i spread4, spread2lo, spread2hi;

  IntTraits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)), rowBytes(a.rowBytes) {
    const bool perTensor = a.format.granularity == Granularity::Tensor;
    const int64_t base = perTensor ? 0 : n * a.groupsPerRow;
    scales = a.scales + base;
    mins = a.mins ? a.mins + base : nullptr;
    zeroPoints = a.zeroPoints ? a.zeroPoints + base : nullptr;
    groupSize = a.format.granularity == Granularity::Group ? a.format.groupSize : 0;
    entries = perTensor ? 1 : a.groupsPerRow;
    spread4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    spread2lo = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    spread2hi = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  }

  /// The side-array entry of group g when one entry covers it (per
  /// tensor, per channel, groups of a multiple of 128): no division for the
  /// common group of 128.
  int64_t entryOf(int64_t g) const {
    return groupSize == 0 ? 0 : groupSize == kGroup ? g : g * kGroup / groupSize;
  }
  bool oneEntryPerGroup() const { return groupSize == 0 || groupSize % kGroup == 0; }

  /// Prefetches the side-array entries of group g of the row `rows` below
  /// this one: the decode's rows interleave their side arrays too, and int4
  /// group 32's (a quarter of its bytes) then missed the hardware prefetcher.
  void prefetchSide(int64_t g, int64_t rows) const {
    const int64_t e = groupSize == 32 ? 4 * g : groupSize == 64 ? 2 * g : entryOf(g), at = rows * entries + e;
    _mm_prefetch(reinterpret_cast<const char *>(scales + at), _MM_HINT_T0);
    if (mins)
      _mm_prefetch(reinterpret_cast<const char *>(mins + at), _MM_HINT_T0);
    if (zeroPoints)
      _mm_prefetch(reinterpret_cast<const char *>(zeroPoints + at), _MM_HINT_T0);
  }

  /// Prefetches the side-array entries of groups [g0, g1) of the row `rows`
  /// below, a cache line at a time (the prefill's unpacking).
  void prefetchSideRange(int64_t g0, int64_t g1, int64_t rows) const {
    auto first = [&](int64_t g) { return groupSize == 32 ? 4 * g : groupSize == 64 ? 2 * g : entryOf(g); };
    const int64_t base = rows * entries, e0 = base + first(g0),
                  e1 = base + std::max(first(g0), std::min(entries, first(g1)) - 1);
    for (const float *array : {scales, mins, reinterpret_cast<const float *>(zeroPoints)}) {
      if (!array)
        continue;
      for (int64_t e = e0; e < e1; e += 16)
        _mm_prefetch(reinterpret_cast<const char *>(array + e), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(array + e1), _MM_HINT_T0);
    }
  }

  /// The side-array values of the group's 4 blocks, in slots 0..3.
  template <typename T> __m128i side4(const T *values, int64_t g) const {
    if (oneEntryPerGroup()) {
      const int64_t e = entryOf(g);
      int32_t v;
      std::memcpy(&v, values + e, 4);
      return _mm_set1_epi32(v);
    }
    const int64_t perGroup = kGroup / groupSize, first = g * perGroup; // 4 (G=32) or 2 (G=64)
    const int64_t count = std::min<int64_t>(perGroup, entries - first);
    const __m128i v = count == 4 ? _mm_loadu_si128(reinterpret_cast<const __m128i *>(values + first))
                                 : _mm_maskz_loadu_epi32(static_cast<__mmask8>((1u << count) - 1), values + first);
    return groupSize == 32 ? v : _mm_unpacklo_epi32(v, v); // G=64: blocks 0,1 -> entry 0; 2,3 -> entry 1
  }

  template <bool Tail = true> Unpacked load(int64_t g) const {
    Unpacked u;
    if constexpr (Bits == 4 && Off == Offset::None) {
      // One scale for the group: a broadcast load, no shuffle.
      if (oneEntryPerGroup()) {
        const __m512i raw = loadAt<Tail>(unitAt<Tail>(row, g), rowBytes - 64 * g), nibble = _mm512_set1_epi8(0x0f);
        u.w0 = _mm512_and_si512(raw, nibble);
        u.w1 = _mm512_and_si512(_mm512_srli_epi16(raw, 4), nibble);
        u.s0 = u.s1 = _mm512_set1_ps(scales[entryOf(g)]);
        u.mv = _mm512_setzero_ps();
        return u;
      }
    }
    const __m512 s4 = _mm512_castps128_ps512(_mm_castsi128_ps(side4(scales, g)));
    if constexpr (Bits == 4) {
      const __m512i raw = loadAt<Tail>(unitAt<Tail>(row, g), rowBytes - 64 * g), nibble = _mm512_set1_epi8(0x0f);
      u.w0 = _mm512_and_si512(raw, nibble);
      u.w1 = _mm512_and_si512(_mm512_srli_epi16(raw, 4), nibble);
      u.s0 = u.s1 = _mm512_permutexvar_ps(spread4, s4);
    } else {
      const int64_t avail = rowBytes - 128 * g;
      const uint8_t *p = unitAt<Tail>(row, g);
      u.w0 = loadAt<Tail>(p, avail);
      u.w1 = loadAt<Tail>(p + 64, avail - 64);
      u.s0 = _mm512_permutexvar_ps(spread2lo, s4);
      u.s1 = _mm512_permutexvar_ps(spread2hi, s4);
    }
    if constexpr (Off == Offset::Min) {
      u.mv = _mm512_maskz_expand_ps(0x1111, _mm512_castps128_ps512(_mm_castsi128_ps(side4(mins, g))));
    } else if constexpr (Off == Offset::ZeroPoint) {
      const __m128 z = _mm_cvtepi32_ps(side4(zeroPoints, g));
      const __m128 sz = _mm_mul_ps(_mm_castsi128_ps(side4(scales, g)), z);
      u.mv = _mm512_maskz_expand_ps(0x1111, _mm512_castps128_ps512(_mm_sub_ps(_mm_setzero_ps(), sz)));
    } else {
      u.mv = _mm512_setzero_ps();
    }
    return u;
  }
};

/// Q4_K and Q5_K: 256-element super-blocks = 2 groups; 8 sub-blocks of 32
/// with 6-bit scales and mins. Group h of a super-block is qs[64h, 64h + 64)
/// = four 16-byte pieces A B C D: the low nibbles of A and B are sub-block
/// 4h, their high nibbles 4h+1; C and D hold 4h+2 and 4h+3 the same way. So
/// w0 = [lo A, hi A, lo C, hi C] and w1 = [lo B, hi B, lo D, hi D] put one
/// sub-block in each lane of both vectors (first and second half: the
/// nibble formats' layout) and they share one accumulator. Q5_K's fifth bit
/// of element i of sub-block j is bit j of qh[i].
template <bool Q5> struct KQuant4Traits {
  static constexpr bool kHasMin = true;
  static constexpr Perm kPerm = Perm::Nibble32;
  static constexpr bool kShared = true;
  static constexpr int kOffset = 0;
  static constexpr int kBlockBytes = Q5 ? 176 : 144;
  static constexpr int kGroupBytes = kBlockBytes / 2;
  static constexpr int kCodes = Q5 ? 48 : 16;

  struct Tables {
    Bytes64 bits[2]; ///< byte mask 1 << (4h + lane) for the fifth bits
  };
  static const Tables &tables() {
    static const Tables t = [] {
      Tables t{};
      for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 64; ++i)
          t.bits[h].b[i] = static_cast<uint8_t>(1u << (4 * h + i / 16));
      return t;
    }();
    return t;
  }

  /// The decode applies the mins once per super-block (superMins) instead
  /// of per group through mv.
  static constexpr bool kSuperMins = true;

  PackedRow row; ///< units of one super-block: groups 2u and 2u + 1
  __m512i idxS[2], idxM[2], bits[2], shift, spreadDm;
  __m512 negMins;
  mutable __m512 sv; ///< d * sc_j (slots 0..7), -dmin * m_j (8..15) of the current super-block

  /// -dmin m_j in slots 8..15, and d sc_j in 0..7 (the caller multiplies
  /// them by zeros).
  __m512 superMins() const { return sv; }

  KQuant4Traits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)) {
    for (int h = 0; h < 2; ++h) {
      const int b = 4 * h;
      idxS[h] = _mm512_setr_epi32(b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 2, b + 2, b + 2, b + 2, b + 3, b + 3,
                                  b + 3, b + 3);
      idxM[h] = _mm512_setr_epi32(8 + b, 0, 0, 0, 9 + b, 0, 0, 0, 10 + b, 0, 0, 0, 11 + b, 0, 0, 0);
      if constexpr (Q5)
        bits[h] = load64(tables().bits[h].b);
    }
    spreadDm = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    negMins = _mm512_castsi512_ps(_mm512_maskz_set1_epi32(0xff00, static_cast<int>(0x80000000u)));
    // Lanes 1 and 3 take the high nibbles.
    shift = _mm512_setr_epi32(0, 0, 0, 0, 0x00040004, 0x00040004, 0x00040004, 0x00040004, 0, 0, 0, 0, 0x00040004,
                              0x00040004, 0x00040004, 0x00040004);
  }

  template <bool Tail = true> Unpacked load(int64_t g) const {
    const int h = static_cast<int>(g & 1);
    const uint8_t *p = row.head + (g >> 1) * row.stride;
    if (h == 0) {
      // The 6-bit scales and mins (GGUF_SPEC.md 2.9) in vector registers:
      // v = bytes 0..15 of the block, dwords a0 = d | dmin, a1, a2, a3 =
      // scales[0..12).
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
      const __m128i a = _mm_srli_si128(v, 4); // a1 a2 a3 (scales 0-3, 4-7, 8-11)
      const __m128i low6 = _mm_and_si128(a, _mm_set1_epi8(0x3f));         // sc0-3, m0-3
      const __m128i a3 = _mm_shuffle_epi32(a, _MM_SHUFFLE(2, 2, 2, 2));   // scales 8-11
      const __m128i hiLow = _mm_and_si128(_mm_srlv_epi32(a3, _mm_setr_epi32(0, 4, 0, 0)), _mm_set1_epi8(0x0f));
      const __m128i hiTop = _mm_and_si128(_mm_srli_epi32(a, 2), _mm_set1_epi8(0x30));
      const __m128i hi = _mm_or_si128(hiLow, hiTop);                      // sc4-7, m4-7
      const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_unpacklo_epi32(low6, hi)));
      // d in slots 0..7, -dmin in 8..15: d and dmin converted once, spread
      // by one permute, the sign by one xor.
      const __m512 dm = _mm512_castps128_ps512(_mm_cvtph_ps(v));
      sv = _mm512_mul_ps(sc, _mm512_xor_ps(_mm512_permutexvar_ps(spreadDm, dm), negMins));
    }
    const __m512i raw = _mm512_loadu_si512(p + kCodes + 64 * h), nibble = _mm512_set1_epi8(0x0f);
    Unpacked u;
    u.w0 = _mm512_and_si512(_mm512_srlv_epi16(_mm512_shuffle_i64x2(raw, raw, _MM_SHUFFLE(2, 2, 0, 0)), shift), nibble);
    u.w1 = _mm512_and_si512(_mm512_srlv_epi16(_mm512_shuffle_i64x2(raw, raw, _MM_SHUFFLE(3, 3, 1, 1)), shift), nibble);
    if constexpr (Q5) {
      const __m512i sixteen = _mm512_set1_epi8(16);
      const __m512i qh0 = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 16)));
      const __m512i qh1 = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 32)));
      u.w0 = _mm512_mask_add_epi8(u.w0, _mm512_test_epi8_mask(qh0, bits[h]), u.w0, sixteen);
      u.w1 = _mm512_mask_add_epi8(u.w1, _mm512_test_epi8_mask(qh1, bits[h]), u.w1, sixteen);
    }
    u.s0 = u.s1 = _mm512_permutexvar_ps(idxS[h], sv);
    u.mv = _mm512_maskz_permutexvar_ps(0x1111, idxM[h], sv);
    return u;
  }
};
using Q4_KTraits = KQuant4Traits<false>;
using Q5_KTraits = KQuant4Traits<true>;

/// IQ4_XS (GGUF_SPEC.md): 256-element super-blocks of fp16 d, scales_h
/// (u16), scales_l[4], qs[128]; 8 sub-blocks of 32 with 6-bit scales
/// ls_j = nibble j of scales_l | bits 2j..2j+1 of scales_h << 4, value
/// d (ls_j - 32) T[q] (IQ4_NL's table). Group h of a super-block is
/// qs[64h, 64h + 64): four 16-byte sub-blocks 4h..4h+3 whose low nibbles
/// hold elements 0..15 and high nibbles 16..31, the nibble formats' layout
/// in one contiguous load.
struct IQ4_XSTraits {
  static constexpr bool kHasMin = false;
  static constexpr Perm kPerm = Perm::Nibble32;
  static constexpr bool kShared = true;
  static constexpr int kOffset = 128;
  static constexpr int kGroupBytes = 68;

  PackedRow row; ///< units of one super-block: groups 2u and 2u + 1
  __m512i idxS[2];
  mutable __m512 sv; ///< d (ls_j - 32), slots 0..7, of the current super-block

  IQ4_XSTraits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)) {
    for (int h = 0; h < 2; ++h) {
      const int b = 4 * h;
      idxS[h] = _mm512_setr_epi32(b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 2, b + 2, b + 2, b + 2, b + 3, b + 3,
                                  b + 3, b + 3);
    }
  }

  template <bool Tail = true> Unpacked load(int64_t g) const {
    const int h = static_cast<int>(g & 1);
    const uint8_t *p = row.head + (g >> 1) * row.stride;
    if (h == 0) {
      uint16_t high;
      std::memcpy(&high, p + 2, 2);
      const __m256i low = _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(load32(p + 4))),
                                            _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
      const __m256i top = _mm256_srlv_epi32(_mm256_set1_epi32(high), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
      const __m256i ls = _mm256_or_si256(_mm256_and_si256(low, _mm256_set1_epi32(0xf)),
                                         _mm256_slli_epi32(_mm256_and_si256(top, _mm256_set1_epi32(3)), 4));
      sv = _mm512_castps256_ps512(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(ls, _mm256_set1_epi32(32))),
                                                _mm256_set1_ps(halfToFloat(p))));
    }
    const __m512i raw = _mm512_loadu_si512(p + 8 + 64 * h), nibble = _mm512_set1_epi8(0x0f);
    // T[q] + 128, so the codes are unsigned with offset 128 (as IQ4_NL).
    const __m512i table = _mm512_broadcast_i32x4(
        _mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, (char)129, (char)141, (char)153, (char)166, (char)181,
                      (char)197, (char)217, (char)241));
    Unpacked u;
    u.w0 = _mm512_shuffle_epi8(table, _mm512_and_si512(raw, nibble));
    u.w1 = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(raw, 4), nibble));
    u.s0 = u.s1 = _mm512_permutexvar_ps(idxS[h], sv);
    u.mv = _mm512_setzero_ps();
    return u;
  }
};

/// TQ1_0 (GGUF_SPEC.md): 256-element blocks of 54 bytes, qs[48], qh[4],
/// fp16 d; 5 trits per byte of qs, 4 per byte of qh, trit t of byte b being
/// ((b 3^t mod 256) 3) >> 8. Element 32t + m (t < 5) is trit t of qs[m];
/// 160 + 16t + m trit t of qs[32 + m]; 240 + 4t + j trit t of qh[j]. Laid
/// out like the nibble formats: lane l of w0 / w1 holds the first / second
/// 16 elements of 32-block 4h + l, gathered from the block's bytes by one
/// vpermb each with the power of 3 of each byte's trit; value d (t - 1).
struct TQ1_0Traits {
  static constexpr bool kHasMin = false;
  static constexpr Perm kPerm = Perm::Nibble32;
  static constexpr bool kShared = true;
  static constexpr int kOffset = 1;
  static constexpr int kGroupBytes = 27;

  /// Per group half h and vector v: the source byte and the power of 3 of
  /// each of the 64 bytes.
  struct Tables {
    Bytes64 source[2][2];
    alignas(64) uint16_t power[2][2][32];
  };
  static const Tables &tables() {
    static const Tables t = [] {
      Tables t{};
      constexpr uint16_t kPow3[5] = {1, 3, 9, 27, 81};
      for (int e = 0; e < 256; ++e) {
        int byte, trit;
        if (e < 160) {
          byte = e % 32, trit = e / 32;
        } else if (e < 240) {
          byte = 32 + (e - 160) % 16, trit = (e - 160) / 16;
        } else {
          byte = 48 + (e - 240) % 4, trit = (e - 240) / 4;
        }
        // Element e: group h = e / 128, block l = (e % 128) / 32, half v.
        const int h = e / 128, l = (e % 128) / 32, v = (e % 32) / 16, pos = 16 * l + e % 16;
        t.source[h][v].b[pos] = static_cast<uint8_t>(byte);
        t.power[h][v][pos / 2] = kPow3[trit];
      }
      return t;
    }();
    return t;
  }

  PackedRow row; ///< units of one super-block: groups 2u and 2u + 1
  int64_t rowBytes;
  __m512i source[2][2], power[2][2];

  TQ1_0Traits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)), rowBytes(a.rowBytes) {
    const Tables &t = tables();
    for (int h = 0; h < 2; ++h)
      for (int v = 0; v < 2; ++v) {
        source[h][v] = load64(t.source[h][v].b);
        power[h][v] = load64(t.power[h][v]);
      }
  }

  /// The trits of the bytes `src` picks from `raw`, each times its power.
  static __m512i trits(__m512i raw, __m512i src, __m512i pow) {
    const __m512i b = _mm512_permutexvar_epi8(src, raw);
    // b 3^t mod 256 per byte: the low byte of each 16-bit product, and the
    // high byte from the product of the high byte alone (no carry in).
    const __m512i lo = _mm512_mullo_epi16(b, pow);
    const __m512i hi = _mm512_mullo_epi16(_mm512_and_si512(b, _mm512_set1_epi16(static_cast<short>(0xff00))), pow);
    const __m512i u = _mm512_mask_blend_epi8(0xAAAAAAAAAAAAAAAAull, lo, hi);
    // (u 3) >> 8 = [u >= 86] + [u >= 171].
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i t = _mm512_maskz_mov_epi8(_mm512_cmpge_epu8_mask(u, _mm512_set1_epi8(86)), one);
    return _mm512_mask_add_epi8(t, _mm512_cmpge_epu8_mask(u, _mm512_set1_epi8(static_cast<char>(171))), t, one);
  }

  template <bool Tail = true> Unpacked load(int64_t g) const {
    const int h = static_cast<int>(g & 1);
    const uint8_t *p = row.head + (g >> 1) * row.stride;
    // 54 bytes: a masked load never reads past the row.
    const __m512i raw = _mm512_maskz_loadu_epi8((1ull << 54) - 1, p);
    Unpacked u;
    u.w0 = trits(raw, source[h][0], power[h][0]);
    u.w1 = trits(raw, source[h][1], power[h][1]);
    u.s0 = u.s1 = _mm512_set1_ps(halfToFloat(p + 52));
    u.mv = _mm512_setzero_ps();
    return u;
  }
};

/// Q3_K (GGUF_SPEC.md): 256-element super-blocks of hmask[32], qs[64],
/// scales[12] (16 6-bit scales), fp16 d; 16 sub-blocks of 16. Element
/// 128h + 32j + l (l < 32) is (qs[32h + l] >> 2j) & 3, plus 4 when bit
/// 4h + j of hmask[l] is set, minus 4, times d (scale_{8h + 2j + l / 16} -
/// 32). Laid out like Q6_K: group h = half h, w0 = j 0..1, w1 = j 2..3, one
/// sub-block per 128-bit lane.
struct Q3_KTraits {
  static constexpr bool kHasMin = false;
  static constexpr Perm kPerm = Perm::Natural;
  static constexpr bool kShared = false;
  static constexpr int kOffset = 4;
  static constexpr int kGroupBytes = 55;

  PackedRow row; ///< units of one super-block: groups 2u and 2u + 1
  __m512i idxS0[2], idxS1[2], shift0, shift1, bits[2][2];
  mutable __m512 sv; ///< d * (scale_i - 32) of the current super-block

  Q3_KTraits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)) {
    for (int h = 0; h < 2; ++h) {
      const int b = 8 * h;
      idxS0[h] = _mm512_setr_epi32(b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 2, b + 2, b + 2, b + 2, b + 3, b + 3,
                                   b + 3, b + 3);
      idxS1[h] = _mm512_add_epi32(idxS0[h], _mm512_set1_epi32(4));
      for (int v = 0; v < 2; ++v) // bit 4h + j, j = 2v (low 256 bits), 2v + 1 (high)
        bits[h][v] = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1u << (4 * h + 2 * v))),
                                        _mm256_set1_epi8(static_cast<char>(1u << (4 * h + 2 * v + 1))), 1);
    }
    // j = 0, 1 (w0) and 2, 3 (w1): shifts 2j of the low 256 bits / high.
    shift0 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    shift1 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
  }

  /// The 16 scales, 6 bits each: the low 4 from the nibbles of bytes 0..7
  /// (scale i < 8: low nibble of byte i; i >= 8: high nibble of byte i - 8),
  /// the high 2 from bits 2 (i / 4) of byte 8 + i % 4.
  static __m512 scales(const uint8_t *p, float d) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p));
    const __m128i nibble = _mm_set1_epi8(0x0f);
    const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(v, nibble), _mm_and_si128(_mm_srli_epi16(v, 4), nibble));
    const __m128i high = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(static_cast<int>(load32(p + 8))),
                                                      _mm_setr_epi32(0, 2, 4, 6)),
                                       _mm_set1_epi8(3));
    const __m128i six = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(six)), _mm512_set1_ps(d));
  }

  /// The one-row decode folds d_x into the scales once per super-block.
  static constexpr bool kSuperScales = true;

  /// dxv: d_x of each sub-block (SuperScalesOf), or ones.
  template <bool Tail = true> Unpacked load(int64_t g, __m512 dxv = _mm512_set1_ps(1.f)) const {
    const int h = static_cast<int>(g & 1);
    const uint8_t *p = row.head + (g >> 1) * row.stride;
    if (h == 0)
      sv = _mm512_mul_ps(scales(p + 96, halfToFloat(p + 108)), dxv);
    const __m512i qs = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + 32 + 32 * h)));
    const __m512i hm = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
    const __m512i three = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
    Unpacked u;
    // 16-bit shifts by at most 6: the two bits kept come from the same byte.
    u.w0 = _mm512_and_si512(_mm512_srlv_epi16(qs, shift0), three);
    u.w1 = _mm512_and_si512(_mm512_srlv_epi16(qs, shift1), three);
    u.w0 = _mm512_mask_add_epi8(u.w0, _mm512_test_epi8_mask(hm, bits[h][0]), u.w0, four);
    u.w1 = _mm512_mask_add_epi8(u.w1, _mm512_test_epi8_mask(hm, bits[h][1]), u.w1, four);
    u.s0 = _mm512_permutexvar_ps(idxS0[h], sv);
    u.s1 = _mm512_permutexvar_ps(idxS1[h], sv);
    u.mv = _mm512_setzero_ps();
    return u;
  }
};

/// Q2_K: 256-element super-blocks of scales[16] (4-bit scale, 4-bit min),
/// qs[64], fp16 d, dmin; element 128h + 32j + l is d sc_i ((qs[32h + l] >>
/// 2j) & 3) - dmin m_i with i = 8h + 2j + l / 16: Q3_K's layout without the
/// third bit, and a min per 16-element lane (kLaneMins).
struct Q2_KTraits {
  static constexpr bool kHasMin = false;
  static constexpr bool kLaneMins = true;
  static constexpr Perm kPerm = Perm::Natural;
  static constexpr bool kShared = false;
  static constexpr int kOffset = -1; ///< init0 / init1: + the lane sums

  PackedRow row; ///< units of one super-block: groups 2u and 2u + 1
  static constexpr int kGroupBytes = 42;
  __m512i idxS0[2], idxS1[2], shift0, shift1;
  mutable __m512 sv, mv; ///< d sc_i, -dmin m_i of the current super-block

  Q2_KTraits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)) {
    for (int h = 0; h < 2; ++h) {
      const int b = 8 * h;
      idxS0[h] = _mm512_setr_epi32(b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 2, b + 2, b + 2, b + 2, b + 3, b + 3,
                                   b + 3, b + 3);
      idxS1[h] = _mm512_add_epi32(idxS0[h], _mm512_set1_epi32(4));
    }
    shift0 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    shift1 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
  }

  /// The one-row decode folds d_x into the scales once per super-block and
  /// applies the 16 mins there too (laneMins(), against the lane sums).
  static constexpr bool kSuperScales = true;

  /// -dmin m_i of the current super-block, sub-block i in slot i.
  __m512 laneMins() const { return mv; }

  /// dxv: d_x of each sub-block (SuperScalesOf), or ones.
  template <bool Tail = true> Unpacked load(int64_t g, __m512 dxv = _mm512_set1_ps(1.f)) const {
    const int h = static_cast<int>(g & 1);
    const uint8_t *p = row.head + (g >> 1) * row.stride;
    if (h == 0) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
      const __m128i nibble = _mm_set1_epi8(0x0f);
      sv = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(b, nibble))),
                         _mm512_mul_ps(_mm512_set1_ps(halfToFloat(p + 80)), dxv));
      mv = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(b, 4), nibble))),
                         _mm512_set1_ps(-halfToFloat(p + 82)));
    }
    const __m512i qs = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + 16 + 32 * h)));
    const __m512i three = _mm512_set1_epi8(3);
    Unpacked u;
    // 16-bit shifts by at most 6: the two bits kept come from the same byte.
    u.w0 = _mm512_and_si512(_mm512_srlv_epi16(qs, shift0), three);
    u.w1 = _mm512_and_si512(_mm512_srlv_epi16(qs, shift1), three);
    u.s0 = _mm512_permutexvar_ps(idxS0[h], sv);
    u.s1 = _mm512_permutexvar_ps(idxS1[h], sv);
    u.m0 = _mm512_permutexvar_ps(idxS0[h], mv);
    u.m1 = _mm512_permutexvar_ps(idxS1[h], mv);
    u.mv = _mm512_setzero_ps();
    return u;
  }
};

/// Q6_K: 256-element super-blocks = 2 halves of 128 (one group each); 16
/// sub-blocks of 16 with int8 scales; q - 32.
struct Q6_KTraits {
  static constexpr int kDecodeRows = 1; ///< DecodeRowsOf
  static constexpr bool kHasMin = false;
  static constexpr Perm kPerm = Perm::Natural;
  static constexpr bool kShared = false;
  static constexpr int kOffset = 32;
  static constexpr int kGroupBytes = 105;

  PackedRow row; ///< units of one super-block: groups 2u and 2u + 1
  __m512i idxS0[2], idxS1[2], shiftLeft0, shiftRight1;
  mutable __m512 sv; ///< d * scale_j of the current super-block

  Q6_KTraits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)) {
    for (int h = 0; h < 2; ++h) {
      const int b = 8 * h;
      idxS0[h] = _mm512_setr_epi32(b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 2, b + 2, b + 2, b + 2, b + 3, b + 3,
                                   b + 3, b + 3);
      idxS1[h] = _mm512_add_epi32(idxS0[h], _mm512_set1_epi32(4));
    }
    // Elements 0..31 take qh bits 0-1, 32..63 bits 2-3, 64..95 bits 4-5,
    // 96..127 bits 6-7, moved to bits 4-5 (16-bit shifts; the bits that
    // cross into the neighbouring byte are masked off).
    shiftLeft0 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    shiftRight1 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
  }

  /// The one-row decode folds d_x into the scales once per super-block.
  static constexpr bool kSuperScales = true;

  /// dxv: d_x of each sub-block (SuperScalesOf), or ones.
  template <bool Tail = true> Unpacked load(int64_t g, __m512 dxv = _mm512_set1_ps(1.f)) const {
    const int h = static_cast<int>(g & 1);
    const uint8_t *p = row.head + (g >> 1) * row.stride;
    if (h == 0) {
      const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 192))));
      sv = _mm512_mul_ps(sc, _mm512_mul_ps(_mm512_set1_ps(halfToFloat(p + 208)), dxv));
    }
    const __m512i ql = _mm512_loadu_si512(p + 64 * h);
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + 128 + 32 * h)));
    const __m512i nibble = _mm512_set1_epi8(0x0f), bits45 = _mm512_set1_epi8(0x30);
    Unpacked u;
    u.w0 = _mm512_or_si512(_mm512_and_si512(ql, nibble), _mm512_and_si512(_mm512_sllv_epi16(qh, shiftLeft0), bits45));
    u.w1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), nibble),
                           _mm512_and_si512(_mm512_srlv_epi16(qh, shiftRight1), bits45));
    u.s0 = _mm512_permutexvar_ps(idxS0[h], sv);
    u.s1 = _mm512_permutexvar_ps(idxS1[h], sv);
    u.mv = _mm512_setzero_ps();
    return u;
  }
};

/// TQ2_0: 256-element blocks of 2-bit trits t (value d * (t - 1)), 66 bytes:
/// qs[64] then d. Group h is qs[32h, 32h + 32): element 32n + m of the group
/// is bits 2n..2n+1 of byte m. Laid out like the nibble formats: lane n of
/// w0 holds plane n of bytes 0..15, lane n of w1 plane n of bytes 16..31.
struct TQ2_0Traits {
  static constexpr bool kHasMin = false;
  static constexpr Perm kPerm = Perm::Nibble32;
  static constexpr bool kShared = true;
  static constexpr int kOffset = 1;
  static constexpr int kGroupBytes = 33;

  PackedRow row; ///< units of one super-block: groups 2u and 2u + 1
  __m512i shift;

  TQ2_0Traits(const MatmulArgs &a, int64_t n) : row(packedRow(a, n)) {
    shift = _mm512_setr_epi32(0, 0, 0, 0, 0x00020002, 0x00020002, 0x00020002, 0x00020002, 0x00040004, 0x00040004,
                              0x00040004, 0x00040004, 0x00060006, 0x00060006, 0x00060006, 0x00060006);
  }

  template <bool Tail = true> Unpacked load(int64_t g) const {
    const uint8_t *p = row.head + (g >> 1) * row.stride, *q = p + 32 * (g & 1);
    const __m512i three = _mm512_set1_epi8(3);
    const __m512i lo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i *>(q)));
    const __m512i hi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i *>(q + 16)));
    Unpacked u;
    // 16-bit shifts by at most 6: the two bits kept come from the same byte.
    u.w0 = _mm512_and_si512(_mm512_srlv_epi16(lo, shift), three);
    u.w1 = _mm512_and_si512(_mm512_srlv_epi16(hi, shift), three);
    u.s0 = u.s1 = _mm512_set1_ps(halfToFloat(p + 64));
    u.mv = _mm512_setzero_ps();
    return u;
  }
};

//===----------------------------------------------------------------------===//
// Row kernels
//===----------------------------------------------------------------------===//

/// out[r] = row . activation row r, for MR activation rows.
template <class F, int MR>
inline void dotRows(const F &w, const uint8_t *act, int64_t stride, int64_t groups, float *out) {
  const PermTables &t = kPermTables[static_cast<int>(F::kPerm)];
  const __m512i dxIdx0 = load64(t.dx0.i), dxIdx1 = load64(t.dx1.i);
  __m512 acc[MR];
  for (int r = 0; r < MR; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    const Unpacked u = w.load(g);
    for (int r = 0; r < MR; ++r) {
      const uint8_t *rec = act + r * stride + g * kDecodeRecord;
      // Formats without a fixed offset (mins, zero points, Q4_K) start at 0.
      const __m512i init0 =
          F::kOffset == 0 ? _mm512_setzero_si512()
                          : _mm512_maskz_expand_epi32(
                                0x1111, _mm512_castsi128_si512(_mm_load_si128(reinterpret_cast<const __m128i *>(rec + 128))));
      const __m512 dx4 = _mm512_broadcast_f32x4(_mm_load_ps(reinterpret_cast<const float *>(rec + 160)));
      if constexpr (F::kShared) {
        __m512i i = _mm512_dpbusd_epi32(init0, u.w0, load64(rec));
        i = _mm512_dpbusd_epi32(i, u.w1, load64(rec + 64));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(u.s0, _mm512_permutexvar_ps(dxIdx0, dx4)),
                                 acc[r]);
      } else {
        const __m512i init1 =
            F::kOffset == 0 ? _mm512_setzero_si512()
                            : _mm512_maskz_expand_epi32(0x1111, _mm512_castsi128_si512(_mm_load_si128(
                                                                    reinterpret_cast<const __m128i *>(rec + 144))));
        constexpr bool laneMins = LaneMinsOf<F>::value;
        const __m512i i0 = _mm512_dpbusd_epi32(laneMins ? _mm512_setzero_si512() : init0, u.w0, load64(rec));
        const __m512i i1 = _mm512_dpbusd_epi32(laneMins ? _mm512_setzero_si512() : init1, u.w1, load64(rec + 64));
        const __m512 dx0 = _mm512_permutexvar_ps(dxIdx0, dx4), dx1 = _mm512_permutexvar_ps(dxIdx1, dx4);
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(u.s0, dx0), acc[r]);
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(u.s1, dx1), acc[r]);
        if constexpr (laneMins) {
          acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(init0), _mm512_mul_ps(u.m0, dx0), acc[r]);
          acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(init1), _mm512_mul_ps(u.m1, dx1), acc[r]);
        }
      }
      if constexpr (F::kHasMin)
        acc[r] = _mm512_fmadd_ps(u.mv,
                                 _mm512_maskz_expand_ps(0x1111, _mm512_castps128_ps512(_mm_load_ps(
                                                                    reinterpret_cast<const float *>(rec + 176)))),
                                 acc[r]);
    }
  }
  for (int r = 0; r < MR; ++r)
    out[r] = _mm512_reduce_add_ps(acc[r]);
}

/// One weight row's supergroup in the prefill layout (see above): codes
/// T[v][s], then the scales s0, s1 and the min terms, one per chunk.
struct alignas(64) SuperWeights {
  __m512i t[8];
  __m512 s0, s1, mv;
};
/// With the lane mins, one per chunk (LaneMinsOf).
struct alignas(64) SuperWeightsLaneMins : SuperWeights {
  __m512 m0, m1;
};
template <class F>
using SuperWeightsOf = std::conditional_t<LaneMinsOf<F>::value, SuperWeightsLaneMins, SuperWeights>;

template <class F> struct IsInt4 : std::false_type {};
template <Offset Off> struct IsInt4<IntTraits<4, Off>> : std::true_type {};

/// Whether unpackSuperInt4 covers the row's format (and the prefill keeps
/// its weights as transposed packed nibbles, split in the tiles).
template <class F> bool packsNibbles(const F &w) {
  if constexpr (IsInt4<F>::value)
    return w.groupSize == 0 || w.groupSize == 32 || w.groupSize == 64 || w.groupSize == kGroup;
  (void)w;
  return false;
}

/// unpackSuper for int4 with groups of 32, 64, 128, per channel or per
/// tensor: the supergroup's 256 packed bytes are transposed as they are (8
/// dword permutations) and split into nibbles after, since the split is
/// bytewise (was: split, then two transpositions of 8 each); the scales
/// (and mins or zero-point terms) of the 16 chunks are one load and one
/// permutation, with no per-group branches. Returns false for the group
/// sizes it does not cover. Same values as the generic path.
template <Offset Off>
bool unpackSuperInt4(const IntTraits<4, Off> &w, int64_t groups, int64_t sg, const Transposer &t, SuperWeights &out,
                     bool packed) {
  const int64_t G = w.groupSize;
  if (!packsNibbles(w))
    return false;
  // The supergroup's 4 units of 64 bytes (apart when the rows interleave).
  __m512i A[4], T[4];
  for (int g = 0; g < 4; ++g) {
    const int64_t u = 4 * sg + g, avail = w.rowBytes - 64 * u;
    A[g] = avail >= 64 ? _mm512_loadu_si512(w.row.unit(u)) : loadUpTo(w.row.unit(u), avail);
  }
  t(A, T);
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  for (int s = 0; s < 4; ++s) {
    if (packed) {
      out.t[s] = T[s];
    } else {
      out.t[s] = _mm512_and_si512(T[s], nibble);
      out.t[4 + s] = _mm512_and_si512(_mm512_srli_epi16(T[s], 4), nibble);
    }
  }
  // Chunk c = 4 g + l (block l of group g of the supergroup): its side-array
  // entry, relative to the supergroup's first (per tensor / channel: 0).
  const int64_t valid = std::min<int64_t>(16, 4 * (groups - 4 * sg)); // chunks in the row
  const int64_t perEntry = G == 0 ? 0 : G / 32, first = G == 0 ? 0 : 16 * sg / perEntry;
  const int64_t count = G == 0 ? 1 : std::min<int64_t>(w.entries - first, (valid + perEntry - 1) / perEntry);
  const __m512i index = G == 0    ? _mm512_setzero_si512()
                        : G == 32 ? _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
                        : G == 64 ? _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)
                                  : _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __mmask16 entries = static_cast<__mmask16>(_bzhi_u32(0xffff, static_cast<unsigned>(count)));
  const __mmask16 chunks = static_cast<__mmask16>(_bzhi_u32(0xffff, static_cast<unsigned>(valid)));
  auto spread = [&](const auto *values) {
    return _mm512_maskz_permutexvar_epi32(chunks, index, _mm512_maskz_loadu_epi32(entries, values + first));
  };
  const __m512 s0 = _mm512_castsi512_ps(spread(w.scales));
  out.s0 = s0;
  if constexpr (Off == Offset::Min) {
    out.mv = _mm512_castsi512_ps(spread(w.mins));
  } else if constexpr (Off == Offset::ZeroPoint) {
    const __m512 z = _mm512_cvtepi32_ps(spread(w.zeroPoints));
    out.mv = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(s0, z));
  }
  return true;
}

template <class F>
void unpackSuper(const F &w, int64_t groups, int64_t sg, const Transposer &t, SuperWeightsOf<F> &out, bool packed = false) {
  if constexpr (IsInt4<F>::value)
    if (unpackSuperInt4(w, groups, sg, t, out, packed))
      return;
  Unpacked u[4];
  for (int g = 0; g < 4; ++g) {
    if (4 * sg + g < groups) {
      u[g] = w.load(4 * sg + g);
    } else {
      u[g].w0 = u[g].w1 = _mm512_setzero_si512();
      u[g].s0 = u[g].s1 = u[g].mv = u[g].m0 = u[g].m1 = _mm512_setzero_ps();
    }
  }
  if constexpr (LaneMinsOf<F>::value) {
    __m512i A[4];
    for (int g = 0; g < 4; ++g)
      A[g] = _mm512_castps_si512(u[g].m0);
    out.m0 = _mm512_castsi512_ps(t.compress(A));
    for (int g = 0; g < 4; ++g)
      A[g] = _mm512_castps_si512(u[g].m1);
    out.m1 = _mm512_castsi512_ps(t.compress(A));
  }
  __m512i A[4], T[4];
  for (int g = 0; g < 4; ++g)
    A[g] = u[g].w0;
  t(A, T);
  for (int s = 0; s < 4; ++s)
    out.t[s] = T[s];
  for (int g = 0; g < 4; ++g)
    A[g] = u[g].w1;
  t(A, T);
  for (int s = 0; s < 4; ++s)
    out.t[4 + s] = T[s];
  for (int g = 0; g < 4; ++g)
    A[g] = _mm512_castps_si512(u[g].s0);
  out.s0 = _mm512_castsi512_ps(t.compress(A));
  // superTile reads s1 only without kShared, mv only with kHasMin: the
  // unpacking is a quarter of an M = 16 call, and these are 6 of its ~25
  // permutations.
  if constexpr (!F::kShared) {
    for (int g = 0; g < 4; ++g)
      A[g] = _mm512_castps_si512(u[g].s1);
    out.s1 = _mm512_castsi512_ps(t.compress(A));
  }
  if constexpr (F::kHasMin) {
    for (int g = 0; g < 4; ++g)
      A[g] = _mm512_castps_si512(u[g].mv);
    out.mv = _mm512_castsi512_ps(t.compress(A));
  }
}

/// The horizontal sums of v[0..11] in one vector: sum(v[4 j + r]) in float
/// 4 r + j (floats 4 r + 3 zero), by a transposing tree: 22 shuffles and 11
/// adds where 12 separate reductions took 96 instructions (a tenth of a
/// prefill tile's time over a 4096-element K-chunk).
inline __m512 reduce12(const __m512 v[12]) {
  // Pairs: 128-bit lanes [a(0+2), a(1+3), b(0+2), b(1+3)].
  __m512 c[6];
  for (int k = 0; k < 6; ++k)
    c[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // Quads: lane l of e[k] holds 4 partial sums of v[4 k + l].
  __m512 e[3];
  for (int k = 0; k < 3; ++k)
    e[k] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * k], c[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(c[2 * k], c[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  // Within the lanes: [e0 (0+2), e1 (0+2), e0 (1+3), e1 (1+3)], then the totals.
  const __m512 f0 = _mm512_add_ps(_mm512_unpacklo_ps(e[0], e[1]), _mm512_unpackhi_ps(e[0], e[1]));
  const __m512 f1 = _mm512_add_ps(_mm512_unpacklo_ps(e[2], _mm512_setzero_ps()),
                                  _mm512_unpackhi_ps(e[2], _mm512_setzero_ps()));
  return _mm512_add_ps(_mm512_shuffle_ps(f0, f1, _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm512_shuffle_ps(f0, f1, _MM_SHUFFLE(3, 2, 3, 2)));
}

/// out[r * 4 + j] = weight row j . activation row r over all supergroups.
template <class F, int NR, int MR, bool Packed = false>
inline void superTile(const SuperWeightsOf<F> *const *w, const uint8_t *act, int64_t stride, int64_t supergroups,
                      float *out) {
  __m512 acc[NR][MR];
  for (int j = 0; j < NR; ++j)
    for (int r = 0; r < MR; ++r)
      acc[j][r] = _mm512_setzero_ps();
  for (int64_t sg = 0; sg < supergroups; ++sg) {
    const uint8_t *x = act + sg * kSuperRecord;
    if constexpr (F::kShared) {
      __m512i i[NR][MR];
      for (int r = 0; r < MR; ++r) {
        const __m512i init = load64(x + r * stride + 512);
        for (int j = 0; j < NR; ++j)
          i[j][r] = init;
      }
      if constexpr (Packed) {
        // t[s] holds steps s (low nibbles) and 4 + s (high nibbles): half
        // the bytes of the unpacked weights stream from L2.
        const __m512i nibble = _mm512_set1_epi8(0x0f);
        for (int s = 0; s < 4; ++s) {
          __m512i raw[NR], wv[NR];
          for (int j = 0; j < NR; ++j) {
            raw[j] = load64(&w[j][sg].t[s]);
            wv[j] = _mm512_and_si512(raw[j], nibble);
          }
          for (int r = 0; r < MR; ++r) {
            const __m512i xv = load64(x + r * stride + 64 * s);
            for (int j = 0; j < NR; ++j)
              i[j][r] = _mm512_dpbusd_epi32(i[j][r], wv[j], xv);
          }
          for (int j = 0; j < NR; ++j)
            wv[j] = _mm512_and_si512(_mm512_srli_epi16(raw[j], 4), nibble);
          for (int r = 0; r < MR; ++r) {
            const __m512i xv = load64(x + r * stride + 64 * (4 + s));
            for (int j = 0; j < NR; ++j)
              i[j][r] = _mm512_dpbusd_epi32(i[j][r], wv[j], xv);
          }
        }
      } else {
        for (int s = 0; s < 8; ++s) {
          // Weights in registers (each serves MR rows), activations from L1.
          __m512i wv[NR];
          for (int j = 0; j < NR; ++j)
            wv[j] = load64(&w[j][sg].t[s]);
          for (int r = 0; r < MR; ++r) {
            const __m512i xv = load64(x + r * stride + 64 * s);
            for (int j = 0; j < NR; ++j)
              i[j][r] = _mm512_dpbusd_epi32(i[j][r], wv[j], xv);
          }
        }
      }
      for (int r = 0; r < MR; ++r) {
        const __m512 dx = _mm512_load_ps(x + r * stride + 640);
        for (int j = 0; j < NR; ++j)
          acc[j][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i[j][r]), _mm512_mul_ps(w[j][sg].s0, dx), acc[j][r]);
      }
    } else {
      for (int v = 0; v < 2; ++v) {
        __m512i i[NR][MR];
        for (int r = 0; r < MR; ++r) {
          const __m512i init = LaneMinsOf<F>::value ? _mm512_setzero_si512() : load64(x + r * stride + 512 + 64 * v);
          for (int j = 0; j < NR; ++j)
            i[j][r] = init;
        }
        for (int s = 0; s < 4; ++s) {
          __m512i wv[NR];
          for (int j = 0; j < NR; ++j)
            wv[j] = load64(&w[j][sg].t[4 * v + s]);
          for (int r = 0; r < MR; ++r) {
            const __m512i xv = load64(x + r * stride + 64 * (4 * v + s));
            for (int j = 0; j < NR; ++j)
              i[j][r] = _mm512_dpbusd_epi32(i[j][r], wv[j], xv);
          }
        }
        for (int r = 0; r < MR; ++r) {
          const __m512 dx = _mm512_load_ps(x + r * stride + 640 + 64 * v);
          for (int j = 0; j < NR; ++j)
            acc[j][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i[j][r]), _mm512_mul_ps(v ? w[j][sg].s1 : w[j][sg].s0, dx),
                                        acc[j][r]);
          if constexpr (LaneMinsOf<F>::value) { // the lane sums of the int8 activations
            const __m512 sums = _mm512_cvtepi32_ps(load64(x + r * stride + 512 + 64 * v));
            for (int j = 0; j < NR; ++j)
              acc[j][r] = _mm512_fmadd_ps(sums, _mm512_mul_ps(v ? w[j][sg].m1 : w[j][sg].m0, dx), acc[j][r]);
          }
        }
      }
    }
    if constexpr (F::kHasMin)
      for (int r = 0; r < MR; ++r) {
        const __m512 xs = _mm512_load_ps(x + r * stride + 768);
        for (int j = 0; j < NR; ++j)
          acc[j][r] = _mm512_fmadd_ps(w[j][sg].mv, xs, acc[j][r]);
      }
  }
  __m512 v[12];
  for (int j = 0; j < 3; ++j)
    for (int r = 0; r < 4; ++r)
      v[4 * j + r] = j < NR && r < MR ? acc[j < NR ? j : 0][r < MR ? r : 0] : _mm512_setzero_ps();
  _mm512_storeu_ps(out, reduce12(v));
}

template <class F, int NR, bool Packed = false>
inline void superTileM(const SuperWeightsOf<F> *const *w, const uint8_t *act, int64_t stride, int64_t supergroups,
                       int64_t mr, float *out) {
  switch (mr) {
  case 1:
    return superTile<F, NR, 1, Packed>(w, act, stride, supergroups, out);
  case 2:
    return superTile<F, NR, 2, Packed>(w, act, stride, supergroups, out);
  case 3:
    return superTile<F, NR, 3, Packed>(w, act, stride, supergroups, out);
  default:
    return superTile<F, NR, 4, Packed>(w, act, stride, supergroups, out);
  }
}

/// Supergroups per K-chunk: a 4-row activation tile of one chunk
/// (4 x 8 x 832 bytes) stays in L1 while the unpacked weight rows of the
/// block stream past it from L2.
constexpr int64_t kChunkSupergroups = 8;
/// Weight rows unpacked at a time (a multiple of 3): 48 x 8 x 576 bytes
/// touched (s1 and mv only where a format reads them; 320 for int4's packed
/// nibbles), a fifth of L2; 96 from kLargeBlockFrom activation rows on:
/// 48 rows switch activation tiles twice as often (M = 512: 2-4 points of
/// the peak lower), 96 took M = 16 of int8_ch, q6_k, q4_k 2-10 points lower.
constexpr int64_t kBlockRows = 48, kLargeBlockRows = 96, kLargeBlockFrom = 64;

/// Formats with side arrays (IntTraits) prefetch them with the rows.
template <class F, class = void> struct HasSidePrefetch : std::false_type {};
template <class F>
struct HasSidePrefetch<F, std::void_t<decltype(std::declval<const F &>().prefetchSide(0, 0))>> : std::true_type {};

/// Weight rows n, n + 1, ... n + NR - 1.
template <class F, int... J>
std::array<F, sizeof...(J)> rowsAt(const MatmulArgs &a, int64_t n, std::integer_sequence<int, J...>) {
  return {F(a, n + J)...};
}

/// Weight rows that the prefill unpacking prefetches ahead.
constexpr int64_t kPrefillAhead = 4;

template <class F> void prefillRows(const MatmulArgs &a, int64_t n0, int64_t n1) {
  const int64_t groups = groupsOf(a.K), supergroups = supergroupsOf(a.K), stride = supergroups * kSuperRecord;
  const uint8_t *act = static_cast<const uint8_t *>(a.prepared);
  // 3 weight rows x 4 activation rows: 12 int32 and 12 float accumulators,
  // 3 weight vectors and one activation vector in the 32 registers.
  constexpr int kNR = 3, kMR = 4;
  const Transposer t;
  const int64_t chunk = std::min(kChunkSupergroups, supergroups);
  const int64_t blockRows = a.M >= kLargeBlockFrom ? kLargeBlockRows : kBlockRows;
  std::vector<SuperWeightsOf<F>> buffer(static_cast<size_t>(blockRows * chunk));
  const int64_t step = a.rowBytes / groups; // as in dotRowsOne
  // int4 (packsNibbles): the buffer holds the transposed packed nibbles,
  // split in the tiles.
  const bool packed = packsNibbles(F(a, n0));
  // Row n + ahead's packed bytes of the K-chunk at supergroup c, with its
  // side arrays' entries.
  auto prefetchRow = [&](const F &w, int64_t n, int64_t ahead, int64_t c) {
    if (n + ahead >= n1)
      return;
    const int64_t g0 = 4 * c, g1 = std::min(groups, 4 * (c + chunk));
    // The bytes of groups [g0, g1) of an interleaved tile lie together, 4
    // times a row's: row r of the tile prefetches the r-th quarter of them
    // (a whole tile's at once was 5-10% slower at M = 16: a burst of misses).
    const PackedRow row = packedRow(a, n + ahead);
    const int64_t bytes = (g1 - g0) * step;
    const uint8_t *from = row.head + g0 * step;
    if (row.stride != a.tiling.unitBytes) {
      const int64_t r = (n + ahead) % quant::kInterleavedRows;
      from = row.head - r * a.tiling.unitBytes + quant::kInterleavedRows * g0 * step + r * bytes;
    }
    for (int64_t at = 0; at < bytes; at += 64)
      _mm_prefetch(reinterpret_cast<const char *>(from + at), _MM_HINT_T0);
    if constexpr (HasSidePrefetch<F>::value)
      w.prefetchSideRange(g0, g1, ahead);
  };
  // Block by block, and within a block chunk by chunk: the block's outputs
  // (M x blockRows floats) stay in L2 while its K-chunks add to them
  // (chunk-major, each chunk's partial sums went back to an M x N output in
  // L3: a twelfth of the time at M = 512, K = 11008).
  for (int64_t nb = n0; nb < n1; nb += blockRows) {
    const int64_t ne = std::min(n1, nb + blockRows);
    for (int64_t c0 = 0; c0 < supergroups; c0 += chunk) {
      const int64_t count = std::min(chunk, supergroups - c0);
      // The next unit (what the tiles prefetch): the same rows' next chunk,
      // or after the block's last chunk the next block's first.
      const bool lastChunk = c0 + chunk >= supergroups;
      const int64_t nextAhead = lastChunk ? blockRows : 0, nextChunk = lastChunk ? 0 : c0 + chunk;
      for (int64_t n = nb; n < ne; ++n) {
        const F w(a, n);
        // The unpacking waited on DRAM for a third of an M = 16 call: the
        // rows are read in bursts (one unit, then the tiles), which the
        // hardware prefetcher does not run ahead of. The first unit's rows
        // are fetched kPrefillAhead rows ahead, the next units' during the
        // tiles of the unit before, and again kPrefillAhead rows ahead here.
        if (n == n0 && c0 == 0)
          for (int64_t j = 0; j <= kPrefillAhead; ++j)
            prefetchRow(w, n, j, c0);
        else if (n + kPrefillAhead < ne)
          prefetchRow(w, n, kPrefillAhead, c0);
        else if (lastChunk) // the next block's first rows
          prefetchRow(w, n, kPrefillAhead, 0);
        else // this block's first rows, next chunk
          prefetchRow(w, n, kPrefillAhead - (ne - nb), nextChunk);
        for (int64_t sg = 0; sg < count; ++sg)
          unpackSuper(w, groups, c0 + sg, t, buffer[(n - nb) * chunk + sg], packed);
      }
      const bool prefetchNext = !lastChunk || (ne < n1 && ne - nb == blockRows);
      for (int64_t m0 = 0; m0 < a.M; m0 += kMR) {
        const int64_t mr = std::min<int64_t>(kMR, a.M - m0);
        const uint8_t *x = act + m0 * stride + c0 * kSuperRecord;
        for (int64_t n = nb; n < ne; n += kNR) {
          const int64_t nr = std::min<int64_t>(kNR, ne - n);
          // The first activation tile prefetches the next unit, 3 rows a tile.
          if (m0 == 0 && prefetchNext)
            for (int64_t j = 0; j < nr; ++j)
              prefetchRow(F(a, n + j), n + j, nextAhead, nextChunk);
          const SuperWeightsOf<F> *rows[kNR];
          for (int64_t j = 0; j < kNR; ++j)
            rows[j] = buffer.data() + (n - nb + std::min<int64_t>(j, nr - 1)) * chunk;
          alignas(64) float out[16];
          auto tile = [&](auto p) {
            constexpr bool kPacked = decltype(p)::value;
            if (nr == 3)
              superTileM<F, 3, kPacked>(rows, x, stride, count, mr, out);
            else if (nr == 2)
              superTileM<F, 2, kPacked>(rows, x, stride, count, mr, out);
            else
              superTileM<F, 1, kPacked>(rows, x, stride, count, mr, out);
          };
          if constexpr (IsInt4<F>::value) {
            if (packed)
              tile(std::true_type{});
            else
              tile(std::false_type{});
          } else {
            tile(std::false_type{});
          }
          // Row r's nr outputs are out[4 r ..]: one masked load / store each.
          const __mmask8 cols = static_cast<__mmask8>((1u << nr) - 1);
          const __m128 b = c0 == 0 && a.bias ? _mm_maskz_loadu_ps(cols, a.bias + n) : _mm_setzero_ps();
          for (int64_t r = 0; r < mr; ++r) {
            float *y = a.y + (m0 + r) * a.N + n;
            const __m128 v = _mm_load_ps(out + 4 * r);
            _mm_mask_storeu_ps(y, cols, _mm_add_ps(v, c0 == 0 ? b : _mm_maskz_loadu_ps(cols, y)));
          }
        }
      }
    }
  }
}

/// Formats whose mins the one-row decode applies once per super-block
/// (kSuperMins: superMins() after the super-block's second group).
template <class F, class = void> struct SuperMinsOf : std::false_type {};
template <class F> struct SuperMinsOf<F, std::void_t<decltype(F::kSuperMins)>> : std::bool_constant<F::kSuperMins> {};

/// Formats of 256-element super-blocks with a scale per 16-element
/// sub-block, laid out one sub-block per 128-bit lane (Q2_K, Q3_K, Q6_K):
/// the one-row decode hands load() d_x of each sub-block at a super-block's
/// first group, which multiplies it into the 16 scales once, per row and
/// super-block, instead of a multiply per vector and group. Q2_K's mins are
/// applied there too, one FMA against the 16 lane sums (laneMins()).
template <class F, class = void> struct SuperScalesOf : std::false_type {};
template <class F>
struct SuperScalesOf<F, std::void_t<decltype(F::kSuperScales)>> : std::bool_constant<F::kSuperScales> {};


/// Bytes ahead of the read position that a one-row-per-pass decode
/// prefetches, in the same stream: the rows are contiguous, so this runs on
/// into the next rows. 8 KiB beat 4 KiB (docs/PERFORMANCE.md, "Session 4").
constexpr int64_t kStreamAhead = 8192;
/// The same for the one stream of an interleaved tile's 4 rows. A pass ahead
/// (the next tile) was too far when rows are long (K = 11008: 47 KB of
/// q8_0, most of L1): 4096 x 11008, 1 / 2 threads, % of the paired read,
/// same runs: q6_k 88-89 -> 96%, int4 g128 90-91 -> 95-96% (2 threads),
/// q4_k 91-93 -> 94-97%; 8 KiB was worse than 16 for q6_k (83-92%).
constexpr int64_t kTileAhead = 16384;

/// Decode with one activation row: out[j] = weight row j . x for NR
/// consecutive weight rows in one pass, so each group's activation vectors,
/// offset terms and scales are loaded and expanded once for NR rows, the
/// bounds test runs only for the last group, and the weights ahead are
/// prefetched: in an interleaved tile kTileAhead bytes on in its stream; on
/// rows laid out row after row, with NR > 1 the rows of the next pass at the
/// same position (a distance of one pass: NR rows), with NR = 1
/// kStreamAhead bytes ahead in the one stream.
template <class F, int NR>
inline void dotRowsOne(const MatmulArgs &a, int64_t n, const uint8_t *act, int64_t groups, float *out) {
  const PermTables &t = kPermTables[static_cast<int>(F::kPerm)];
  const __m512i dxIdx0 = load64(t.dx0.i), dxIdx1 = load64(t.dx1.i);
  const std::array<F, NR> w = rowsAt<F>(a, n, std::make_integer_sequence<int, NR>{});
  const int64_t step = a.rowBytes / groups; // F::kGroupBytes, but partial groups and per-channel rows
  constexpr int kLines = (F::kGroupBytes + 63) / 64;
  // What lies ahead: in an interleaved 4-row tile (one stream, 4 * step
  // bytes a group), kTileAhead bytes on in it, into the next tile; rows laid
  // out row after row: NR = 1 kStreamAhead bytes on in the one row stream,
  // else the next pass's NR rows, rowBytes apart.
  const bool tile = NR == quant::kInterleavedRows && n % NR == 0 && w[0].row.stride == NR * a.tiling.unitBytes;
  const char *ahead = reinterpret_cast<const char *>(NR == 1 ? w[0].row.head + kStreamAhead
                                                     : tile  ? w[0].row.head + kTileAhead
                                                             : a.w + (n + NR) * a.rowBytes);
  const int64_t rowGap = tile ? step : a.rowBytes, groupGap = tile ? NR * step : step;
  __m512 acc[NR];
  for (int j = 0; j < NR; ++j)
    acc[j] = _mm512_setzero_ps();
  auto group = [&](int64_t g, auto tail) {
    constexpr bool kTail = decltype(tail)::value;
    // NR interleaved row streams defeat the hardware prefetcher (without
    // this, NR = 4 ran at a third of the bandwidth).
    for (int j = 0; j < NR; ++j)
      for (int line = 0; line < kLines; ++line)
        _mm_prefetch(ahead + j * rowGap + g * groupGap + 64 * line, _MM_HINT_T0);
    if constexpr (HasSidePrefetch<F>::value)
      for (int j = 0; j < NR; ++j)
        w[j].prefetchSide(g, NR);
    const uint8_t *rec = act + g * kDecodeRecord;
    const __m512i x0 = load64(rec), x1 = load64(rec + 64);
    // Formats without a fixed offset (mins, zero points, Q4_K) start at 0.
    const __m512i init0 = F::kOffset == 0 ? _mm512_setzero_si512()
                                          : _mm512_maskz_expand_epi32(0x1111, _mm512_castsi128_si512(_mm_load_si128(
                                                                                  reinterpret_cast<const __m128i *>(rec + 128))));
    const __m512 dx4 = _mm512_broadcast_f32x4(_mm_load_ps(reinterpret_cast<const float *>(rec + 160)));
    const __m512 dx0 = _mm512_permutexvar_ps(dxIdx0, dx4);
    constexpr bool kSuper = SuperMinsOf<F>::value;
    __m512 xs = _mm512_setzero_ps();
    if constexpr (kSuper) {
      // At a super-block's second group: the exact sums of x of its 8
      // sub-blocks in slots 8..15, against superMins' -dmin m_j.
      if (g & 1)
        xs = _mm512_insertf32x8(
            _mm512_setzero_ps(),
            _mm256_set_m128(_mm_load_ps(reinterpret_cast<const float *>(rec + 176)),
                            _mm_load_ps(reinterpret_cast<const float *>(rec - kDecodeRecord + 176))),
            1);
    } else if constexpr (F::kHasMin) {
      xs = _mm512_maskz_expand_ps(0x1111, _mm512_castps128_ps512(_mm_load_ps(reinterpret_cast<const float *>(rec + 176))));
    }
    if constexpr (F::kShared) {
      for (int j = 0; j < NR; ++j) {
        const Unpacked u = w[j].template load<kTail>(g);
        __m512i i = _mm512_dpbusd_epi32(init0, u.w0, x0);
        i = _mm512_dpbusd_epi32(i, u.w1, x1);
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(u.s0, dx0), acc[j]);
        if constexpr (kSuper) {
          if (g & 1)
            acc[j] = _mm512_fmadd_ps(w[j].superMins(), xs, acc[j]);
        } else if constexpr (F::kHasMin) {
          acc[j] = _mm512_fmadd_ps(u.mv, xs, acc[j]);
        }
      }
    } else if constexpr (SuperScalesOf<F>::value) {
      constexpr bool laneMins = LaneMinsOf<F>::value;
      const __m512i init1 = laneMins || F::kOffset == 0
                                ? _mm512_setzero_si512()
                                : _mm512_maskz_expand_epi32(0x1111, _mm512_castsi128_si512(_mm_load_si128(
                                                                        reinterpret_cast<const __m128i *>(rec + 144))));
      // At a super-block's first group: d_x of its 16 sub-blocks (sub-block
      // 8h + k lies in 32-block k / 2 of group h) and, for lane mins, d_x
      // times the int8 sum of each (records' bytes 128..159, in sub-block
      // order).
      __m512 dxv = _mm512_setzero_ps(), laneSums = _mm512_setzero_ps();
      const bool first = (g & 1) == 0;
      if (first) {
        const __m512 next = _mm512_castps128_ps512(_mm_load_ps(reinterpret_cast<const float *>(rec + kDecodeRecord + 160)));
        dxv = _mm512_permutex2var_ps(dx4, _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 16, 16, 17, 17, 18, 18, 19, 19), next);
        if constexpr (laneMins) {
          const __m512i sums = _mm512_inserti64x4(
              _mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i *>(rec + 128))),
              _mm256_load_si256(reinterpret_cast<const __m256i *>(rec + kDecodeRecord + 128)), 1);
          laneSums = _mm512_mul_ps(_mm512_cvtepi32_ps(sums), dxv);
        }
      }
      for (int j = 0; j < NR; ++j) {
        const Unpacked u = w[j].template load<kTail>(g, dxv);
        const __m512i i0 = _mm512_dpbusd_epi32(laneMins ? _mm512_setzero_si512() : init0, u.w0, x0);
        const __m512i i1 = _mm512_dpbusd_epi32(init1, u.w1, x1);
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), u.s0, acc[j]);
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), u.s1, acc[j]);
        if constexpr (laneMins)
          if (first)
            acc[j] = _mm512_fmadd_ps(w[j].laneMins(), laneSums, acc[j]);
      }
    } else {
      // int8 (the lane-min format, Q2_K, takes the super-block path above).
      static_assert(!LaneMinsOf<F>::value);
      const __m512i init1 = F::kOffset == 0 ? _mm512_setzero_si512()
                                            : _mm512_maskz_expand_epi32(0x1111, _mm512_castsi128_si512(_mm_load_si128(
                                                                                    reinterpret_cast<const __m128i *>(rec + 144))));
      const __m512 dx1 = _mm512_permutexvar_ps(dxIdx1, dx4);
      for (int j = 0; j < NR; ++j) {
        const Unpacked u = w[j].template load<kTail>(g);
        const __m512i i0 = _mm512_dpbusd_epi32(init0, u.w0, x0);
        const __m512i i1 = _mm512_dpbusd_epi32(init1, u.w1, x1);
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(u.s0, dx0), acc[j]);
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(u.s1, dx1), acc[j]);
        if constexpr (F::kHasMin)
          acc[j] = _mm512_fmadd_ps(u.mv, xs, acc[j]);
      }
    }
  };
  for (int64_t g = 0; g + 1 < groups; ++g)
    group(g, std::false_type{});
  group(groups - 1, std::true_type{});
  for (int j = 0; j < NR; ++j)
    out[j] = _mm512_reduce_add_ps(acc[j]);
}

/// Weight rows per pass of the one-row decode on rows laid out row after
/// row (quant::Layout::Rows; interleaved tiles always take 4, one stream): 4
/// (the activation work of a group shared by 4 rows, 4 row streams
/// prefetched a pass ahead), or 1 where one stream read from DRAM wins over
/// that sharing: Q4_0, IQ4_NL and Q6_K (11008 x 4096, same-run comparisons,
/// 1 and 2 threads: 4-29% faster in both of the host's bandwidth states;
/// Q4_1, Q5_x, Q4_K, Q3_K, int4 and the others were slower on one thread or
/// in the fast state). Results are the same either way: each row's
/// arithmetic does not depend on NR.
template <class F, class = void> struct DecodeRowsOf : std::integral_constant<int, 4> {};
template <class F>
struct DecodeRowsOf<F, std::void_t<decltype(F::kDecodeRows)>> : std::integral_constant<int, F::kDecodeRows> {};

/// y[n] for n in [n0, n1) from one activation row, NR weight rows a pass.
template <class F, int NR>
void decodeOneRow(const MatmulArgs &a, int64_t n0, int64_t n1, const uint8_t *act, int64_t groups) {
  float out[NR];
  int64_t n = n0;
  for (; n + NR <= n1; n += NR) {
    dotRowsOne<F, NR>(a, n, act, groups, out);
    for (int64_t j = 0; j < NR; ++j)
      a.y[n + j] = out[j] + (a.bias ? a.bias[n + j] : 0.f);
  }
  for (; n < n1; ++n) {
    dotRowsOne<F, 1>(a, n, act, groups, out);
    a.y[n] = out[0] + (a.bias ? a.bias[n] : 0.f);
  }
}

template <class F> void rowsKernel(const MatmulArgs &a, int64_t n0, int64_t n1, float *) {
  const int64_t groups = groupsOf(a.K), stride = groups * kDecodeRecord;
  const uint8_t *act = static_cast<const uint8_t *>(a.prepared);
  constexpr int kMR = 4;
  constexpr int kDecodeRows = DecodeRowsOf<F>::value;
  if (a.M == 1) {
    // An interleaved tile is one stream whatever the format: 4 rows a pass.
    if (a.format.layout == quant::Layout::Interleaved4)
      decodeOneRow<F, quant::kInterleavedRows>(a, n0, n1, act, groups);
    else
      decodeOneRow<F, kDecodeRows>(a, n0, n1, act, groups);
    return;
  }
  if (!usePrefill(a)) {
    // Decode: stream each weight row once, unpacking in registers.
    for (int64_t m0 = 0; m0 < a.M; m0 += kMR) {
      const int64_t mr = std::min<int64_t>(kMR, a.M - m0);
      const uint8_t *tile = act + m0 * stride;
      for (int64_t n = n0; n < n1; ++n) {
        const F w(a, n);
        float out[kMR];
        switch (mr) {
        case 1:
          dotRows<F, 1>(w, tile, stride, groups, out);
          break;
        case 2:
          dotRows<F, 2>(w, tile, stride, groups, out);
          break;
        case 3:
          dotRows<F, 3>(w, tile, stride, groups, out);
          break;
        default:
          dotRows<F, 4>(w, tile, stride, groups, out);
          break;
        }
        const float b = a.bias ? a.bias[n] : 0.f;
        for (int64_t r = 0; r < mr; ++r)
          a.y[(m0 + r) * a.N + n] = out[r] + b;
      }
    }
    return;
  }
  prefillRows<F>(a, n0, n1);
}

template <class F> void prepareFor(const lowbit_dispatch_context *ctx, const MatmulArgs &a, void *buffer) {
  prepareActivations(ctx, a, buffer, F::kPerm, F::kShared, F::kOffset);
}

template <class F> MatmulKernel kernelFor(const char *name) {
  MatmulKernel k{name, rowsKernel<F>};
  k.preparedBytes = preparedBytes;
  k.prepare = prepareFor<F>;
  k.int8Activations = true;
  return k;
}

/// Formats whose one-row decode reads DRAM faster through the AVX2 family's
/// kernel (a block or super-block at a time per row, four rows interleaved)
/// than through this family's (a 128-weight group at a time), although this
/// one is the faster from cache (Q8_0: 1.88 against 2.88 ns per 128
/// weights). Measured on this project's Zen 5 (docs/PERFORMANCE.md, "Session
/// 4", has the figures and what was tried; the cause was not found): Q8_0
/// 20-30% faster on one thread and on two. (Q6_K is 15-20% faster on two
/// threads but 20% slower on one; choosing by the thread count would make
/// results depend on it, so it keeps this family's kernel.) So these decode
/// with that kernel and keep this family's from two activation rows up.
/// Prepare, its size and the rows all choose by M, so a call uses one kernel
/// throughout.
template <FormatKind Kind, class F> struct DecodeThroughAvx2 {
  static const MatmulKernel &narrow() {
    static const MatmulKernel k = [] {
      MatmulKernel avx2;
      return detectAvx2() && avx2Kernel(Format::blockFormat(Kind), avx2) ? avx2 : wide();
    }();
    return k;
  }
  static const MatmulKernel &wide() {
    static const MatmulKernel k = kernelFor<F>(F::kName);
    return k;
  }
  static const MatmulKernel &of(const MatmulArgs &a) {
    return a.M == 1 ? narrow() : wide();
  }
  static int64_t preparedBytes(const MatmulArgs &a) { return of(a).preparedBytes(a); }
  static void prepare(const lowbit_dispatch_context *ctx, const MatmulArgs &a, void *buffer) {
    of(a).prepare(ctx, a, buffer);
  }
  static void rows(const MatmulArgs &a, int64_t n0, int64_t n1, float *scratch) { of(a).rows(a, n0, n1, scratch); }
  static MatmulKernel kernel() {
    MatmulKernel k = wide();
    k.rows = rows;
    k.preparedBytes = preparedBytes;
    k.prepare = prepare;
    return k;
  }
};

template <unsigned Bits> bool intKernel(const Format &f, MatmulKernel &out) {
  switch (f.offset) {
  case Offset::None:
    out = kernelFor<IntTraits<Bits, Offset::None>>(Bits == 4 ? "avx512vnni-int4" : "avx512vnni-int8");
    return true;
  case Offset::ZeroPoint:
    out = kernelFor<IntTraits<Bits, Offset::ZeroPoint>>(Bits == 4 ? "avx512vnni-int4-asym" : "avx512vnni-int8-asym");
    return true;
  case Offset::Min:
    out = kernelFor<IntTraits<Bits, Offset::Min>>(Bits == 4 ? "avx512vnni-int4-min" : "avx512vnni-int8-min");
    return true;
  }
  return false;
}

bool avx512Kernel(const Format &f, MatmulKernel &out) {
  switch (f.kind) {
  case FormatKind::Q4_0:
    out = kernelFor<Legacy32<FormatKind::Q4_0>>("avx512vnni-q4_0");
    return true;
  case FormatKind::Q4_1:
    out = kernelFor<Legacy32<FormatKind::Q4_1>>("avx512vnni-q4_1");
    return true;
  case FormatKind::Q5_0:
    out = kernelFor<Legacy32<FormatKind::Q5_0>>("avx512vnni-q5_0");
    return true;
  case FormatKind::Q5_1:
    out = kernelFor<Legacy32<FormatKind::Q5_1>>("avx512vnni-q5_1");
    return true;
  case FormatKind::IQ4_NL:
    out = kernelFor<Legacy32<FormatKind::IQ4_NL>>("avx512vnni-iq4_nl");
    return true;
  case FormatKind::Q8_0:
    out = DecodeThroughAvx2<FormatKind::Q8_0, Q8_0Traits>::kernel();
    return true;
  case FormatKind::Q4_K:
    out = kernelFor<Q4_KTraits>("avx512vnni-q4_k");
    return true;
  case FormatKind::IQ4_XS:
    out = kernelFor<IQ4_XSTraits>("avx512vnni-iq4_xs");
    return true;
  case FormatKind::TQ2_0:
    out = kernelFor<TQ2_0Traits>("avx512vnni-tq2_0");
    return true;
  case FormatKind::TQ1_0:
    out = kernelFor<TQ1_0Traits>("avx512vnni-tq1_0");
    return true;
  case FormatKind::Q5_K:
    out = kernelFor<Q5_KTraits>("avx512vnni-q5_k");
    return true;
  case FormatKind::Q6_K:
    out = kernelFor<Q6_KTraits>("avx512vnni-q6_k");
    return true;
  case FormatKind::Q3_K:
    out = kernelFor<Q3_KTraits>("avx512vnni-q3_k");
    return true;
  case FormatKind::Q2_K:
    out = kernelFor<Q2_KTraits>("avx512vnni-q2_k");
    return true;
  case FormatKind::Int: {
    const bool groupsOk = f.granularity != Granularity::Group || f.groupSize == 32 || f.groupSize == 64 ||
                          f.groupSize % kGroup == 0;
    if (!groupsOk)
      return false;
    if (f.bits == 4)
      return intKernel<4>(f, out);
    if (f.bits == 8)
      return intKernel<8>(f, out);
    return false;
  }
  default:
    return false;
  }
}

} // namespace

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

bool hasAvx512Vnni() {
  static const bool has = detectAvx512Vnni();
  return has;
}

bool hasIsa(Isa isa) {
  switch (isa) {
  case Isa::Avx512Vnni:
    return hasAvx512Vnni();
  case Isa::AvxVnni: {
    static const bool has = detectAvxVnni();
    return has;
  }
  case Isa::Avx2: {
    static const bool has = detectAvx2();
    return has;
  }
  }
  return false;
}

bool isaKernel(Isa isa, const Format &format, MatmulKernel &out) {
  if (!hasIsa(isa))
    return false;
  switch (isa) {
  case Isa::Avx512Vnni:
    return avx512Kernel(format, out);
  case Isa::AvxVnni:
    return avxVnniKernel(format, out);
  case Isa::Avx2:
    return avx2Kernel(format, out);
  }
  return false;
}

#else // not x86-64

bool hasAvx512Vnni() { return false; }
bool hasIsa(Isa) { return false; }
bool isaKernel(Isa, const Format &, MatmulKernel &) { return false; }

#endif

bool tunedKernel(const Format &format, MatmulKernel &out) {
  for (Isa isa : {Isa::Avx512Vnni, Isa::AvxVnni, Isa::Avx2})
    if (isaKernel(isa, format, out))
      return true;
  return false;
}

KernelChoice parseKernelChoice(const char *value) {
  if (!value)
    return KernelChoice::Best;
  const struct {
    const char *name;
    KernelChoice choice;
  } names[] = {{"portable", KernelChoice::Portable},  {"avx512", KernelChoice::Avx512Vnni},
               {"avxvnni", KernelChoice::AvxVnni},    {"avx2", KernelChoice::Avx2},
               {"tuned", KernelChoice::Best},         {"auto", KernelChoice::Best}};
  for (const auto &n : names)
    if (std::strcmp(value, n.name) == 0)
      return n.choice;
  return KernelChoice::Best;
}

namespace {
std::atomic<int> &choiceFlag() {
  // The tuned kernels round x to int8 per 32-block (X86Matmul.h's bound);
  // LOWBIT_MATMUL_KERNELS=portable keeps results exact to float rounding.
  static std::atomic<int> flag{static_cast<int>(parseKernelChoice(std::getenv("LOWBIT_MATMUL_KERNELS")))};
  return flag;
}
} // namespace

void setKernelChoice(KernelChoice choice) { choiceFlag().store(static_cast<int>(choice), std::memory_order_relaxed); }

KernelChoice kernelChoice() { return static_cast<KernelChoice>(choiceFlag().load(std::memory_order_relaxed)); }

void setTunedKernelsEnabled(bool enabled) { setKernelChoice(enabled ? KernelChoice::Best : KernelChoice::Portable); }

namespace {
/// Families by capability (Portable 0 ... Best: no limit).
int rankOf(KernelChoice c) {
  switch (c) {
  case KernelChoice::Portable:
    return 0;
  case KernelChoice::Avx2:
    return 1;
  case KernelChoice::AvxVnni:
    return 2;
  case KernelChoice::Avx512Vnni:
    return 3;
  case KernelChoice::Best:
    return 4;
  }
  return 4;
}
} // namespace

KernelChoice kernelLimitForCpu(std::string_view cpu) {
  // LLVM's x86 CPU names (llvm/TargetParser/X86TargetParser.def), by the
  // features the families need; aliases and older CPUs without AVX2 below.
  static constexpr struct {
    const char *cpu;
    KernelChoice limit;
  } kTable[] = {
      {"x86-64", KernelChoice::Portable},        {"x86-64-v2", KernelChoice::Portable},
      {"nehalem", KernelChoice::Portable},       {"westmere", KernelChoice::Portable},
      {"sandybridge", KernelChoice::Portable},   {"ivybridge", KernelChoice::Portable},
      {"btver2", KernelChoice::Portable},        {"x86-64-v3", KernelChoice::Avx2},
      {"haswell", KernelChoice::Avx2},           {"broadwell", KernelChoice::Avx2},
      {"skylake", KernelChoice::Avx2},           {"skylake-avx512", KernelChoice::Avx2},
      {"cascadelake", KernelChoice::Avx2},       {"cooperlake", KernelChoice::Avx2},
      {"cannonlake", KernelChoice::Avx2},        {"x86-64-v4", KernelChoice::Avx2},
      {"znver1", KernelChoice::Avx2},            {"znver2", KernelChoice::Avx2},
      {"znver3", KernelChoice::Avx2},            {"alderlake", KernelChoice::AvxVnni},
      {"raptorlake", KernelChoice::AvxVnni},     {"meteorlake", KernelChoice::AvxVnni},
      {"arrowlake", KernelChoice::AvxVnni},      {"lunarlake", KernelChoice::AvxVnni},
      {"gracemont", KernelChoice::AvxVnni},      {"sierraforest", KernelChoice::AvxVnni},
      {"grandridge", KernelChoice::AvxVnni},     {"icelake-client", KernelChoice::Avx512Vnni},
      {"icelake-server", KernelChoice::Avx512Vnni}, {"tigerlake", KernelChoice::Avx512Vnni},
      {"rocketlake", KernelChoice::Avx512Vnni},  {"sapphirerapids", KernelChoice::Avx512Vnni},
      {"emeraldrapids", KernelChoice::Avx512Vnni}, {"graniterapids", KernelChoice::Avx512Vnni},
      {"znver4", KernelChoice::Avx512Vnni},      {"znver5", KernelChoice::Avx512Vnni},
  };
  for (const auto &entry : kTable)
    if (cpu == entry.cpu)
      return entry.limit;
  return KernelChoice::Best;
}

bool selectKernel(const Format &format, MatmulKernel &out, KernelChoice limit) {
  if (kernelChoice() != KernelChoice::Best)
    return selectKernel(format, out);
  const int rank = rankOf(limit);
  for (Isa isa : {Isa::Avx512Vnni, Isa::AvxVnni, Isa::Avx2}) {
    const KernelChoice family = isa == Isa::Avx512Vnni ? KernelChoice::Avx512Vnni
                                : isa == Isa::AvxVnni  ? KernelChoice::AvxVnni
                                                       : KernelChoice::Avx2;
    if (rankOf(family) <= rank && isaKernel(isa, format, out))
      return true;
  }
  return false;
}

bool selectKernel(const Format &format, MatmulKernel &out) {
  switch (kernelChoice()) {
  case KernelChoice::Best:
    return tunedKernel(format, out);
  case KernelChoice::Avx512Vnni:
    return isaKernel(Isa::Avx512Vnni, format, out);
  case KernelChoice::AvxVnni:
    return isaKernel(Isa::AvxVnni, format, out);
  case KernelChoice::Avx2:
    return isaKernel(Isa::Avx2, format, out);
  case KernelChoice::Portable:
    return false;
  }
  return false;
}

} // namespace lowbit::runtime::kernels::x86
