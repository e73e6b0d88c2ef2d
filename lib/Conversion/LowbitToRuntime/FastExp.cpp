//===- FastExp.cpp - f32 exp without libm ---------------------------------===//

#include "lowbit/Conversion/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lowbit {
#define GEN_PASS_DEF_FASTEXPPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

class FastExpPass : public impl::FastExpPassBase<FastExpPass> {
public:
  void runOnOperation() override {
    // The approximation turns a NaN into fptosi(NaN), poison in LLVM:
    // select the input back for NaNs.
    SmallVector<math::ExpOp> exps;
    getOperation()->walk([&](math::ExpOp op) {
      if (getElementTypeOrSelf(op.getType()).isF32())
        exps.push_back(op);
    });
    for (math::ExpOp op : exps) {
      OpBuilder b(op->getContext());
      b.setInsertionPointAfter(op);
      Location loc = op.getLoc();
      Value x = op.getOperand();
      Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
      Value result = arith::SelectOp::create(b, loc, isNan, x, op.getResult());
      op.getResult().replaceAllUsesExcept(result, result.getDefiningOp());
    }
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) { return name == "math.exp" || name == "exp"; });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
} // namespace lowbit
