//===- MatmulW8A8.cpp - int8 weights x per-token int8 activations ---------===//
//
// The shared prepare step, the portable row kernel and the selection
// (MatmulW8A8.h has the numerics; kernels/x86/X86W8A8.cpp the fast ones).
//
//===----------------------------------------------------------------------===//

#include "kernels/MatmulW8A8.h"
#include "kernels/x86/X86Matmul.h"
#include "kernels/x86/X86W8A8.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lowbit::runtime::kernels::w8a8 {

namespace {

/// The portable row kernel: exact int32 sums, then the scales.
void portableRows(const MatmulArgs &a, int64_t n0, int64_t n1, float *) {
  const Prepared p = view(a);
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t *w = a.w + n * a.rowBytes;
    const float sw = a.scales[n];
    const float b = a.bias ? a.bias[n] : 0.f;
    for (int64_t m = 0; m < a.M; ++m) {
      const int8_t *q = p.q + m * p.paddedK;
      int32_t acc = 0;
      for (int64_t k = 0; k < a.K; ++k)
        acc += int32_t(q[k]) * int32_t(w[k]);
      acc -= 128 * p.sum[m];
      const float t = static_cast<float>(acc) * (p.scale[m] * sw);
      a.y[m * a.N + n] = t + b;
    }
  }
}

} // namespace

int32_t quantizeRow(const float *x, int64_t K, int8_t *q, float &scale) {
  float amax = 0.f;
  bool nan = false;
  for (int64_t k = 0; k < K; ++k) {
    amax = std::max(amax, std::fabs(x[k]));
    nan |= x[k] != x[k];
  }
  if (nan || !std::isfinite(amax) || amax == 0.f) {
    std::memset(q, 0, static_cast<size_t>(K));
    scale = amax == 0.f && !nan ? 0.f : NAN;
    return 0;
  }
  const float inv = 127.f / amax;
  int32_t sum = 0;
  for (int64_t k = 0; k < K; ++k) {
    // |x * inv| <= 127 up to one rounding: the clamp only catches that.
    const float v = std::min(std::max(std::nearbyint(x[k] * inv), -127.f), 127.f);
    q[k] = static_cast<int8_t>(v);
    sum += q[k];
  }
  scale = amax / 127.f;
  return sum;
}

Prepared view(const MatmulArgs &a) {
  const int64_t kp = paddedK(a.K);
  const auto *base = static_cast<const uint8_t *>(a.prepared);
  return Prepared{reinterpret_cast<const int8_t *>(base), reinterpret_cast<const float *>(base + a.M * kp),
                  reinterpret_cast<const int32_t *>(base + a.M * kp + 4 * a.M), kp};
}

int64_t preparedBytes(const MatmulArgs &a) { return a.M * paddedK(a.K) + 8 * a.M; }

namespace {

struct PrepareJob {
  const MatmulArgs *args;
  uint8_t *buffer;
  QuantizeRowFn row;
  int64_t rowsPerGroup;
};

void prepareGroup(void *arg, int64_t group) {
  const PrepareJob &job = *static_cast<const PrepareJob *>(arg);
  const MatmulArgs &a = *job.args;
  const int64_t kp = paddedK(a.K);
  auto *q = reinterpret_cast<int8_t *>(job.buffer);
  auto *scale = reinterpret_cast<float *>(job.buffer + a.M * kp);
  auto *sum = reinterpret_cast<int32_t *>(job.buffer + a.M * kp + 4 * a.M);
  for (int64_t m = group * job.rowsPerGroup, end = std::min(a.M, m + job.rowsPerGroup); m < end; ++m) {
    int8_t *row = q + m * kp;
    sum[m] = job.row(a.x + m * a.K, a.K, row, scale[m]);
    std::memset(row + a.K, 0, static_cast<size_t>(kp - a.K));
  }
}

} // namespace

void prepareRows(const lowbit_dispatch_context *ctx, const MatmulArgs &a, void *buffer, QuantizeRowFn row) {
  // Prefill rounds M * K values (0.8M for 512 x 1536): worth the pool.
  const int64_t workers = ctx && ctx->parallel_for ? std::max<int64_t>(1, ctx->num_workers) : 1;
  const int64_t groups = workers > 1 && a.M * a.K >= 65536 ? std::min<int64_t>(a.M, workers * 2) : 1;
  PrepareJob job{&a, static_cast<uint8_t *>(buffer), row, (a.M + groups - 1) / groups};
  if (groups == 1)
    prepareGroup(&job, 0);
  else
    ctx->parallel_for(ctx->pool, (a.M + job.rowsPerGroup - 1) / job.rowsPerGroup, prepareGroup, &job);
}

void prepare(const lowbit_dispatch_context *ctx, const MatmulArgs &a, void *buffer) {
  prepareRows(ctx, a, buffer, quantizeRow);
}

// int8Activations stays false: the per-token rounding is the format's own
// (every W8A8 kernel gives the same bits), not a kernel's approximation.
MatmulKernel portableKernel() { return {"w8a8-portable", portableRows, preparedBytes, prepare}; }

MatmulKernel selectKernel(const quant::Format &, x86::KernelChoice limit) {
  using C = x86::KernelChoice;
  MatmulKernel fast;
  const C choice = x86::kernelChoice();
  if (choice != C::Best) { // one family, as LOWBIT_MATMUL_KERNELS names it
    if ((choice == C::Avx512Vnni && x86::w8a8Avx512Kernel(fast)) || (choice == C::Avx2 && x86::w8a8Avx2Kernel(fast)))
      return fast;
    return portableKernel();
  }
  // The fastest kernel not above the artifact's limit (Best: none).
  if ((limit == C::Best || limit == C::Avx512Vnni) && x86::w8a8Avx512Kernel(fast))
    return fast;
  if (limit != C::Portable && x86::w8a8Avx2Kernel(fast))
    return fast;
  return portableKernel();
}

} // namespace lowbit::runtime::kernels::w8a8
