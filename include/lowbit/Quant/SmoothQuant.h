//===- SmoothQuant.h - Migrating activation outliers into the weights -*- C++ -*-===//
//
// SmoothQuant (Xiao et al. 2023; /work/shared/reference/ALGORITHMS.md
// section 2), as the reference smooth.py computes it, for the linears that
// read one normalized input x (q/k/v after input_layernorm, gate/up after
// post_attention_layernorm):
//
//   wMax_j = max(max over the rows of every such linear of |W[:, j]|, 1e-5)
//   s_j    = max(aMax_j^alpha / wMax_j^(1 - alpha), 1e-5)
//
// with aMax_j the largest |x_j| over the calibration tokens
// (CalibStats::absMax). Then x' = x / s is folded into the norm that makes x
// (foldIntoNorm: gamma /= s, and beta /= s for a LayerNorm) and every such
// linear's columns are multiplied by s (scaleWeightColumns), which keeps
// W' x' = W x while the activation's range shrinks where it was large.
//
// An input channel that was always 0 (aMax_j = 0) gets s_j = 1e-5, as in the
// reference: its norm weight grows by 1e5 and its weight column shrinks by
// 1e5, which changes nothing for a channel that is always zero.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_SMOOTHQUANT_H
#define LOWBIT_QUANT_SMOOTHQUANT_H

#include "lowbit/Quant/Status.h"

#include <cstdint>
#include <vector>

namespace lowbit::quant {

struct SmoothQuantOptions {
  /// Migration strength in [0, 1]: 0 leaves the activations alone, 1 moves
  /// all of their range into the weights. The paper's default is 0.5; the
  /// reference repository uses 0.8-0.9 for Llama and Mistral.
  float alpha = 0.5f;
};

/// colMax[j] = max(colMax[j], max_r |W[r, j]|) for one [rows, columns]
/// weight; call it for every linear reading x. An empty colMax is started at
/// zeros; otherwise its size must be `columns`.
Status accumulateWeightColumnAbsMax(const float *weight, int64_t rows, int64_t columns, std::vector<float> &colMax);

/// The smoothing scales s ([channels]) from the activation and weight column
/// maxima, with the reference's clamps. Fails on an alpha outside [0, 1],
/// negative or non-finite maxima.
Status smoothQuantScales(const float *activationAbsMax, const float *weightAbsMax, int64_t channels,
                         const SmoothQuantOptions &options, std::vector<float> &scales);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_SMOOTHQUANT_H
