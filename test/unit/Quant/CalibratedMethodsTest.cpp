//===- CalibratedMethodsTest.cpp - Statistics, AWQ, SmoothQuant, LLM.int8() -===//

#include "lowbit/Quant/Awq.h"
#include "lowbit/Quant/Calibration.h"
#include "lowbit/Quant/Gptq.h"
#include "lowbit/Quant/OutlierSplit.h"
#include "lowbit/Quant/SmoothQuant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

std::vector<float> gaussian(size_t n, unsigned seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> x(n);
  for (float &v : x)
    v = dist(rng);
  return x;
}

Format parse(const char *text) {
  std::string error;
  std::optional<Format> f = parseFormat(text, error);
  EXPECT_TRUE(f) << text << ": " << error;
  return f.value_or(Format());
}

CalibStats statsOf(const std::vector<float> &x, int64_t k, int threads = 1) {
  CalibStats stats;
  EXPECT_TRUE(initCalibStats(k, true, stats).isOk());
  Status s = accumulateCalibStats(stats, x.data(), static_cast<int64_t>(x.size()) / k, threads);
  EXPECT_TRUE(s.isOk()) << s.message();
  return stats;
}

/// Statistics of `tokens` Gaussian activation rows (from `seed`) whose
/// channel `salient` is 30x larger than the others: the channel AWQ should
/// protect.
CalibStats salientStats(int64_t k, int64_t tokens, int64_t salient, unsigned seed) {
  std::vector<float> x = gaussian(static_cast<size_t>(tokens * k), seed);
  for (int64_t t = 0; t < tokens; ++t)
    x[t * k + salient] *= 30.f;
  return statsOf(x, k);
}

// ---- Calibration statistics ---------------------------------------------------

TEST(CalibStats, MatchesDirectSumsAndMergesAcrossBatches) {
  const int64_t k = 37, tokens = 700; // 700 = 2 full slices of 256 and a ragged one
  std::vector<float> x = gaussian(tokens * k, 1);
  for (int64_t t = 0; t < tokens; ++t)
    x[t * k + 3] *= 20.f;
  const CalibStats all = statsOf(x, k);
  EXPECT_EQ(all.rows, tokens);
  for (int64_t i = 0; i < k; ++i) {
    double absSum = 0, sq = 0;
    float absMax = 0;
    for (int64_t t = 0; t < tokens; ++t) {
      absSum += std::fabs(x[t * k + i]);
      sq += static_cast<double>(x[t * k + i]) * x[t * k + i];
      absMax = std::max(absMax, std::fabs(x[t * k + i]));
    }
    EXPECT_EQ(all.absMax[i], absMax);
    EXPECT_NEAR(all.absMean()[i], absSum / tokens, 1e-6 * absSum / tokens);
    EXPECT_NEAR(all.meanSquare()[i], sq / tokens, 1e-6 * sq / tokens);
    for (int64_t j = 0; j < k; ++j) {
      double g = 0;
      for (int64_t t = 0; t < tokens; ++t)
        g += static_cast<double>(x[t * k + i]) * x[t * k + j];
      const double scale = std::sqrt(all.gram[i * k + i] * all.gram[j * k + j]);
      EXPECT_NEAR(all.gram[i * k + j], g, 2e-6 * scale) << i << ", " << j;
      EXPECT_EQ(all.gram[i * k + j], all.gram[j * k + i]);
    }
  }
  // Two batches, accumulated or merged, give the same statistics.
  const int64_t split = 256; // a slice boundary: the fp32 partial sums agree too
  CalibStats a = statsOf(std::vector<float>(x.begin(), x.begin() + split * k), k);
  const CalibStats b = statsOf(std::vector<float>(x.begin() + split * k, x.end()), k);
  CalibStats sequential = statsOf(std::vector<float>(x.begin(), x.begin() + split * k), k);
  ASSERT_TRUE(accumulateCalibStats(sequential, x.data() + split * k, tokens - split).isOk());
  ASSERT_TRUE(mergeCalibStats(a, b).isOk());
  EXPECT_EQ(a.rows, tokens);
  EXPECT_EQ(a.absMax, all.absMax);
  EXPECT_EQ(a.gram, sequential.gram);
  EXPECT_EQ(sequential.gram, all.gram);
  for (int64_t i = 0; i < k; ++i)
    EXPECT_NEAR(a.absSum[i], all.absSum[i], 1e-9 * all.absSum[i]);
}

TEST(CalibStats, GramDoesNotDependOnThreads) {
  const int64_t k = 131, tokens = 300;
  const std::vector<float> x = gaussian(tokens * k, 2);
  EXPECT_EQ(statsOf(x, k, 1).gram, statsOf(x, k, 3).gram);
}

TEST(CalibStats, RejectsBadInput) {
  CalibStats stats;
  EXPECT_TRUE(initCalibStats(0, false, stats).failed());
  ASSERT_TRUE(initCalibStats(4, true, stats).isOk());
  std::vector<float> x = {1, 2, 3, 4, 5, NAN, 7, 8};
  Status s = accumulateCalibStats(stats, x.data(), 2);
  EXPECT_NE(s.message().find("row 1, channel 1 is NaN"), std::string::npos) << s.message();
  EXPECT_EQ(stats.rows, 0); // unchanged
  CalibStats other;
  ASSERT_TRUE(initCalibStats(4, false, other).isOk());
  EXPECT_TRUE(mergeCalibStats(stats, other).failed());
  ASSERT_TRUE(initCalibStats(5, true, other).isOk());
  EXPECT_TRUE(mergeCalibStats(stats, other).failed());
}

TEST(CalibStats, DividingByScalesGivesTheStatisticsOfTheScaledInput) {
  const int64_t k = 5, tokens = 40;
  const std::vector<float> x = gaussian(tokens * k, 3);
  const std::vector<float> s = {0.5f, 2.f, 1.f, 4.f, 0.25f};
  std::vector<float> xs(x);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < k; ++j)
      xs[t * k + j] /= s[j];
  CalibStats divided = statsOf(x, k);
  ASSERT_TRUE(divideCalibStatsByScales(divided, s.data()).isOk());
  const CalibStats direct = statsOf(xs, k); // powers of two: exact
  EXPECT_EQ(divided.absMax, direct.absMax);
  EXPECT_EQ(divided.absSum, direct.absSum);
  EXPECT_EQ(divided.squareSum, direct.squareSum);
  EXPECT_EQ(divided.gram, direct.gram);
  const std::vector<float> bad = {1, 1, 0, 1, 1};
  EXPECT_TRUE(divideCalibStatsByScales(divided, bad.data()).failed());
}

// ---- AWQ ----------------------------------------------------------------------

TEST(Awq, ScalesUpAPlantedSalientChannel) {
  // One input channel carries activations 30x larger than the rest: its
  // weights matter most for the output, and AWQ should protect them by
  // scaling them up before quantization.
  const int64_t n = 48, k = 128, tokens = 512, salient = 37;
  const CalibStats stats = salientStats(k, tokens, salient, 10);
  const std::vector<float> w = gaussian(n * k, 11, 0.05f);
  const std::vector<float> absMean = stats.absMean();
  for (const char *text : {"int4, group = 32, asym", "int3", "q4_0"}) {
    AwqResult r;
    Status s = awqSearch(parse(text), w.data(), n, k, absMean.data(), stats.gram.data(), AwqOptions(), r);
    ASSERT_TRUE(s.isOk()) << text << ": " << s.message();
    std::printf("%-22s alpha %.2f  loss RTN %.4g  scaled %.4g  clipped %.4g\n", text, r.alpha, r.lossRtn,
                r.lossScaled, r.lossClipped);
    EXPECT_GT(r.alpha, 0.f) << text;
    EXPECT_EQ(r.lossRtn, r.alphaLosses[0]);
    EXPECT_LE(r.lossScaled, r.lossRtn) << text; // alpha = 0 is RTN: never worse
    EXPECT_LT(r.lossScaled, 0.7 * r.lossRtn) << text; // measured 0.22 .. 0.29
    EXPECT_EQ(*std::max_element(r.scales.begin(), r.scales.end()), r.scales[salient]) << text;
    // Clipping trades per-group error; over the whole output it should not
    // lose more than a little, and here it gains.
    EXPECT_LE(r.lossClipped, 1.02 * r.lossScaled) << text;
    // The returned weights are W diag(s), clipped: dividing the columns back
    // gives W except where clipped.
    for (int64_t i = 0; i < n * k; ++i)
      ASSERT_LE(std::fabs(r.weights[i] / r.scales[i % k]), std::fabs(w[i]) * (1 + 1e-6f)) << text;
  }
}

TEST(Awq, ShortLastGroupIsScaledAndClippedOnItsOwnColumns) {
  // K = 96 at group 64: the salient channel sits in the short group of 32.
  const int64_t n = 48, k = 96, tokens = 512, salient = 80;
  const CalibStats stats = salientStats(k, tokens, salient, 14);
  const std::vector<float> w = gaussian(n * k, 15, 0.05f);
  const std::vector<float> absMean = stats.absMean();
  AwqResult r;
  Status s = awqSearch(parse("int4, group = 64, asym"), w.data(), n, k, absMean.data(), stats.gram.data(),
                       AwqOptions(), r);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_GT(r.alpha, 0.f);
  EXPECT_LT(r.lossScaled, 0.7 * r.lossRtn);
  EXPECT_EQ(*std::max_element(r.scales.begin(), r.scales.end()), r.scales[salient]);
  EXPECT_EQ(r.clipGroupLength, 64);
  ASSERT_EQ(r.clipRatios.size(), static_cast<size_t>(n * 2)); // two groups per row
  EXPECT_LE(r.lossClipped, 1.02 * r.lossScaled);
  // Each group is clipped at its own ratio of its own max |w s|.
  for (int64_t row = 0; row < n; ++row)
    for (int64_t g = 0; g < 2; ++g) {
      float m = 0, clippedMax = 0;
      for (int64_t j = g * 64; j < std::min(k, (g + 1) * 64); ++j) {
        m = std::max(m, std::fabs(w[row * k + j] * r.scales[j]));
        clippedMax = std::max(clippedMax, std::fabs(r.weights[row * k + j]));
      }
      EXPECT_FLOAT_EQ(clippedMax, m * r.clipRatios[row * 2 + g]) << "row " << row << " group " << g;
    }
}

TEST(Awq, ImportanceIsTheScaledInputsMeanSquare) {
  // With importance, Q weights column j's error by importance_j / s_j^2.
  // At alpha = 0 (s = 1) that is the plain importance, so the loss there is
  // exactly the loss of quantizeUniform with that importance; the search
  // still never loses to it and still protects the salient channel.
  const int64_t n = 48, k = 128, tokens = 512, salient = 37;
  const CalibStats stats = salientStats(k, tokens, salient, 16);
  const std::vector<float> w = gaussian(n * k, 17, 0.05f);
  const std::vector<float> absMean = stats.absMean(), meanSquare = stats.meanSquare();
  const Format f = parse("int4, group = 32");
  AwqOptions o;
  o.importance = meanSquare.data();
  o.uniform = UniformOptions(); // the clip search the importance steers
  AwqResult r;
  ASSERT_TRUE(awqSearch(f, w.data(), n, k, absMean.data(), stats.gram.data(), o, r).isOk());
  UniformTensor t;
  ASSERT_TRUE(quantizeUniform(f, w.data(), n, k, o.uniform, meanSquare.data(), t).isOk());
  std::vector<float> q(n * k);
  ASSERT_TRUE(dequantizeUniform(f, t, n, k, q.data()).isOk());
  const std::vector<float> gram(stats.gram.begin(), stats.gram.end());
  EXPECT_DOUBLE_EQ(r.lossRtn, quadraticLoss(w.data(), q.data(), n, k, gram.data(), 1));
  EXPECT_GT(r.alpha, 0.f);
  EXPECT_LE(r.lossScaled, r.lossRtn);
  EXPECT_EQ(*std::max_element(r.scales.begin(), r.scales.end()), r.scales[salient]);
  std::vector<float> bad(meanSquare);
  bad[5] = -1;
  o.importance = bad.data();
  Status s = awqSearch(f, w.data(), n, k, absMean.data(), stats.gram.data(), o, r);
  EXPECT_NE(s.message().find("importance of channel 5"), std::string::npos) << s.message();
}

TEST(Awq, DuoGridNeverLosesToTheActivationGrid) {
  // The duo grid is searched after the activation grid and wins only on a
  // lower loss, so the scaled loss can only go down; alphaLosses stay the
  // activation grid's.
  const int64_t n = 48, k = 128, tokens = 512, salient = 37;
  const CalibStats stats = salientStats(k, tokens, salient, 18);
  std::vector<float> w = gaussian(n * k, 19, 0.05f);
  for (int64_t r = 0; r < n; ++r) // a column of large weights: what duo's wMean sees
    w[r * k + 5] *= 8.f;
  const std::vector<float> absMean = stats.absMean();
  for (const char *text : {"int4, group = 32", "int3, group = 64, asym", "q4_0"}) {
    AwqResult plain, duo;
    AwqOptions o;
    ASSERT_TRUE(awqSearch(parse(text), w.data(), n, k, absMean.data(), stats.gram.data(), o, plain).isOk());
    o.duoScaling = true;
    ASSERT_TRUE(awqSearch(parse(text), w.data(), n, k, absMean.data(), stats.gram.data(), o, duo).isOk());
    EXPECT_LE(duo.lossScaled, plain.lossScaled) << text;
    EXPECT_EQ(duo.alphaLosses, plain.alphaLosses) << text;
    if (!duo.duo)
      EXPECT_EQ(duo.scales, plain.scales) << text;
  }
}

TEST(Awq, UniformActivationsGiveUnitScales) {
  const int64_t n = 8, k = 64;
  const std::vector<float> absMean(k, 0.8f);
  std::vector<double> gram(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j)
    gram[j * k + j] = 1;
  const std::vector<float> w = gaussian(n * k, 12, 0.05f);
  AwqOptions o;
  o.searchClip = false;
  AwqResult r;
  ASSERT_TRUE(awqSearch(parse("int4"), w.data(), n, k, absMean.data(), gram.data(), o, r).isOk());
  EXPECT_EQ(r.alpha, 0.f); // every alpha gives s = 1: a tie, the first wins
  for (float s : r.scales)
    EXPECT_EQ(s, 1.f);
  EXPECT_EQ(r.weights, w);
  EXPECT_EQ(r.lossClipped, r.lossRtn);
}

TEST(Awq, RejectsBadInput) {
  const int64_t n = 2, k = 64;
  const std::vector<float> w = gaussian(n * k, 13);
  std::vector<float> absMean(k, 1.f);
  std::vector<double> gram(k * k, 0.0);
  AwqResult r;
  EXPECT_TRUE(awqSearch(parse("q4_k"), w.data(), n, k, absMean.data(), gram.data(), {}, r).failed()); // 64 % 256
  EXPECT_TRUE(awqSearch(parse("codebook, codebooks = 1, bits = 8, group = 8"), w.data(), n, k, absMean.data(),
                        gram.data(), {}, r)
                  .failed());
  absMean[3] = -1;
  Status s = awqSearch(parse("int4"), w.data(), n, k, absMean.data(), gram.data(), {}, r);
  EXPECT_NE(s.message().find("channel 3"), std::string::npos) << s.message();
}

// ---- SmoothQuant --------------------------------------------------------------

TEST(SmoothQuant, ScalesMatchAHandComputation) {
  // s_j = aMax_j^alpha / wMax_j^(1 - alpha):
  //   alpha 0.5:  sqrt(1)/sqrt(4) = 0.5,  sqrt(16)/sqrt(1) = 4,  sqrt(4)/sqrt(0.25) = 4
  //   alpha 0.75: 1/4^0.25 = 0.7071,      16^0.75 = 8,           4^0.75/0.25^0.25 = 4
  //   alpha 0:    1/wMax;  alpha 1: aMax
  const float act[3] = {1.f, 16.f, 4.f};
  std::vector<float> colMax;
  const float w1[6] = {4.f, -0.5f, 0.1f, -1.f, 1.f, -0.25f}; // two linears reading x
  const float w2[3] = {-2.f, 0.25f, 0.125f};
  ASSERT_TRUE(accumulateWeightColumnAbsMax(w1, 2, 3, colMax).isOk());
  ASSERT_TRUE(accumulateWeightColumnAbsMax(w2, 1, 3, colMax).isOk());
  EXPECT_EQ(colMax, (std::vector<float>{4.f, 1.f, 0.25f}));
  const struct {
    float alpha;
    float expected[3];
  } cases[] = {{0.5f, {0.5f, 4.f, 4.f}}, {0.75f, {0.70710678f, 8.f, 4.f}}, {0.f, {0.25f, 1.f, 4.f}},
               {1.f, {1.f, 16.f, 4.f}}};
  for (const auto &c : cases) {
    std::vector<float> s;
    SmoothQuantOptions o;
    o.alpha = c.alpha;
    ASSERT_TRUE(smoothQuantScales(act, colMax.data(), 3, o, s).isOk());
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(s[j], c.expected[j], 1e-6f * c.expected[j]) << "alpha " << c.alpha << ", channel " << j;
  }
  // The clamps: a dead channel and an all-zero weight column.
  const float act2[2] = {0.f, 9.f}, wmax2[2] = {1.f, 0.f};
  std::vector<float> s;
  ASSERT_TRUE(smoothQuantScales(act2, wmax2, 2, SmoothQuantOptions(), s).isOk());
  EXPECT_EQ(s[0], 1e-5f);
  EXPECT_NEAR(s[1], 3.f / std::sqrt(1e-5f), 1e-3f);
  SmoothQuantOptions bad;
  bad.alpha = 1.5f;
  EXPECT_TRUE(smoothQuantScales(act, colMax.data(), 3, bad, s).failed());
}

TEST(SmoothQuant, FoldingIntoTheNormKeepsTheProduct) {
  // LayerNorm (gamma, beta) then a linear, before and after folding:
  // (norm(x) gamma / s + beta / s) (W diag(s))^T = (norm(x) gamma + beta) W^T.
  const int64_t k = 24, n = 10, tokens = 16;
  std::vector<float> x = gaussian(tokens * k, 20);
  for (int64_t t = 0; t < tokens; ++t)
    x[t * k + 5] *= 25.f; // an outlier channel
  const std::vector<float> gamma0 = gaussian(k, 21), beta0 = gaussian(k, 22, 0.1f), w0 = gaussian(n * k, 23, 0.1f);
  auto forward = [&](const std::vector<float> &gamma, const std::vector<float> *beta, const std::vector<float> &w) {
    std::vector<double> y(tokens * n, 0.0);
    for (int64_t t = 0; t < tokens; ++t) {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < k; ++j)
        mean += x[t * k + j] / static_cast<double>(k);
      for (int64_t j = 0; j < k; ++j)
        var += (x[t * k + j] - mean) * (x[t * k + j] - mean) / k;
      for (int64_t j = 0; j < k; ++j) {
        const float h = static_cast<float>((x[t * k + j] - mean) / std::sqrt(var + 1e-5)) * gamma[j] +
                        (beta ? (*beta)[j] : 0.f);
        for (int64_t r = 0; r < n; ++r)
          y[t * n + r] += static_cast<double>(h) * w[r * k + j];
      }
    }
    return y;
  };
  CalibStats stats = statsOf(x, k);
  std::vector<float> colMax, s;
  ASSERT_TRUE(accumulateWeightColumnAbsMax(w0.data(), n, k, colMax).isOk());
  ASSERT_TRUE(smoothQuantScales(stats.absMax.data(), colMax.data(), k, SmoothQuantOptions(), s).isOk());
  for (bool layerNorm : {true, false}) {
    std::vector<float> gamma = gamma0, beta = beta0, w = w0;
    ASSERT_TRUE(foldIntoNorm(gamma.data(), layerNorm ? beta.data() : nullptr, k, s.data()).isOk());
    ASSERT_TRUE(scaleWeightColumns(w.data(), n, k, s.data()).isOk());
    const std::vector<double> before = forward(gamma0, layerNorm ? &beta0 : nullptr, w0);
    const std::vector<double> after = forward(gamma, layerNorm ? &beta : nullptr, w);
    for (int64_t i = 0; i < tokens * n; ++i) {
      // Each term h_j W_j carries a few fp32 roundings from the folding; a
      // normalized value is at most sqrt(K) in magnitude.
      double bound = 0;
      const int64_t t = i / n, r = i % n;
      for (int64_t j = 0; j < k; ++j)
        bound += (std::fabs(gamma0[j]) * std::sqrt(k) + std::fabs(beta0[j])) * std::fabs(w0[r * k + j]);
      EXPECT_NEAR(after[i], before[i], 4e-7 * bound + 1e-6) << (layerNorm ? "LayerNorm" : "RMSNorm-style")
                                                              << " token " << t << ", row " << r;
    }
  }
}

// ---- LLM.int8() ---------------------------------------------------------------

TEST(OutlierSplit, SelectsChannelsAtOrAboveTheThreshold) {
  const float absMax[7] = {0.5f, 6.0f, 5.99f, 100.f, 3.f, 7.f, INFINITY};
  EXPECT_EQ(selectOutlierChannels(absMax, 7), (std::vector<int64_t>{1, 3, 5, 6}));
  EXPECT_EQ(selectOutlierChannels(absMax, 7, 50.f), (std::vector<int64_t>{3, 6}));
}

TEST(OutlierSplit, SplitProductMatchesTheFloatProductWithinInt8Bounds) {
  const int64_t k = 96, n = 20, tokens = 64;
  std::vector<float> x = gaussian(tokens * k, 30);
  const int64_t planted[3] = {7, 40, 81};
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j : planted)
      x[t * k + j] *= 25.f; // |x| up to ~100 in these channels
  const CalibStats stats = statsOf(x, k);
  const std::vector<int64_t> outliers = selectOutlierChannels(stats.absMax.data(), k);
  ASSERT_EQ(outliers, (std::vector<int64_t>{7, 40, 81}));
  const std::vector<float> w = gaussian(n * k, 31, 0.1f);
  OutlierSplitWeights split;
  ASSERT_TRUE(splitOutlierWeights(w.data(), n, k, outliers, split).isOk());
  // The int part decodes to W with the outlier columns zero.
  std::vector<float> decoded(n * k);
  ASSERT_TRUE(dequantizeUniform(outlierIntFormat(), split.intPart, n, k, decoded.data()).isOk());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < k; ++j) {
      const bool outlier = std::find(outliers.begin(), outliers.end(), j) != outliers.end();
      const float cw = split.intPart.scales[r] * 127;
      EXPECT_NEAR(decoded[r * k + j], outlier ? 0.f : w[r * k + j], outlier ? 0.f : cw / 254 * 1.0001f);
    }
  std::vector<float> y(tokens * n);
  ASSERT_TRUE(outlierSplitMatmul(x.data(), tokens, split, y.data()).isOk());
  // |x_hat w_hat - x w| <= (c_x / 254) sum |w_hat_j| + (c_w / 254) sum |x_j|
  // over the regular channels j (per-token and per-row absmax rounding).
  double worstWithout = 0, worstWith = 0;
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < n; ++r) {
      double exact = 0, cx = 0, sumW = 0, sumX = 0;
      for (int64_t j = 0; j < k; ++j) {
        exact += static_cast<double>(x[t * k + j]) * w[r * k + j];
        if (std::find(outliers.begin(), outliers.end(), j) != outliers.end())
          continue;
        cx = std::max(cx, static_cast<double>(std::fabs(x[t * k + j])));
        sumW += std::fabs(decoded[r * k + j]);
        sumX += std::fabs(x[t * k + j]);
      }
      const double bound = cx / 254 * sumW + split.intPart.scales[r] * 127 / 254 * sumX;
      EXPECT_LE(std::fabs(y[t * n + r] - exact), bound * 1.0001 + 1e-5) << "token " << t << ", row " << r;
      worstWith = std::max(worstWith, std::fabs(y[t * n + r] - exact));
    }
  // Without the split the outliers set every token's int8 step: far worse.
  OutlierSplitWeights plain;
  ASSERT_TRUE(splitOutlierWeights(w.data(), n, k, {}, plain).isOk());
  ASSERT_TRUE(outlierSplitMatmul(x.data(), tokens, plain, y.data()).isOk());
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < n; ++r) {
      double exact = 0;
      for (int64_t j = 0; j < k; ++j)
        exact += static_cast<double>(x[t * k + j]) * w[r * k + j];
      worstWithout = std::max(worstWithout, std::fabs(y[t * n + r] - exact));
    }
  std::printf("largest |error|: %.4g with the split, %.4g without\n", worstWith, worstWithout);
  EXPECT_LT(3 * worstWith, worstWithout);
}

TEST(OutlierSplit, RejectsBadIndices) {
  const std::vector<float> w = gaussian(2 * 8, 40);
  OutlierSplitWeights split;
  EXPECT_TRUE(splitOutlierWeights(w.data(), 2, 8, {3, 3}, split).failed());
  EXPECT_TRUE(splitOutlierWeights(w.data(), 2, 8, {5, 2}, split).failed());
  EXPECT_TRUE(splitOutlierWeights(w.data(), 2, 8, {8}, split).failed());
}

} // namespace
