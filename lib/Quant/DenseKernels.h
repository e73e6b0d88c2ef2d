//===- DenseKernels.h - Dense linear algebra for the calibrated methods -*- C++ -*-===//
//
// Private to lib/Quant. The few dense kernels GPTQ, AWQ and the calibration
// statistics need, written so that their results are bit-identical on every
// x86-64 CPU and for every thread count: SIMD lanes always run across
// independent outputs, never across a reduction, and every output's sum is
// taken in one fixed order (a = a + x * y with separate roundings; lib/Quant
// builds with -ffp-contract=off). An AVX2 build of each kernel is chosen at
// run time when the CPU has it; it computes the same bits, faster.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LIB_QUANT_DENSEKERNELS_H
#define LOWBIT_LIB_QUANT_DENSEKERNELS_H

#include <cstdint>

namespace lowbit::quant::detail {

/// C[r, j] += sum_k A[r, k] * B[k, j] for r < rows, j < cols, k < depth, each
/// sum taken in increasing k. Row-major with leading dimensions lda, ldb, ldc.
void gemmAccumulate(int64_t rows, int64_t depth, int64_t cols, const float *a, int64_t lda, const float *b,
                    int64_t ldb, float *c, int64_t ldc);

/// For channel rows i in [rowBegin, rowEnd) of a [channels, channels] double
/// matrix G: G[i, j] += sum_t x[t, i] * x[t, j] for j >= i (the upper
/// triangle), the sum over t < count (at most 256) taken in fp32 in increasing
/// t and then added to G. x is [count, channels] row-major.
void gramAccumulateRows(const float *x, int64_t count, int64_t channels, int64_t rowBegin, int64_t rowEnd,
                        double *g);

/// In-place lower Cholesky factor of a symmetric positive definite [n, n]
/// row-major matrix, stored transposed: on success `a` holds R = L^T (upper
/// triangle; the strict lower triangle is overwritten with scratch values)
/// with A = L L^T.
/// Returns -1, or the first pivot index at which A is not positive definite
/// (a pivot <= 0 or not finite).
int64_t choleskyUpperInPlace(double *a, int64_t n, int threads);

} // namespace lowbit::quant::detail

#endif // LOWBIT_LIB_QUANT_DENSEKERNELS_H
