//===- Pipelines.h - lowbit's named pass pipelines -------------*- C++ -*-===//
//
// The pipelines lowbit-compile runs, as C++ functions registered by name
// with lowbit-opt, so that lit tests and the compiler run the same thing.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_PIPELINES_PIPELINES_H
#define LOWBIT_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <optional>

namespace lowbit {

struct QuantizePipelineOptions : public mlir::PassPipelineOptions<QuantizePipelineOptions> {
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("Weight format (q4_k, 'int4, group = 128'); empty: float")};
  ListOption<std::string> include{*this, "include", llvm::cl::desc("Regexes of weights to quantize")};
  ListOption<std::string> exclude{*this, "exclude", llvm::cl::desc("Regexes of weights to leave in float")};
  Option<bool> report{*this, "report", llvm::cl::desc("Print a line per weight"), llvm::cl::init(false)};
  Option<bool> measureError{*this, "measure-error",
                            llvm::cl::desc("Record each weight's relative error (lowbit.relative_error)"),
                            llvm::cl::init(false)};
};

/// Imported model -> quantized weights feeding lowbit.matmul, tidied.
void buildQuantizePipeline(mlir::OpPassManager &pm, const QuantizePipelineOptions &options);

/// Tensors with lowbit ops -> the LLVM dialect in the CPU runtime's calling
/// convention (docs/ARTIFACT.md): kernels through the dispatch context,
/// weights as entry arguments, buffers freed by ownership-based deallocation.
/// It is the two halves below, run back to back.
void buildCpuCodegenPipeline(mlir::OpPassManager &pm);

/// The first half: the runtime's convention on tensors (lowbit-lower-to-runtime),
/// after which the entry's arguments name every input and weight.
/// `interleaveRows` sets lowbit-lower-to-runtime's interleave-rows (the
/// packed weights' row layout); unset, the pass's default holds.
void buildCpuEntryPipeline(mlir::OpPassManager &pm, std::optional<bool> interleaveRows = std::nullopt);

/// The second half: fusion, bufferization, loops, the LLVM dialect.
void buildCpuLoweringPipeline(mlir::OpPassManager &pm);

/// Registers the pipelines above with the pass registry (lowbit-opt).
void registerPipelines();

/// Everything the pipelines need in a context: dialects, interface models,
/// LLVM IR translations.
void registerCodegenDialects(mlir::DialectRegistry &registry);

} // namespace lowbit

#endif // LOWBIT_PIPELINES_PIPELINES_H
