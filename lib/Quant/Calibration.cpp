//===- Calibration.cpp - Activation statistics and scale folding ----------===//

#include "lowbit/Quant/Calibration.h"
#include "lowbit/Quant/Parallel.h"

#include "DenseKernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace lowbit::quant {
namespace {

constexpr int64_t kGramSlice = 256; ///< rows summed in fp32 before the double add

std::string formatFloat(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

Status checkScales(const float *scales, int64_t channels, const char *what) {
  if (!scales)
    return Status::error(std::string(what) + ": no scales");
  for (int64_t j = 0; j < channels; ++j)
    if (!(scales[j] > 0) || !std::isfinite(scales[j]))
      return Status::error(std::string(what) + ": scale of channel " + std::to_string(j) + " is " +
                           formatFloat(scales[j]) + " (must be positive and finite)");
  return Status::ok();
}

/// Splits channel rows [0, k) into `parts` ranges of about equal upper-
/// triangle area (row i has k - i entries).
std::vector<int64_t> triangleSplit(int64_t k, int parts) {
  std::vector<int64_t> bounds(parts + 1, k);
  bounds[0] = 0;
  const double total = 0.5 * static_cast<double>(k) * (k + 1);
  int64_t i = 0;
  double done = 0;
  for (int p = 1; p < parts; ++p) {
    const double target = total * p / parts;
    while (i < k && done + (k - i) <= target)
      done += static_cast<double>(k - i++);
    bounds[p] = i;
  }
  return bounds;
}

} // namespace

std::vector<float> CalibStats::absMean() const {
  std::vector<float> m(channels, 0.f);
  if (rows > 0)
    for (int64_t j = 0; j < channels; ++j)
      m[j] = static_cast<float>(absSum[j] / static_cast<double>(rows));
  return m;
}

std::vector<float> CalibStats::meanSquare() const {
  std::vector<float> m(channels, 0.f);
  if (rows > 0)
    for (int64_t j = 0; j < channels; ++j)
      m[j] = static_cast<float>(squareSum[j] / static_cast<double>(rows));
  return m;
}

Status initCalibStats(int64_t channels, bool withGram, CalibStats &out) {
  if (channels <= 0)
    return Status::error("calibration statistics need at least one channel, got " + std::to_string(channels));
  if (withGram && channels > (int64_t(1) << 16))
    return Status::error("calibration statistics: a Gram matrix of " + std::to_string(channels) +
                         " channels is too large");
  out = CalibStats();
  out.channels = channels;
  out.absMax.assign(channels, 0.f);
  out.absSum.assign(channels, 0.0);
  out.squareSum.assign(channels, 0.0);
  if (withGram)
    out.gram.assign(channels * channels, 0.0);
  return Status::ok();
}

Status accumulateCalibStats(CalibStats &stats, const float *x, int64_t rows, int threads) {
  const int64_t k = stats.channels;
  if (k <= 0 || stats.absMax.size() != static_cast<size_t>(k))
    return Status::error("calibration statistics: not initialized (initCalibStats)");
  if (rows < 0)
    return Status::error("calibration statistics: negative row count " + std::to_string(rows));
  if (rows == 0)
    return Status::ok();
  if (!x)
    return Status::error("calibration statistics: no activations");
  for (int64_t i = 0; i < rows * k; ++i)
    if (!std::isfinite(x[i]))
      return Status::error("calibration statistics: activation row " + std::to_string(i / k) + ", channel " +
                           std::to_string(i % k) + " is " + (std::isnan(x[i]) ? "NaN" : "Inf"));
  for (int64_t t = 0; t < rows; ++t) {
    const float *xt = x + t * k;
    for (int64_t j = 0; j < k; ++j) {
      const float a = std::fabs(xt[j]);
      stats.absMax[j] = std::max(stats.absMax[j], a);
      stats.absSum[j] += a;
      stats.squareSum[j] += static_cast<double>(xt[j]) * xt[j];
    }
  }
  stats.rows += rows;
  if (!stats.hasGram())
    return Status::ok();
  // Each thread owns a band of channel rows of the upper triangle and walks
  // every slice of activations; the sums do not depend on the bands.
  const int parts = resolveThreadCount(threads, k);
  const std::vector<int64_t> bounds = triangleSplit(k, parts);
  double *g = stats.gram.data();
  Status s = parallelFor(parts, parts, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t t0 = 0; t0 < rows; t0 += kGramSlice)
        detail::gramAccumulateRows(x + t0 * k, std::min(kGramSlice, rows - t0), k, bounds[p], bounds[p + 1], g);
    return Status::ok();
  });
  if (s.failed())
    return s;
  for (int64_t i = 0; i < k; ++i) // mirror the upper triangle
    for (int64_t j = i + 1; j < k; ++j)
      g[j * k + i] = g[i * k + j];
  return Status::ok();
}

Status mergeCalibStats(CalibStats &into, const CalibStats &from) {
  if (into.channels != from.channels)
    return Status::error("calibration statistics: cannot merge " + std::to_string(from.channels) +
                         " channels into " + std::to_string(into.channels));
  if (into.hasGram() != from.hasGram())
    return Status::error("calibration statistics: cannot merge statistics with and without a Gram matrix");
  for (int64_t j = 0; j < into.channels; ++j) {
    into.absMax[j] = std::max(into.absMax[j], from.absMax[j]);
    into.absSum[j] += from.absSum[j];
    into.squareSum[j] += from.squareSum[j];
  }
  for (size_t i = 0; i < into.gram.size(); ++i)
    into.gram[i] += from.gram[i];
  into.rows += from.rows;
  return Status::ok();
}

Status scaleWeightColumns(float *weight, int64_t rows, int64_t columns, const float *scales) {
  if (Status s = checkScales(scales, columns, "scale weight columns"); s.failed())
    return s;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < columns; ++j)
      weight[r * columns + j] *= scales[j];
  return Status::ok();
}

Status foldIntoNorm(float *gamma, float *beta, int64_t channels, const float *scales) {
  if (Status s = checkScales(scales, channels, "fold scales into a norm"); s.failed())
    return s;
  for (int64_t j = 0; j < channels; ++j) {
    gamma[j] /= scales[j];
    if (beta)
      beta[j] /= scales[j];
  }
  return Status::ok();
}

Status foldIntoPreviousLinear(float *weight, float *bias, int64_t outChannels, int64_t inChannels,
                              const float *scales) {
  if (Status s = checkScales(scales, outChannels, "fold scales into the previous linear"); s.failed())
    return s;
  for (int64_t j = 0; j < outChannels; ++j) {
    for (int64_t i = 0; i < inChannels; ++i)
      weight[j * inChannels + i] /= scales[j];
    if (bias)
      bias[j] /= scales[j];
  }
  return Status::ok();
}

Status divideCalibStatsByScales(CalibStats &stats, const float *scales) {
  const int64_t k = stats.channels;
  if (Status s = checkScales(scales, k, "divide calibration statistics by scales"); s.failed())
    return s;
  for (int64_t j = 0; j < k; ++j) {
    stats.absMax[j] /= scales[j];
    stats.absSum[j] /= scales[j];
    stats.squareSum[j] /= static_cast<double>(scales[j]) * scales[j];
  }
  if (stats.hasGram())
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        stats.gram[i * k + j] /= static_cast<double>(scales[i]) * scales[j];
  return Status::ok();
}

} // namespace lowbit::quant
