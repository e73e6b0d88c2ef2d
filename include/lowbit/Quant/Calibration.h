//===- Calibration.h - Activation statistics for calibrated quantization -*- C++ -*-===//
//
// What the calibration-based methods need to know about the input X of a
// linear layer y = W x (W is [N, K], x has K channels): per input channel the
// largest magnitude, the mean magnitude and the mean square, and optionally
// the Gram matrix X^T X (the GPTQ Hessian up to a factor). One CalibStats per
// distinct input: the linears that read the same tensor (q, k and v; gate and
// up) share one.
//
//   consumer                        reads
//   SmoothQuant (SmoothQuant.h)     absMax
//   LLM.int8() (OutlierSplit.h)     absMax
//   AWQ (Awq.h)                     absMean, gram
//   GPTQ (Gptq.h)                   gram
//   k-quant / int importance        meanSquare (BlockQuant.h, Uniform.h)
//
// Sums are kept (in double), not means, so that statistics of separate
// batches merge exactly: accumulating batch A then B equals merging the stats
// of A and of B, up to the order of the double additions.
//
// Also here: the helpers that fold a per-input-channel scale s into the ops
// around a linear (SmoothQuant and AWQ both produce one): x' = x / s is folded
// into the op that produces x, W' = W diag(s) into the linear.
//
// Plain C++, no exceptions; docs/CALIBRATION.md describes the numerics.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_CALIBRATION_H
#define LOWBIT_QUANT_CALIBRATION_H

#include "lowbit/Quant/Status.h"

#include <cstdint>
#include <vector>

namespace lowbit::quant {

struct CalibStats {
  int64_t channels = 0; ///< K
  int64_t rows = 0;     ///< activation rows (tokens) seen
  std::vector<float> absMax;     ///< [K] max over rows of |x_j| (0 before any row)
  std::vector<double> absSum;    ///< [K] sum over rows of |x_j|
  std::vector<double> squareSum; ///< [K] sum over rows of x_j^2
  /// [K, K] row-major, sum over rows of x x^T, full (both triangles); empty
  /// when the stats were created without it. Any positive multiple of it is
  /// a valid GPTQ Hessian (GPTQ is invariant to the scale of H).
  std::vector<double> gram;

  bool hasGram() const { return !gram.empty(); }
  /// mean |x_j| (AWQ's activation statistic); zeros before any row.
  std::vector<float> absMean() const;
  /// mean x_j^2: the importance llama.cpp's imatrix holds, to pass as
  /// `importance` to quantizeRows / quantizeUniform / gptqQuantize.
  std::vector<float> meanSquare() const;
};

/// Empty statistics for `channels` input channels; `withGram` also keeps the
/// K x K Gram matrix (8 K^2 bytes: 2.6 MB for K = 576, 19 MB for K = 1536).
Status initCalibStats(int64_t channels, bool withGram, CalibStats &out);

/// Adds `rows` activation rows x (rows x channels, row-major). Fails without
/// changing `stats` on NaN or Inf (naming the row and channel). The Gram
/// update costs rows * K^2 / 2 multiply-adds; it runs on `threads` threads
/// (0: all cores) and its result does not depend on the thread count.
/// Products are summed in fp32 over slices of at most 256 rows, then added to
/// the double sums.
Status accumulateCalibStats(CalibStats &stats, const float *x, int64_t rows, int threads = 1);

/// into += from. Fails when the channel counts differ or only one side has a
/// Gram matrix.
Status mergeCalibStats(CalibStats &into, const CalibStats &from);

// ---- Folding a per-input-channel scale --------------------------------------
//
// With x' = x / s and W' = W diag(s), W' x' = W x exactly in real arithmetic.
// Every helper fails on a zero, negative or non-finite scale.

/// W[:, j] *= s[j] for a [N, K] row-major weight (the linears after the scale).
Status scaleWeightColumns(float *weight, int64_t rows, int64_t columns, const float *scales);
/// gamma[j] /= s[j] and, when given, beta[j] /= s[j]: folds 1/s into a
/// LayerNorm (gamma, beta) or RMSNorm (gamma, beta null) that produces x.
Status foldIntoNorm(float *gamma, float *beta, int64_t channels, const float *scales);
/// W[j, :] /= s[j] and bias[j] /= s[j] (bias may be null): folds 1/s into a
/// previous linear [K, M] whose output row j is input channel j (AWQ's
/// v_proj -> o_proj and up_proj -> down_proj edges).
Status foldIntoPreviousLinear(float *weight, float *bias, int64_t outChannels, int64_t inChannels,
                              const float *scales);

/// The statistics of x / s, from those of x: after SmoothQuant or AWQ has
/// folded 1/s into the producer of x, the next method (GPTQ, say) reads
/// these. absMax, absSum /= s; squareSum /= s^2; gram[i, j] /= s_i s_j.
Status divideCalibStatsByScales(CalibStats &stats, const float *scales);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_CALIBRATION_H
