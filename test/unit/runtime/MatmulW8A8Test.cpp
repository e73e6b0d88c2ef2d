//===- MatmulW8A8Test.cpp - int8 weights x per-token int8 activations -----===//
//
// The W8A8 kernels (kernels/MatmulW8A8.h, kernels/x86/X86W8A8.h) against an
// int model written out here from the definition: q = nearbyint(x * (127 /
// max|x_row|)), exact int32 sums, y = float(acc) * (s_x * s_w) + b. Every
// kernel must give exactly the model's bits (bound 0: the sums are exact
// integers and the float steps are the same operations in the same order).
// Against the float product x W_deq^T the only change is the activation
// rounding, |x_k - s_x q_k| <= s_x / 2, so
//   |y - x.w| <= s_x / 2 * sum_k |w_k|  (+ float rounding of the reference
// and of the two scale products, allowed as 1e-5 relative to sum |x_k w_k|).
// Shapes cover the 4 x 4 tiles' remainders (M, N not multiples of 4) and
// weight rows whose length is not a multiple of 64 (AVX-512 masked tail) or
// 32 (AVX2 scalar tail); each kernel's own activation rounding (AVX-512's is
// vectorized) meets rows of exact ties (round half to even), an all-zero row
// (y = bias) and rows with NaN or Inf (y = NaN).
//
//===----------------------------------------------------------------------===//

#include "kernels/Matmul.h"
#include "kernels/MatmulW8A8.h"
#include "kernels/x86/X86Matmul.h"
#include "kernels/x86/X86W8A8.h"

#include "lowbit/Quant/Format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace lowbit;
using namespace lowbit::runtime;
using quant::Format;

namespace {

Format w8a8Format() {
  Format f = Format::integer(8);
  f.activations = quant::Activations::Int8PerToken;
  return f;
}

struct Case {
  int64_t M, N, K;
  std::vector<float> x, scales, bias;
  std::vector<uint8_t> codes; // [N, K], w_q + 128
};

Case randomCase(int64_t M, int64_t N, int64_t K, std::mt19937 &rng) {
  Case c{M, N, K, {}, {}, {}, {}};
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<int> code(1, 255);
  c.x.resize(M * K);
  for (float &v : c.x)
    v = normal(rng);
  if (M > 2) // an all-zero row, and one with a large outlier
    std::fill(c.x.begin() + K, c.x.begin() + 2 * K, 0.f);
  if (M > 3)
    c.x[3 * K + K / 2] = 40.f;
  if (M > 4) // max |x| = 127, so x * (127 / max) = x: every other value a tie
    for (int64_t k = 0; k < K; ++k)
      c.x[4 * K + k] = k % 2 ? 127.f : float(k % 40) - 20.f + 0.5f;
  c.codes.resize(N * K);
  for (uint8_t &v : c.codes)
    v = static_cast<uint8_t>(code(rng));
  if (N > 1) // the extremes of w_q
    for (int64_t k = 0; k < K; ++k)
      c.codes[K + k] = k % 2 ? 1 : 255;
  c.scales.resize(N);
  c.bias.resize(N);
  for (int64_t n = 0; n < N; ++n) {
    c.scales[n] = 0.01f + 0.001f * n;
    c.bias[n] = normal(rng);
  }
  return c;
}

/// The model, written from the definition in MatmulW8A8.h.
std::vector<float> model(const Case &c, bool withBias) {
  std::vector<float> y(c.M * c.N);
  for (int64_t m = 0; m < c.M; ++m) {
    const float *x = c.x.data() + m * c.K;
    float amax = 0;
    for (int64_t k = 0; k < c.K; ++k)
      amax = std::max(amax, std::fabs(x[k]));
    std::vector<int32_t> q(c.K, 0);
    if (amax > 0)
      for (int64_t k = 0; k < c.K; ++k)
        q[k] = static_cast<int32_t>(std::nearbyint(x[k] * (127.f / amax)));
    const float sx = amax / 127.f;
    for (int64_t n = 0; n < c.N; ++n) {
      int32_t acc = 0;
      for (int64_t k = 0; k < c.K; ++k)
        acc += q[k] * (int32_t(c.codes[n * c.K + k]) - 128);
      const float t = static_cast<float>(acc) * (sx * c.scales[n]);
      y[m * c.N + n] = t + (withBias ? c.bias[n] : 0.f);
    }
  }
  return y;
}

/// Runs one kernel on the case's operands the way kernels::matmul does,
/// splitting the rows into two ranges to exercise an uneven split.
std::vector<float> runKernel(const kernels::MatmulKernel &kernel, const Case &c, bool withBias) {
  std::vector<float> y(c.M * c.N, NAN);
  kernels::MatmulArgs a{w8a8Format(), c.x.data(),     c.codes.data(), c.scales.data(), nullptr, nullptr,
                        nullptr,      withBias ? c.bias.data() : nullptr, y.data(), c.M, c.N,  c.K,
                        c.K,          1,        nullptr,        {}};
  std::vector<uint8_t> buffer(static_cast<size_t>(kernel.preparedBytes(a)) + 64);
  void *aligned = buffer.data() + (-reinterpret_cast<uintptr_t>(buffer.data()) & 63);
  kernel.prepare(nullptr, a, aligned);
  a.prepared = aligned;
  std::vector<float> scratch(c.M);
  const int64_t split = c.N / 3;
  kernel.rows(a, 0, split, scratch.data());
  kernel.rows(a, split, c.N, scratch.data());
  return y;
}

std::vector<kernels::MatmulKernel> everyKernel() {
  std::vector<kernels::MatmulKernel> all{kernels::w8a8::portableKernel()};
  kernels::MatmulKernel k;
  if (kernels::x86::w8a8Avx512Kernel(k))
    all.push_back(k);
  if (kernels::x86::w8a8Avx2Kernel(k))
    all.push_back(k);
  return all;
}

TEST(MatmulW8A8, EveryKernelIsExactAgainstTheIntModel) {
  std::mt19937 rng(8);
  const int64_t shapes[][3] = {{1, 1, 1},   {1, 5, 63},  {3, 4, 64},   {4, 9, 65},   {5, 8, 100},
                               {9, 7, 576}, {8, 13, 31}, {2, 3, 1536}, {17, 5, 33}, {6, 6, 128}};
  for (auto [M, N, K] : shapes) {
    const Case c = randomCase(M, N, K, rng);
    for (bool withBias : {false, true}) {
      const std::vector<float> want = model(c, withBias);
      for (const kernels::MatmulKernel &kernel : everyKernel()) {
        SCOPED_TRACE(std::string(kernel.name) + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K) + (withBias ? " bias" : ""));
        const std::vector<float> got = runKernel(kernel, c, withBias);
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
              << "y[" << i << "] " << got[i] << " vs " << want[i];
      }
    }
  }
}

TEST(MatmulW8A8, RowsWithNaNOrInfGiveNaN) {
  std::mt19937 rng(9);
  Case c = randomCase(3, 5, 70, rng);
  c.x[0 * c.K + 7] = NAN;
  c.x[2 * c.K + 69] = INFINITY; // in the vector tail
  for (const kernels::MatmulKernel &kernel : everyKernel()) {
    SCOPED_TRACE(kernel.name);
    const std::vector<float> y = runKernel(kernel, c, true);
    for (int64_t n = 0; n < c.N; ++n) {
      EXPECT_TRUE(std::isnan(y[0 * c.N + n])) << n;
      EXPECT_EQ(y[1 * c.N + n], c.bias[n]) << n; // the all-zero row: the bias
      EXPECT_TRUE(std::isnan(y[2 * c.N + n])) << n;
    }
  }
}

TEST(MatmulW8A8, WithinTheRoundingBoundOfTheFloatProduct) {
  std::mt19937 rng(80);
  const Case c = randomCase(6, 11, 300, rng);
  const std::vector<float> y = runKernel(kernels::w8a8::selectKernel(w8a8Format()), c, true);
  for (int64_t m = 0; m < c.M; ++m) {
    float amax = 0;
    for (int64_t k = 0; k < c.K; ++k)
      amax = std::max(amax, std::fabs(c.x[m * c.K + k]));
    for (int64_t n = 0; n < c.N; ++n) {
      double exact = c.bias[n], absW = 0, absXW = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double w = double(c.scales[n]) * (int(c.codes[n * c.K + k]) - 128);
        exact += c.x[m * c.K + k] * w;
        absW += std::fabs(w);
        absXW += std::fabs(c.x[m * c.K + k] * w);
      }
      const double bound = amax / 127.0 / 2 * absW + 1e-5 * (absXW + std::fabs(c.bias[n]));
      EXPECT_LE(std::fabs(y[m * c.N + n] - exact), bound) << "m=" << m << " n=" << n;
    }
  }
}

TEST(MatmulW8A8, SelectionFollowsTheKernelChoice) {
  using kernels::x86::KernelChoice;
  const KernelChoice saved = kernels::x86::kernelChoice();
  kernels::x86::setKernelChoice(KernelChoice::Portable);
  EXPECT_STREQ(kernels::selectMatmulKernel(w8a8Format()).name, "w8a8-portable");
  kernels::x86::setKernelChoice(KernelChoice::Best);
  kernels::MatmulKernel fast;
  if (kernels::x86::w8a8Avx512Kernel(fast))
    EXPECT_STREQ(kernels::selectMatmulKernel(w8a8Format()).name, "w8a8-avx512vnni");
  // An artifact's --cpu limit caps the family (x86::selectKernel's rule).
  if (kernels::x86::w8a8Avx2Kernel(fast))
    EXPECT_STREQ(kernels::selectMatmulKernel(w8a8Format(), KernelChoice::Avx2).name, "w8a8-avx2");
  EXPECT_STREQ(kernels::selectMatmulKernel(w8a8Format(), KernelChoice::Portable).name, "w8a8-portable");
  kernels::x86::setKernelChoice(KernelChoice::Avx2); // an explicit family wins over the limit
  if (kernels::x86::w8a8Avx2Kernel(fast))
    EXPECT_STREQ(kernels::selectMatmulKernel(w8a8Format(), KernelChoice::Portable).name, "w8a8-avx2");
  kernels::x86::setKernelChoice(KernelChoice::Best);
  // Plain int8 (float activations) keeps its own kernels.
  EXPECT_STRNE(std::string(kernels::selectMatmulKernel(Format::integer(8)).name).substr(0, 4).c_str(), "w8a8");
  kernels::x86::setKernelChoice(saved);
}

TEST(MatmulW8A8, TheEntryPointRunsTheFormatWord) {
  std::mt19937 rng(88);
  const Case c = randomCase(5, 9, 70, rng);
  std::vector<float> y(c.M * c.N);
  ASSERT_EQ(kernels::matmul(nullptr, quant::encodeFormat(w8a8Format()), c.x.data(), c.codes.data(),
                            c.scales.data(), nullptr, nullptr, nullptr, c.bias.data(), y.data(), c.M, c.N, c.K),
            0);
  const std::vector<float> want = model(c, true);
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_EQ(y[i], want[i]) << i;
}

TEST(MatmulW8A8, FormatTextAndWord) {
  std::string error;
  std::optional<Format> f = quant::parseFormat("int8, a8", error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(*f, w8a8Format());
  EXPECT_EQ(quant::toString(*f), "int8, a8");
  EXPECT_EQ(quant::checkFormat(*f), "");
  EXPECT_EQ(quant::decodeFormat(quant::encodeFormat(*f)), f);
  // Float activations keep the word they had before the field existed.
  EXPECT_EQ(quant::encodeFormat(Format::integer(8)) >> 28 & 0xf, 0u);
  for (const char *bad : {"int4, a8", "int8, group = 32, a8", "int8, asym, a8", "int8, per_tensor, a8", "q8_0, a8"}) {
    std::optional<Format> g = quant::parseFormat(bad, error);
    EXPECT_TRUE(!g || !quant::checkFormat(*g).empty()) << bad;
  }
}

} // namespace
