//===- Driver.h - lowbit-compile's stages as a library ---------*- C++ -*-===//
//
// Import, quantize, lower, emit: what `lowbit-compile` runs, callable from
// tests and other tools. Each stage reports progress through `log` and
// errors through the context's diagnostics.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_DRIVER_DRIVER_H
#define LOWBIT_DRIVER_DRIVER_H

#include "lowbit/Import/OnnxImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace lowbit {

struct CompileOptions {
  OnnxImportOptions import;
  /// Weight format (a #lowbit.format body such as q4_k or "int4, group =
  /// 128"); empty keeps the float model.
  std::string quant;
  std::vector<std::string> include, exclude;
  std::string target = "x86_64";
  std::string cpu = "native";
  /// Print one line per quantized weight.
  bool verbose = false;
  /// Decode every quantized weight again and record its relative error
  /// (CompileStats::weights).
  bool measureWeightError = false;
};

/// One quantized matmul weight, as lowbit-compile --weight-stats lists it.
struct WeightRecord {
  std::string name;   ///< the weight's name (ONNX initializer, or its node path)
  std::string node;   ///< the ONNX node that multiplies by it ("" if unknown)
  int64_t rows = 0;   ///< N, output features
  int64_t cols = 0;   ///< K, the reduction length
  std::string format; ///< as #lowbit.format prints it
  double bitsPerWeight = 0;
  double relativeError = -1; ///< ||W - decoded|| / ||W||; -1: not measured
};

/// What the stages measured, for the closing summary.
struct CompileStats {
  int64_t floatWeightBytes = 0;  ///< weights as imported
  int64_t weightBytes = 0;       ///< weights as stored in the artifact
  int64_t linearWeights = 0;     ///< matmul weights quantized
  int64_t linearElements = 0;    ///< their weight count
  int64_t linearPackedBytes = 0; ///< their packed bytes, in-block scales included
  int64_t linearSideBytes = 0;   ///< their scales, zero points, mins
  std::string cpu;               ///< the CPU the code was compiled for
  std::vector<WeightRecord> weights; ///< every quantized matmul weight
};

/// Imports an ONNX file and tidies the result.
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context, llvm::StringRef path,
                                              const CompileOptions &options);

/// Quantizes the weights of an imported module (a no-op without a format).
mlir::LogicalResult quantizeModel(mlir::ModuleOp module, const CompileOptions &options,
                                  CompileStats &stats);

/// Lowers a (quantized) module for the CPU, compiles it and writes the
/// artifact to `outputPath` (through a temporary file).
mlir::LogicalResult emitCpuArtifact(mlir::ModuleOp module, const CompileOptions &options,
                                    const std::string &outputPath, CompileStats &stats,
                                    llvm::raw_ostream &log);

/// Registers everything the driver's contexts need.
void registerDriverDialects(mlir::DialectRegistry &registry);

} // namespace lowbit

#endif // LOWBIT_DRIVER_DRIVER_H
