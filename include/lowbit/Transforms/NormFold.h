//===- NormFold.h - Per-channel scales folded into a norm's gamma -*- C++ -*-===//
//
// AWQ and SmoothQuant both rescale a linear's input channels, x' = x / s and
// W' = W diag(s), and fold 1/s into the norm that produces x. These helpers
// find that norm (its `x * gamma` multiply) and rewrite the constants; the
// passes decide when it is safe (every reader of x is rescaled).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TRANSFORMS_NORMFOLD_H
#define LOWBIT_TRANSFORMS_NORMFOLD_H

#include "lowbit/Transforms/WeightMatmul.h"

#include "llvm/ADT/DenseMap.h"

#include <string>
#include <vector>

namespace lowbit {

/// `x * gamma` or `x * gamma + beta` with gamma (and beta) constant f32 [k]
/// read along the last loop (an RMSNorm's or LayerNorm's scale and shift):
/// the operand that holds gamma, or null when `activation` is made by
/// anything else.
mlir::OpOperand *normGammaOperand(mlir::Value activation, int64_t k);

/// The beta of `gamma`'s norm (`x * gamma + beta`), or null without one.
mlir::OpOperand *normBetaOperand(mlir::OpOperand *gamma);

/// A float constant's values (dense or a resource blob).
std::vector<float> constantValues(mlir::arith::ConstantOp constant);

/// Replaces the weight's blob (same name: the statistics find it by that
/// name) by `rows` ([N, K]) in the weight's own layout.
void writeWeightRows(WeightMatmul m, llvm::ArrayRef<float> rows);

/// gamma / s, as a new blob constant `blobName` for this norm's multiply only,
/// and beta / s (`blobName`_bias) where the norm has a bias
/// (the CPU pipeline passes blobs to the code as weights; an inline vector
/// of this size crashed the compiled model).
void foldIntoGamma(mlir::OpOperand *gamma, llvm::ArrayRef<float> scales, llvm::StringRef blobName);

/// Why the readers `group` of `input` cannot be rescaled through `gamma` ("" when
/// they can): no norm multiply, a shared weight blob, or (unless
/// `otherReadersAllowed`) another reader.
std::string whyNotFoldable(mlir::Value input, llvm::ArrayRef<WeightMatmul> group, mlir::OpOperand *gamma,
                           const llvm::DenseMap<llvm::StringRef, int> &resourceUses,
                           bool otherReadersAllowed = false);

/// Gives the readers of `input` other than `group` (a post-LN encoder's
/// residual reads the LayerNorm's output too) a copy of the elementwise op
/// that makes it, with the original gamma and beta, so that folding 1/s
/// into the original changes only what `group` reads. The copy costs one
/// elementwise pass over x.
void detachOtherReaders(mlir::Value input, llvm::ArrayRef<WeightMatmul> group);

} // namespace lowbit

#endif // LOWBIT_TRANSFORMS_NORMFOLD_H
