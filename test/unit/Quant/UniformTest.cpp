//===- UniformTest.cpp - Integer and ternary codes with external scales ---===//

#include "lowbit/Quant/Uniform.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

std::vector<float> gaussian(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(n);
  for (float &v : x)
    v = dist(rng);
  return x;
}

Format parse(const char *text) {
  std::string error;
  std::optional<Format> f = parseFormat(text, error);
  EXPECT_TRUE(f) << error;
  return *f;
}

std::vector<float> roundTrip(const Format &f, const std::vector<float> &x, int64_t rows, const UniformOptions &o,
                             const float *importance, UniformTensor &t) {
  const int64_t n = static_cast<int64_t>(x.size()) / rows;
  Status s = quantizeUniform(f, x.data(), rows, n, o, importance, t);
  EXPECT_TRUE(s.isOk()) << toString(f) << ": " << s.message();
  std::vector<float> y(x.size());
  Status d = dequantizeUniform(f, t, rows, n, y.data());
  EXPECT_TRUE(d.isOk()) << toString(f) << ": " << d.message();
  return y;
}

TEST(Uniform, PackingIsLsbFirstAndContiguous) {
  // Five 3-bit codes 1..5 form the bit string 001 010 011 100 101 read from
  // bit 0 up: 1 + 2*8 + 3*64 + 4*512 + 5*4096 = 0x58D1, in ceil(15/8) = 2 bytes.
  const uint8_t codes[5] = {1, 2, 3, 4, 5};
  uint8_t packed[2];
  packCodes(codes, 5, 3, packed);
  EXPECT_EQ(packed[0], 0xD1);
  EXPECT_EQ(packed[1], 0x58);
  for (unsigned bits = 2; bits <= 8; ++bits) {
    std::mt19937 rng(bits);
    std::vector<uint8_t> in(1001), out(1001);
    for (uint8_t &c : in)
      c = static_cast<uint8_t>(rng() & ((1u << bits) - 1));
    std::vector<uint8_t> bytes((1001 * bits + 7) / 8);
    packCodes(in.data(), 1001, bits, bytes.data());
    unpackCodes(bytes.data(), 1001, bits, out.data());
    EXPECT_EQ(in, out) << bits << " bits";
    // The spare high bits of the last byte are zero.
    const unsigned used = (1001 * bits) % 8;
    if (used)
      EXPECT_EQ(bytes.back() >> used, 0) << bits << " bits";
  }
}

TEST(Uniform, Int4SymmetricKnownAnswer) {
  // Extreme -8 maps to code 0: s = 8 / 8 = 1, codes round(x) + 8 = 0, 9, 15, 8,
  // packed two per byte, low nibble first: 0x90, 0x8F.
  const std::vector<float> x = {-8.f, 1.f, 7.f, 0.f};
  UniformOptions plain;
  plain.clipSteps = 1;
  UniformTensor t;
  const std::vector<float> y = roundTrip(parse("int4"), x, 1, plain, nullptr, t);
  EXPECT_EQ(t.codes, (std::vector<uint8_t>{0x90, 0x8F}));
  EXPECT_EQ(t.scales, std::vector<float>{1.f});
  EXPECT_EQ(y, x);
}

TEST(Uniform, TernaryKnownAnswer) {
  // absmean = (1 + 1 + 0 + 0.5) / 4 = 0.625; x / 0.625 = 1.6, -1.6, 0, 0.8
  // rounds and clamps to 1, -1, 0, 1: codes 2, 0, 1, 2 -> 2 | 0<<2 | 1<<4 | 2<<6.
  const std::vector<float> x = {1.f, -1.f, 0.f, 0.5f};
  UniformOptions absmean;
  absmean.clipSteps = 1;
  UniformTensor t;
  const std::vector<float> y = roundTrip(parse("ternary"), x, 1, absmean, nullptr, t);
  EXPECT_EQ(t.codes, std::vector<uint8_t>{0x92});
  EXPECT_EQ(y, (std::vector<float>{0.625f, -0.625f, 0.f, 0.625f}));
}

/// Largest error of plain round-to-nearest: half a step, where the step is
/// the group's scale. Symmetric formats are the exception: like Q4_0 they map
/// a negative extreme to code 0 (-2^(bits-1) steps), so a positive weight of
/// nearly the same size clips at 2^(bits-1) - 1 steps, one step short.
/// Rounding the scale to fp16/bf16 can shrink the covered range so the end
/// codes clip: by at most (levels - 1) * |s - rounded s|, i.e.
/// (levels - 1) * s * 2^-11 (fp16) or 2^-8 (bf16). Floats add a few ulp.
double rtnBound(float scale, int levels, ScaleType type, bool symmetric) {
  const double rounding = type == ScaleType::F16 ? std::ldexp(1.0, -11)
                          : type == ScaleType::BF16 ? std::ldexp(1.0, -8) : 0;
  return scale * ((symmetric ? 1.0 : 0.5) + levels * rounding) + 1e-6;
}

TEST(Uniform, RoundToNearestErrorIsHalfAStep) {
  const int64_t rows = 8, n = 256;
  const std::vector<float> x = gaussian(rows * n, 1);
  UniformOptions plain;
  plain.clipSteps = 1;
  for (const char *text : {"int8", "int4, group = 32", "int3, group = 64, asym", "int2, group = 16, min",
                           "int5, per_tensor", "int6, group = 128, asym", "int4, min"}) {
    for (ScaleType type : {ScaleType::F32, ScaleType::F16, ScaleType::BF16}) {
      plain.scaleType = type;
      const Format f = parse(text);
      UniformTensor t;
      const std::vector<float> y = roundTrip(f, x, rows, plain, nullptr, t);
      const int64_t groups = f.granularity == Granularity::Tensor ? 1 : groupsPerRow(f, n);
      ASSERT_EQ(t.scales.size(), size_t(f.granularity == Granularity::Tensor ? 1 : rows * groups));
      const int64_t perScale = f.granularity == Granularity::Tensor ? rows * n : n / groups;
      for (int64_t i = 0; i < rows * n; ++i) {
        const float s = t.scales[f.granularity == Granularity::Tensor ? 0 : i / perScale];
        ASSERT_EQ(s, roundToScaleType(s, type)); // stored scales are values of their type
        ASSERT_LE(std::fabs(y[i] - x[i]), rtnBound(s, 1 << f.bits, type, f.offset == Offset::None)) << text << " i=" << i;
      }
    }
  }
}

double weightedError(const std::vector<float> &x, const std::vector<float> &y, const std::vector<float> &w) {
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i)
    sum += w[i % w.size()] * (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  return sum;
}

TEST(Uniform, SearchNeverLosesToPlainRoundToNearest) {
  // The search evaluates plain RTN (no clipping) as its first candidate and
  // keeps the lowest weighted error, so per group it can only do better; with
  // importance it minimizes the importance-weighted error, so it beats the
  // importance-blind search on that measure too.
  const int64_t rows = 16, n = 512;
  std::vector<float> x = gaussian(rows * n, 2);
  for (int64_t i = 0; i < rows * n; i += 97)
    x[i] *= 6; // outliers make clipping worthwhile
  std::vector<float> importance(n);
  for (int64_t j = 0; j < n; ++j)
    importance[j] = j % 5 == 0 ? 50.f : 0.1f;
  const std::vector<float> ones(n, 1.f);
  UniformOptions plain, search;
  plain.clipSteps = 1;
  for (const char *text : {"int4, group = 64", "int3, group = 128, asym", "int2, group = 32, min", "ternary"}) {
    const Format f = parse(text);
    UniformTensor t;
    const double rtn = weightedError(x, roundTrip(f, x, rows, plain, nullptr, t), ones);
    const double searched = weightedError(x, roundTrip(f, x, rows, search, nullptr, t), ones);
    EXPECT_LE(searched, rtn) << text;
    const double blind = weightedError(x, roundTrip(f, x, rows, search, nullptr, t), importance);
    const double weighted = weightedError(x, roundTrip(f, x, rows, search, importance.data(), t), importance);
    EXPECT_LE(weighted, blind) << text;
    std::printf("  %-24s squared error rtn %.2f searched %.2f; weighted blind %.2f with importance %.2f\n", text,
                rtn, searched, blind, weighted);
  }
}

TEST(Uniform, ZeroIsExactWithAZeroPoint) {
  // The asymmetric range always contains 0, and z is an integer code, so an
  // exact 0 weight decodes to exactly 0.
  std::vector<float> x = gaussian(256, 3);
  for (int i = 0; i < 256; i += 7)
    x[i] = 0.f;
  UniformTensor t;
  const std::vector<float> y = roundTrip(parse("int3, group = 32, asym"), x, 1, UniformOptions{}, nullptr, t);
  for (int i = 0; i < 256; i += 7)
    EXPECT_EQ(y[i], 0.f) << i;
}

TEST(Uniform, ConstantAndZeroGroups) {
  UniformTensor t;
  const std::vector<float> zeros(128, 0.f);
  for (const char *text : {"int4", "int4, asym", "int4, min", "ternary"})
    for (float v : roundTrip(parse(text), zeros, 2, UniformOptions{}, nullptr, t))
      ASSERT_EQ(v, 0.f) << text;
  // Min keeps a constant group exactly (scale 0, m = c); fp32 scales.
  const std::vector<float> constant(64, -0.3f);
  for (float v : roundTrip(parse("int2, min"), constant, 1, UniformOptions{}, nullptr, t))
    ASSERT_EQ(v, -0.3f);
}

TEST(Uniform, ShortLastGroupIsFittedOnItsOwnWeights) {
  // K = 96 at group 64 (one group of 64, one of 32), K = 50 at group 24 (the
  // last group 2 weights). The model: each group quantized alone as a
  // per-channel row of its own length gives the same scale, zero point, min
  // and codes; the packed row is those codes LSB-first, then zero bits up to
  // paddedRowLength codes.
  for (auto [text, k] : {std::pair{"int4, group = 64", int64_t(96)}, {"int3, group = 24, asym", 50},
                         {"int2, group = 24, min", 50}, {"int8, group = 64, asym", 96},
                         {"ternary, group = 32", 40}}) {
    SCOPED_TRACE(text);
    const Format f = parse(text);
    const int64_t rows = 3;
    std::vector<float> x = gaussian(rows * k, 31);
    x[k - 1] = 40.f; // an outlier in the short group must not move the other groups' scales
    std::vector<float> importance = gaussian(k, 32);
    for (float &v : importance)
      v = v * v + 0.1f;
    for (const float *imp : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
      UniformTensor t;
      const std::vector<float> y = roundTrip(f, x, rows, UniformOptions{}, imp, t);
      const int64_t groups = groupsPerRow(f, k), bytes = packedRowBytes(f, k);
      ASSERT_EQ(t.scales.size(), static_cast<size_t>(rows * groups));
      ASSERT_EQ(t.codes.size(), static_cast<size_t>(rows * bytes));
      Format channel = f;
      channel.granularity = Granularity::Channel;
      channel.groupSize = 0;
      const unsigned bits = f.kind == FormatKind::Ternary ? 2 : f.bits;
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<uint8_t> codes;
        for (int64_t g = 0; g < groups; ++g) {
          const int64_t k0 = g * f.groupSize, n = std::min(f.groupSize, k - k0);
          const std::vector<float> slice(x.begin() + r * k + k0, x.begin() + r * k + k0 + n);
          UniformTensor one;
          const std::vector<float> back =
              roundTrip(channel, slice, 1, UniformOptions{}, imp ? imp + k0 : nullptr, one);
          EXPECT_EQ(t.scales[r * groups + g], one.scales[0]) << "row " << r << " group " << g;
          if (!t.zeroPoints.empty())
            EXPECT_EQ(t.zeroPoints[r * groups + g], one.zeroPoints[0]);
          if (!t.mins.empty())
            EXPECT_EQ(t.mins[r * groups + g], one.mins[0]);
          for (int64_t i = 0; i < n; ++i)
            EXPECT_EQ(y[r * k + k0 + i], back[i]) << "row " << r << " column " << k0 + i;
          std::vector<uint8_t> unpacked(n);
          unpackCodes(one.codes.data(), n, bits, unpacked.data());
          codes.insert(codes.end(), unpacked.begin(), unpacked.end());
        }
        codes.resize(paddedRowLength(f, k), 0);
        std::vector<uint8_t> expected(bytes);
        packCodes(codes.data(), static_cast<int64_t>(codes.size()), bits, expected.data());
        EXPECT_EQ(std::vector<uint8_t>(t.codes.begin() + r * bytes, t.codes.begin() + (r + 1) * bytes), expected)
            << "row " << r;
      }
    }
  }
}

TEST(Uniform, Errors) {
  std::vector<float> x(256, 1.f);
  UniformTensor t;
  x[130] = std::nanf("");
  EXPECT_EQ(quantizeUniform(parse("int4"), x.data(), 2, 128, UniformOptions{}, nullptr, t).message(),
            "quantize int: input row 1, column 2 is NaN");
  x[130] = 1.f;
  EXPECT_EQ(quantizeUniform(parse("q4_0"), x.data(), 2, 128, UniformOptions{}, nullptr, t).message(),
            "uniform quantization handles int and ternary formats, not q4_0");
  std::vector<float> huge(128, 1e30f);
  UniformOptions f16;
  f16.scaleType = ScaleType::F16;
  Status s = quantizeUniform(parse("int8"), huge.data(), 1, 128, f16, nullptr, t);
  ASSERT_TRUE(s.failed());
  EXPECT_NE(s.message().find("row 0, columns 0..127"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("overflows the scale type"), std::string::npos) << s.message();
  UniformOptions tooMuchClipping;
  tooMuchClipping.clipSteps = 40; // 1 - 39 * 0.03 < 0: a negative range
  EXPECT_TRUE(quantizeUniform(parse("int8"), x.data(), 2, 128, tooMuchClipping, nullptr, t).failed());
  // fp32 scales hold weights of 1e30 without trouble.
  EXPECT_TRUE(quantizeUniform(parse("int8"), huge.data(), 1, 128, UniformOptions{}, nullptr, t).isOk());
}

} // namespace
