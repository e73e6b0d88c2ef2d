//===- Awq.h - AWQ: activation-aware per-channel scales and clipping -*- C++ -*-===//
//
// AWQ (Lin et al. 2024; /work/shared/reference/ALGORITHMS.md section 3) for
// the linears that read one input x with K channels, their weights stacked
// into W [N, K] (q, k and v one under the other; gate and up; a lone o_proj or
// down_proj).
//
// 1. Scale search. For alpha on the grid {0, 1/20, ..., 19/20}:
//      s = max(absMean^alpha, 1e-4),  s /= sqrt(max(s) min(s))
//      loss(alpha) = tr(D G D^T),  D = W - Q(W diag(s)) diag(s)^-1
//    with absMean the mean |x_j| over the calibration tokens, G = X^T X and
//    Q the format's round-to-nearest quantizer. The lowest loss wins (ties:
//    the smaller alpha); alpha = 0 is plain RTN, so AWQ never loses to it.
// 2. Clip search, on the scaled weights V = W diag(s): for each row and each
//    group (the format's group or block; the whole row when per-channel),
//    with m0 = max |V| over the group, try m = m0 (1 - i/20), i = 0..9, clamp
//    V to [-m, m], quantize, and keep the m whose group output error
//    e^T Gs e (e = Q(clamp V) - V over the group, Gs the group's block of
//    diag(1/s) G diag(1/s)) is lowest. Skipped for per-tensor formats.
//
// The reference measures the loss on the whole block's output (attention,
// MLP) over 64k cached tokens; here it is each linear's own output error
// through G, which needs no forward pass and is exact for those linears.
//
// The caller then folds 1/s into the op producing x (foldIntoNorm or
// foldIntoPreviousLinear in Calibration.h), replaces W by `weights` and
// quantizes it with the same format and options (or with GPTQ, whose Hessian
// is then diag(1/s) G diag(1/s): divideCalibStatsByScales).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_AWQ_H
#define LOWBIT_QUANT_AWQ_H

#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/Status.h"
#include "lowbit/Quant/Uniform.h"

#include <cstdint>
#include <vector>

namespace lowbit::quant {

struct AwqOptions {
  int gridPoints = 20;       ///< alpha = i / gridPoints, i = 0 .. gridPoints - 1
  float minScale = 1e-4f;    ///< s = max(absMean^alpha, minScale) before normalizing
  bool searchClip = true;    ///< step 2 (the reference skips it for q and k)
  int clipCandidates = 10;   ///< shrink factors 1 - i * clipStep, i < clipCandidates
  float clipStep = 0.05f;
  int threads = 1;           ///< 0: all cores
  /// The quantizer Q for Int and ternary formats. Plain min/max by default
  /// (AWQ's pseudo_quantize_tensor): the clip search does the clipping.
  UniformOptions uniform = [] {
    UniformOptions o;
    o.clipSteps = 1;
    return o;
  }();
  /// [K] mean x^2 of the input before scaling, or null. When given, Q
  /// weights each column's rounding error by mean (x / s)^2 = importance /
  /// s^2 (llama.cpp's importance matrix of the scaled input), as the
  /// quantize pass after AWQ then does with the scaled statistics.
  const float *importance = nullptr;
  /// Also search AutoAWQ's "duo" grid, s = absMean^alpha / (wMean^(1 -
  /// alpha) + 1e-4), wMean_j the mean over rows of |w_rj| / max |w| of its
  /// group; the lower loss of both grids wins (never worse than without).
  bool duoScaling = false;
};

struct AwqResult {
  /// [K] per input channel: the weights' columns were multiplied by it;
  /// divide the input x by it (fold 1/s into the op that produces x).
  std::vector<float> scales;
  float alpha = 0;
  /// [N, K] W diag(s), clipped: the weights to quantize.
  std::vector<float> weights;
  /// [N, clip groups per row] the chosen shrink factor m / m0 (1: unclipped).
  std::vector<float> clipRatios;
  int64_t clipGroupLength = 0; ///< columns per clip group (0: no clip search)
  /// loss(alpha) for each grid point.
  std::vector<double> alphaLosses;
  bool duo = false; ///< the winning scales came from the duo grid
  /// tr((W - W_hat) G (W - W_hat)^T) for plain RTN, after the scale search,
  /// and after the clip search (W_hat = Q(weights) diag(s)^-1).
  double lossRtn = 0, lossScaled = 0, lossClipped = 0;
};

/// Runs both searches on W ([rows, columns] row-major). `absMean` holds
/// `columns` non-negative values (CalibStats::absMean), `gram` the
/// [columns, columns] X^T X (CalibStats::gram, any positive multiple).
/// Fails on a format AWQ cannot quantize (codebook), a row length the format
/// does not divide, NaN/Inf inputs, negative absMean, or invalid options.
Status awqSearch(const Format &format, const float *weight, int64_t rows, int64_t columns, const float *absMean,
                 const double *gram, const AwqOptions &options, AwqResult &out);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_AWQ_H
