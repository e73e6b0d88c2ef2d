//===- Matmul.h - The fused quantized matmul kernel ------------*- C++ -*-===//
//
// y[m, n] = sum_k x[m, k] * W[n, k] + bias[n] with W packed in any format of
// lib/Quant's Format.h: the lowbit_matmul_fn of abi.h. The packed weights are
// decoded a block (or group chunk) at a time into a small stack buffer and
// multiplied with every activation row; no float copy of W is ever made.
//
// Output rows N are split into workgroups over the context's parallel_for.
// Each workgroup calls a row kernel, chosen once per call by
// selectMatmulKernel: the portable one for every format, unless a tuned
// kernel for this format and CPU exists (kernels/x86/: AVX-512 VNNI, AVX-VNNI
// or AVX2, chosen at run time from cpuid; LOWBIT_MATMUL_KERNELS=portable
// forces the portable kernel, see kernels/x86/X86Matmul.h).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_MATMUL_H
#define LOWBIT_RUNTIME_KERNELS_MATMUL_H

#include "lowbit/Quant/Format.h"
#include "lowbit/abi.h"

#include <cstdint>
#include <string>

namespace lowbit::runtime::kernels {

/// One call's operands, checked (see matmul()).
struct MatmulArgs {
  quant::Format format;
  const float *x;
  const uint8_t *w;
  const float *scales;
  const int32_t *zeroPoints;
  const float *mins;
  const float *codebooks;
  const float *bias;
  float *y;
  int64_t M, N, K;
  int64_t rowBytes;     ///< packed bytes of one row of W
  int64_t groupsPerRow; ///< side-array entries per row (1 per-channel)
  /// What the kernel's prepare step made of x for this call (e.g. x
  /// quantized to int8 per 32-block), or null.
  const void *prepared = nullptr;
  /// Where format.layout puts each row (packedRow).
  quant::RowTiling tiling;
};

/// Where the packed bytes of one row of W lie (quant::rowPlacement): unit u
/// (interleaveUnitBytes) at unit(u); units before the last are `stride`
/// apart, so a kernel may also step through them from `head`.
struct PackedRow {
  const uint8_t *head;
  int64_t stride;
  const uint8_t *tail;
  int64_t lastUnit;
  const uint8_t *unit(int64_t u) const { return u == lastUnit ? tail : head + u * stride; }
};

inline PackedRow packedRow(const MatmulArgs &a, int64_t n) {
  const quant::RowPlacement p = quant::rowPlacement(a.tiling, n);
  return {a.w + p.head, p.stride, a.w + p.tail, p.lastUnit};
}

/// Computes output columns [n0, n1) of y for all M rows. `scratch` holds at
/// least M floats.
using MatmulRowsFn = void (*)(const MatmulArgs &args, int64_t n0, int64_t n1, float *scratch);

/// Bytes a kernel's prepare step needs for one call.
using MatmulPreparedBytesFn = int64_t (*)(const MatmulArgs &args);
/// Runs once per call, before the rows: fills `buffer` (preparedBytes
/// bytes, 64-byte aligned) from the activations; may use ctx's pool.
using MatmulPrepareFn = void (*)(const lowbit_dispatch_context *ctx, const MatmulArgs &args, void *buffer);

struct MatmulKernel {
  const char *name;
  MatmulRowsFn rows;
  /// Optional per-call step (both set or both null).
  MatmulPreparedBytesFn preparedBytes = nullptr;
  MatmulPrepareFn prepare = nullptr;
  /// True when the kernel rounds x to int8 per 32-block (Q8_0-style), which
  /// moves y by up to sum_blocks max|x_block| / 254 * sum_block |w| (see
  /// kernels/x86/X86Matmul.h); false when it is exact to float rounding.
  bool int8Activations = false;
};

namespace x86 {
enum class KernelChoice;
} // namespace x86

/// The row kernel for this format on this CPU.
MatmulKernel selectMatmulKernel(const quant::Format &format);
/// The same within an artifact's kernel limit (x86::kernelLimitForCpu).
MatmulKernel selectMatmulKernel(const quant::Format &format, x86::KernelChoice limit);

/// The lowbit_matmul_fn: checks the operands, then spreads the output rows
/// over ctx's parallel_for (or runs them inline when ctx is null). Returns 0,
/// or 1 when the format word is invalid, K does not fit it, or a required
/// pointer is null, with the reason reported through reportKernelError
/// (KernelError.h).
int32_t matmul(const lowbit_dispatch_context *ctx, uint64_t format, const float *x, const void *w,
               const float *scales, const int32_t *zeroPoints, const float *mins, const float *codebooks,
               const float *bias, float *y, int64_t M, int64_t N, int64_t K);

/// matmul with its tuned kernels within `limit` (selectMatmulKernel's): the
/// lowbit_matmul_fn the CPU stream gives code compiled for a CPU with that
/// limit (x86::kernelLimitForCpu of the artifact's --cpu).
lowbit_matmul_fn matmulWithin(x86::KernelChoice limit);

} // namespace lowbit::runtime::kernels

#endif // LOWBIT_RUNTIME_KERNELS_MATMUL_H
