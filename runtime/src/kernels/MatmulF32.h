//===- MatmulF32.h - The float matmul compiled code calls -------*- C++ -*-===//
//
// The lowbit_matmul_f32_fn of abi.h: C (+)= A B over up to six batch
// dimensions, every operand strided (transposed and broadcast operands are
// read in place: the compiler folds transposes, GQA's head broadcast and
// the like into the strides instead of copying).
//
// How: batch dimensions that are really more rows of M (a weight shared by
// every token) or more columns of N are merged first. The work is cut into
// items (batch entry, column tile of up to 512, row group), enough for a few
// per worker, spread over the context's parallel_for. Each item is computed
// by one thread, GotoBLAS-style: K in blocks of about 256; per block, the
// item's B columns are packed once into contiguous NR-wide micro-panels (any
// strides in, zero-padded), then A is packed 144 rows at a time into MR-row
// micro-panels (or, with four column panels or fewer and row-major A, read
// in place: packing would cost more than it saves) and a register-blocked
// micro-kernel (AVX-512: 12 x 32, AVX2+FMA: 6 x 16, else portable C++
// 4 x 16) accumulates each MR x NR piece. Every output is summed by one
// thread in one order, so results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_MATMULF32_H
#define LOWBIT_RUNTIME_KERNELS_MATMULF32_H

#include "lowbit/abi.h"

#include <cstdint>

namespace lowbit::runtime::kernels {

/// Which micro-kernel runs.
enum class F32Isa { Portable, Avx2, Avx512 };

/// The best micro-kernel this CPU runs (cpuid, once).
F32Isa bestF32Isa();
const char *f32IsaName(F32Isa isa);

/// The lowbit_matmul_f32_fn, with the best micro-kernel for this CPU. With
/// a null ctx, runs on the calling thread. Returns 0, or 1 with the reason
/// reported through reportKernelError (KernelError.h).
int32_t matmulF32(const lowbit_dispatch_context *ctx, const float *a, const float *b, float *c,
                  const lowbit_matmul_f32_desc *desc);

/// The same with a given micro-kernel (tests run each one this CPU has).
int32_t matmulF32With(F32Isa isa, const lowbit_dispatch_context *ctx, const float *a, const float *b, float *c,
                      const lowbit_matmul_f32_desc *desc);

} // namespace lowbit::runtime::kernels

#endif // LOWBIT_RUNTIME_KERNELS_MATMULF32_H
