//===- MatmulW8A8.h - int8 weights x per-token int8 activations -*- C++ -*-===//
//
// The kernels for formats with Activations::Int8PerToken ("int8, a8": the
// W8A8 path of SmoothQuant and LLM.int8()). The weights are lowbit's `int8`
// per-channel symmetric format: code c = w_q + 128 with w_q in [-127, 127]
// and one scale s_w per output row. The activations are rounded once per
// call (prepare), each row m on its own over all of K:
//
//   a    = max_k |x[m, k]|
//   s_x  = a / 127                               (0 when a = 0)
//   q[k] = nearbyint(x[m, k] * (127 / a))        (ties to even; 0 when a = 0)
//
// and every kernel then computes, with exact int32 sums
// (|acc| <= 127 * 127 * K < 2^31 for K < 133,000),
//
//   acc     = sum_k q[k] * (c[n, k] - 128)
//   y[m, n] = float(acc) * (s_x * s_w[n]) + bias[n]
//
// in float, in that order, so that every kernel (portable, AVX-512 VNNI,
// AVX2) gives the same bits as the numpy model of test/unit/runtime's
// W8A8 tests. Against the float product the error is the activation
// rounding plus the weights' own rounding: per output,
// |y - x.w| <= s_x / 2 * sum_k |w_k| + the weight error, i.e. the
// per-token rounding moves y by at most max|x| / 254 * ||w_n||_1.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_MATMULW8A8_H
#define LOWBIT_RUNTIME_KERNELS_MATMULW8A8_H

#include "kernels/Matmul.h"
#include "kernels/x86/X86Matmul.h"

namespace lowbit::runtime::kernels::w8a8 {

/// The prepared activations of one call: q as [M, paddedK] int8 (zeros past
/// K), then s_x [M] f32, then sum_k q[m, k] [M] i32 (the code offset 128
/// comes off the unsigned-by-signed products through it).
struct Prepared {
  const int8_t *q;
  const float *scale;
  const int32_t *sum;
  int64_t paddedK;
};

/// K rounded up to whole 64-byte vectors.
inline int64_t paddedK(int64_t K) { return (K + 63) / 64 * 64; }

/// Views the buffer that prepare filled.
Prepared view(const MatmulArgs &args);

/// Rounds one activation row of K values as above into q (K int8); sets its
/// scale and returns sum q. A row with NaN or Inf gets q = 0 and scale NaN
/// (its outputs are NaN, as in float); an all-zero row q = 0 and scale 0.
using QuantizeRowFn = int32_t (*)(const float *x, int64_t K, int8_t *q, float &scale);
/// The portable QuantizeRowFn (x86 kernels bring a vector one with the same
/// bits).
int32_t quantizeRow(const float *x, int64_t K, int8_t *q, float &scale);

/// The prepare step of every W8A8 kernel (MatmulKernel::prepare): each row
/// through `row`, spread over ctx's pool when there are many; zeros past K.
int64_t preparedBytes(const MatmulArgs &args);
void prepareRows(const lowbit_dispatch_context *ctx, const MatmulArgs &args, void *buffer, QuantizeRowFn row);
/// prepareRows with the portable quantizeRow.
void prepare(const lowbit_dispatch_context *ctx, const MatmulArgs &args, void *buffer);

/// The kernel for an Int8PerToken format on this CPU, following
/// LOWBIT_MATMUL_KERNELS (x86::kernelChoice): "portable" gives the portable
/// kernel, "avx512" the AVX-512 VNNI one, "avx2" the AVX2 one ("avxvnni" and
/// a family the CPU lacks: the portable one); by default the fastest this CPU
/// has that is not above `limit` (an artifact's --cpu, as x86::selectKernel
/// takes it). Every choice gives the same bits.
MatmulKernel selectKernel(const quant::Format &format, x86::KernelChoice limit = x86::KernelChoice::Best);

/// The portable kernel (tests compare the others with it).
MatmulKernel portableKernel();

} // namespace lowbit::runtime::kernels::w8a8

#endif // LOWBIT_RUNTIME_KERNELS_MATMULW8A8_H
