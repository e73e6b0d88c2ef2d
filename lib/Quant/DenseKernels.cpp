//===- DenseKernels.cpp - Dense linear algebra for the calibrated methods -===//
//
// Each kernel is a template instantiated twice: once for the baseline ISA and
// once with target("avx2"), picked once at run time. Both instantiations run
// the same operations in the same order on every output element (the vector
// lanes hold different j), so they give the same bits; the AVX2 one has twice
// the lanes and twice the registers to keep accumulators in.
//
//===----------------------------------------------------------------------===//

#include "DenseKernels.h"

#include "lowbit/Quant/Parallel.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lowbit::quant::detail {
namespace {

/// Columns of C held in accumulators per pass, and rows of B per k-chunk
/// (a chunk of B stays in L1/L2 while every row of A streams past it).
constexpr int64_t kDepthChunk = 256;

template <typename T, int Width>
inline __attribute__((always_inline)) void gemmTile(int64_t rows, int64_t depth, const T *a, int64_t lda,
                                                    const T *b, int64_t ldb, T *c, int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r) {
    T acc[Width];
    T *cr = c + r * ldc;
    for (int j = 0; j < Width; ++j)
      acc[j] = cr[j];
    const T *ar = a + r * lda;
    for (int64_t k = 0; k < depth; ++k) {
      const T x = ar[k];
      const T *bk = b + k * ldb;
      for (int j = 0; j < Width; ++j)
        acc[j] = acc[j] + x * bk[j];
    }
    for (int j = 0; j < Width; ++j)
      cr[j] = acc[j];
  }
}

template <typename T>
inline __attribute__((always_inline)) void gemmTileNarrow(int64_t rows, int64_t depth, int64_t width, const T *a,
                                                          int64_t lda, const T *b, int64_t ldb, T *c,
                                                          int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r) {
    T *cr = c + r * ldc;
    const T *ar = a + r * lda;
    for (int64_t k = 0; k < depth; ++k) {
      const T x = ar[k];
      const T *bk = b + k * ldb;
      for (int64_t j = 0; j < width; ++j)
        cr[j] = cr[j] + x * bk[j];
    }
  }
}

template <typename T, int Width>
inline __attribute__((always_inline)) void gemmBody(int64_t rows, int64_t depth, int64_t cols, const T *a,
                                                    int64_t lda, const T *b, int64_t ldb, T *c, int64_t ldc) {
  for (int64_t k0 = 0; k0 < depth; k0 += kDepthChunk) {
    const int64_t kd = std::min(kDepthChunk, depth - k0);
    int64_t j0 = 0;
    for (; j0 + Width <= cols; j0 += Width)
      gemmTile<T, Width>(rows, kd, a + k0, lda, b + k0 * ldb + j0, ldb, c + j0, ldc);
    if (j0 < cols)
      gemmTileNarrow<T>(rows, kd, cols - j0, a + k0, lda, b + k0 * ldb + j0, ldb, c + j0, ldc);
  }
}

/// Gram tile: Rows channel rows i0.. against Width channels j0..; fp32 sums
/// over t, then added to the double matrix.
template <int Rows, int Width>
inline __attribute__((always_inline)) void gramTile(const float *x, int64_t count, int64_t channels, int64_t i0,
                                                    int64_t j0, double *g) {
  float acc[Rows][Width] = {};
  for (int64_t t = 0; t < count; ++t) {
    const float *xt = x + t * channels;
    for (int r = 0; r < Rows; ++r) {
      const float xi = xt[i0 + r];
      for (int j = 0; j < Width; ++j)
        acc[r][j] = acc[r][j] + xi * xt[j0 + j];
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int j = 0; j < Width; ++j)
      if (j0 + j >= i0 + r)
        g[(i0 + r) * channels + j0 + j] += acc[r][j];
}

inline __attribute__((always_inline)) void gramScalar(const float *x, int64_t count, int64_t channels, int64_t i,
                                                      int64_t jBegin, int64_t jEnd, double *g) {
  for (int64_t j = std::max(jBegin, i); j < jEnd; ++j) {
    float acc = 0;
    for (int64_t t = 0; t < count; ++t)
      acc = acc + x[t * channels + i] * x[t * channels + j];
    g[i * channels + j] += acc;
  }
}

template <int Rows, int Width>
inline __attribute__((always_inline)) void gramBody(const float *x, int64_t count, int64_t channels,
                                                    int64_t rowBegin, int64_t rowEnd, double *g) {
  int64_t i0 = rowBegin;
  for (; i0 + Rows <= rowEnd; i0 += Rows) {
    // Columns from i0 (rounded down to keep tiles aligned with i0), full tiles
    // first, then the ragged end one channel row at a time.
    int64_t j0 = i0;
    for (; j0 + Width <= channels; j0 += Width)
      gramTile<Rows, Width>(x, count, channels, i0, j0, g);
    for (int r = 0; r < Rows; ++r)
      gramScalar(x, count, channels, i0 + r, j0, channels, g);
  }
  for (; i0 < rowEnd; ++i0)
    gramScalar(x, count, channels, i0, i0, channels, g);
}

#define LOWBIT_AVX2 __attribute__((target("avx2")))

void gemmFloatBase(int64_t rows, int64_t depth, int64_t cols, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float *c, int64_t ldc) {
  gemmBody<float, 32>(rows, depth, cols, a, lda, b, ldb, c, ldc);
}
LOWBIT_AVX2 void gemmFloatAvx2(int64_t rows, int64_t depth, int64_t cols, const float *a, int64_t lda,
                               const float *b, int64_t ldb, float *c, int64_t ldc) {
  gemmBody<float, 64>(rows, depth, cols, a, lda, b, ldb, c, ldc);
}
void gemmDoubleBase(int64_t rows, int64_t depth, int64_t cols, const double *a, int64_t lda, const double *b,
                    int64_t ldb, double *c, int64_t ldc) {
  gemmBody<double, 16>(rows, depth, cols, a, lda, b, ldb, c, ldc);
}
LOWBIT_AVX2 void gemmDoubleAvx2(int64_t rows, int64_t depth, int64_t cols, const double *a, int64_t lda,
                                const double *b, int64_t ldb, double *c, int64_t ldc) {
  gemmBody<double, 32>(rows, depth, cols, a, lda, b, ldb, c, ldc);
}
void gramBase(const float *x, int64_t count, int64_t channels, int64_t rowBegin, int64_t rowEnd, double *g) {
  gramBody<2, 16>(x, count, channels, rowBegin, rowEnd, g);
}
LOWBIT_AVX2 void gramAvx2(const float *x, int64_t count, int64_t channels, int64_t rowBegin, int64_t rowEnd,
                          double *g) {
  gramBody<6, 16>(x, count, channels, rowBegin, rowEnd, g);
}

bool haveAvx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool have = __builtin_cpu_supports("avx2");
  return have;
#else
  return false;
#endif
}

void gemmDouble(int64_t rows, int64_t depth, int64_t cols, const double *a, int64_t lda, const double *b,
                int64_t ldb, double *c, int64_t ldc) {
  if (rows <= 0 || cols <= 0 || depth <= 0)
    return;
  if (haveAvx2())
    gemmDoubleAvx2(rows, depth, cols, a, lda, b, ldb, c, ldc);
  else
    gemmDoubleBase(rows, depth, cols, a, lda, b, ldb, c, ldc);
}

} // namespace

void gemmAccumulate(int64_t rows, int64_t depth, int64_t cols, const float *a, int64_t lda, const float *b,
                    int64_t ldb, float *c, int64_t ldc) {
  if (rows <= 0 || cols <= 0 || depth <= 0)
    return;
  if (haveAvx2())
    gemmFloatAvx2(rows, depth, cols, a, lda, b, ldb, c, ldc);
  else
    gemmFloatBase(rows, depth, cols, a, lda, b, ldb, c, ldc);
}

void gramAccumulateRows(const float *x, int64_t count, int64_t channels, int64_t rowBegin, int64_t rowEnd,
                        double *g) {
  if (count <= 0 || rowBegin >= rowEnd)
    return;
  if (haveAvx2())
    gramAvx2(x, count, channels, rowBegin, rowEnd, g);
  else
    gramBase(x, count, channels, rowBegin, rowEnd, g);
}

int64_t choleskyUpperInPlace(double *a, int64_t n, int threads) {
  // Left-looking by panels of rows of R = L^T: a panel first takes the
  // updates of every finished row above it (a GEMM, split over threads by
  // columns), then finishes its own rows one by one. Every entry still sums
  // its updates in increasing k, so the bits do not depend on the threads.
  constexpr int64_t kPanel = 32;
  std::vector<double> left; // -R[0..p0, panel]^T, [panel rows, p0]
  for (int64_t p0 = 0; p0 < n; p0 += kPanel) {
    const int64_t p1 = std::min(n, p0 + kPanel), rows = p1 - p0;
    if (p0 > 0) {
      left.assign(rows * p0, 0.0);
      for (int64_t k = 0; k < p0; ++k)
        for (int64_t i = 0; i < rows; ++i)
          left[i * p0 + k] = -a[k * n + p0 + i];
      const int64_t cols = n - p0;
      const int64_t chunks = (cols + 63) / 64;
      // Small trailing blocks are not worth a thread.
      const int useThreads = static_cast<int64_t>(rows) * p0 * cols < (int64_t(1) << 21) ? 1 : threads;
      Status s = parallelFor(chunks, useThreads, [&](int64_t c0, int64_t c1) {
        const int64_t j0 = p0 + c0 * 64, j1 = std::min(n, p0 + c1 * 64);
        gemmDouble(rows, p0, j1 - j0, left.data(), p0, a + j0, n, a + p0 * n + j0, n);
        return Status::ok();
      });
      (void)s;
    }
    for (int64_t i = p0; i < p1; ++i) {
      double *ri = a + i * n;
      for (int64_t k = p0; k < i; ++k) {
        const double f = a[k * n + i];
        const double *rk = a + k * n;
        for (int64_t j = i; j < n; ++j)
          ri[j] = ri[j] - f * rk[j];
      }
      const double pivot = ri[i];
      if (!(pivot > 0) || !std::isfinite(pivot))
        return i;
      const double d = std::sqrt(pivot);
      ri[i] = d;
      for (int64_t j = i + 1; j < n; ++j)
        ri[j] = ri[j] / d;
    }
  }
  return -1;
}

} // namespace lowbit::quant::detail
