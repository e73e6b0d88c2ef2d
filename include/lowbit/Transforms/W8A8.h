//===- W8A8.h - The int8-weight, int8-activation matmul the passes emit -*- C++ -*-===//
//
// lowbit-smooth and lowbit-outlier-split both end in the same W8A8 matmul:
// absmax int8 weights per output channel (lib/Quant/OutlierSplit.h's
// vector-wise quantizer, as the papers quantize) in lowbit's `int8`
// format with per-token int8 activations (`int8, a8`).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TRANSFORMS_W8A8_H
#define LOWBIT_TRANSFORMS_W8A8_H

#include "lowbit/Quant/OutlierSplit.h"
#include "lowbit/Transforms/WeightMatmul.h"

namespace lowbit {

/// `int8, a8`.
quant::Format w8a8Format();

/// Splits the weight of `m` around `outliers` (none: plain W8A8) into `out`;
/// fails with a diagnostic naming `pass` on bad weights.
mlir::LogicalResult splitWeight(WeightMatmul m, llvm::StringRef name, llvm::StringRef pass,
                                const std::vector<int64_t> &outliers, quant::OutlierSplitWeights &out);

/// Replaces `m` by a W8A8 lowbit.matmul over `split`'s int part.
MatmulOp replaceWithW8A8(WeightMatmul m, llvm::StringRef name, const quant::OutlierSplitWeights &split);

} // namespace lowbit

#endif // LOWBIT_TRANSFORMS_W8A8_H
