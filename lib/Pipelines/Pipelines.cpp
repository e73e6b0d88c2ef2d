//===- Pipelines.cpp - lowbit's named pass pipelines ----------------------===//

#include "lowbit/Pipelines/Pipelines.h"

#include "lowbit/Conversion/Passes.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace lowbit {
namespace {

/// Turns each memref.copy between buffers that are not both plain row-major
/// (a Concat's strided subview, say) into a linalg.copy, which becomes loops.
/// Left alone, MemRefToLLVM lowers such a copy to a call to `memrefCopy`
/// from MLIR's C runner utils, a library the runtime does not load: the
/// artifact's host code then fails to load with "undefined symbol:
/// memrefCopy". Plain copies stay memref.copy (an LLVM memcpy).
struct StridedCopiesToLinalgPass : PassWrapper<StridedCopiesToLinalgPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(StridedCopiesToLinalgPass)
  StringRef getArgument() const override { return "lowbit-strided-copies-to-linalg"; }
  void getDependentDialects(DialectRegistry &registry) const override { registry.insert<linalg::LinalgDialect>(); }
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) {
      auto source = dyn_cast<MemRefType>(op.getSource().getType());
      auto target = dyn_cast<MemRefType>(op.getTarget().getType());
      if (!source || !target || !source.getLayout().isIdentity() || !target.getLayout().isIdentity())
        copies.push_back(op);
    });
    for (memref::CopyOp op : copies) {
      OpBuilder b(op);
      linalg::CopyOp::create(b, op.getLoc(), ValueRange{op.getSource()}, ValueRange{op.getTarget()});
      op.erase();
    }
  }
};

} // namespace

void buildQuantizePipeline(OpPassManager &pm, const QuantizePipelineOptions &options) {
  if (!options.format.empty()) {
    QuantizeWeightsPassOptions quantize;
    quantize.format = options.format;
    quantize.include.assign(options.include.begin(), options.include.end());
    quantize.exclude.assign(options.exclude.begin(), options.exclude.end());
    quantize.report = options.report;
    quantize.measureError = options.measureError;
    pm.addPass(createQuantizeWeightsPass(quantize));
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void buildCpuCodegenPipeline(OpPassManager &pm) {
  buildCpuEntryPipeline(pm);
  buildCpuLoweringPipeline(pm);
}

void buildCpuEntryPipeline(OpPassManager &pm, std::optional<bool> interleaveRows) {
  LowerToRuntimePassOptions lowerToRuntime;
  if (interleaveRows)
    lowerToRuntime.interleaveRows = *interleaveRows;
  pm.addPass(createLowerToRuntimePass(lowerToRuntime));
  pm.addPass(createFloatMatmulToRuntimePass());
}

void buildCpuLoweringPipeline(OpPassManager &pm) {
  // Tensors: fuse elementwise chains.
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createDuplicateElementwiseProducersPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createFastExpPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Buffers, freed as soon as they die; results are owned by the caller.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.unknownTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(bufferization::createOwnershipBasedBufferDeallocationPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(bufferization::createBufferDeallocationSimplificationPass());
  pm.addPass(bufferization::createLowerDeallocationsPass());
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());

  // Loops, then the LLVM dialect. erf and friends become libm calls.
  pm.addPass(std::make_unique<StridedCopiesToLinalgPass>());
  // Parallel loops, the top-level ones outlined onto the runtime's pool.
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createPromoteLoopAccumulatorsPass());
  pm.addPass(createOutlineParallelLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass()); // emits affine.apply
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // math.rsqrt (LayerNormalization) becomes 1 / sqrt first: MathToLibm would
  // call rsqrtf, which glibc's libm does not have (the artifact's host code
  // then fails to load with "undefined symbol: rsqrtf").
  math::MathExpandOpsPassOptions expand;
  expand.opMnemonics = {"rsqrt"};
  pm.addPass(math::createMathExpandOpsPass(expand));
  pm.addPass(createMathToInstructionsPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createResolveRuntimeCallsPass());
  pm.addPass(createCanonicalizerPass());
}

void registerPipelines() {
  PassPipelineRegistration<QuantizePipelineOptions>(
      "lowbit-quantize-pipeline", "Quantize an imported model's weights and tidy the IR",
      buildQuantizePipeline);
  PassPipelineRegistration<>("lowbit-cpu-codegen",
                             "Lower tensors with lowbit ops to the LLVM dialect for the CPU runtime",
                             buildCpuCodegenPipeline);
}

void registerCodegenDialects(DialectRegistry &registry) {
  registry.insert<LowbitDialect, arith::ArithDialect, bufferization::BufferizationDialect,
                  cf::ControlFlowDialect, func::FuncDialect, linalg::LinalgDialect, LLVM::LLVMDialect,
                  math::MathDialect, memref::MemRefDialect, scf::SCFDialect, tensor::TensorDialect,
                  ub::UBDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  arith::registerBufferDeallocationOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  cf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  memref::registerAllocationOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

} // namespace lowbit
