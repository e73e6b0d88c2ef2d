//===- MatmulTest.cpp - The fused matmul kernel, every format -------------===//
//
// For each format: random weights are quantized with lib/Quant (codebooks get
// random codes), the kernel runs y = x W^T + b on one thread and on a pool,
// and the result is compared with a reference that dequantizes the whole
// weight with lib/Quant and multiplies in double.
//
// Tolerance. The kernel decodes every weight to the same float the reference
// decodes (the same lib/Quant routine for block formats; the same
// expressions as dequantizeUniform for int and ternary, up to one rounding if
// the compiler fuses s * q + m into an FMA). Then each product x_k * w_k is
// rounded once (relative error u = 2^-24), the K products are summed in
// float in some order, which adds at most (K - 1) u sum_k |x_k w_k| to first
// order (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1), and
// adding the bias rounds once more. The double reference is exact to far
// below that. So
//   |y - y_ref| <= (K + 2) u (sum_k |x_k w_k| + |b|)   (first order),
// and the tests allow twice that for the second-order terms and the FMA.
// A wrong decode (a shifted code, a wrong scale) is off by O(|w|), far more.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "kernels/KernelError.h"
#include "PackedWeights.h"
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

std::vector<Format> everyFormat() {
  std::vector<Format> formats;
  for (int k = 0; k <= static_cast<int>(FormatKind::Ternary); ++k)
    if (quant::isBlockFormat(static_cast<FormatKind>(k)))
      formats.push_back(Format::blockFormat(static_cast<FormatKind>(k)));
  for (unsigned bits = 2; bits <= 8; ++bits)
    for (Offset offset : {Offset::None, Offset::ZeroPoint, Offset::Min}) {
      formats.push_back(Format::integer(bits, Granularity::Tensor, 0, offset));
      formats.push_back(Format::integer(bits, Granularity::Channel, 0, offset));
      formats.push_back(Format::integer(bits, Granularity::Group, 32, offset));
      formats.push_back(Format::integer(bits, Granularity::Group, 24, offset)); // groups not byte-aligned
    }
  for (auto [g, size] : {std::pair{Granularity::Tensor, 0}, {Granularity::Channel, 0}, {Granularity::Group, 32},
                         {Granularity::Group, 24}, {Granularity::Group, 3}}) {
    Format f{FormatKind::Ternary, 0, g, size, Offset::None, 0};
    formats.push_back(f);
  }
  const struct {
    unsigned codebooks, bits;
    int64_t group;
  } codebooks[] = {{1, 8, 8}, {2, 4, 4}, {3, 5, 3}, {1, 12, 2}, {2, 16, 1}, {8, 3, 6}, {1, 1, 768}};
  for (auto c : codebooks)
    formats.push_back(Format{FormatKind::Codebook, c.bits, Granularity::Group, c.group, Offset::None, c.codebooks});
  return formats;
}

void checkFormat(const Format &f, int64_t M, int64_t N, int64_t K, const lowbit_dispatch_context *ctx,
                 std::mt19937 &rng) {
  SCOPED_TRACE(quant::toString(f) + ", M=" + std::to_string(M) + " N=" + std::to_string(N) +
               " K=" + std::to_string(K));
  ASSERT_EQ(quant::checkFormat(f), "");
  ASSERT_EQ(quant::checkRowLength(f, K), "");
  const Packed p = pack(f, N, K, rng);
  std::normal_distribution<float> normal;
  std::vector<float> x(M * K), bias(N);
  for (float &v : x)
    v = normal(rng);
  for (float &v : bias)
    v = normal(rng);
  auto data = [](const auto &v) { return v.empty() ? nullptr : v.data(); };
  const uint64_t word = quant::encodeFormat(f);
  std::vector<float> serial(M * N, NAN), parallel(M * N, NAN);
  ASSERT_EQ(kernels::matmul(nullptr, word, x.data(), p.codes.data(), data(p.scales), data(p.zeroPoints),
                            data(p.mins), data(p.codebooks), bias.data(), serial.data(), M, N, K),
            0)
      << kernels::threadKernelError();
  ASSERT_EQ(kernels::matmul(ctx, word, x.data(), p.codes.data(), data(p.scales), data(p.zeroPoints), data(p.mins),
                            data(p.codebooks), bias.data(), parallel.data(), M, N, K),
            0)
      << kernels::threadKernelError();
  // Each output is computed by one thread in one order: bit-identical.
  ASSERT_EQ(0, std::memcmp(serial.data(), parallel.data(), serial.size() * sizeof(float)));
  // Tuned kernels that round x to int8 per 32-block (X86Matmul.h) get that
  // rounding's bound on top of float rounding.
  const bool int8Activations = kernels::selectMatmulKernel(f).int8Activations;
  const std::vector<float> parts = int8Activations ? test::codeParts(f, p, N, K) : std::vector<float>();
  int failures = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double ref = bias[n], magnitude = std::fabs(bias[n]);
      for (int64_t k = 0; k < K; ++k) {
        const double term = double(x[m * K + k]) * p.dequantized[n * K + k];
        ref += term;
        magnitude += std::fabs(term);
      }
      double tolerance = 2.0 * (K + 2) * 0x1p-24 * magnitude;
      if (int8Activations) { // the bound of kernels/x86/X86Matmul.h
        const double bound = test::int8ActivationBound(&x[m * K], &parts[n * K], K);
        tolerance = 1.001 * bound + 4.0 * (K + 2) * 0x1p-24 * (magnitude + bound);
      }
      if (std::fabs(serial[m * N + n] - ref) > tolerance && ++failures <= 5)
        ADD_FAILURE() << "y[" << m << "][" << n << "] = " << serial[m * N + n] << ", reference " << ref
                      << " (tolerance " << tolerance << ")";
    }
  EXPECT_EQ(failures, 0);
}

class MatmulTest : public ::testing::Test {
protected:
  void SetUp() override {
    device_ = createCpuDevice();
    ASSERT_TRUE(device_->createStream(4, stream_).isOk());
  }
  const lowbit_dispatch_context *ctx() const { return stream_->dispatchContext(); }
  std::unique_ptr<Device> device_;
  std::unique_ptr<Stream> stream_;
};

TEST_F(MatmulTest, EveryFormatMatchesTheReference) {
  std::mt19937 rng(2024);
  const std::vector<Format> formats = everyFormat();
  EXPECT_GT(formats.size(), 100u);
  for (const Format &f : formats) {
    checkFormat(f, 3, 37, 768, ctx(), rng); // enough work to split over the pool
    checkFormat(f, 1, 5, 768, ctx(), rng);  // one token
  }
}

TEST_F(MatmulTest, ManyActivationRows) {
  std::mt19937 rng(5);
  checkFormat(Format::blockFormat(FormatKind::Q4_K), 300, 9, 512, ctx(), rng);
  checkFormat(Format::integer(3, Granularity::Group, 64, Offset::ZeroPoint), 300, 9, 512, ctx(), rng);
  // The x86 prefill's large unpack blocks (96 rows from M = 64) with a
  // partial last block, several K-chunks and a partial activation tile:
  // int4 (packed nibbles in the tiles) and q8_0 (unpacked codes).
  checkFormat(Format::integer(4, Granularity::Group, 128), 66, 200, 4608, ctx(), rng);
  checkFormat(Format::blockFormat(FormatKind::Q8_0), 66, 200, 4608, ctx(), rng);
}

TEST_F(MatmulTest, ShortLastGroupMatchesTheReference) {
  // K not a multiple of the group (SmolLM2's 576 at group 128): the rows are
  // packed padded to whole groups and every kernel family runs on the padded
  // K against zero-padded activations (Matmul.cpp), so each is checked, with
  // M = 1 (decode), 3 and 9 (prefill tiles).
  struct Case {
    Format format;
    int64_t K;
  };
  const Case cases[] = {
      {Format::integer(4, Granularity::Group, 128), 576},
      {Format::integer(4, Granularity::Group, 128, Offset::ZeroPoint), 576},
      {Format::integer(4, Granularity::Group, 128, Offset::Min), 576},
      {Format::integer(4, Granularity::Group, 64), 96},
      {Format::integer(8, Granularity::Group, 64, Offset::ZeroPoint), 96},
      {Format::integer(2, Granularity::Group, 32, Offset::Min), 40},
      {Format::integer(3, Granularity::Group, 24, Offset::ZeroPoint), 50}, // groups not byte-aligned
      {Format{FormatKind::Ternary, 0, Granularity::Group, 32, Offset::None, 0}, 80},
  };
  const kernels::x86::KernelChoice saved = kernels::x86::kernelChoice();
  for (kernels::x86::KernelChoice choice :
       {kernels::x86::KernelChoice::Best, kernels::x86::KernelChoice::Avx512Vnni, kernels::x86::KernelChoice::AvxVnni,
        kernels::x86::KernelChoice::Avx2, kernels::x86::KernelChoice::Portable}) {
    kernels::x86::setKernelChoice(choice);
    std::mt19937 rng(77);
    for (const Case &c : cases) {
      SCOPED_TRACE(std::string("kernel ") + kernels::selectMatmulKernel(c.format).name);
      for (int64_t M : {1, 3, 9})
        checkFormat(c.format, M, 37, c.K, ctx(), rng);
    }
  }
  kernels::x86::setKernelChoice(saved);
}

TEST_F(MatmulTest, RefusesBadCalls) {
  std::vector<float> x(64, 1.f), y(64), scales(4, 1.f);
  std::vector<uint8_t> w(1024);
  const uint64_t q40 = quant::encodeFormat(Format::blockFormat(FormatKind::Q4_0));
  const uint64_t int4 = quant::encodeFormat(Format::integer(4));
  const uint64_t int4zp = quant::encodeFormat(Format::integer(4, Granularity::Channel, 0, Offset::ZeroPoint));
  auto call = [&](uint64_t f, const float *s, int64_t K) {
    kernels::clearThreadKernelError();
    return kernels::matmul(ctx(), f, x.data(), w.data(), s, nullptr, nullptr, nullptr, nullptr, y.data(), 1, 2, K);
  };
  EXPECT_EQ(call(~0ull, nullptr, 32), 1);
  EXPECT_NE(kernels::threadKernelError().find("not a valid format"), std::string::npos);
  EXPECT_EQ(call(q40, nullptr, 48), 1);
  EXPECT_NE(kernels::threadKernelError().find("not a multiple"), std::string::npos) << kernels::threadKernelError();
  EXPECT_EQ(call(int4, nullptr, 32), 1);
  EXPECT_NE(kernels::threadKernelError().find("needs scales"), std::string::npos);
  EXPECT_EQ(call(int4zp, scales.data(), 32), 1);
  EXPECT_NE(kernels::threadKernelError().find("zero points"), std::string::npos);
  EXPECT_EQ(call(int4, scales.data(), -1), 1);
  // Empty problems succeed; K = 0 leaves the bias (or zeros).
  EXPECT_EQ(kernels::matmul(ctx(), int4, x.data(), w.data(), scales.data(), nullptr, nullptr, nullptr, nullptr,
                            y.data(), 0, 2, 32),
            0);
  const float bias[2] = {3.f, -1.f};
  EXPECT_EQ(kernels::matmul(ctx(), int4, x.data(), w.data(), scales.data(), nullptr, nullptr, nullptr, bias,
                            y.data(), 1, 2, 0),
            0);
  EXPECT_EQ(y[0], 3.f);
  EXPECT_EQ(y[1], -1.f);
}

} // namespace
