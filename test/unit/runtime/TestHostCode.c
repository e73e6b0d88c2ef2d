/*===- TestHostCode.c - Hand-written host code for the runtime's tests ----===*
 *
 * Built as a shared library at test-build time and packed into artifacts by
 * the tests, standing in for what lowbit-compile emits. Each entry follows
 * docs/ARTIFACT.md's calling convention: args[0] points to the context's
 * address as an i64, args[1] to the results (one memref descriptor per
 * output, back to back), then one descriptor per input and per weight.
 *
 *===----------------------------------------------------------------------===*/

#include "lowbit/abi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  void *allocated, *aligned;
  int64_t offset;
} Memref0;

typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} Memref1;

typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} Memref2;

static const lowbit_dispatch_context *contextOf(void **args) {
  return (const lowbit_dispatch_context *)(uintptr_t)(*(int64_t *)args[0]);
}

typedef struct {
  const float *x, *w;
  float *y;
  int64_t cols;
} AddJob;

static void addRow(void *arg, int64_t row) {
  const AddJob *job = (const AddJob *)arg;
  for (int64_t c = 0; c < job->cols; ++c)
    job->y[row * job->cols + c] = job->x[row * job->cols + c] + job->w[c];
}

/* inputs:  x f32 [-1, C]
 * weights: w f32 [C]
 * outputs: y f32 [-1, C] = x + w (rows in parallel), total f32 [] = sum(y) */
void lowbit_test_add(void **args) {
  const lowbit_dispatch_context *ctx = contextOf(args);
  Memref2 *y = (Memref2 *)args[1];
  Memref0 *total = (Memref0 *)((char *)args[1] + sizeof(Memref2));
  const Memref2 *x = (const Memref2 *)args[2];
  const Memref1 *w = (const Memref1 *)args[3];
  const int64_t rows = x->sizes[0], cols = x->sizes[1];
  float *out = (float *)malloc((size_t)(rows * cols > 0 ? rows * cols : 1) * sizeof(float));
  AddJob job = {(const float *)x->aligned + x->offset, (const float *)w->aligned + w->offset, out, cols};
  ctx->parallel_for(ctx->pool, rows, addRow, &job);
  float *sum = (float *)malloc(sizeof(float));
  *sum = 0;
  for (int64_t i = 0; i < rows * cols; ++i)
    *sum += out[i];
  y->allocated = y->aligned = out;
  y->offset = 0;
  y->sizes[0] = rows;
  y->sizes[1] = cols;
  y->strides[0] = cols;
  y->strides[1] = 1;
  total->allocated = total->aligned = sum;
  total->offset = 0;
}

/* inputs:  x f32 [M, K]
 * weights: packed i8 [bytes], scales f32 [N, G], format i64 [1], shape i64 [2] = {N, K}
 * outputs: y f32 [M, N] = matmul through the context (bias: none) */
void lowbit_test_matmul(void **args) {
  const lowbit_dispatch_context *ctx = contextOf(args);
  Memref2 *y = (Memref2 *)args[1];
  const Memref2 *x = (const Memref2 *)args[2];
  const Memref1 *packed = (const Memref1 *)args[3];
  const Memref2 *scales = (const Memref2 *)args[4];
  const Memref1 *format = (const Memref1 *)args[5];
  const Memref1 *shape = (const Memref1 *)args[6];
  const int64_t M = x->sizes[0], N = ((const int64_t *)shape->aligned)[0], K = ((const int64_t *)shape->aligned)[1];
  float *out = (float *)malloc((size_t)(M * N > 0 ? M * N : 1) * sizeof(float));
  memset(out, 0, (size_t)(M * N > 0 ? M * N : 1) * sizeof(float));
  ctx->matmul(ctx, (uint64_t)((const int64_t *)format->aligned)[0], (const float *)x->aligned,
              packed->aligned, (const float *)scales->aligned, NULL, NULL, NULL, NULL, out, M, N, K);
  y->allocated = y->aligned = out;
  y->offset = 0;
  y->sizes[0] = M;
  y->sizes[1] = N;
  y->strides[0] = N;
  y->strides[1] = 1;
}

/* inputs:  x f32 [R, C]
 * outputs: the transpose f32 [C, R], returned as a strided view of a copy
 *          of x (strides {1, C}), and x itself passed through unchanged. */
void lowbit_test_views(void **args) {
  Memref2 *t = (Memref2 *)args[1];
  Memref2 *same = (Memref2 *)((char *)args[1] + sizeof(Memref2));
  const Memref2 *x = (const Memref2 *)args[2];
  const int64_t rows = x->sizes[0], cols = x->sizes[1];
  float *copy = (float *)malloc((size_t)(rows * cols > 0 ? rows * cols : 1) * sizeof(float));
  memcpy(copy, x->aligned, (size_t)(rows * cols) * sizeof(float));
  t->allocated = t->aligned = copy;
  t->offset = 0;
  t->sizes[0] = cols;
  t->sizes[1] = rows;
  t->strides[0] = 1;
  t->strides[1] = cols;
  *same = *x;
}
