//===- OutlierSplit.h - LLM.int8(): outlier input channels stay in float -*- C++ -*-===//
//
// LLM.int8() (Dettmers et al. 2022; /work/shared/reference/ALGORITHMS.md
// section 1), with the outlier set chosen ahead of time: the input channels
// whose calibration maximum |x_j| reached the threshold (6.0) form the set O.
// A linear y = W x then becomes
//
//   y = (Xq Wq^T) * (c_x c_w^T) / 127^2  +  X[:, O] W[:, O]^T
//
// the first term an int8 x int8 product over the regular channels (O zeroed in
// both), the second a small float product over the outliers:
//
// * the weights' int part is vector-wise (per output row) absmax int8 over
//   the regular columns, c_w = max_{j not in O} |W[r, j]|, Wq = round(127 W /
//   c_w) (ties to even), stored as lowbit's `int8` per-channel symmetric
//   format (code Wq + 128, scale c_w / 127), so the existing int8 kernels
//   read it; the outlier columns hold code 128 (zero);
// * the activations are quantized per token at run time the same way, over
//   the regular channels only (outlierSplitMatmul is the reference).
//
// Unlike bitsandbytes, the set is fixed at compile time: a channel outside it
// that exceeds the threshold at run time is quantized with the others (its
// token's scale grows). bitsandbytes also keeps the outlier columns in its
// int8 weight (and its row scale counts them); here they are zero in the
// int part, so c_w covers only the regular columns.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_OUTLIERSPLIT_H
#define LOWBIT_QUANT_OUTLIERSPLIT_H

#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/Status.h"
#include "lowbit/Quant/Uniform.h"

#include <cstdint>
#include <vector>

namespace lowbit::quant {

/// LLM.int8()'s threshold (the paper's and Hugging Face's default).
constexpr float kOutlierThreshold = 6.0f;

/// The channels j with absMax[j] >= threshold, in increasing order.
std::vector<int64_t> selectOutlierChannels(const float *absMax, int64_t channels,
                                           float threshold = kOutlierThreshold);

struct OutlierSplitWeights {
  int64_t rows = 0, columns = 0;
  std::vector<int64_t> outliers; ///< O, increasing
  /// [rows, |O|] W[:, O] in float.
  std::vector<float> floatPart;
  /// [rows, columns] in outlierIntFormat(): W with the O columns zeroed.
  UniformTensor intPart;
};

/// The int part's format: `int8`, per channel, symmetric.
Format outlierIntFormat();

/// Splits W ([rows, columns] row-major). Fails on NaN/Inf weights or
/// outlier indices that are out of range, repeated or not increasing.
Status splitOutlierWeights(const float *weight, int64_t rows, int64_t columns, const std::vector<int64_t> &outliers,
                           OutlierSplitWeights &out);

/// The reference product y = x W^T ([tokens, rows]) through the split:
/// per-token absmax int8 over the regular channels, exact int32 sums against
/// the int part, then the float outlier product. x is [tokens, columns].
Status outlierSplitMatmul(const float *x, int64_t tokens, const OutlierSplitWeights &weights, float *y);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_OUTLIERSPLIT_H
