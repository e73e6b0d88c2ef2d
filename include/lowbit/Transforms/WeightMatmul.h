//===- WeightMatmul.h - The weight matmuls the quantization passes rewrite -*- C++ -*-===//
//
// One matcher for every pass that finds "activation x constant weight":
// lowbit-quantize-weights, lowbit-gptq and lowbit-insert-observers must agree
// on which matmuls are weights and what each weight is called, or the
// calibration statistics would not find their consumers.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TRANSFORMS_WEIGHTMATMUL_H
#define LOWBIT_TRANSFORMS_WEIGHTMATMUL_H

#include "lowbit/Lowbit.h"
#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/Uniform.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "llvm/Support/Regex.h"

#include <optional>
#include <string>
#include <vector>

namespace lowbit {

/// A matmul of activations by a constant float weight, as the importer
/// builds them: a linalg.generic contraction over one reduction loop k, its
/// last parallel loop n indexing the weight, accumulating into zeros.
struct WeightMatmul {
  mlir::linalg::GenericOp op;     ///< its first input is the activation [..., K]
  mlir::arith::ConstantOp weight; ///< [K, N], or [N, K] when transposed
  bool transposed = false;
  int64_t n = 0, k = 0;

  mlir::Value activation() { return op.getDpsInputs()[0]; }
};

std::optional<WeightMatmul> matchWeightMatmul(mlir::linalg::GenericOp op);

/// Every weight matmul under `root`, in program order.
llvm::SmallVector<WeightMatmul> findWeightMatmuls(mlir::Operation *root);

/// The name of the ONNX node that computes the matmul ("" if unknown).
std::string nodeName(WeightMatmul m);

/// The weight's name: its resource blob's key (the ONNX initializer name),
/// else the name of the node that uses it.
std::string weightName(WeightMatmul m);

/// The weight as [N, K] floats: the transpose folded into the packing.
std::vector<float> rowsOf(WeightMatmul m);

/// Each weight's format for `format`: a #lowbit.format body (every weight
/// the same) or a llama.cpp mix name (q4_k_m, ...: the mix's rules per
/// GGUF role; nullopt keeps a weight float). Errors name `pass`.
mlir::FailureOr<llvm::SmallVector<std::optional<quant::Format>>>
formatsForWeights(mlir::Operation *root, llvm::StringRef pass, llvm::StringRef format,
                  llvm::ArrayRef<WeightMatmul> matches);

/// Which weights to quantize, by name (include / exclude regexes).
struct WeightSelection {
  std::vector<llvm::Regex> include, exclude;

  bool selects(llvm::StringRef name);
  /// Compiles the patterns; a bad one is an error on `root` naming `pass`.
  mlir::LogicalResult compile(mlir::Operation *root, llvm::StringRef pass, llvm::ArrayRef<std::string> include,
                              llvm::ArrayRef<std::string> exclude);
};

/// Why a weight stays float ("" when it is quantized): excluded, kept by the
/// mix, or its row length does not fit the format.
std::string whyFloat(WeightMatmul m, WeightSelection &selection, const std::optional<quant::Format> &format);

/// Replaces the matmul by a lowbit.matmul over `bytes` (the packed rows) and,
/// for Int and ternary formats, the side arrays of `side`; returns the new op.
MatmulOp replaceWithPackedMatmul(WeightMatmul m, llvm::StringRef name, const quant::Format &format,
                                 llvm::ArrayRef<uint8_t> bytes, const quant::UniformTensor &side);

/// ||W - decoded|| / ||W|| over all of a weight's rows (0 for an all-zero W).
double relativeError(llvm::ArrayRef<float> original, llvm::ArrayRef<float> decoded);

} // namespace lowbit

#endif // LOWBIT_TRANSFORMS_WEIGHTMATMUL_H
