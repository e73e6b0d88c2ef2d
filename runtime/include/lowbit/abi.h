/*===- abi.h - What compiled lowbit code may call in the runtime -*- C -*-===*
 *
 * Compiled host code receives a pointer to this context (as an i64, its
 * first argument) and calls the runtime's kernels through the function
 * pointers in it; the kernels spread work over the runtime's thread pool.
 * Nothing else crosses the boundary, so a compiled model links no runtime
 * symbols and the runtime picks kernels for the CPU the artifact names.
 *
 *===----------------------------------------------------------------------===*/
#ifndef LOWBIT_ABI_H
#define LOWBIT_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOWBIT_ABI_VERSION 2

/* One unit of work of a parallel_for: runs `group` of a grid. */
typedef void (*lowbit_workgroup_fn)(void *arg, int64_t group);

typedef struct lowbit_dispatch_context lowbit_dispatch_context;

/* The fused quantized matmul, y[m, n] = sum_k x[m, k] * W[n, k] + bias[n]
 * for m < M, n < N, with W packed in `format` (lowbit::quant::encodeFormat).
 * x, y and bias are dense row-major f32; scales and mins f32 and zero points
 * i32, shaped [N, groups per row] (one value when per-tensor); codebooks f32
 * [codebooks, 2^bits, group]. Unused pointers are null. Returns 0, or
 * non-zero when the format is one the runtime cannot run. */
typedef int32_t (*lowbit_matmul_fn)(const lowbit_dispatch_context *ctx, uint64_t format,
                                    const float *x, const void *w, const float *scales,
                                    const int32_t *zero_points, const float *mins,
                                    const float *codebooks, const float *bias, float *y,
                                    int64_t M, int64_t N, int64_t K);

/* The float matmul, batched and strided: for every batch index
 * i = (i_0, ..., i_{r-1}) with i_j < batch[j] (r = batch_rank <= 6),
 *   C_i[m, n] = (flags & LOWBIT_MATMUL_F32_ACCUMULATE ? C_i[m, n] : 0)
 *             + sum_{k < K} A_i[m, k] * B_i[k, n]
 * where A_i[m, k] = a[sum_j i_j * a_batch_stride[j] + m * a_stride_m + k * a_stride_k],
 * and likewise B with b_* (k, n) and C with c_* (m, n). Strides count
 * elements and may be 0 (an operand broadcast over that index); distinct
 * (i, m, n) must address distinct elements of C, which A and B must not
 * overlap. Every field is an int64_t, so the descriptor is also an
 * int64_t[LOWBIT_MATMUL_F32_DESC_WORDS] with the fields in this order (the
 * compiler builds it that way). Returns 0, or non-zero when the descriptor
 * is invalid (a negative size, a rank above 6, a null pointer). */
#define LOWBIT_MATMUL_F32_MAX_BATCH 6
#define LOWBIT_MATMUL_F32_ACCUMULATE 1
typedef struct lowbit_matmul_f32_desc {
  int64_t M, N, K;
  int64_t a_stride_m, a_stride_k;
  int64_t b_stride_k, b_stride_n;
  int64_t c_stride_m, c_stride_n;
  int64_t flags;
  int64_t batch_rank;
  int64_t batch[LOWBIT_MATMUL_F32_MAX_BATCH];
  int64_t a_batch_stride[LOWBIT_MATMUL_F32_MAX_BATCH];
  int64_t b_batch_stride[LOWBIT_MATMUL_F32_MAX_BATCH];
  int64_t c_batch_stride[LOWBIT_MATMUL_F32_MAX_BATCH];
} lowbit_matmul_f32_desc;
#define LOWBIT_MATMUL_F32_DESC_WORDS (11 + 4 * LOWBIT_MATMUL_F32_MAX_BATCH)

typedef int32_t (*lowbit_matmul_f32_fn)(const lowbit_dispatch_context *ctx, const float *a, const float *b,
                                        float *c, const lowbit_matmul_f32_desc *desc);

struct lowbit_dispatch_context {
  uint32_t abi_version; /* LOWBIT_ABI_VERSION */
  uint32_t num_workers; /* threads parallel_for may use, the caller's included */
  void *pool;
  /* Runs fn(arg, g) for every g in [0, count), spread over the pool's
   * workers; returns when all have finished. */
  void (*parallel_for)(void *pool, int64_t count, lowbit_workgroup_fn fn, void *arg);
  /* Kernels compiled code calls (field order is part of the ABI). */
  lowbit_matmul_fn matmul;
  lowbit_matmul_f32_fn matmul_f32; /* since ABI version 2 */
  /* Memory for compiled code's buffers, in place of malloc and free: the
   * runtime keeps large blocks for reuse, so the buffers of a run do not
   * fault in fresh pages every time. A block from alloc is a malloc block
   * (it may also be released with free(), as the caller does with the
   * outputs); dealloc takes any malloc block or null. */
  void *(*alloc)(const lowbit_dispatch_context *ctx, uint64_t bytes);
  void (*dealloc)(const lowbit_dispatch_context *ctx, void *block);
};

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_ABI_H */
