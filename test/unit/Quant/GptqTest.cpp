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

/// Textbook GPTQ in double (ALGORITHMS.md section 4, without lazy batches):
/// Cholesky of H, its inverse, the upper Cholesky factor U of the inverse,
/// then column by column q = Q(w_i), e = (w_i - q) / U_ii, w_j -= e U_ij.
/// `level(r, column, x)` rounds x to the grid of row r's group of `column`.
template <typename Level>
std::vector<double> textbookGptq(const std::vector<float> &w, int64_t n, int64_t k, std::vector<double> h,
                                 double damp, bool actOrder, Level level) {
  std::vector<int64_t> order(k);
  for (int64_t i = 0; i < k; ++i)
    order[i] = i;
  if (actOrder)
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return h[a * k + a] > h[b * k + b] || (h[a * k + a] == h[b * k + b] && a < b);
    });
  std::vector<double> a(k * k);
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += h[i * k + i] / k;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      a[i * k + j] = h[order[i] * k + order[j]] + (i == j ? damp * mean : 0);
  auto cholesky = [&](std::vector<double> &m) { // lower, in place
    for (int64_t j = 0; j < k; ++j) {
      for (int64_t p = 0; p < j; ++p)
        m[j * k + j] -= m[j * k + p] * m[j * k + p];
      m[j * k + j] = std::sqrt(m[j * k + j]);
      for (int64_t i = j + 1; i < k; ++i) {
        for (int64_t p = 0; p < j; ++p)
          m[i * k + j] -= m[i * k + p] * m[j * k + p];
        m[i * k + j] /= m[j * k + j];
      }
      for (int64_t i = 0; i < j; ++i)
        m[i * k + j] = 0;
    }
  };
  cholesky(a);
  // inverse = L^-T L^-1
  std::vector<double> li(k * k, 0.0), inv(k * k, 0.0);
  for (int64_t c = 0; c < k; ++c)
    for (int64_t i = c; i < k; ++i) {
      double v = i == c ? 1.0 : 0.0;
      for (int64_t p = c; p < i; ++p)
        v -= a[i * k + p] * li[p * k + c];
      li[i * k + c] = v / a[i * k + i];
    }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      for (int64_t p = std::max(i, j); p < k; ++p)
        inv[i * k + j] += li[p * k + i] * li[p * k + j];
  cholesky(inv); // lower L2 with inv = L2 L2^T; U = L2^T
  std::vector<double> q(n * k);
  for (int64_t r = 0; r < n; ++r) {
    std::vector<double> x(k);
    for (int64_t i = 0; i < k; ++i)
      x[i] = w[r * k + order[i]];
    for (int64_t i = 0; i < k; ++i) {
      const double qi = level(r, order[i], x[i]);
      q[r * k + order[i]] = qi;
      const double e = (x[i] - qi) / inv[i * k + i];
      for (int64_t j = i + 1; j < k; ++j)
        x[j] -= e * inv[j * k + i];
    }
  }
  return q;
}

TEST(Gptq, MatchesTextbookGptq) {
  const int64_t n = 16, k = 96, tokens = 400;
  const std::vector<float> x = correlatedActivations(tokens, k, 21);
  const std::vector<double> h = gramOf(x, k);
  const std::vector<float> w = gaussian(n * k, 22, 0.05f);
  const Format f = parse("int4");
  for (bool actOrder : {false, true}) {
    GptqOptions o;
    o.actOrder = actOrder;
    o.blockSize = 32; // several lazy batches
    GptqResult result;
    Status s = gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, result);
    ASSERT_TRUE(s.isOk()) << s.message();
    const std::vector<float> ours = decode(f, result.tensor, n, k);
    const std::vector<float> &scales = result.tensor.scales;
    const std::vector<double> ref = textbookGptq(w, n, k, h, o.dampPercent, actOrder, [&](int64_t r, int64_t, double v) {
      const double c = std::min(std::max(std::nearbyint(v / scales[r]) + 8, 0.0), 15.0);
      return scales[r] * (c - 8);
    });
    int64_t same = 0;
    double lossOurs = 0, lossRef = 0;
    for (int64_t i = 0; i < n * k; ++i)
      same += std::fabs(ours[i] - ref[i]) <= 1e-6 * std::fabs(ref[i]) + 1e-12;
    std::vector<float> refFloat(ref.begin(), ref.end());
    lossOurs = quadraticLoss(w.data(), ours.data(), n, k, std::vector<float>(h.begin(), h.end()).data(), 1);
    lossRef = quadraticLoss(w.data(), refFloat.data(), n, k, std::vector<float>(h.begin(), h.end()).data(), 1);
    // fp32 sweep against fp64: a code may flip where the updated weight sits
    // within rounding of a decision boundary, and the flip then propagates
    // along its row; the loss stays the same to well under a percent.
    EXPECT_GE(same, n * k * 98 / 100) << "actOrder " << actOrder;
    EXPECT_NEAR(lossOurs, lossRef, 0.002 * lossRef) << "actOrder " << actOrder;
    EXPECT_NEAR(result.report.lossGptq, lossOurs, 1e-4 * lossOurs);
  }
}

TEST(Gptq, ShortLastGroupMatchesTextbookGptq) {
  // K = 96 at group 64: the second group has 32 columns, with its own scale
  // fitted (statically, by RTN) on those 32 weights.
  const int64_t n = 16, k = 96, tokens = 400;
  const std::vector<float> x = correlatedActivations(tokens, k, 23);
  const std::vector<double> h = gramOf(x, k);
  const std::vector<float> w = gaussian(n * k, 24, 0.05f);
  const Format f = parse("int4, group = 64");
  GptqOptions o;
  o.actOrder = false;
  o.blockSize = 32;
  GptqResult result;
  Status s = gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, result);
  ASSERT_TRUE(s.isOk()) << s.message();
  ASSERT_EQ(result.tensor.scales.size(), static_cast<size_t>(n * 2));
  EXPECT_EQ(result.tensor.scales, roundToNearest(f, w, n, k, nullptr).scales);
  const std::vector<float> ours = decode(f, result.tensor, n, k);
  const std::vector<float> &scales = result.tensor.scales;
  const std::vector<double> ref = textbookGptq(w, n, k, h, o.dampPercent, false, [&](int64_t r, int64_t c, double v) {
    const double scale = scales[r * 2 + c / 64];
    return scale * (std::min(std::max(std::nearbyint(v / scale) + 8, 0.0), 15.0) - 8);
  });
  int64_t same = 0;
  for (int64_t i = 0; i < n * k; ++i)
    same += std::fabs(ours[i] - ref[i]) <= 1e-6 * std::fabs(ref[i]) + 1e-12;
  // As in MatchesTextbookGptq: fp32 against fp64 may flip a code at a
  // decision boundary.
  EXPECT_GE(same, n * k * 98 / 100);
  EXPECT_LT(result.report.lossGptq, result.report.lossRtn);
}

TEST(Gptq, ShortLastGroupWithIdentityHessianGivesTheRoundToNearestBytes) {
  const int64_t n = 6, k = 80; // groups of 32: 32, 32, 16
  const std::vector<float> w = gaussian(n * k, 25);
  const std::vector<double> h = identity(k);
  for (bool staticGroups : {true, false}) {
    GptqOptions o;
    o.actOrder = staticGroups;
    o.staticGroups = staticGroups;
    o.measureLoss = false;
    for (const char *text : {"int4, group = 32", "int3, group = 32, asym", "int5, group = 32, min"}) {
      const Format f = parse(text);
      GptqResult result;
      Status s = gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, result);
      ASSERT_TRUE(s.isOk()) << text << ": " << s.message();
      expectSameTensor(result.tensor, roundToNearest(f, w, n, k, nullptr), text);
    }
  }
}

TEST(Gptq, BeatsRoundToNearestOnCorrelatedInputs) {
  const int64_t n = 64, k = 256, tokens = 2048;
  const std::vector<float> x = correlatedActivations(tokens, k, 31);
  const std::vector<double> h = gramOf(x, k);
  const std::vector<float> w = gaussian(n * k, 32, 0.05f);
  for (const char *text : {"int4", "int3, group = 64", "int4, group = 32, asym", "int2, group = 64, min",
                           "ternary, per_channel", "q4_0", "q8_0", "q2_k", "q3_k", "q4_k", "q6_k", "iq4_xs",
                           "tq2_0"}) {
    const Format f = parse(text);
    GptqOptions o;
    o.threads = 2;
    GptqResult result;
    Status s = gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, result);
    ASSERT_TRUE(s.isOk()) << text << ": " << s.message();
    const std::vector<float> q = decode(f, result.tensor, n, k);
    const std::vector<float> r = decode(f, roundToNearest(f, w, n, k, nullptr), n, k);
    const double eGptq = outputError(w, q, n, k, x), eRtn = outputError(w, r, n, k, x);
    std::printf("%-24s output error GPTQ / RTN = %.3f (proxy %.3f)\n", text, eGptq / eRtn,
                result.report.lossGptq / result.report.lossRtn);
    // Measured 0.59 .. 0.72 (squared output error) on this input; 0.8 leaves
    // room for other float paths while still demanding a 20 % gain (a GPTQ
    // with broken feedback lands at 1 or above).
    EXPECT_LT(eGptq, 0.8 * eRtn) << text;
    EXPECT_NEAR(result.report.lossGptq, eGptq, 1e-3 * eGptq) << text;
    EXPECT_NEAR(result.report.lossRtn, eRtn, 1e-3 * eRtn) << text;
  }
}

TEST(Gptq, ResultDoesNotDependOnThreadsOrBlockSize) {
  const int64_t n = 301, k = 256; // more rows than one piece of the sweep
  const std::vector<float> x = correlatedActivations(512, k, 41);
  const std::vector<double> h = gramOf(x, k);
  const std::vector<float> w = gaussian(n * k, 42, 0.05f);
  for (const char *text : {"int4, group = 64", "q4_k", "q5_0"}) {
    const Format f = parse(text);
    for (bool dynamic : {false, true}) {
      GptqOptions o;
      o.actOrder = !dynamic;
      o.staticGroups = !dynamic;
      GptqResult one, three;
      ASSERT_TRUE(gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, one).isOk());
      o.threads = 3;
      ASSERT_TRUE(gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, three).isOk());
      expectSameTensor(one.tensor, three.tensor, text);
      EXPECT_EQ(one.report.lossGptq, three.report.lossGptq) << text;
      // Another lazy-batch size changes only float rounding: the loss stays.
      o.blockSize = 48;
      GptqResult other;
      ASSERT_TRUE(gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, other).isOk());
      EXPECT_NEAR(other.report.lossGptq, one.report.lossGptq, 0.01 * one.report.lossGptq) << text;
    }
  }
}

TEST(Gptq, DynamicGroupsAlsoBeatRoundToNearest) {
  const int64_t n = 32, k = 256;
  const std::vector<float> x = correlatedActivations(1024, k, 51);
  const std::vector<double> h = gramOf(x, k);
  const std::vector<float> w = gaussian(n * k, 52, 0.05f);
  for (const char *text : {"int4, group = 32", "int3, group = 128, asym", "q4_k", "q4_0"}) {
    GptqOptions o;
    o.actOrder = false;
    o.staticGroups = false;
    GptqResult result;
    Status s = gptqQuantize(parse(text), w.data(), n, k, h.data(), o, nullptr, result);
    ASSERT_TRUE(s.isOk()) << text << ": " << s.message();
    EXPECT_LT(result.report.lossGptq, 0.8 * result.report.lossRtn) << text;
  }
}

// ---- Tiny problems against brute force ---------------------------------------

/// loss(d) = d H d^T for one row.
double rowLoss(const std::vector<double> &d, const std::vector<double> &h) {
  const size_t k = d.size();
  double sum = 0;
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j)
      sum += d[i] * h[i * k + j] * d[j];
  return sum;
}

/// The best loss over all level assignments of one row (levels^K of them).
double bruteForce(const std::vector<float> &w, const std::vector<double> &levels, const std::vector<double> &h) {
  const size_t k = w.size(), m = levels.size();
  size_t total = 1;
  for (size_t i = 0; i < k; ++i)
    total *= m;
  double best = INFINITY;
  std::vector<double> d(k);
  for (size_t code = 0; code < total; ++code) {
    size_t c = code;
    for (size_t i = 0; i < k; ++i, c /= m)
      d[i] = w[i] - levels[c % m];
    best = std::min(best, rowLoss(d, h));
  }
  return best;
}

/// min over real x_F of loss when the columns in `fixedSet` are fixed to
/// errors d (the others free): d_P^T (H_PP - H_PF H_FF^-1 H_FP) d_P.
double lossWithFreeRest(const std::vector<double> &d, const std::vector<int64_t> &fixedSet,
                        const std::vector<double> &h, int64_t k) {
  std::vector<int64_t> freeSet;
  for (int64_t j = 0; j < k; ++j)
    if (std::find(fixedSet.begin(), fixedSet.end(), j) == fixedSet.end())
      freeSet.push_back(j);
  const size_t p = fixedSet.size(), f = freeSet.size();
  // Solve H_FF y = H_FP d_P, then loss = d_P H_PP d_P - (H_FP d_P) . y.
  std::vector<double> m(f * (f + 1)), rhs(f, 0.0);
  for (size_t a = 0; a < f; ++a) {
    for (size_t b = 0; b < f; ++b)
      m[a * (f + 1) + b] = h[freeSet[a] * k + freeSet[b]];
    for (size_t c = 0; c < p; ++c)
      rhs[a] += h[freeSet[a] * k + fixedSet[c]] * d[fixedSet[c]];
    m[a * (f + 1) + f] = rhs[a];
  }
  for (size_t a = 0; a < f; ++a) // Gauss-Jordan; H_FF is positive definite
    for (size_t b = 0; b < f; ++b) {
      if (a == b)
        continue;
      const double factor = m[b * (f + 1) + a] / m[a * (f + 1) + a];
      for (size_t c = a; c <= f; ++c)
        m[b * (f + 1) + c] -= factor * m[a * (f + 1) + c];
    }
  double loss = 0;
  for (size_t a = 0; a < p; ++a)
    for (size_t b = 0; b < p; ++b)
      loss += d[fixedSet[a]] * h[fixedSet[a] * k + fixedSet[b]] * d[fixedSet[b]];
  for (size_t a = 0; a < f; ++a)
    loss -= rhs[a] * m[a * (f + 1) + f] / m[a * (f + 1) + a];
  return loss;
}

/// The levels of row r of a symmetric per-channel int result.
std::vector<double> rowLevels(const GptqResult &result, int64_t r, unsigned bits) {
  std::vector<double> levels;
  const float s = result.tensor.scales[r];
  for (int c = 0; c < (1 << bits); ++c)
    levels.push_back(s * static_cast<float>(c - (1 << (bits - 1))));
  return levels;
}

TEST(GptqBruteForce, EveryStepIsOptimalWithTheRestFree) {
  // With no damping, GPTQ's code for column i minimizes the loss over that
  // column's levels given the earlier codes, when every later column may
  // still take any real value (the OBS step). Checked on every step.
  for (unsigned bits : {2u, 3u}) {
    for (int64_t k : {4, 5, 6}) {
      const int64_t n = 3;
      const std::vector<float> x = correlatedActivations(3 * k, k, 60 + k);
      const std::vector<double> h = gramOf(x, k);
      const std::vector<float> w = gaussian(n * k, 61 + k);
      GptqOptions o;
      o.dampPercent = 0;
      o.measureLoss = false;
      o.uniform.clipSteps = 1;
      GptqHessian prepared;
      ASSERT_TRUE(prepareGptqHessian(h.data(), k, o, prepared).isOk());
      ASSERT_TRUE(prepared.warning.empty()) << prepared.warning;
      GptqResult result;
      const Format f = Format::integer(bits);
      ASSERT_TRUE(gptqQuantize(f, w.data(), n, k, prepared, o, nullptr, result).isOk());
      const std::vector<float> q = decode(f, result.tensor, n, k);
      for (int64_t r = 0; r < n; ++r) {
        const std::vector<double> levels = rowLevels(result, r, bits);
        std::vector<double> d(k, 0.0);
        std::vector<int64_t> fixedSet;
        for (int64_t step = 0; step < k; ++step) {
          const int64_t col = prepared.order[step];
          fixedSet.push_back(col);
          double best = INFINITY;
          for (double v : levels) {
            d[col] = w[r * k + col] - v;
            best = std::min(best, lossWithFreeRest(d, fixedSet, h, k));
          }
          d[col] = w[r * k + col] - q[r * k + col];
          const double chosen = lossWithFreeRest(d, fixedSet, h, k);
          EXPECT_LE(chosen, best * (1 + 1e-6) + 1e-12)
              << bits << " bits, K = " << k << ", row " << r << ", step " << step;
        }
      }
    }
  }
}

TEST(GptqBruteForce, NeverBetterThanTheOptimumAndBetterThanRtnHere) {
  // Brute force over all 2^(bits K) code assignments is the optimum of
  // ||(W - Q) X||^2 on RTN's grid. GPTQ is greedy: it cannot beat it, and
  // on these cases it does beat RTN (a measured fact, not a theorem: the
  // greedy order can lose to RTN on adversarial cases).
  for (unsigned bits : {2u, 3u}) {
    for (int64_t k : {4, 6}) {
      const int64_t n = 2;
      const std::vector<float> x = correlatedActivations(4 * k, k, 70 + k);
      const std::vector<double> h = gramOf(x, k);
      const std::vector<float> w = gaussian(n * k, 71 + k + bits);
      GptqOptions o;
      o.uniform.clipSteps = 1;
      const Format f = Format::integer(bits);
      GptqResult result;
      ASSERT_TRUE(gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, result).isOk());
      const std::vector<float> q = decode(f, result.tensor, n, k);
      const std::vector<float> rtn = decode(f, roundToNearest(f, w, n, k, nullptr, o.uniform), n, k);
      double lossGptq = 0, lossRtn = 0, lossBest = 0;
      for (int64_t r = 0; r < n; ++r) {
        std::vector<double> dg(k), dr(k);
        for (int64_t j = 0; j < k; ++j) {
          dg[j] = w[r * k + j] - q[r * k + j];
          dr[j] = w[r * k + j] - rtn[r * k + j];
        }
        lossGptq += rowLoss(dg, h);
        lossRtn += rowLoss(dr, h);
        lossBest += bruteForce(std::vector<float>(w.begin() + r * k, w.begin() + (r + 1) * k),
                               rowLevels(result, r, bits), h);
      }
      std::printf("%u bits, K = %lld: optimum %.5g, GPTQ %.5g, RTN %.5g\n", bits, static_cast<long long>(k),
                  lossBest, lossGptq, lossRtn);
      EXPECT_LE(lossBest, lossGptq * (1 + 1e-9));
      EXPECT_LE(lossGptq, lossRtn);
      EXPECT_NEAR(result.report.lossGptq, lossGptq, 1e-4 * lossGptq);
    }
  }
}

TEST(GptqBruteForce, DiagonalHessianIsSolvedExactly) {
  // A diagonal H makes the loss a sum over columns: the nearest level of each
  // weight is optimal, and that is what both RTN and GPTQ pick.
  const int64_t n = 2, k = 6;
  std::vector<double> h(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j)
    h[j * k + j] = 0.5 + j;
  const std::vector<float> w = gaussian(n * k, 80);
  for (unsigned bits : {2u, 3u}) {
    const Format f = Format::integer(bits);
    GptqOptions o;
    o.uniform.clipSteps = 1;
    GptqResult result;
    ASSERT_TRUE(gptqQuantize(f, w.data(), n, k, h.data(), o, nullptr, result).isOk());
    expectSameTensor(result.tensor, roundToNearest(f, w, n, k, nullptr, o.uniform), "diagonal H");
    const std::vector<float> q = decode(f, result.tensor, n, k);
    for (int64_t r = 0; r < n; ++r) {
      std::vector<double> d(k);
      for (int64_t j = 0; j < k; ++j)
        d[j] = w[r * k + j] - q[r * k + j];
      const double best =
          bruteForce(std::vector<float>(w.begin() + r * k, w.begin() + (r + 1) * k), rowLevels(result, r, bits), h);
      EXPECT_NEAR(rowLoss(d, h), best, 1e-12 + 1e-9 * best) << bits << " bits, row " << r;
    }
  }
}

TEST(GptqBruteForce, GreedyIsNotOptimalEvenForTwoColumns) {
  // For K = 2 GPTQ's second code is the best given its first, but the first
  // is chosen by rounding alone, so the pair can be beaten. Search a fixed
  // sequence of random 2-column problems for one such case: it exists.
  std::mt19937 rng(90);
  std::normal_distribution<float> dist(0.f, 1.f);
  int found = 0;
  for (int trial = 0; trial < 400 && !found; ++trial) {
    const std::vector<float> x = {dist(rng), dist(rng), dist(rng), dist(rng), dist(rng), dist(rng)};
    std::vector<float> mixed(x.size());
    for (size_t t = 0; t < 3; ++t) { // strongly correlated pair
      mixed[2 * t] = x[2 * t];
      mixed[2 * t + 1] = 0.8f * x[2 * t] + 0.3f * x[2 * t + 1];
    }
    const std::vector<double> h = gramOf(mixed, 2);
    const std::vector<float> w = {dist(rng), dist(rng)};
    GptqOptions o;
    o.dampPercent = 0;
    o.actOrder = false;
    o.uniform.clipSteps = 1;
    GptqResult result;
    const Format f = Format::integer(3);
    ASSERT_TRUE(gptqQuantize(f, w.data(), 1, 2, h.data(), o, nullptr, result).isOk());
    const std::vector<float> q = decode(f, result.tensor, 1, 2);
    const double gptq = rowLoss({w[0] - q[0], w[1] - q[1]}, h);
    const double best = bruteForce(w, rowLevels(result, 0, 3), h);
    found += best < gptq * (1 - 1e-6);
  }
  EXPECT_TRUE(found);
}

// ---- Degenerate inputs ------------------------------------------------------

TEST(Gptq, DeadInputsAreZeroedAndCostNothing) {
  const int64_t n = 8, k = 64;
  std::vector<float> x = correlatedActivations(256, k, 100);
  for (int64_t t = 0; t < 256; ++t)
    x[t * k + 5] = x[t * k + 40] = 0.f; // two inputs that are always zero
  const std::vector<double> h = gramOf(x, k);
  const std::vector<float> w = gaussian(n * k, 101, 0.05f);
  for (const char *text : {"int4", "int4, group = 32, asym"}) {
    const Format f = parse(text);
    GptqResult result;
    Status s = gptqQuantize(f, w.data(), n, k, h.data(), GptqOptions(), nullptr, result);
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_EQ(result.report.deadColumns, 2);
    const std::vector<float> q = decode(f, result.tensor, n, k);
    for (int64_t r = 0; r < n; ++r) {
      EXPECT_NEAR(q[r * k + 5], 0.f, 1e-7f) << text; // the level nearest 0 (0 itself here)
      EXPECT_NEAR(q[r * k + 40], 0.f, 1e-7f) << text;
    }
    EXPECT_LT(result.report.lossGptq, result.report.lossRtn) << text;
  }
}

TEST(Gptq, RaisesDampingForARankDeficientHessianAndSaysSo) {
  // Fewer tokens than inputs and no damping: H is singular. GPTQ raises the
  // damping to 1 % and reports it.
  const int64_t k = 32;
  const std::vector<float> x = gaussian(8 * k, 110); // 8 tokens, rank 8
  const std::vector<double> h = gramOf(x, k);
  GptqOptions o;
  o.dampPercent = 0;
  GptqHessian prepared;
  Status s = prepareGptqHessian(h.data(), k, o, prepared);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_NEAR(prepared.dampPercentUsed, 0.01, 1e-12);
  EXPECT_NE(prepared.warning.find("raised to 1%"), std::string::npos) << prepared.warning;
  // An indefinite "Hessian" (not a Gram matrix) fails even at 100 %.
  std::vector<double> bad = identity(k);
  bad[0 * k + 1] = bad[1 * k + 0] = 40.0;
  s = prepareGptqHessian(bad.data(), k, GptqOptions(), prepared);
  EXPECT_TRUE(s.failed());
  EXPECT_NE(s.message().find("not positive definite"), std::string::npos) << s.message();
}

TEST(Gptq, HandlesTinyShapes) {
  // One column, one row, a lazy batch wider than the row.
  const std::vector<double> h1 = {2.0};
  const float w1[3] = {0.3f, -1.f, 0.f};
  GptqResult result;
  ASSERT_TRUE(gptqQuantize(Format::integer(4), w1, 3, 1, h1.data(), GptqOptions(), nullptr, result).isOk());
  EXPECT_EQ(result.report.lossGptq, result.report.lossRtn);
  const std::vector<double> h = identity(32);
  const std::vector<float> w = gaussian(32, 7);
  GptqOptions o;
  o.blockSize = 1;
  ASSERT_TRUE(gptqQuantize(parse("q8_0"), w.data(), 1, 32, h.data(), o, nullptr, result).isOk());
  expectSameTensor(result.tensor, roundToNearest(parse("q8_0"), w, 1, 32, nullptr), "q8_0, one row");
}

TEST(Gptq, ScaleOfTheHessianDoesNotMatter) {
  // GPTQ depends on H only up to a positive factor (H is normalized by its
  // mean diagonal before the factorization). Powers of two scale exactly.
  const int64_t n = 8, k = 64;
  const std::vector<double> h = gramOf(correlatedActivations(256, k, 130), k);
  const std::vector<float> w = gaussian(n * k, 131, 0.05f);
  GptqResult base;
  ASSERT_TRUE(gptqQuantize(parse("int4"), w.data(), n, k, h.data(), GptqOptions(), nullptr, base).isOk());
  for (double factor : {std::ldexp(1.0, 100), std::ldexp(1.0, -100)}) {
    std::vector<double> scaled(h);
    for (double &v : scaled)
      v *= factor;
    GptqResult result;
    ASSERT_TRUE(gptqQuantize(parse("int4"), w.data(), n, k, scaled.data(), GptqOptions(), nullptr, result).isOk());
    expectSameTensor(result.tensor, base.tensor, "scaled H");
    EXPECT_EQ(result.report.lossGptq, base.report.lossGptq * factor);
  }
}

TEST(Gptq, RejectsWhatItCannotDo) {
  const int64_t n = 2, k = 64;
  const std::vector<double> h = identity(k);
  std::vector<float> w = gaussian(n * k, 120);
  GptqResult result;
  GptqOptions o;
  auto message = [&](const Format &f, const float *weight, int64_t rows, int64_t cols, const double *hh,
                     const GptqOptions &opts) {
    Status s = gptqQuantize(f, weight, rows, cols, hh, opts, nullptr, result);
    EXPECT_TRUE(s.failed());
    return s.message();
  };
  EXPECT_NE(message(parse("q4_k"), w.data(), n, k, h.data(), o).find("256"), std::string::npos);
  EXPECT_NE(message(parse("codebook, codebooks = 1, bits = 8, group = 8"), w.data(), n, k, h.data(), o)
                .find("codebook"),
            std::string::npos);
  GptqOptions dynamic = o;
  dynamic.staticGroups = false;
  EXPECT_NE(message(parse("int4, group = 32"), w.data(), n, k, h.data(), dynamic).find("static groups"),
            std::string::npos);
  w[70] = NAN;
  EXPECT_NE(message(parse("int4"), w.data(), n, k, h.data(), o).find("row 1, column 6 is NaN"),
            std::string::npos);
  w[70] = 0;
  std::vector<double> hn = h;
  hn[3 * k + 3] = -1;
  EXPECT_NE(message(parse("int4"), w.data(), n, k, hn.data(), o).find("negative"), std::string::npos);
  hn[3 * k + 3] = INFINITY;
  EXPECT_NE(message(parse("int4"), w.data(), n, k, hn.data(), o).find("Inf"), std::string::npos);
  GptqHessian prepared;
  ASSERT_TRUE(prepareGptqHessian(h.data(), k, o, prepared).isOk());
  GptqOptions other = o;
  other.actOrder = false;
  Status s = gptqQuantize(parse("int4"), w.data(), n, k, prepared, other, nullptr, result);
  EXPECT_NE(s.message().find("other options"), std::string::npos) << s.message();
  s = gptqQuantize(parse("int4"), w.data(), n, 32, prepared, o, nullptr, result);
  EXPECT_NE(s.message().find("columns"), std::string::npos) << s.message();
  // Weights too large for fp16 block scales: the block quantizer's error.
  std::vector<float> huge(n * 256, 1e9f);
  const std::vector<double> h256 = identity(256);
  EXPECT_NE(message(parse("q4_k"), huge.data(), n, 256, h256.data(), o).find("fp16"), std::string::npos);
}

} // namespace
