//===- MatmulF32.cpp - The float matmul compiled code calls ---------------===//
//
// See MatmulF32.h for the method. The micro-kernels are plain C++ (portable)
// or intrinsics inside functions with a target attribute, so the runtime
// still builds for, and runs on, any x86-64; the CPU is checked once.
//
//===----------------------------------------------------------------------===//

#include "kernels/MatmulF32.h"
#include "kernels/KernelError.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LOWBIT_F32_X86 1
#endif

namespace lowbit::runtime::kernels {
namespace {

constexpr int kMaxBatch = LOWBIT_MATMUL_F32_MAX_BATCH;

int32_t failWith(const lowbit_dispatch_context *ctx, const std::string &message) {
  reportKernelError(ctx, "matmul_f32: " + message);
  return 1;
}

/// One call, after the batch dimensions were simplified.
struct Problem {
  const float *a, *b;
  float *c;
  int64_t M, N, K;
  int64_t am, ak, bk, bn, cm, cn;
  bool accumulate;
  int rank;
  int64_t batch[kMaxBatch], as[kMaxBatch], bs[kMaxBatch], cs[kMaxBatch];
};

void dropBatchDim(Problem &p, int j) {
  for (int i = j; i + 1 < p.rank; ++i) {
    p.batch[i] = p.batch[i + 1];
    p.as[i] = p.as[i + 1];
    p.bs[i] = p.bs[i + 1];
    p.cs[i] = p.cs[i + 1];
  }
  --p.rank;
}

/// Folds batch dimensions into M (B does not move along them, A and C step
/// over whole M x . blocks, or inside them) or N (likewise for A), so a
/// weight shared by every token of every sequence is one big product.
void simplify(Problem &p) {
  for (int j = p.rank - 1; j >= 0; --j)
    if (p.batch[j] == 1)
      dropBatchDim(p, j);
  bool changed = true;
  while (changed) {
    changed = false;
    for (int j = p.rank - 1; j >= 0 && !changed; --j) {
      const int64_t size = p.batch[j], as = p.as[j], bs = p.bs[j], cs = p.cs[j];
      if (bs == 0) {
        if (p.M == 1) { // the batch index becomes the row index
          p.M = size, p.am = as, p.cm = cs;
          changed = true;
        } else if (as == p.M * p.am && cs == p.M * p.cm) { // rows of the next block follow
          p.M *= size;
          changed = true;
        } else if (p.am == size * as && p.cm == size * cs) { // the batch index is inside a row step
          p.M *= size, p.am = as, p.cm = cs;
          changed = true;
        }
      }
      if (!changed && as == 0) {
        if (p.N == 1) {
          p.N = size, p.bn = bs, p.cn = cs;
          changed = true;
        } else if (bs == p.N * p.bn && cs == p.N * p.cn) {
          p.N *= size;
          changed = true;
        } else if (p.bn == size * bs && p.cn == size * cs) {
          p.N *= size, p.bn = bs, p.cn = cs;
          changed = true;
        }
      }
      if (changed)
        dropBatchDim(p, j);
    }
  }
}

//===----------------------------------------------------------------------===//
// Micro-kernels: c[r, j] (+)= sum_k pa[k * MR + r] * pb[k * NR + j] for an
// MR x NR piece; c has row stride ldc and unit column stride.
//===----------------------------------------------------------------------===//

// Direct: A read in place, a[r * lda + k] (row-major A, no packing);
// otherwise from a packed micro-panel, pa[k * MR + r] (lda unused).
using MicroFn = void (*)(int64_t kc, const float *pa, int64_t lda, const float *pb, float *c, int64_t ldc, bool add);

template <int MR, int NR, bool Direct>
void microPortable(int64_t kc, const float *pa, int64_t lda, const float *pb, float *c, int64_t ldc, bool add) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, pa += Direct ? 1 : MR, pb += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j)
        acc[r][j] += pa[Direct ? r * lda : r] * pb[j];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j)
      c[r * ldc + j] = add ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

#ifdef LOWBIT_F32_X86
template <bool Direct>
__attribute__((target("avx2,fma"))) void microAvx2(int64_t kc, const float *pa, int64_t lda, const float *pb, float *c,
                                                   int64_t ldc, bool add) {
  constexpr int MR = 6;
  __m256 acc[MR][2];
  for (int r = 0; r < MR; ++r)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, pa += Direct ? 1 : MR, pb += 16) {
    const __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
    for (int r = 0; r < MR; ++r) {
      const __m256 x = _mm256_broadcast_ss(pa + (Direct ? r * lda : r));
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    float *row = c + r * ldc;
    if (add) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(row));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, acc[r][0]);
    _mm256_storeu_ps(row + 8, acc[r][1]);
  }
}

template <bool Direct>
__attribute__((target("avx512f"))) void microAvx512(int64_t kc, const float *pa, int64_t lda, const float *pb,
                                                    float *c, int64_t ldc, bool add) {
  constexpr int MR = 12;
  __m512 acc[MR][2];
  for (int r = 0; r < MR; ++r)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, pa += Direct ? 1 : MR, pb += 32) {
    const __m512 b0 = _mm512_loadu_ps(pb), b1 = _mm512_loadu_ps(pb + 16);
    for (int r = 0; r < MR; ++r) {
      const __m512 x = _mm512_set1_ps(pa[Direct ? r * lda : r]);
      acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    float *row = c + r * ldc;
    if (add) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(row));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[r][0]);
    _mm512_storeu_ps(row + 16, acc[r][1]);
  }
}
#endif

struct Micro {
  int mr, nr;
  MicroFn fn, direct;
};

Micro microFor(F32Isa isa) {
  switch (isa) {
#ifdef LOWBIT_F32_X86
  case F32Isa::Avx512:
    return {12, 32, microAvx512<false>, microAvx512<true>};
  case F32Isa::Avx2:
    return {6, 16, microAvx2<false>, microAvx2<true>};
#endif
  default:
    return {4, 16, microPortable<4, 16, false>, microPortable<4, 16, true>};
  }
}

//===----------------------------------------------------------------------===//
// Tiles
//===----------------------------------------------------------------------===//

/// Work items are (batch entry, column tile, row group); each packs its
/// B block once per K block and walks its rows mc at a time.
struct Plan {
  Problem p;
  Micro micro;
  int64_t kc;                // K block
  int64_t nc, nTiles;        // columns per item
  int64_t rows, mGroups;     // rows per item
  int64_t mc;                // rows per packed A block
  int64_t batches;
};

/// pa[(panel * kl + k) * MR + r] = A[m0 + panel * MR + r, k0 + k], zero past M.
void packA(const Problem &p, int mr, int64_t m0, int64_t ml, int64_t k0, int64_t kl, const float *a, float *pa) {
  for (int64_t i0 = 0; i0 < ml; i0 += mr) {
    const int64_t rows = std::min<int64_t>(mr, ml - i0);
    for (int64_t k = 0; k < kl; ++k, pa += mr) {
      const float *src = a + (m0 + i0) * p.am + (k0 + k) * p.ak;
      int64_t r = 0;
      for (; r < rows; ++r)
        pa[r] = src[r * p.am];
      for (; r < mr; ++r)
        pa[r] = 0.f;
    }
  }
}

/// pb[(panel * kl + k) * NR + j] = B[k0 + k, n0 + panel * NR + j], zero past N.
void packB(const Problem &p, int nr, int64_t n0, int64_t nl, int64_t k0, int64_t kl, const float *b, float *pb) {
  for (int64_t j0 = 0; j0 < nl; j0 += nr) {
    const int64_t cols = std::min<int64_t>(nr, nl - j0);
    const float *base = b + (n0 + j0) * p.bn + k0 * p.bk;
    if (p.bn == 1 && cols == nr) {
      for (int64_t k = 0; k < kl; ++k, pb += nr) {
        const float *src = base + k * p.bk;
        for (int64_t j = 0; j < nr; ++j)
          pb[j] = src[j];
      }
    } else if (p.bn == 1) {
      for (int64_t k = 0; k < kl; ++k, pb += nr) {
        std::memcpy(pb, base + k * p.bk, sizeof(float) * cols);
        std::fill(pb + cols, pb + nr, 0.f);
      }
    } else if (p.bk == 1 && cols == nr) { // B^T stored row-major: read along k
      for (int64_t j = 0; j < nr; ++j) {
        const float *src = base + j * p.bn;
        for (int64_t k = 0; k < kl; ++k)
          pb[k * nr + j] = src[k];
      }
      pb += kl * nr;
    } else {
      for (int64_t k = 0; k < kl; ++k, pb += nr) {
        const float *src = base + k * p.bk;
        int64_t j = 0;
        for (; j < cols; ++j)
          pb[j] = src[j * p.bn];
        for (; j < nr; ++j)
          pb[j] = 0.f;
      }
    }
  }
}

int64_t roundUpTo(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
int64_t ceilDiv(int64_t x, int64_t y) { return (x + y - 1) / y; }

/// Per-thread packing buffers, 64-byte aligned, grown on demand.
struct Scratch {
  std::vector<float> storage;
  float *get(size_t floats) {
    if (storage.size() < floats + 16)
      storage.resize(floats + 16);
    float *p = storage.data();
    return p + ((-reinterpret_cast<uintptr_t>(p) & 63) / sizeof(float));
  }
};

void runTile(const Plan &plan, int64_t item) {
  const Problem &p = plan.p;
  const int mr = plan.micro.mr, nr = plan.micro.nr;
  int64_t rest = item;
  const int64_t mg = rest % plan.mGroups;
  rest /= plan.mGroups;
  const int64_t nt = rest % plan.nTiles;
  rest /= plan.nTiles;
  const float *a = p.a, *b = p.b;
  float *c = p.c;
  for (int j = p.rank - 1; j >= 0; --j) {
    const int64_t i = rest % p.batch[j];
    rest /= p.batch[j];
    a += i * p.as[j];
    b += i * p.bs[j];
    c += i * p.cs[j];
  }
  const int64_t rowBegin = mg * plan.rows, rowEnd = std::min(p.M, rowBegin + plan.rows);
  const int64_t n0 = nt * plan.nc, nl = std::min(plan.nc, p.N - n0);
  const int64_t nPanels = (nl + nr - 1) / nr;

  thread_local Scratch scratchA, scratchB;
  const int64_t kMax = std::min(plan.kc, p.K);
  float *pa = scratchA.get(static_cast<size_t>(roundUpTo(plan.mc, mr) * kMax));
  float *pb = scratchB.get(static_cast<size_t>(nPanels * nr * kMax));
  alignas(64) float tile[12 * 32];
  // With few column panels an A element is used too few times to pay for
  // packing it: read row-major A in place (edge panels still pack).
  const bool direct = p.ak == 1 && nPanels <= 4;

  for (int64_t k0 = 0; k0 < p.K; k0 += plan.kc) {
    const int64_t kl = std::min(plan.kc, p.K - k0);
    const bool add = p.accumulate || k0 > 0;
    packB(p, nr, n0, nl, k0, kl, b, pb);
    for (int64_t m0 = rowBegin; m0 < rowEnd; m0 += plan.mc) {
      const int64_t ml = std::min(plan.mc, rowEnd - m0);
      const int64_t mPanels = (ml + mr - 1) / mr;
      if (!direct)
        packA(p, mr, m0, ml, k0, kl, a, pa);
      for (int64_t ip = 0; ip < mPanels; ++ip) {
        const int64_t rowsHere = std::min<int64_t>(mr, ml - ip * mr);
        MicroFn fn = plan.micro.fn;
        const float *panelA = pa + ip * kl * mr;
        if (direct && rowsHere == mr) {
          fn = plan.micro.direct;
          panelA = a + (m0 + ip * mr) * p.am + k0;
        } else if (direct) {
          packA(p, mr, m0 + ip * mr, rowsHere, k0, kl, a, pa);
          panelA = pa;
        }
        for (int64_t jp = 0; jp < nPanels; ++jp) {
          const int64_t cols = std::min<int64_t>(nr, nl - jp * nr);
          float *out = c + (m0 + ip * mr) * p.cm + (n0 + jp * nr) * p.cn;
          const float *panelB = pb + jp * kl * nr;
          if (rowsHere == mr && cols == nr && p.cn == 1) {
            fn(kl, panelA, p.am, panelB, out, p.cm, add);
            continue;
          }
          fn(kl, panelA, p.am, panelB, tile, nr, false);
          for (int64_t r = 0; r < rowsHere; ++r)
            for (int64_t j = 0; j < cols; ++j) {
              float &y = out[r * p.cm + j * p.cn];
              y = add ? y + tile[r * nr + j] : tile[r * nr + j];
            }
        }
      }
    }
  }
}

void runTileThunk(void *arg, int64_t item) { runTile(*static_cast<const Plan *>(arg), item); }

/// C = 0 for every batch entry (K == 0 without accumulation).
void zero(const Problem &p) {
  int64_t batches = 1;
  for (int j = 0; j < p.rank; ++j)
    batches *= p.batch[j];
  for (int64_t t = 0; t < batches; ++t) {
    float *c = p.c;
    for (int64_t j = p.rank - 1, rest = t; j >= 0; --j) {
      c += (rest % p.batch[j]) * p.cs[j];
      rest /= p.batch[j];
    }
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t n = 0; n < p.N; ++n)
        c[m * p.cm + n * p.cn] = 0.f;
  }
}

bool supports(F32Isa isa) {
#ifdef LOWBIT_F32_X86
  switch (isa) {
  case F32Isa::Avx512:
    return __builtin_cpu_supports("avx512f");
  case F32Isa::Avx2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  default:
    return true;
  }
#else
  return isa == F32Isa::Portable;
#endif
}

} // namespace

F32Isa bestF32Isa() {
  static const F32Isa best = [] {
    if (const char *forced = std::getenv("LOWBIT_MATMUL_F32_ISA")) {
      const std::string name = forced;
      if (name == "portable")
        return F32Isa::Portable;
      if (name == "avx2" && supports(F32Isa::Avx2))
        return F32Isa::Avx2;
    }
    for (F32Isa isa : {F32Isa::Avx512, F32Isa::Avx2})
      if (supports(isa))
        return isa;
    return F32Isa::Portable;
  }();
  return best;
}

const char *f32IsaName(F32Isa isa) {
  switch (isa) {
  case F32Isa::Avx512:
    return "avx512";
  case F32Isa::Avx2:
    return "avx2";
  default:
    return "portable";
  }
}

int32_t matmulF32(const lowbit_dispatch_context *ctx, const float *a, const float *b, float *c,
                  const lowbit_matmul_f32_desc *desc) {
  return matmulF32With(bestF32Isa(), ctx, a, b, c, desc);
}

int32_t matmulF32With(F32Isa isa, const lowbit_dispatch_context *ctx, const float *a, const float *b, float *c,
                      const lowbit_matmul_f32_desc *d) {
  if (!d)
    return failWith(ctx, "the descriptor is null");
  if (!supports(isa))
    return failWith(ctx, std::string("this CPU cannot run the ") + f32IsaName(isa) + " micro-kernel");
  if (d->M < 0 || d->N < 0 || d->K < 0 || d->batch_rank < 0 || d->batch_rank > kMaxBatch)
    return failWith(ctx, "bad shape M=" + std::to_string(d->M) + " N=" + std::to_string(d->N) +
                             " K=" + std::to_string(d->K) + " batch rank " + std::to_string(d->batch_rank));
  Problem p{a,        b,        c,        d->M,          d->N,          d->K,
            d->a_stride_m, d->a_stride_k, d->b_stride_k, d->b_stride_n, d->c_stride_m, d->c_stride_n,
            (d->flags & LOWBIT_MATMUL_F32_ACCUMULATE) != 0, static_cast<int>(d->batch_rank), {}, {}, {}, {}};
  for (int j = 0; j < p.rank; ++j) {
    if (d->batch[j] < 0)
      return failWith(ctx, "negative batch size " + std::to_string(d->batch[j]));
    if (d->batch[j] == 0)
      return 0;
    p.batch[j] = d->batch[j];
    p.as[j] = d->a_batch_stride[j];
    p.bs[j] = d->b_batch_stride[j];
    p.cs[j] = d->c_batch_stride[j];
  }
  if (p.M == 0 || p.N == 0)
    return 0;
  if (!c || (p.K && (!a || !b)))
    return failWith(ctx, "a, b or c is null");
  simplify(p);
  if (p.K == 0) {
    if (!p.accumulate)
      zero(p);
    return 0;
  }

  Plan plan{p, microFor(isa), 0, 0, 0, 0, 0, 0, 1};
  const int mr = plan.micro.mr, nr = plan.micro.nr;
  for (int j = 0; j < p.rank; ++j)
    plan.batches *= p.batch[j];
  // K in blocks of about 256 (a 12 x 256 A micro-panel stays in L1 while a
  // 256 x 512 B block streams from L2); A blocks of up to 144 rows.
  plan.kc = p.K <= 384 ? p.K : ceilDiv(p.K, ceilDiv(p.K, 256));
  int64_t nTiles = ceilDiv(p.N, 512), mGroups = 1;
  // Enough items for every worker (a few each, to balance): split the
  // columns down to 256 (each column tile packs A again), then the rows
  // (each row group packs B again), then the columns down to 128.
  const int64_t workers = ctx && ctx->parallel_for ? std::max<int64_t>(1, ctx->num_workers) : 1;
  const double work = double(p.M) * double(p.N) * double(p.K) * double(plan.batches);
  const bool parallel = workers > 1 && work >= 262144.0;
  if (parallel)
    while (plan.batches * nTiles * mGroups < 4 * workers) {
      if (ceilDiv(p.N, nTiles + 1) >= 256)
        ++nTiles;
      else if (ceilDiv(p.M, mGroups + 1) >= 4 * mr)
        ++mGroups;
      else if (ceilDiv(p.N, nTiles + 1) >= 128)
        ++nTiles;
      else
        break;
    }
  plan.nc = roundUpTo(ceilDiv(p.N, nTiles), nr);
  plan.nTiles = ceilDiv(p.N, plan.nc);
  plan.rows = roundUpTo(ceilDiv(p.M, mGroups), mr);
  plan.mGroups = ceilDiv(p.M, plan.rows);
  plan.mc = std::min<int64_t>(plan.rows, 12 * mr);
  const int64_t items = plan.batches * plan.nTiles * plan.mGroups;
  if (!parallel || items == 1) {
    for (int64_t i = 0; i < items; ++i)
      runTile(plan, i);
  } else {
    ctx->parallel_for(ctx->pool, items, runTileThunk, &plan);
  }
  return 0;
}

} // namespace lowbit::runtime::kernels
