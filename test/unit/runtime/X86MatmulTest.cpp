//===- X86MatmulTest.cpp - The tuned x86 matmul kernels -------------------===//
//
// Every tuned kernel of every x86 family (kernels/x86/X86Matmul.h: AVX-512
// VNNI; X86Avx2Matmul.h: AVX-VNNI and AVX2) against the portable kernel and
// against an exact reference, on odd shapes (M = 1, 2, 7 on the decode path,
// 8 and 17 on the prefill path; N not a multiple of any row tile; K with a
// partial 128-group where the format allows). A family is skipped where the
// CPU lacks it.
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
//      |y_tuned - y_exact| <= sum_b (max|x_b| / 254) sum_{k in b} |c_k|
//    plus float rounding of both kernels, with c_k the part of w_k that
//    multiplies the rounded x (test::codeParts: w_k itself, or w_k minus
//    the min / zero-point term the kernels apply against the exact sum of
//    x; that part can exceed |w_k|, and with |w_k| in its place the bound
//    failed for int4 asym at M = 17, N = 50, K = 96). This is the same per-element
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
#include <ostream>
#include <random>

// Readable parameter names in test output and CTest ("Avx2", not "4-byte
// object <02-00 00-00>"); found by argument-dependent lookup.
namespace lowbit::runtime::kernels::x86 {
inline void PrintTo(Isa isa, std::ostream *os) {
  *os << (isa == Isa::Avx512Vnni ? "Avx512Vnni" : isa == Isa::AvxVnni ? "AvxVnni" : "Avx2");
}
} // namespace lowbit::runtime::kernels::x86

using namespace lowbit;
using namespace lowbit::runtime;
using quant::Format;
using quant::FormatKind;
using quant::Granularity;
using quant::Offset;

namespace {

using test::Packed;
using test::pack;

using kernels::x86::Isa;
using kernels::x86::KernelChoice;

/// Every format with a kernel of `isa` on this CPU.
std::vector<Format> tunedFormats(Isa isa) {
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
    if (kernels::MatmulKernel k; kernels::x86::isaKernel(isa, f, k))
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

/// The shapes (M, N) every kernel runs: decode (M < 8) and prefill, N not a
/// multiple of the row tiles (AVX-512 3 x 4, 256-bit 2 x 3 or 2 x 2) nor of
/// the 48- and 32-row unpack blocks; M = 17 leaves partial activation tiles.
const std::pair<int64_t, int64_t> kShapes[] = {{1, 37}, {2, 5}, {7, 13}, {8, 19}, {17, 50}};

const char *isaName(Isa isa) {
  return isa == Isa::Avx512Vnni ? "Avx512Vnni" : isa == Isa::AvxVnni ? "AvxVnni" : "Avx2";
}

class X86MatmulTest : public ::testing::TestWithParam<Isa> {
protected:
  void SetUp() override {
    isa_ = GetParam();
    if (!kernels::x86::hasIsa(isa_))
      GTEST_SKIP() << "this CPU lacks " << isaName(isa_);
    device_ = createCpuDevice();
    ASSERT_TRUE(device_->createStream(3, stream_).isOk());
    saved_ = kernels::x86::kernelChoice();
    kernels::x86::setKernelChoice(choice());
  }
  KernelChoice choice() const {
    return isa_ == Isa::Avx512Vnni ? KernelChoice::Avx512Vnni
           : isa_ == Isa::AvxVnni  ? KernelChoice::AvxVnni
                                   : KernelChoice::Avx2;
  }
  void TearDown() override { kernels::x86::setKernelChoice(saved_); }
  const lowbit_dispatch_context *ctx() const { return stream_->dispatchContext(); }

  /// Runs the matmul with the tuned kernels on or off.
  std::vector<float> run(bool tuned, const lowbit_dispatch_context *c, const Format &f, const Packed &p,
                         const std::vector<float> &x, const std::vector<float> &bias, int64_t M, int64_t N,
                         int64_t K) {
    kernels::x86::setKernelChoice(tuned ? choice() : KernelChoice::Portable);
    auto data = [](const auto &v) { return v.empty() ? nullptr : v.data(); };
    std::vector<float> y(M * N, NAN);
    EXPECT_EQ(kernels::matmul(c, quant::encodeFormat(f), x.data(), p.codes.data(), data(p.scales),
                              data(p.zeroPoints), data(p.mins), nullptr, bias.data(), y.data(), M, N, K),
              0)
        << kernels::threadKernelError();
    kernels::x86::setKernelChoice(choice());
    return y;
  }

  std::unique_ptr<Device> device_;
  std::unique_ptr<Stream> stream_;
  Isa isa_ = Isa::Avx512Vnni;
  KernelChoice saved_ = KernelChoice::Best;
};

TEST_P(X86MatmulTest, EveryFormatHasATunedKernel) {
  // The formats the issue asks for first must be covered by every family.
  const std::vector<Format> tuned = tunedFormats(isa_);
  for (const Format &f : {Format::blockFormat(FormatKind::Q8_0), Format::blockFormat(FormatKind::Q4_0),
                          Format::blockFormat(FormatKind::Q4_K), Format::blockFormat(FormatKind::Q6_K),
                          Format::integer(4, Granularity::Group, 128), Format::integer(4, Granularity::Group, 32)})
    EXPECT_NE(std::find(tuned.begin(), tuned.end(), f), tuned.end()) << quant::toString(f);
  kernels::MatmulKernel k;
  ASSERT_TRUE(kernels::x86::isaKernel(isa_, Format::blockFormat(FormatKind::Q4_0), k));
  EXPECT_EQ(kernels::selectMatmulKernel(Format::blockFormat(FormatKind::Q4_0)).name, std::string(k.name));
  kernels::x86::setKernelChoice(KernelChoice::Portable);
  EXPECT_EQ(kernels::selectMatmulKernel(Format::blockFormat(FormatKind::Q4_0)).name, std::string("generic-block"));
  // Best: the first family this CPU has, in the order of Isa.
  kernels::x86::setKernelChoice(KernelChoice::Best);
  for (Isa isa : {Isa::Avx512Vnni, Isa::AvxVnni, Isa::Avx2})
    if (kernels::x86::hasIsa(isa)) {
      ASSERT_TRUE(kernels::x86::isaKernel(isa, Format::blockFormat(FormatKind::Q4_0), k));
      EXPECT_EQ(kernels::selectMatmulKernel(Format::blockFormat(FormatKind::Q4_0)).name, std::string(k.name));
      break;
    }
}

TEST(X86KernelChoice, ParsesTheEnvironmentValues) {
  EXPECT_EQ(kernels::x86::parseKernelChoice(nullptr), KernelChoice::Best);
  EXPECT_EQ(kernels::x86::parseKernelChoice("tuned"), KernelChoice::Best);
  EXPECT_EQ(kernels::x86::parseKernelChoice("portable"), KernelChoice::Portable);
  EXPECT_EQ(kernels::x86::parseKernelChoice("avx512"), KernelChoice::Avx512Vnni);
  EXPECT_EQ(kernels::x86::parseKernelChoice("avxvnni"), KernelChoice::AvxVnni);
  EXPECT_EQ(kernels::x86::parseKernelChoice("avx2"), KernelChoice::Avx2);
}

TEST(X86KernelChoice, TheArtifactsCpuLimitsTheFamily) {
  using kernels::x86::kernelLimitForCpu;
  EXPECT_EQ(kernelLimitForCpu("znver4"), KernelChoice::Avx512Vnni);
  EXPECT_EQ(kernelLimitForCpu("icelake-server"), KernelChoice::Avx512Vnni);
  EXPECT_EQ(kernelLimitForCpu("alderlake"), KernelChoice::AvxVnni);
  EXPECT_EQ(kernelLimitForCpu("x86-64-v3"), KernelChoice::Avx2);
  EXPECT_EQ(kernelLimitForCpu("znver3"), KernelChoice::Avx2);
  // AVX-512 without VNNI or VBMI: the 256-bit kernels.
  EXPECT_EQ(kernelLimitForCpu("x86-64-v4"), KernelChoice::Avx2);
  EXPECT_EQ(kernelLimitForCpu("cascadelake"), KernelChoice::Avx2);
  EXPECT_EQ(kernelLimitForCpu("x86-64"), KernelChoice::Portable);
  EXPECT_EQ(kernelLimitForCpu("no-such-cpu"), KernelChoice::Best);
}

TEST_P(X86MatmulTest, TheLimitCapsTheFamilyUnlessTheEnvironmentChooses) {
  const Format q4 = Format::blockFormat(FormatKind::Q4_0);
  kernels::MatmulKernel k, limited;
  ASSERT_TRUE(kernels::x86::isaKernel(isa_, q4, k));
  // With the choice Best, the limit picks this family when the CPU has no
  // faster one allowed; above it, the limit has no effect.
  kernels::x86::setKernelChoice(KernelChoice::Best);
  ASSERT_TRUE(kernels::x86::selectKernel(q4, limited, choice()));
  EXPECT_EQ(std::string(limited.name), k.name);
  EXPECT_FALSE(kernels::x86::selectKernel(q4, limited, KernelChoice::Portable));
  EXPECT_EQ(kernels::selectMatmulKernel(q4, KernelChoice::Portable).name, std::string("generic-block"));
  ASSERT_TRUE(kernels::x86::selectKernel(q4, limited, KernelChoice::Best));
  kernels::MatmulKernel best;
  ASSERT_TRUE(kernels::x86::tunedKernel(q4, best));
  EXPECT_EQ(std::string(limited.name), best.name);
  // An explicit family in the environment wins over the limit.
  kernels::x86::setKernelChoice(choice());
  ASSERT_TRUE(kernels::x86::selectKernel(q4, limited, KernelChoice::Portable));
  EXPECT_EQ(std::string(limited.name), k.name);
}

TEST_P(X86MatmulTest, AStreamForAnArtifactsCpuRunsItsFamily) {
  // x86-64-v3 allows the AVX2 kernels only: the stream's matmul must give
  // exactly what the AVX2 family gives, whatever faster family this CPU has.
  if (isa_ != Isa::Avx2)
    GTEST_SKIP() << "one family is enough";
  std::unique_ptr<Stream> limited;
  ASSERT_TRUE(device_->createStream(3, limited).isOk());
  limited->limitKernelsTo("x86-64-v3");
  std::mt19937 rng(11);
  const Format f = Format::blockFormat(FormatKind::Q4_K);
  const int64_t M = 1, N = 21, K = 512;
  const Packed p = pack(f, N, K, rng);
  std::vector<float> x(M * K), bias(N, 0.f);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (float &v : x)
    v = normal(rng);
  const std::vector<float> avx2 = run(true, ctx(), f, p, x, bias, M, N, K);
  kernels::x86::setKernelChoice(KernelChoice::Best);
  std::vector<float> y(M * N, NAN);
  ASSERT_EQ(limited->dispatchContext()->matmul(limited->dispatchContext(), quant::encodeFormat(f), x.data(),
                                               p.codes.data(), nullptr, nullptr, nullptr, nullptr, bias.data(),
                                               y.data(), M, N, K),
            0);
  EXPECT_EQ(std::memcmp(y.data(), avx2.data(), y.size() * sizeof(float)), 0);
  EXPECT_EQ(limited->dispatchContext()->matmul, kernels::matmulWithin(KernelChoice::Avx2));
  EXPECT_EQ(stream_->dispatchContext()->matmul, &kernels::matmul);
}

TEST_P(X86MatmulTest, ExactActivationsMatchTheReference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(-127, 127), exponent(-6, 3);
  for (const Format &f : tunedFormats(isa_))
    for (int64_t K : rowLengths(f))
      for (auto [M, N] : kShapes) {
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

TEST_P(X86MatmulTest, GaussianActivationsWithinTheInt8Bound) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  for (const Format &f : tunedFormats(isa_))
    for (int64_t K : rowLengths(f))
      for (auto [M, N] : kShapes) {
        SCOPED_TRACE(quant::toString(f) + ", M=" + std::to_string(M) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K));
        const Packed p = pack(f, N, K, rng);
        const std::vector<float> parts = test::codeParts(f, p, N, K);
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
            double magnitude = std::fabs(bias[n]);
            for (int64_t k = 0; k < K; ++k)
              magnitude += std::fabs(double(x[m * K + k]) * p.dequantized[n * K + k]);
            const double bound = test::int8ActivationBound(&x[m * K], &parts[n * K], K);
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

TEST_P(X86MatmulTest, ZeroActivations) {
  // All-zero blocks (d = 0) give exact zeros; the bias passes through.
  std::mt19937 rng(3);
  const Format f = Format::blockFormat(FormatKind::Q4_0);
  const Packed p = pack(f, 9, 256, rng);
  std::vector<float> x(2 * 256, 0.f), bias(9, 0.5f);
  const std::vector<float> y = run(true, ctx(), f, p, x, bias, 2, 9, 256);
  for (float v : y)
    EXPECT_EQ(v, 0.5f);
}

TEST_P(X86MatmulTest, NonFiniteActivationsGiveNonFiniteOutputs) {
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

// The interleaved layout (quant::Layout::Interleaved4, what the CPU
// artifact holds) moves bytes, not arithmetic: every kernel, tuned and
// portable, must give the very bits it gives on the same rows laid out row
// after row. N covers whole tiles, a ragged last tile, and workgroups of
// several tiles (N = 200 on the pool).
TEST_P(X86MatmulTest, InterleavedRowsGiveTheSameBits) {
  std::mt19937 rng(23);
  std::normal_distribution<float> normal;
  for (const Format &f : tunedFormats(isa_)) {
    Format interleaved = f;
    interleaved.layout = quant::Layout::Interleaved4;
    for (int64_t K : rowLengths(f))
      for (auto [M, N] : {std::pair<int64_t, int64_t>{1, 37}, {1, 200}, {2, 5}, {7, 13}, {17, 50}}) {
        SCOPED_TRACE(quant::toString(f) + ", M=" + std::to_string(M) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K));
        Packed rows = pack(f, N, K, rng);
        Packed tiles = rows;
        quant::layOutRows(interleaved, quant::packedRowBytes(f, K), N, rows.codes.data(), tiles.codes.data());
        if (quant::packedRowBytes(f, K) > quant::interleaveUnitBytes(interleaved)) // else a tile is as rows
          ASSERT_NE(rows.codes, tiles.codes);
        std::vector<float> x(M * K), bias(N);
        for (float &v : x)
          v = normal(rng);
        for (float &b : bias)
          b = normal(rng);
        for (bool tuned : {true, false}) {
          const std::vector<float> expected = run(tuned, ctx(), f, rows, x, bias, M, N, K);
          const std::vector<float> y = run(tuned, ctx(), interleaved, tiles, x, bias, M, N, K);
          EXPECT_EQ(0, std::memcmp(y.data(), expected.data(), y.size() * sizeof(float))) << "tuned " << tuned;
        }
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, X86MatmulTest, ::testing::Values(Isa::Avx512Vnni, Isa::AvxVnni, Isa::Avx2),
                         [](const ::testing::TestParamInfo<Isa> &info) { return std::string(isaName(info.param)); });

} // namespace
