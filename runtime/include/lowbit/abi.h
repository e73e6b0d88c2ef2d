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

#define LOWBIT_ABI_VERSION 1

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

struct lowbit_dispatch_context {
  uint32_t abi_version; /* LOWBIT_ABI_VERSION */
  uint32_t num_workers; /* threads parallel_for may use, the caller's included */
  void *pool;
  /* Runs fn(arg, g) for every g in [0, count), spread over the pool's
   * workers; returns when all have finished. */
  void (*parallel_for)(void *pool, int64_t count, lowbit_workgroup_fn fn, void *arg);
  /* Kernels compiled code calls (field order is part of the ABI). */
  lowbit_matmul_fn matmul;
};

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_ABI_H */
