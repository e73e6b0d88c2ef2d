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
#include "lowbit/Quant/Format.h"
#include "lowbit/Transforms/CalibrationData.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
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
  /// How the artifact stores packed weights' rows (docs/FORMATS.md, "Row
  /// layouts"); Interleaved4 applies to the formats that have an interleave
  /// unit. Unset: lowbit-lower-to-runtime's default (interleave-rows).
  std::optional<quant::Layout> weightLayout;
  /// Print one line per quantized weight.
  bool verbose = false;
  /// Decode every quantized weight again and record its relative error
  /// (CompileStats::weights).
  bool measureWeightError = false;

  // Calibration (docs/CALIBRATION.md). Either run the float model on tokens
  // (`calibrate`, an .npy of token ids) or reuse a statistics file.
  std::string calibrate;
  int64_t calibSamples = 128; ///< windows of calibSeqLen tokens, batch 1
  int64_t calibSeqLen = 512;
  std::string saveCalib;  ///< write the gathered statistics here
  std::string calibStats; ///< read statistics from here instead
  /// Bound on the X^T X accumulated at once while calibrating, in MiB (0:
  /// none). Past it the inputs are calibrated in chunks of layers, one
  /// pass over the tokens each, the statistics going through a file
  /// (docs/CALIBRATION.md, "Memory"). SmolLM2-135M's 800 MB fit the default.
  int64_t calibMaxMemoryMB = 1024;
  /// "rtn" (lowbit-quantize-weights), "gptq" (lowbit-gptq), "awq"
  /// (lowbit-awq, then lowbit-quantize-weights), or the W8A8 methods
  /// "smoothquant" (lowbit-smooth) and "llm-int8" (lowbit-outlier-split),
  /// whose format is always `int8, a8`.
  std::string method = "rtn";
  double smoothAlpha = 0.5;      ///< smoothquant's migration strength
  double outlierThreshold = 6.0; ///< llm-int8: channels with max |x| >= this stay float
  /// With statistics: each weight's input mean x^2 is its quantizer's
  /// importance (llama.cpp's imatrix; for gptq, the grid's).
  bool imatrix = true;
  /// Threads for calibration and GPTQ (0: one per core).
  int threads = 2;
  double gptqDamp = 0.01;
  int64_t gptqBlockSize = 128;
  bool gptqActOrder = true;
  bool gptqStaticGroups = true;

  /// X^T X is 8 K^2 bytes per input (~800 MB for SmolLM2): kept only when
  /// the method reads it.
  bool needsGram() const { return method == "gptq" || method == "awq"; }
  /// Every method but rtn reads calibration statistics.
  bool needsCalibration() const { return method != "rtn"; }
  /// The methods that quantize to `int8, a8` (W8A8).
  bool isW8A8Method() const { return method == "smoothquant" || method == "llm-int8"; }
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

/// Calibration statistics for `module` as the options ask: gathered by
/// running the float model (with observers as extra outputs, compiled to a
/// temporary artifact) on `calibrate`'s tokens, or read from `calibStats`;
/// saved to `saveCalib` when given. Null (and success) when not asked for.
mlir::FailureOr<std::shared_ptr<CalibrationData>> calibrateModel(mlir::ModuleOp module,
                                                                 const CompileOptions &options,
                                                                 llvm::raw_ostream &log);

/// Quantizes the weights of an imported module (a no-op without a format),
/// with `options.method` and, where given, the calibration statistics.
mlir::LogicalResult quantizeModel(mlir::ModuleOp module, const CompileOptions &options,
                                  CompileStats &stats,
                                  std::shared_ptr<const CalibrationData> calibration = nullptr);

/// Lowers a (quantized) module for the CPU, compiles it and writes the
/// artifact to `outputPath` (through a temporary file).
mlir::LogicalResult emitCpuArtifact(mlir::ModuleOp module, const CompileOptions &options,
                                    const std::string &outputPath, CompileStats &stats,
                                    llvm::raw_ostream &log);

/// Registers everything the driver's contexts need.
void registerDriverDialects(mlir::DialectRegistry &registry);

} // namespace lowbit

#endif // LOWBIT_DRIVER_DRIVER_H
