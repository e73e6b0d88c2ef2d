//===- BlockQuantTest.cpp - ggml block formats: numerics ------------------===//

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Half.h"

#include <gtest/gtest.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

const GgmlType kWeightTypes[] = {
    GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
    GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
    GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::TQ1_0, GgmlType::TQ2_0,
};
// Every type quantizeRows writes: the weight formats, the two activation
// formats and the plain float types.
const GgmlType kAllTypes[] = {
    GgmlType::Q4_0, GgmlType::Q4_1,   GgmlType::Q5_0,   GgmlType::Q5_1,  GgmlType::Q8_0,  GgmlType::Q8_1,
    GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,   GgmlType::Q5_K,  GgmlType::Q6_K,  GgmlType::Q8_K,
    GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::F32, GgmlType::F16,
    GgmlType::BF16,
};

std::string nameOf(GgmlType type) { return std::string(ggmlTypeInfo(type).name); }
int64_t blockOf(GgmlType type) { return ggmlTypeInfo(type).blockSize; }

/// Quantizes and dequantizes; fails the test on an error.
std::vector<float> roundTrip(GgmlType type, const std::vector<float> &x, int64_t rows,
                             const float *importance = nullptr, bool reference = false) {
  const int64_t n = static_cast<int64_t>(x.size()) / rows;
  std::vector<uint8_t> packed(rowBytes(type, n) * rows);
  Status s = reference ? quantizeRowsReference(type, x.data(), packed.data(), rows, n)
                       : quantizeRows(type, x.data(), packed.data(), rows, n, importance);
  EXPECT_TRUE(s.isOk()) << nameOf(type) << ": " << s.message();
  std::vector<float> y(x.size());
  Status d = dequantizeRows(type, packed.data(), y.data(), rows, n);
  EXPECT_TRUE(d.isOk()) << nameOf(type) << ": " << d.message();
  return y;
}

std::vector<uint8_t> quantize(GgmlType type, const std::vector<float> &x, int64_t rows,
                              const float *importance = nullptr) {
  const int64_t n = static_cast<int64_t>(x.size()) / rows;
  std::vector<uint8_t> packed(rowBytes(type, n) * rows);
  Status s = quantizeRows(type, x.data(), packed.data(), rows, n, importance);
  EXPECT_TRUE(s.isOk()) << nameOf(type) << ": " << s.message();
  return packed;
}

std::vector<float> gaussian(size_t n, unsigned seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> x(n);
  for (float &v : x)
    v = dist(rng);
  return x;
}

double rms(const std::vector<float> &x) {
  double sum = 0;
  for (float v : x)
    sum += double(v) * v;
  return std::sqrt(sum / x.size());
}

double rmsDiff(const std::vector<float> &a, const std::vector<float> &b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i)
    sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(sum / a.size());
}

// ---- test-quantize-fns golden values (GGUF_SPEC.md 5.1) --------------------

bool fmaContractBuild() {
#ifdef LOWBIT_QUANT_FMA_CONTRACT
  return true;
#else
  return false;
#endif
}

/// llama.cpp's test vector: x_i = 0.1 + 2 cos(i), computed as its C code does
/// (cosf in float, then the double 0.1 added and the sum stored as float).
std::vector<float> testQuantizeFnsVector(size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(0.1 + 2 * std::cos(static_cast<float>(i)));
  return x;
}

/// Its error metric: sqrt(sum of squared differences) / n, not the RMSE.
double testQuantizeFnsMetric(const std::vector<float> &a, const std::vector<float> &b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = a[i] - b[i];
    sum += diff * diff;
  }
  return std::sqrt(sum) / a.size();
}

TEST(BlockQuant, TestQuantizeFnsGoldenValues) {
  struct Golden { GgmlType type; double published; };
  // GGUF_SPEC.md 5.1, measured with ggml's reference quantizers.
  const Golden golden[] = {
      {GgmlType::Q4_0, 0.001121},   {GgmlType::Q4_1, 0.001144}, {GgmlType::Q5_0, 0.000591},
      {GgmlType::Q5_1, 0.000556},   {GgmlType::Q8_0, 0.000074}, {GgmlType::Q2_K, 0.004673},
      {GgmlType::Q3_K, 0.002510},   {GgmlType::Q4_K, 0.000982}, {GgmlType::Q5_K, 0.000531},
      {GgmlType::Q6_K, 0.000261},   {GgmlType::IQ4_NL, 0.001296}, {GgmlType::IQ4_XS, 0.001256},
      {GgmlType::TQ1_0, 0.008681},  {GgmlType::TQ2_0, 0.008681},
  };
  const std::vector<float> x = testQuantizeFnsVector(4096);
  for (const Golden &g : golden) {
    // test-quantize-fns calls the `_ref` quantizers (IQ4_NL without search).
    const double ours = testQuantizeFnsMetric(x, roundTrip(g.type, x, 1, nullptr, /*reference=*/true));
    std::printf("  test-quantize-fns %-7s ours %.7f published %.6f\n", nameOf(g.type).c_str(), ours, g.published);
    // The published figures are printed to 6 decimals, so they are exact to
    // +-5e-7; identical bytes reproduce them within that. The extra 1e-7
    // absorbs the last-ulp difference of cosf implementations in the input.
    // Q2_K is the exception: its mean-absolute-error search meets near ties
    // that FMA contraction decides differently. The published figure comes
    // from a build that fuses a*b+c (ARM/Apple): with
    // -DLOWBIT_QUANT_FMA_CONTRACT=ON we reproduce it (0.0046728). Our default
    // build does not fuse, like llama.cpp's x86-64 ggml-base, whose bytes it
    // equals (GgmlParityTest), and gives 0.0046718, 1.2e-6 away: a few blocks
    // out of 16 choose another candidate.
    const double tolerance = g.type == GgmlType::Q2_K && !fmaContractBuild() ? 1.5e-6 : 6e-7;
    EXPECT_NEAR(ours, g.published, tolerance) << nameOf(g.type);
  }
}

// ---- round trips on Gaussian weights ---------------------------------------

/// Upper bound on rms(error) / rms(x) for Gaussian rows of 4096.
///
/// A uniform quantizer with L levels over a block spanning [-a, a] has step
/// 2a/(L-1) and rounding noise step/sqrt(12). For blocks of 32 (256) Gaussian
/// weights the largest |x| is about 2.5 (3.0) sigma, and it stays below 4
/// sigma in all but ~1e-4 of blocks, so we take a = 4 sigma:
///   bound(L) = 8 / ((L - 1) sqrt(12)).
/// The K formats also round their sub-block scales (to 4, 6 or 8 bits), which
/// we allow for with a factor 1.5; IQ4 has 16 non-uniform levels, treated as
/// uniform ones with the same factor. Ternary codes cannot do better than
/// setting everything under amax/2 to zero, but each weight's error is at
/// most its own magnitude (|x| - d or |x| itself), so their bound is 1.
double relativeRmsBound(GgmlType type) {
  auto uniform = [](int levels) { return 8.0 / ((levels - 1) * std::sqrt(12.0)); };
  switch (type) {
  case GgmlType::Q4_0: case GgmlType::Q4_1: return uniform(16);
  case GgmlType::Q5_0: case GgmlType::Q5_1: return uniform(32);
  case GgmlType::Q8_0: case GgmlType::Q8_1: return uniform(255);
  case GgmlType::Q8_K: return uniform(255);
  case GgmlType::Q2_K: return 1.5 * uniform(4);
  case GgmlType::Q3_K: return 1.5 * uniform(8);
  case GgmlType::Q4_K: case GgmlType::IQ4_NL: case GgmlType::IQ4_XS: return 1.5 * uniform(16);
  case GgmlType::Q5_K: return 1.5 * uniform(32);
  case GgmlType::Q6_K: return 1.5 * uniform(64);
  case GgmlType::TQ1_0: case GgmlType::TQ2_0: return 1.0;
  // The plain types: relative rounding 2^-11 (F16) or 2^-8 (BF16) of each
  // value at most, 0 for F32.
  case GgmlType::F32: return 0;
  case GgmlType::F16: return std::ldexp(1.0, -11);
  case GgmlType::BF16: return std::ldexp(1.0, -8);
  default: return 0;
  }
}

TEST(BlockQuant, RoundTripErrorIsBounded) {
  const int64_t rows = 4, n = 4096;
  const std::vector<float> x = gaussian(rows * n, 1);
  for (GgmlType type : kAllTypes) {
    const std::vector<float> y = roundTrip(type, x, rows);
    const double relative = rmsDiff(x, y) / rms(x);
    std::printf("  %-7s relative rms error %.5f (bound %.5f)\n", nameOf(type).c_str(), relative,
                relativeRmsBound(type));
    EXPECT_LE(relative, relativeRmsBound(type)) << nameOf(type);
  }
}

TEST(BlockQuant, ImportanceRoundTripErrorIsBounded) {
  const int64_t rows = 4, n = 1024;
  const std::vector<float> x = gaussian(rows * n, 2);
  std::vector<float> importance = gaussian(n, 3);
  for (float &v : importance)
    v = v * v + 0.01f; // mean squared activations: positive
  for (GgmlType type : kWeightTypes) {
    const std::vector<float> y = roundTrip(type, x, rows, importance.data());
    // Same reasoning as RoundTripErrorIsBounded: weighting the error changes
    // which levels are chosen, not how many there are.
    EXPECT_LE(rmsDiff(x, y) / rms(x), relativeRmsBound(type)) << nameOf(type);
  }
}

/// Sum over the row of importance * squared error.
double weightedError(const std::vector<float> &x, const std::vector<float> &y, const std::vector<float> &w) {
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i)
    sum += w[i % w.size()] * (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  return sum;
}

TEST(BlockQuant, ImportanceLowersTheWeightedError) {
  // Columns alternate between important (100) and not (0.01): the searches
  // that use importance must not do worse on the error they minimize than the
  // importance-blind reference, summed over many rows.
  const int64_t rows = 64, n = 512;
  const std::vector<float> x = gaussian(rows * n, 4);
  std::vector<float> importance(n);
  for (int64_t i = 0; i < n; ++i)
    importance[i] = (i / 3) % 2 ? 100.f : 0.01f;
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K,
                        GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL,
                        GgmlType::IQ4_XS}) {
    const double with = weightedError(x, roundTrip(type, x, rows, importance.data()), importance);
    const double without = weightedError(x, roundTrip(type, x, rows), importance);
    std::printf("  %-7s weighted error with importance %.4g, without %.4g\n", nameOf(type).c_str(), with,
                without);
    EXPECT_LT(with, without) << nameOf(type);
  }
}

TEST(BlockQuant, ImportanceIsIgnoredWhereLlamaCppIgnoresIt) {
  const int64_t n = 512;
  const std::vector<float> x = gaussian(n, 5);
  const std::vector<float> importance(n, 7.f);
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::F16, GgmlType::BF16})
    EXPECT_EQ(quantize(type, x, 1, importance.data()), quantize(type, x, 1)) << nameOf(type);
}

TEST(BlockQuant, ReferenceEqualsDefaultWithoutImportance) {
  // llama-quantize routes every type but IQ4_NL to `_ref` without importance.
  const int64_t n = 512;
  const std::vector<float> x = gaussian(n, 6);
  for (GgmlType type : kAllTypes) {
    std::vector<uint8_t> ref(rowBytes(type, n));
    ASSERT_TRUE(quantizeRowsReference(type, x.data(), ref.data(), 1, n).isOk());
    if (type == GgmlType::IQ4_NL)
      EXPECT_NE(ref, quantize(type, x, 1)) << "IQ4_NL's reference variant skips the search";
    else
      EXPECT_EQ(ref, quantize(type, x, 1)) << nameOf(type);
  }
}

TEST(BlockQuant, ParallelGivesTheSameBytes) {
  const int64_t rows = 37, n = 512; // rows not a multiple of the thread count
  const std::vector<float> x = gaussian(rows * n, 7);
  std::vector<float> importance(n, 1.f);
  for (GgmlType type : kAllTypes) {
    std::vector<uint8_t> parallel(rowBytes(type, n) * rows);
    ASSERT_TRUE(quantizeRowsParallel(type, x.data(), parallel.data(), rows, n, importance.data(), 4).isOk());
    EXPECT_EQ(parallel, quantize(type, x, rows, importance.data())) << nameOf(type);
    std::vector<float> serial(rows * n), threaded(rows * n);
    ASSERT_TRUE(dequantizeRows(type, parallel.data(), serial.data(), rows, n).isOk());
    ASSERT_TRUE(dequantizeRowsParallel(type, parallel.data(), threaded.data(), rows, n, 3).isOk());
    EXPECT_EQ(serial, threaded) << nameOf(type);
  }
}

TEST(BlockQuant, BlockOrderDoesNotMatter) {
  // Blocks are quantized independently, whichever code path a block takes
  // (the searches run several blocks side by side, with leftovers alone).
  // Rotating a row's blocks must rotate its bytes. The weights are multiples
  // of 1/16 below 4, so the row's sum of squares (the importance paths use
  // it) is exact in any order.
  const int64_t n = 768; // 24 blocks of 32, 3 super-blocks of 256
  std::mt19937 rng(11);
  std::vector<float> x(n), importance(n);
  for (float &v : x)
    v = static_cast<int>(rng() % 129 - 64) / 16.f;
  for (float &v : importance)
    v = 0.5f + (rng() % 8);
  for (GgmlType type : kAllTypes) {
    const int64_t shift = blockOf(type) == 256 ? 256 : 8 * blockOf(type);
    std::vector<float> xr(n), ir(n);
    for (int64_t i = 0; i < n; ++i) {
      xr[i] = x[(i + shift) % n];
      ir[i] = importance[(i + shift) % n];
    }
    const int64_t byteShift = rowBytes(type, shift);
    for (bool weighted : {false, true}) {
      const std::vector<uint8_t> a = quantize(type, x, 1, weighted ? importance.data() : nullptr);
      const std::vector<uint8_t> b = quantize(type, xr, 1, weighted ? ir.data() : nullptr);
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_EQ(b[i], a[(i + byteShift) % a.size()]) << nameOf(type) << (weighted ? " weighted" : "") << " byte " << i;
    }
  }
}

// ---- special inputs --------------------------------------------------------

TEST(BlockQuant, AllZeroRowsDecodeToZero) {
  const int64_t n = 512;
  const std::vector<float> zeros(2 * n, 0.f);
  std::vector<float> importance(n, 1.f);
  for (GgmlType type : kAllTypes) {
    for (const float *w : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
      const std::vector<float> y = roundTrip(type, zeros, 2, w);
      for (float v : y)
        ASSERT_EQ(v, 0.f) << nameOf(type); // exact: every scale is +-0
    }
  }
}

TEST(BlockQuant, ConstantBlocksAreNearlyExact) {
  const int64_t n = 512;
  for (float c : {0.3f, -1.7f, 1.0f}) {
    const std::vector<float> x(n, c);
    for (GgmlType type : kAllTypes) {
      const std::vector<float> y = roundTrip(type, x, 1);
      // A constant block is representable by every format: one level times
      // the scale. What remains is the rounding of that scale to fp16
      // (relative 2^-11) and, for the K formats, of the sub-block scale code
      // against the super-block scale (at most one more 2^-11 step, the codes
      // being at their maximum); BF16 rounds to 2^-8. 2^-8 covers them all.
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(y[i], c, std::fabs(c) * std::ldexp(1.0, -8)) << nameOf(type) << " c=" << c << " i=" << i;
    }
  }
}

TEST(BlockQuant, SubnormalInputsGiveZeroOrTinyValues) {
  // Subnormal floats are far below the smallest fp16 scale (6e-8), so the
  // formats store a zero scale: every decoded value must stay within the
  // input's own magnitude of it (error <= |x| <= 1e-37), with no crash and no
  // NaN. Q8_K's fp32 scale would overflow 1/d here; it must stay finite too.
  const int64_t n = 512;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i)
    x[i] = (i % 2 ? 1 : -1) * std::ldexp(1.f, -130 - static_cast<int>(i % 10)); // 7e-40 .. 7e-43
  for (GgmlType type : kAllTypes) {
    const std::vector<float> y = roundTrip(type, x, 1);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << nameOf(type) << " i=" << i;
      ASSERT_LE(std::fabs(y[i] - x[i]), 1e-37) << nameOf(type) << " i=" << i;
    }
  }
}

TEST(BlockQuant, LargeMagnitudesFailClearlyOrRoundTrip) {
  const int64_t n = 512;
  std::vector<float> x = gaussian(n, 8, 1e30f);
  for (GgmlType type : kAllTypes) {
    std::vector<uint8_t> packed(rowBytes(type, n));
    Status s = quantizeRows(type, x.data(), packed.data(), 1, n);
    const bool wideScale = type == GgmlType::F32 || type == GgmlType::BF16 || type == GgmlType::Q8_K;
    if (!wideScale) {
      // fp16 tops out at 65504: a scale for weights of 1e30 is Inf, which
      // llama.cpp would write silently. We refuse, naming the block.
      ASSERT_TRUE(s.failed()) << nameOf(type);
      EXPECT_NE(s.message().find("row 0"), std::string::npos) << s.message();
      EXPECT_TRUE(s.message().find("does not fit in fp16") != std::string::npos ||
                  s.message().find("overflows F16") != std::string::npos)
          << s.message();
      continue;
    }
    ASSERT_TRUE(s.isOk()) << nameOf(type) << ": " << s.message();
    std::vector<float> y(n);
    ASSERT_TRUE(dequantizeRows(type, packed.data(), y.data(), 1, n).isOk());
    // fp32 scales: the same relative bounds as for unit-scale weights.
    EXPECT_LE(rmsDiff(x, y) / rms(x), relativeRmsBound(type)) << nameOf(type);
  }
}

TEST(BlockQuant, NanAndInfAreReportedWithRowAndColumn) {
  const int64_t rows = 3, n = 256;
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    std::vector<float> x = gaussian(rows * n, 9);
    x[1 * n + 37] = bad;
    for (GgmlType type : kAllTypes) {
      std::vector<uint8_t> packed(rowBytes(type, n) * rows);
      Status s = quantizeRows(type, x.data(), packed.data(), rows, n);
      ASSERT_TRUE(s.failed()) << nameOf(type);
      EXPECT_EQ(s.message(), "quantize " + nameOf(type) + ": input row 1, column 37 is " +
                                 (std::isnan(bad) ? "NaN" : "Inf"));
    }
  }
  std::vector<float> x(n, 1.f), importance(n, 1.f);
  importance[5] = std::nanf("");
  std::vector<uint8_t> packed(rowBytes(GgmlType::Q4_K, n));
  Status s = quantizeRows(GgmlType::Q4_K, x.data(), packed.data(), 1, n, importance.data());
  EXPECT_EQ(s.message(), "quantize Q4_K: importance column 5 is NaN");
}

TEST(BlockQuant, RowLengthMustBeAMultipleOfTheBlock) {
  std::vector<float> x(1000, 1.f);
  std::vector<uint8_t> packed(4000);
  for (GgmlType type : kAllTypes) {
    if (blockOf(type) == 1)
      continue;
    const int64_t n = blockOf(type) + 16; // 48 or 272
    EXPECT_EQ(rowBytes(type, n), -1);
    Status s = quantizeRows(type, x.data(), packed.data(), 1, n);
    EXPECT_EQ(s.message(), "quantize " + nameOf(type) + ": the row length " + std::to_string(n) +
                               " is not a positive multiple of the block size " +
                               std::to_string(blockOf(type)));
    std::vector<float> y(n);
    EXPECT_TRUE(dequantizeRows(type, packed.data(), y.data(), 1, n).failed());
  }
}

TEST(BlockQuant, UnsupportedTypesAreRejected) {
  std::vector<float> x(256, 1.f);
  std::vector<uint8_t> packed(4096);
  const GgmlType iq2xxs = static_cast<GgmlType>(16); // a real ggml type lowbit does not implement
  EXPECT_FALSE(canQuantize(iq2xxs));
  Status s = quantizeRows(iq2xxs, x.data(), packed.data(), 1, 256);
  EXPECT_EQ(s.message(), "quantize: ggml type 16 is not a type lowbit can write");
  EXPECT_TRUE(dequantizeRows(iq2xxs, packed.data(), x.data(), 1, 256).failed());
}

// ---- known answers, derived by hand from GGUF_SPEC.md ----------------------

TEST(BlockQuant, Q4_0KnownAnswer) {
  // x_j = j - 16. The value of largest magnitude is -16 (j = 0), so
  // d = -16 / -8 = 2 (fp16 0x4000) and id = 0.5; q_j = min(15, trunc(x_j/2 + 8.5))
  // = min(15, floor((j + 1) / 2)). Element j sits in the low nibble of byte j,
  // element j + 16 in its high nibble.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j)
    x[j] = static_cast<float>(j - 16);
  const std::vector<uint8_t> expected = {0x00, 0x40, 0x80, 0x91, 0x91, 0xA2, 0xA2, 0xB3, 0xB3, 0xC4,
                                         0xC4, 0xD5, 0xD5, 0xE6, 0xE6, 0xF7, 0xF7, 0xF8};
  EXPECT_EQ(quantize(GgmlType::Q4_0, x, 1), expected);
  // Decoding gives 2 * (q - 8): x itself for odd j, one more for even j > 0 ... 
  const std::vector<float> y = roundTrip(GgmlType::Q4_0, x, 1);
  EXPECT_EQ(y[0], -16.f);
  EXPECT_EQ(y[1], -14.f);
  EXPECT_EQ(y[31], 14.f); // clamped at q = 15
}

TEST(BlockQuant, Q8_0KnownAnswerRoundsTiesAwayFromZero) {
  // amax = 127 gives d = 1 (fp16 0x3C00), id = 1; roundf sends 2.5 to 3 and
  // -2.5 to -3 (nearest-even would give 2 and -2), 0.5 to 1.
  std::vector<float> x(32, 0.f);
  x[0] = 127.f;
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.5f;
  std::vector<uint8_t> expected(34, 0);
  expected[1] = 0x3C;
  expected[2] = 0x7F;
  expected[3] = 0x03;
  expected[4] = 0xFD;
  expected[5] = 0x01;
  EXPECT_EQ(quantize(GgmlType::Q8_0, x, 1), expected);
}

TEST(BlockQuant, Q5_0KnownAnswer) {
  // x_j = j - 16: the extreme is -16, so d = -16 / -16 = 1 (0x3C00), id = 1
  // and q_j = min(31, trunc(j - 16 + 16.5)) = j. Low nibbles: byte j holds
  // q_j & 15 and q_{j+16} & 15, i.e. j * 0x11. The fifth bits (q >= 16, that
  // is elements 16..31) fill the high half of the little-endian u32 qh.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j)
    x[j] = static_cast<float>(j - 16);
  std::vector<uint8_t> expected = {0x00, 0x3C, 0x00, 0x00, 0xFF, 0xFF};
  for (int j = 0; j < 16; ++j)
    expected.push_back(static_cast<uint8_t>(j * 0x11));
  EXPECT_EQ(quantize(GgmlType::Q5_0, x, 1), expected);
  EXPECT_EQ(roundTrip(GgmlType::Q5_0, x, 1), x); // every x_j is a level: exact
}

TEST(BlockQuant, Q6_KKnownDecode) {
  // d = 1 (0x3C00 at byte 208); int8 scales at 192: sub-block 0 -> 2,
  // sub-block 15 -> -3, others 0. Element 0: low nibble of ql[0] = 5, bits
  // 0-1 of qh[0] = 2, q = 5 | 2 << 4 = 37, value 2 * (37 - 32) = 10. Element
  // 255 (second half, last quarter): high nibble of ql[127] = 15, bits 6-7 of
  // qh[63] = 0, value -3 * (15 - 32) = 51. Other elements of those
  // sub-blocks have q = 0: 2 * -32 = -64 and -3 * -32 = 96.
  std::vector<uint8_t> block(210, 0);
  block[0] = 0x05;
  block[128] = 0x02;
  block[127] = 0xF0;
  block[192] = 2;
  block[192 + 15] = static_cast<uint8_t>(-3);
  block[209] = 0x3C;
  std::vector<float> y(256);
  ASSERT_TRUE(dequantizeRows(GgmlType::Q6_K, block.data(), y.data(), 1, 256).isOk());
  for (int i = 0; i < 256; ++i) {
    const float expected = i == 0 ? 10.f : i < 16 ? -64.f : i == 255 ? 51.f : i >= 240 ? 96.f : 0.f;
    EXPECT_EQ(y[i], expected) << i;
  }
}

TEST(BlockQuant, Q4_KKnownDecode) {
  // A hand-built Q4_K block: d = 1 (0x3C00), dmin = 0.5 (0x3800). Sub-block 5
  // (elements 160..191, high nibbles of qs[64..95]) gets scale 33 = 0b100001
  // and min 2: low nibble of scales[9] = 1, high nibble = 2, and the scale's
  // top two bits (0b10) in bits 6-7 of scales[1]. With q = 7 those decode to
  // 1 * 33 * 7 - 0.5 * 2 = 230. Sub-block 1 (elements 32..63) reads scales[1]
  // & 63 = 0 and min scales[5] & 63 = 0: all zero.
  std::vector<uint8_t> block(144, 0);
  block[1] = 0x3C;
  block[3] = 0x38;
  block[4 + 1] = 0x80;
  block[4 + 9] = 0x21;
  for (int l = 0; l < 32; ++l)
    block[16 + 64 + l] = 0x70;
  std::vector<float> y(256);
  ASSERT_TRUE(dequantizeRows(GgmlType::Q4_K, block.data(), y.data(), 1, 256).isOk());
  for (int i = 0; i < 256; ++i)
    EXPECT_EQ(y[i], i >= 160 && i < 192 ? 230.f : 0.f) << i;
}

TEST(BlockQuant, TQ2_0KnownAnswer) {
  // d = amax = 2 (fp16 0x4000); element i -> t = round(x/2) + 1 in bits
  // 2*((i%128)/32) of byte 32*(i/128) + i%32. Elements 0, 32, 64 are -2, 0,
  // 2: trits 0, 1, 2 in bits 0-1, 2-3, 4-5 of byte 0 = 0b00'10'01'00 | (t=1
  // for element 96 = 0 in bits 6-7) = 0x64. All other elements are 0 (t = 1,
  // every byte 0x55).
  std::vector<float> x(256, 0.f);
  x[0] = -2.f;
  x[64] = 2.f;
  std::vector<uint8_t> expected(66, 0x55);
  expected[0] = 0x64;
  expected[64] = 0x00;
  expected[65] = 0x40;
  EXPECT_EQ(quantize(GgmlType::TQ2_0, x, 1), expected);
}

TEST(BlockQuant, TQ1_0KnownDecode) {
  // Byte encoding of trits (t0..t4) = (2, 1, 0, 0, 0): v = 2*81 + 27 = 189,
  // byte = ceil(189 * 256 / 243) = 200. Trit n decodes as ((200 * 3^n mod 256)
  // * 3) >> 8: n = 0 -> 2, n = 1 -> (88*3)>>8 = 1, n = 2 -> (8*3)>>8 = 0.
  // Byte 0 holds elements 0, 32, 64, 96, 128; with d = 1 they decode to
  // t - 1 = 1, 0, -1, -1, -1.
  std::vector<uint8_t> block(54, 0);
  block[0] = 200;
  block[53] = 0x3C; // d = 1
  std::vector<float> y(256);
  ASSERT_TRUE(dequantizeRows(GgmlType::TQ1_0, block.data(), y.data(), 1, 256).isOk());
  EXPECT_EQ(y[0], 1.f);
  EXPECT_EQ(y[32], 0.f);
  EXPECT_EQ(y[64], -1.f);
  EXPECT_EQ(y[96], -1.f);
  EXPECT_EQ(y[128], -1.f);
  EXPECT_EQ(y[1], -1.f); // byte 0x00: every trit 0
  // And the encoder writes the same byte for those trits.
  std::vector<float> x(256, -1.f);
  x[0] = 1.f;
  x[32] = 0.f;
  std::vector<uint8_t> packed(54);
  ASSERT_TRUE(quantizeRows(GgmlType::TQ1_0, x.data(), packed.data(), 1, 256).isOk());
  EXPECT_EQ(packed[0], 200);
}

// ---- change detector -----------------------------------------------------------

uint64_t fnv1a(const std::vector<uint8_t> &bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

TEST(BlockQuant, OutputBytesAreStable) {
  // Hashes of every quantizer's output on fixed input (64 rows of 1024, a
  // sum of three uniforms with every 16th weight scaled by 8 as outliers;
  // mt19937 and float arithmetic only, so the input is the same everywhere).
  // They were recorded from this implementation: a change means the bytes
  // changed, which must be deliberate (it cannot be checked against
  // llama.cpp here; the golden test above checks the error it gives).
  // Columns: default path, with importance, reference (`_ref`) path.
  struct Expected { GgmlType type; uint64_t plain, importance, reference; };
  const Expected expected[] = {
      {GgmlType::Q4_0, 0x73e0c4588009906bull, 0xa9c50c95eea7f422ull, 0x73e0c4588009906bull},
      {GgmlType::Q4_1, 0xf4038ca89b17541eull, 0x727bdabbc975c026ull, 0xf4038ca89b17541eull},
      {GgmlType::Q5_0, 0xf57f82df26a891c7ull, 0x01744fcb3a868b09ull, 0xf57f82df26a891c7ull},
      {GgmlType::Q5_1, 0x7a29d44b58ad3200ull, 0x7539bc920d510a06ull, 0x7a29d44b58ad3200ull},
      {GgmlType::Q8_0, 0xb6f7a412f008c311ull, 0xb6f7a412f008c311ull, 0xb6f7a412f008c311ull},
      {GgmlType::Q8_1, 0x159441c8440f13beull, 0x159441c8440f13beull, 0x159441c8440f13beull},
      {GgmlType::Q2_K, 0x981f78e4a22948e7ull, 0x612a7f2af331d0ceull, 0x981f78e4a22948e7ull},
      {GgmlType::Q3_K, 0x6247d7e1a554e873ull, 0x65a23f2bd06b2d89ull, 0x6247d7e1a554e873ull},
      {GgmlType::Q4_K, 0x74e80507271ffc71ull, 0x70c16610e8b0747eull, 0x74e80507271ffc71ull},
      {GgmlType::Q5_K, 0x69c0dbcb2d1c2024ull, 0x6ce41f5b95671169ull, 0x69c0dbcb2d1c2024ull},
      {GgmlType::Q6_K, 0xbcfc43a30d06fc01ull, 0xb84f5509eb13cb90ull, 0xbcfc43a30d06fc01ull},
      {GgmlType::Q8_K, 0x2e960549daccf4ffull, 0x2e960549daccf4ffull, 0x2e960549daccf4ffull},
      {GgmlType::IQ4_NL, 0xf124a0203d30fa90ull, 0x1aa56a5b5ece779aull, 0x1f5ec57590d8bc66ull},
      {GgmlType::IQ4_XS, 0x9f4f80dc3d643d86ull, 0x86a0b0313241723full, 0x9f4f80dc3d643d86ull},
      {GgmlType::TQ1_0, 0xa24f6484108f9c9bull, 0xa24f6484108f9c9bull, 0xa24f6484108f9c9bull},
      {GgmlType::TQ2_0, 0xc7827493249c1546ull, 0xc7827493249c1546ull, 0xc7827493249c1546ull},
      {GgmlType::F16, 0xdd6df2fb3c8f3c9full, 0xdd6df2fb3c8f3c9full, 0xdd6df2fb3c8f3c9full},
      {GgmlType::BF16, 0x2b7bdfdcd13025d4ull, 0x2b7bdfdcd13025d4ull, 0x2b7bdfdcd13025d4ull},
  };
  if (fmaContractBuild())
    GTEST_SKIP() << "the hashes are those of the default (no FMA) build";
  const int64_t rows = 64, n = 1024;
  std::mt19937 rng(123);
  auto uniform = [&] { return (rng() >> 8) * (1.f / 16777216.f); };
  std::vector<float> x(rows * n), w(n);
  for (float &v : x) {
    const float a = uniform(), b = uniform(), c = uniform();
    v = (a + b + c - 1.5f) * ((rng() & 15) == 0 ? 8.f : 1.f);
  }
  for (float &v : w)
    v = uniform() * 4.f + 0.01f;
  for (const Expected &e : expected) {
    std::vector<uint8_t> ref(rowBytes(e.type, n) * rows);
    ASSERT_TRUE(quantizeRowsReference(e.type, x.data(), ref.data(), rows, n).isOk());
    EXPECT_EQ(fnv1a(quantize(e.type, x, rows)), e.plain) << nameOf(e.type);
    EXPECT_EQ(fnv1a(quantize(e.type, x, rows, w.data())), e.importance) << nameOf(e.type);
    EXPECT_EQ(fnv1a(ref), e.reference) << nameOf(e.type);
  }
}

// ---- plain conversions -------------------------------------------------------

TEST(Half, Fp16RoundsToNearestEven) {
  EXPECT_EQ(fp32ToFp16(1.0f), 0x3C00);
  EXPECT_EQ(fp32ToFp16(-2.0f), 0xC000);
  EXPECT_EQ(fp32ToFp16(65504.f), 0x7BFF);
  EXPECT_EQ(fp32ToFp16(65519.f), 0x7BFF); // below the midpoint 65520
  EXPECT_EQ(fp32ToFp16(65520.f), 0x7C00); // the midpoint goes to even: Inf
  EXPECT_EQ(fp32ToFp16(1.0f + std::ldexp(1.f, -11)), 0x3C00); // tie -> even (1.0)
  EXPECT_EQ(fp32ToFp16(1.0f + 3 * std::ldexp(1.f, -11)), 0x3C02); // tie -> even (1 + 2^-9)
  EXPECT_EQ(fp32ToFp16(std::ldexp(1.f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(fp32ToFp16(std::ldexp(1.f, -25)), 0x0000);  // half of it: tie -> even 0
  EXPECT_EQ(fp32ToFp16(std::ldexp(3.f, -25)), 0x0002);  // 1.5 steps: tie -> even 2
  EXPECT_EQ(fp32ToFp16(std::ldexp(1.f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(fp32ToFp16(-0.0f), 0x8000);
  for (uint32_t h = 0; h < 0x7C00; ++h) // every finite half round-trips
    ASSERT_EQ(fp32ToFp16(fp16ToFp32(static_cast<uint16_t>(h))), h);
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("f16c"))) uint16_t hardwareFp16(float f) { return _cvtss_sh(f, 0); }
__attribute__((target("f16c"))) float hardwareFp32(uint16_t h) { return _cvtsh_ss(h); }

TEST(Half, MatchesF16CHardware) {
  // ggml converts with F16C where it can; its software fallback rounds the
  // same way. Every 257th float bit pattern (all exponents, varied mantissas)
  // and every half must convert as the hardware does. (Checked offline for
  // all 2^32 floats too.)
  if (!__builtin_cpu_supports("f16c"))
    GTEST_SKIP() << "no F16C on this CPU";
  for (uint64_t u = 0; u <= 0xffffffffull; u += 257) {
    const float f = bitsToFloat(static_cast<uint32_t>(u));
    if (f == f)
      ASSERT_EQ(fp32ToFp16(f), hardwareFp16(f)) << std::hex << u;
  }
  for (uint32_t h = 0; h < 0x10000; ++h)
    ASSERT_EQ(floatBits(fp16ToFp32(static_cast<uint16_t>(h))), floatBits(hardwareFp32(static_cast<uint16_t>(h))))
        << std::hex << h;
}
#endif

TEST(Half, Bf16RoundsToNearestEven) {
  EXPECT_EQ(fp32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(fp32ToBf16(bitsToFloat(0x3F808000u)), 0x3F80); // tie -> even
  EXPECT_EQ(fp32ToBf16(bitsToFloat(0x3F818000u)), 0x3F82); // tie -> even
  EXPECT_EQ(fp32ToBf16(bitsToFloat(0x3F808001u)), 0x3F81);
  EXPECT_EQ(bf16ToFp32(0x3F80), 1.0f);
  EXPECT_EQ(fp32ToBf16(1e-40f), 0x0001); // subnormals are kept (1e-40 = 0x000116C2)
}

} // namespace
