//===- Awq.cpp - AWQ: activation-aware per-channel scales and clipping ----===//

#include "lowbit/Quant/Awq.h"
#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Gptq.h"
#include "lowbit/Quant/Parallel.h"

#include "DenseKernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace lowbit::quant {
namespace {

std::string formatFloat(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

/// Q(w): quantize with the format's round-to-nearest quantizer and decode;
/// `importance` (null or [columns]) weights each column's error.
Status fakeQuantize(const Format &f, const float *w, int64_t rows, int64_t columns, const AwqOptions &o,
                    const float *importance, float *out) {
  if (isBlockFormat(f.kind)) {
    const GgmlType type = *ggmlTypeOf(f.kind);
    std::vector<uint8_t> packed(rows * rowBytes(type, columns));
    if (Status s = quantizeRowsParallel(type, w, packed.data(), rows, columns, importance, o.threads); s.failed())
      return s;
    return dequantizeRowsParallel(type, packed.data(), out, rows, columns, o.threads);
  }
  UniformOptions u = o.uniform;
  u.threads = o.threads;
  UniformTensor t;
  if (Status s = quantizeUniform(f, w, rows, columns, u, importance, t); s.failed())
    return s;
  return dequantizeUniform(f, t, rows, columns, out);
}

/// The quantizer's column weights for the input x / s: importance / s^2,
/// or empty without importance.
std::vector<float> scaledImportance(const AwqOptions &o, const float *s, int64_t k) {
  std::vector<float> out;
  if (!o.importance)
    return out;
  out.resize(k);
  for (int64_t j = 0; j < k; ++j)
    out[j] = o.importance[j] / (s[j] * s[j]);
  return out;
}

/// AWQ's scales for one alpha: clamp(absMean^alpha, minScale), divided by
/// sqrt(max * min), in fp32 as the reference computes them.
void scalesFor(const float *absMean, int64_t k, float alpha, float minScale, std::vector<float> &s) {
  float hi = 0, lo = INFINITY;
  for (int64_t j = 0; j < k; ++j) {
    s[j] = std::max(std::pow(absMean[j], alpha), minScale);
    hi = std::max(hi, s[j]);
    lo = std::min(lo, s[j]);
  }
  const float norm = std::sqrt(hi * lo);
  for (int64_t j = 0; j < k; ++j)
    s[j] = s[j] / norm;
}

/// AutoAWQ's duo scales: clamp(absMean^alpha / (wMean^(1 - alpha) + 1e-4),
/// minScale), normalized as scalesFor does.
void duoScalesFor(const float *absMean, const std::vector<float> &wMean, float alpha, float minScale,
                  std::vector<float> &s) {
  const int64_t k = static_cast<int64_t>(wMean.size());
  float hi = 0, lo = INFINITY;
  for (int64_t j = 0; j < k; ++j) {
    s[j] = std::max(std::pow(absMean[j], alpha) / (std::pow(wMean[j], 1.f - alpha) + 1e-4f), minScale);
    hi = std::max(hi, s[j]);
    lo = std::min(lo, s[j]);
  }
  const float norm = std::sqrt(hi * lo);
  for (int64_t j = 0; j < k; ++j)
    s[j] = s[j] / norm;
}

/// Columns that share a clip threshold: the format's group or block, the
/// row when per-channel; 0 when the scale is per tensor (no clip search).
int64_t clipGroupLength(const Format &f, int64_t columns) {
  if (isBlockFormat(f.kind))
    return blockGeometry(f.kind)->blockSize;
  switch (f.granularity) {
  case Granularity::Group:
    return f.groupSize;
  case Granularity::Channel:
    return columns;
  default:
    return 0;
  }
}

/// Loss of W_hat = Q(v) diag(s)^-1 against w.
Status lossOf(const Format &f, const float *w, const float *v, int64_t rows, int64_t columns, const float *s,
              const std::vector<float> &gram, const AwqOptions &o, std::vector<float> &scratch, double &loss) {
  const std::vector<float> importance = scaledImportance(o, s, columns);
  if (Status st = fakeQuantize(f, v, rows, columns, o, importance.empty() ? nullptr : importance.data(),
                               scratch.data());
      st.failed())
    return st;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < columns; ++j)
      scratch[r * columns + j] /= s[j];
  loss = quadraticLoss(w, scratch.data(), rows, columns, gram.data(), o.threads);
  return Status::ok();
}

} // namespace

Status awqSearch(const Format &f, const float *w, int64_t rows, int64_t k, const float *absMean,
                 const double *gram, const AwqOptions &o, AwqResult &out) {
  const std::string what = "AWQ " + toString(f);
  if (rows <= 0 || k <= 0)
    return Status::error(what + ": the weight must have at least one row and column");
  if (!w || !absMean || !gram)
    return Status::error(what + ": needs the weight, the mean |x| per channel and the Gram matrix");
  if (f.kind == FormatKind::Codebook || (isBlockFormat(f.kind) && !ggmlTypeOf(f.kind)))
    return Status::error(what + ": AWQ cannot quantize this format");
  if (std::string why = checkFormat(f); !why.empty())
    return Status::error(what + ": " + why);
  if (std::string why = checkRowLength(f, k); !why.empty())
    return Status::error(what + ": " + why);
  if (o.gridPoints < 1 || !(o.minScale > 0) || o.clipCandidates < 1 || !(o.clipStep >= 0) ||
      o.clipStep * (o.clipCandidates - 1) >= 1)
    return Status::error(what + ": invalid options (gridPoints >= 1, minScale > 0, clipCandidates >= 1, "
                                "0 <= clipStep * (clipCandidates - 1) < 1)");
  for (int64_t i = 0; i < rows * k; ++i)
    if (!std::isfinite(w[i]))
      return Status::error(what + ": weight row " + std::to_string(i / k) + ", column " + std::to_string(i % k) +
                           " is " + (std::isnan(w[i]) ? "NaN" : "Inf"));
  for (int64_t j = 0; j < k; ++j)
    if (o.importance && (!(o.importance[j] >= 0) || !std::isfinite(o.importance[j])))
      return Status::error(what + ": importance of channel " + std::to_string(j) + " is " +
                           formatFloat(o.importance[j]));
  for (int64_t j = 0; j < k; ++j)
    if (!(absMean[j] >= 0) || !std::isfinite(absMean[j]))
      return Status::error(what + ": mean |x| of channel " + std::to_string(j) + " is " +
                           formatFloat(absMean[j]));
  for (int64_t i = 0; i < k * k; ++i)
    if (!std::isfinite(gram[i]))
      return Status::error(what + ": Gram entry (" + std::to_string(i / k) + ", " + std::to_string(i % k) +
                           ") is not finite");
  std::vector<float> g(gram, gram + k * k);
  out = AwqResult();
  out.alphaLosses.assign(o.gridPoints, 0.0);
  std::vector<float> s(k), best(k, 1.f), v(rows * k), scratch(rows * k);
  double bestLoss = INFINITY;
  // The loss of W diag(s) for the scales in s; they become the best when
  // lower than every earlier candidate's.
  auto tryScales = [&](float alpha, bool duo, double &loss) -> Status {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < k; ++j)
        v[r * k + j] = w[r * k + j] * s[j];
    if (Status st = lossOf(f, w, v.data(), rows, k, s.data(), g, o, scratch, loss); st.failed())
      return st.context(what + (duo ? ", duo alpha " : ", alpha ") + formatFloat(alpha));
    if (loss < bestLoss) {
      bestLoss = loss;
      best = s;
      out.alpha = alpha;
      out.duo = duo;
    }
    return Status::ok();
  };
  // 1. The scale search.
  for (int i = 0; i < o.gridPoints; ++i) {
    const float alpha = static_cast<float>(i) / o.gridPoints;
    scalesFor(absMean, k, alpha, o.minScale, s);
    if (Status st = tryScales(alpha, false, out.alphaLosses[i]); st.failed())
      return st;
  }
  if (o.duoScaling) {
    // mean over rows of |w| relative to its group's max |w| (the row when
    // per-channel or per-tensor), as AutoAWQ normalizes before averaging.
    const int64_t clip = clipGroupLength(f, k), length = clip > 0 ? clip : k;
    std::vector<float> wMean(k, 0.f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g0 = 0; g0 < k; g0 += length) {
        const int64_t g1 = std::min(k, g0 + length);
        float m = 0;
        for (int64_t j = g0; j < g1; ++j)
          m = std::max(m, std::fabs(w[r * k + j]));
        for (int64_t j = g0; j < g1 && m > 0; ++j)
          wMean[j] += std::fabs(w[r * k + j]) / m / static_cast<float>(rows);
      }
    for (int i = 0; i < o.gridPoints; ++i) {
      const float alpha = static_cast<float>(i) / o.gridPoints;
      duoScalesFor(absMean, wMean, alpha, o.minScale, s);
      double loss;
      if (Status st = tryScales(alpha, true, loss); st.failed())
        return st;
    }
  }
  out.scales = best;
  out.lossRtn = out.alphaLosses[0];
  out.lossScaled = bestLoss;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j)
      v[r * k + j] = w[r * k + j] * best[j];
  // 2. The clip search, group by group on the scaled weights.
  const int64_t length = o.searchClip ? clipGroupLength(f, k) : 0;
  out.clipGroupLength = length;
  if (length == 0) {
    out.weights = v;
    out.lossClipped = out.lossScaled;
    return Status::ok();
  }
  // A short last group (k not a multiple of `length`) has groupEnd - start
  // columns; its Gram block keeps the stride `length`.
  const int64_t groups = (k + length - 1) / length;
  auto groupEnd = [&](int64_t gi) { return std::min(k, (gi + 1) * length); };
  std::vector<float> m0(rows * groups, 0.f), bestErr(rows * groups, INFINITY), ratio(rows * groups, 1.f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t gi = 0; gi < groups; ++gi) {
      float m = 0;
      for (int64_t j = gi * length; j < groupEnd(gi); ++j)
        m = std::max(m, std::fabs(v[r * k + j]));
      m0[r * groups + gi] = m;
    }
  // The group's block of the Gram matrix of x / s.
  std::vector<float> gs(groups * length * length, 0.f);
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t a = 0; a < groupEnd(gi) - gi * length; ++a)
      for (int64_t b = 0; b < groupEnd(gi) - gi * length; ++b) {
        const int64_t i = gi * length + a, j = gi * length + b;
        gs[(gi * length + a) * length + b] =
            static_cast<float>(gram[i * k + j] / (static_cast<double>(best[i]) * best[j]));
      }
  std::vector<float> clipped(rows * k), e(rows * k);
  const std::vector<float> clippedImportance = scaledImportance(o, best.data(), k);
  for (int c = 0; c < o.clipCandidates; ++c) {
    const float shrink = 1.f - static_cast<float>(c) * o.clipStep;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t gi = 0; gi < groups; ++gi) {
        const float m = m0[r * groups + gi] * shrink;
        for (int64_t j = gi * length; j < groupEnd(gi); ++j)
          clipped[r * k + j] = std::min(std::max(v[r * k + j], -m), m);
      }
    const float *imp = clippedImportance.empty() ? nullptr : clippedImportance.data();
    if (Status st = fakeQuantize(f, clipped.data(), rows, k, o, imp, scratch.data()); st.failed())
      return st.context(what + ", clip " + formatFloat(shrink));
    for (int64_t i = 0; i < rows * k; ++i)
      e[i] = scratch[i] - v[i];
    Status st = parallelFor(rows, o.threads, [&](int64_t r0, int64_t r1) {
      std::vector<float> y((r1 - r0) * length);
      for (int64_t gi = 0; gi < groups; ++gi) {
        const int64_t n = groupEnd(gi) - gi * length;
        std::fill(y.begin(), y.end(), 0.f);
        detail::gemmAccumulate(r1 - r0, n, n, e.data() + r0 * k + gi * length, k,
                               gs.data() + gi * length * length, length, y.data(), length);
        for (int64_t r = r0; r < r1; ++r) {
          double err = 0;
          for (int64_t j = 0; j < n; ++j)
            err += static_cast<double>(e[r * k + gi * length + j]) * y[(r - r0) * length + j];
          if (err < bestErr[r * groups + gi]) {
            bestErr[r * groups + gi] = static_cast<float>(err);
            ratio[r * groups + gi] = shrink;
          }
        }
      }
      return Status::ok();
    });
    if (st.failed())
      return st;
  }
  out.weights.resize(rows * k);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t gi = 0; gi < groups; ++gi) {
      const float m = m0[r * groups + gi] * ratio[r * groups + gi];
      for (int64_t j = gi * length; j < groupEnd(gi); ++j)
        out.weights[r * k + j] = std::min(std::max(v[r * k + j], -m), m);
    }
  out.clipRatios = ratio;
  if (Status st = lossOf(f, w, out.weights.data(), rows, k, best.data(), g, o, scratch, out.lossClipped);
      st.failed())
    return st.context(what);
  return Status::ok();
}

} // namespace lowbit::quant
