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

/// One activation row to int8 with its scale; returns sum q.
int32_t quantizeRow(const float *x, int64_t K, int8_t *q, float &scale) {
  float amax = 0.f;
  for (int64_t k = 0; k < K; ++k)
    amax = std::max(amax, std::fabs(x[k]));
  if (!(amax > 0.f) || !std::isfinite(amax)) {
    // An all-zero row is exact as zeros; a row with NaN or Inf has no
    // meaningful int8 form (its y is NaN through the scale).
    std::memset(q, 0, static_cast<size_t>(K));
    scale = amax == 0.f ? 0.f : NAN;
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

Prepared view(const MatmulArgs &a) {
  const int64_t kp = paddedK(a.K);
  const auto *base = static_cast<const uint8_t *>(a.prepared);
  return Prepared{reinterpret_cast<const int8_t *>(base), reinterpret_cast<const float *>(base + a.M * kp),
                  reinterpret_cast<const int32_t *>(base + a.M * kp + 4 * a.M), kp};
}

int64_t preparedBytes(const MatmulArgs &a) { return a.M * paddedK(a.K) + 8 * a.M; }

void prepare(const lowbit_dispatch_context *, const MatmulArgs &a, void *buffer) {
  const int64_t kp = paddedK(a.K);
  auto *base = static_cast<uint8_t *>(buffer);
  auto *q = reinterpret_cast<int8_t *>(base);
  auto *scale = reinterpret_cast<float *>(base + a.M * kp);
  auto *sum = reinterpret_cast<int32_t *>(base + a.M * kp + 4 * a.M);
  for (int64_t m = 0; m < a.M; ++m) {
    int8_t *row = q + m * kp;
    sum[m] = quantizeRow(a.x + m * a.K, a.K, row, scale[m]);
    std::memset(row + a.K, 0, static_cast<size_t>(kp - a.K));
  }
}

// int8Activations stays false: the per-token rounding is the format's own
// (every W8A8 kernel gives the same bits), not a kernel's approximation.
MatmulKernel portableKernel() { return {"w8a8-portable", portableRows, preparedBytes, prepare}; }

MatmulKernel selectKernel(const quant::Format &) {
  MatmulKernel fast;
  switch (x86::kernelChoice()) {
  case x86::KernelChoice::Best:
    if (x86::w8a8Avx512Kernel(fast) || x86::w8a8Avx2Kernel(fast))
      return fast;
    break;
  case x86::KernelChoice::Avx512Vnni:
    if (x86::w8a8Avx512Kernel(fast))
      return fast;
    break;
  case x86::KernelChoice::Avx2:
    if (x86::w8a8Avx2Kernel(fast))
      return fast;
    break;
  case x86::KernelChoice::AvxVnni: // no AVX-VNNI W8A8 kernel: portable
  case x86::KernelChoice::Portable:
    break;
  }
  return portableKernel();
}

} // namespace lowbit::runtime::kernels::w8a8
