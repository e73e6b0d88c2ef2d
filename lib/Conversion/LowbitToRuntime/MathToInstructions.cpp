//===- MathToInstructions.cpp - math ops that are instructions ------------===//

#include "lowbit/Conversion/Passes.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Transforms/DialectConversion.h"

namespace lowbit {
#define GEN_PASS_DEF_MATHTOINSTRUCTIONSPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

class MathToInstructionsPass : public impl::MathToInstructionsPassBase<MathToInstructionsPass> {
public:
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    LLVMTypeConverter converter(context);
    RewritePatternSet patterns(context);
    populateMathToLLVMConversionPatterns(converter, patterns);
    // Only these are converted; every other math op is left for libm.
    ConversionTarget target(*context);
    target.addIllegalOp<math::FloorOp, math::CeilOp, math::TruncOp, math::RoundEvenOp, math::FmaOp, math::SqrtOp,
                        math::AbsFOp, math::CopySignOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace lowbit
