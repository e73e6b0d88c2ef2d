//===- X86MatmulTest.cpp - The tuned x86 matmul kernels -------------------===//
//
// Every tuned kernel (kernels/x86/X86Matmul.h) against the portable kernel
// and against an exact reference, on odd shapes (M = 1, 3, 17; N not a
// multiple of anything; K with a partial 128-group where the format allows).
// Skipped where the CPU lacks AVX-512 VNNI.
//
// Two checks, because the tuned kernels round x to int8 per 32-block:
//
// 1. Exact activations. When every 32-block of x is 2^e * t with integers
//    |t| <= 127 and one |t| = 127, the rounding is exact (d = 2^e, q = t), so
//    the tuned kernel must agree with the double reference to float
//    rounding, the bound of MatmulTest: 4 (K + 2) u sum_k |x_k w_k| (u =
//    2^-24; each int32 block dot is exact, then a few float products and the
//    K / 32 block sums round). This catches any wrong decode, even of a
//    single weight.
//
// 2. Gaussian activations, tuned vs portable. Rounding x_k to d_b q_k with
//    d_b = max_{k in b} |x_k| / 127 moves each element by at most d_b / 2
//    (q = round(x / d); computing x / d as x * fl(1 / d) adds ~2u relative,
//    covered by the 1.001 factor), so
//      |y_tuned - y_exact| <= sum_b (max|x_b| / 254) sum_{k in b} |w_k|
//    plus float rounding of both kernels. This is the same per-element
//    error llama.cpp accepts with its Q8_0 / Q8_K activations; its
//    test-quantize-fns allows a vec_dot error of 0.02 of the dot product's
//    scale for 4-bit types (2x that for 2- and 3-bit), which on these shapes
//    is looser than this bound. The test also checks the typical error is a
//    small fraction of the bound (random rounding errors mostly cancel).
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "PackedWeights.h"
#include "kernels/KernelError.h"
#include "kernels/Matmul.h"
#include "kernels/x86/X86Matmul.h"

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Uniform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace lowbit;
using namespace lowbit::runtime;
using quant::Format;
using quant::FormatKind;
using quant::Granularity;
using quant::Offset;

namespace {

using test::Packed;
using test::pack;

/// Every format with a tuned kernel on this CPU.
std::vector<Format> tunedFormats() {
  std::vector<Format> all;
  for (FormatKind k : {FormatKind::Q8_0, FormatKind::Q4_0, FormatKind::Q4_1, FormatKind::Q5_0, FormatKind::Q5_1,
                       FormatKind::IQ4_NL, FormatKind::Q4_K, FormatKind::Q6_K, FormatKind::Q2_K, FormatKind::Q3_K,
                       FormatKind::Q5_K, FormatKind::TQ1_0, FormatKind::TQ2_0, FormatKind::IQ4_XS})
    all.push_back(Format::blockFormat(k));
  for (unsigned bits : {4u, 8u})
    for (Offset offset : {Offset::None, Offset::ZeroPoint, Offset::Min}) {
      all.push_back(Format::integer(bits, Granularity::Group, 128, offset));
      all.push_back(Format::integer(bits, Granularity::Group, 32, offset));
      all.push_back(Format::integer(bits, Granularity::Group, 64, offset));
      all.push_back(Format::integer(bits, Granularity::Group, 256, offset));
      all.push_back(Format::integer(bits, Granularity::Channel, 0, offset));
      all.push_back(Format::integer(bits, Granularity::Tensor, 0, offset));
    }
  std::vector<Format> tuned;
  for (const Format &f : all)
    if (kernels::MatmulKernel k; kernels::x86::tunedKernel(f, k))
      tuned.push_back(f);
  return tuned;
}

/// The K values to try: a partial last group of 128 where the format's
/// block or group allows one.
std::vector<int64_t> rowLengths(const Format &f) {
  std::vector<int64_t> ks;
  // 4608: more than one K-chunk of the prefill path (8 x 512 elements).
  for (int64_t K : {int64_t(96), int64_t(256), int64_t(352), int64_t(768), int64_t(1280), int64_t(4608)})
    if (quant::checkRowLength(f, K).empty())
      ks.push_back(K);
  if (f.kind == FormatKind::Int && f.granularity != Granularity::Group)
    ks.push_back(250); // per-channel: K need not be a multiple of 32
  return ks;
}

class X86MatmulTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!kernels::x86::hasAvx512Vnni())
      GTEST_SKIP() << "this CPU lacks AVX-512 VNNI";
    device_ = createCpuDevice();
    ASSERT_TRUE(device_->createStream(3, stream_).isOk());
    saved_ = kernels::x86::kernelChoice();
    kernels::x86::setTunedKernelsEnabled(true);
  }
  void TearDown() override { kernels::x86::setKernelChoice(saved_); }
  const lowbit_dispatch_context *ctx() const { return stream_->dispatchContext(); }

  /// Runs the matmul with the tuned kernels on or off.
  std::vector<float> run(bool tuned, const lowbit_dispatch_context *c, const Format &f, const Packed &p,
                         const std::vector<float> &x, const std::vector<float> &bias, int64_t M, int64_t N,
                         int64_t K) {
    kernels::x86::setTunedKernelsEnabled(tuned);
    auto data = [](const auto &v) { return v.empty() ? nullptr : v.data(); };
    std::vector<float> y(M * N, NAN);
    EXPECT_EQ(kernels::matmul(c, quant::encodeFormat(f), x.data(), p.codes.data(), data(p.scales),
                              data(p.zeroPoints), data(p.mins), nullptr, bias.data(), y.data(), M, N, K),
              0)
        << kernels::threadKernelError();
    kernels::x86::setTunedKernelsEnabled(true);
    return y;
  }

  std::unique_ptr<Device> device_;
  std::unique_ptr<Stream> stream_;
  kernels::x86::KernelChoice saved_ = kernels::x86::KernelChoice::Best;
};

TEST_F(X86MatmulTest, EveryFormatHasATunedKernel) {
  // The formats the issue asks for first must be covered on this CPU.
  const std::vector<Format> tuned = tunedFormats();
  for (const Format &f : {Format::blockFormat(FormatKind::Q8_0), Format::blockFormat(FormatKind::Q4_0),
                          Format::blockFormat(FormatKind::Q4_K), Format::blockFormat(FormatKind::Q6_K),
                          Format::integer(4, Granularity::Group, 128), Format::integer(4, Granularity::Group, 32)})
    EXPECT_NE(std::find(tuned.begin(), tuned.end(), f), tuned.end()) << quant::toString(f);
  kernels::MatmulKernel k;
  ASSERT_TRUE(kernels::x86::tunedKernel(Format::blockFormat(FormatKind::Q4_0), k));
  EXPECT_EQ(kernels::selectMatmulKernel(Format::blockFormat(FormatKind::Q4_0)).name, std::string(k.name));
  kernels::x86::setTunedKernelsEnabled(false);
  EXPECT_EQ(kernels::selectMatmulKernel(Format::blockFormat(FormatKind::Q4_0)).name, std::string("generic-block"));
}

TEST_F(X86MatmulTest, ExactActivationsMatchTheReference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(-127, 127), exponent(-6, 3);
  for (const Format &f : tunedFormats())
    for (int64_t K : rowLengths(f))
      for (auto [M, N] : {std::pair<int64_t, int64_t>{1, 37}, {3, 5}, {17, 13}}) {
        SCOPED_TRACE(quant::toString(f) + ", M=" + std::to_string(M) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K));
        const Packed p = pack(f, N, K, rng);
        std::vector<float> x(M * K), bias(N);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t k0 = 0; k0 < K; k0 += 32) {
            const float scale = std::ldexp(1.f, exponent(rng));
            const int64_t end = std::min(K, k0 + 32);
            for (int64_t k = k0; k < end; ++k)
              x[m * K + k] = scale * level(rng);
            x[m * K + k0 + rng() % (end - k0)] = scale * (rng() % 2 ? 127.f : -127.f);
          }
        for (float &b : bias)
          b = std::normal_distribution<float>()(rng);
        const std::vector<float> y = run(true, ctx(), f, p, x, bias, M, N, K);
        const std::vector<float> serial = run(true, nullptr, f, p, x, bias, M, N, K);
        ASSERT_EQ(0, std::memcmp(y.data(), serial.data(), y.size() * sizeof(float)));
        int failures = 0;
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            double ref = bias[n], magnitude = std::fabs(bias[n]);
            for (int64_t k = 0; k < K; ++k) {
              const double term = double(x[m * K + k]) * p.dequantized[n * K + k];
              ref += term;
              magnitude += std::fabs(term);
            }
            const double tolerance = 4.0 * (K + 2) * 0x1p-24 * magnitude;
            if (!(std::fabs(y[m * N + n] - ref) <= tolerance) && ++failures <= 3)
              ADD_FAILURE() << "y[" << m << "][" << n << "] = " << y[m * N + n] << ", reference " << ref
                            << " (tolerance " << tolerance << ")";
          }
        EXPECT_EQ(failures, 0);
      }
}

TEST_F(X86MatmulTest, GaussianActivationsWithinTheInt8Bound) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  for (const Format &f : tunedFormats())
    for (int64_t K : rowLengths(f))
      for (auto [M, N] : {std::pair<int64_t, int64_t>{1, 37}, {3, 5}, {17, 13}}) {
        SCOPED_TRACE(quant::toString(f) + ", M=" + std::to_string(M) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K));
        const Packed p = pack(f, N, K, rng);
        std::vector<float> x(M * K), bias(N);
        for (float &v : x)
          v = normal(rng);
        for (float &b : bias)
          b = normal(rng);
        const std::vector<float> tuned = run(true, ctx(), f, p, x, bias, M, N, K);
        const std::vector<float> portable = run(false, nullptr, f, p, x, bias, M, N, K);
        int failures = 0;
        double worst = 0;
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            double bound = 0, magnitude = std::fabs(bias[n]);
            for (int64_t k0 = 0; k0 < K; k0 += 32) {
              double amax = 0, wsum = 0;
              for (int64_t k = k0; k < std::min(K, k0 + 32); ++k) {
                amax = std::max(amax, double(std::fabs(x[m * K + k])));
                wsum += std::fabs(p.dequantized[n * K + k]);
                magnitude += std::fabs(double(x[m * K + k]) * p.dequantized[n * K + k]);
              }
              bound += amax / 254.0 * wsum;
            }
            const double tolerance = 1.001 * bound + 8.0 * (K + 2) * 0x1p-24 * (magnitude + bound);
            const double error = std::fabs(double(tuned[m * N + n]) - portable[m * N + n]);
            worst = std::max(worst, error / tolerance);
            if (!(error <= tolerance) && ++failures <= 3)
              ADD_FAILURE() << "y[" << m << "][" << n << "] = " << tuned[m * N + n] << ", portable "
                            << portable[m * N + n] << " (bound " << tolerance << ")";
          }
        EXPECT_EQ(failures, 0);
        // Independent rounding errors add like a random walk: far below the
        // worst case once there are a few blocks.
        if (K >= 768)
          EXPECT_LT(worst, 0.5);
      }
}

TEST_F(X86MatmulTest, ZeroActivations) {
  // All-zero blocks (d = 0) give exact zeros; the bias passes through.
  std::mt19937 rng(3);
  const Format f = Format::blockFormat(FormatKind::Q4_0);
  const Packed p = pack(f, 9, 256, rng);
  std::vector<float> x(2 * 256, 0.f), bias(9, 0.5f);
  const std::vector<float> y = run(true, ctx(), f, p, x, bias, 2, 9, 256);
  for (float v : y)
    EXPECT_EQ(v, 0.5f);
}

TEST_F(X86MatmulTest, NonFiniteActivationsGiveNonFiniteOutputs) {
  // As with the portable kernel, an Inf or NaN in a row of x must not be
  // rounded away: every output of that row is non-finite, the other rows
  // are unaffected.
  std::mt19937 rng(5);
  for (const Format &f : {Format::blockFormat(FormatKind::Q4_0), Format::blockFormat(FormatKind::Q8_0),
                          Format::blockFormat(FormatKind::Q4_K), Format::integer(4, Granularity::Group, 128)})
    for (float bad : {INFINITY, NAN})
      for (int64_t M : {int64_t(2), int64_t(9)}) { // decode and prefill paths
        SCOPED_TRACE(quant::toString(f) + " " + std::to_string(bad) + " M=" + std::to_string(M));
        const Packed p = pack(f, 7, 256, rng);
        std::vector<float> x(M * 256), bias(7, 0.f);
        for (float &v : x)
          v = std::normal_distribution<float>()(rng);
        x[40] = bad; // row 0
        const std::vector<float> y = run(true, ctx(), f, p, x, bias, M, 7, 256);
        for (int64_t n = 0; n < 7; ++n) {
          EXPECT_FALSE(std::isfinite(y[n])) << n;
          for (int64_t m = 1; m < M; ++m)
            EXPECT_TRUE(std::isfinite(y[m * 7 + n])) << m << "," << n;
        }
      }
}

} // namespace
