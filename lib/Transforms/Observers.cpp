//===- Observers.cpp - Calibration probes on the weight matmuls' inputs ---===//
//
// lowbit-insert-observers marks what to measure; lowbit-observers-to-results
// makes the measured tensors outputs of the model, so that calibration runs
// the float model in the ordinary runtime and reads them off its outputs
// (no runtime hook, no ABI change).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/Passes.h"
#include "lowbit/Transforms/WeightMatmul.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"

namespace lowbit {
#define GEN_PASS_DEF_INSERTOBSERVERSPASS
#define GEN_PASS_DEF_OBSERVERSTORESULTSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

class InsertObserversPass : public impl::InsertObserversPassBase<InsertObserversPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    // Group by activation value, in program order of first use, so q/k/v
    // (one value after CSE) get one observer.
    llvm::MapVector<Value, SmallVector<WeightMatmul>> byInput;
    for (WeightMatmul m : findWeightMatmuls(getOperation()))
      byInput[m.activation()].push_back(m);
    for (auto &[input, matmuls] : byInput) {
      OpBuilder b(&getContext());
      b.setInsertionPointAfterValue(input);
      SmallVector<Attribute> weights;
      for (WeightMatmul m : matmuls)
        weights.push_back(b.getStringAttr(weightName(m)));
      auto observe = ObserveOp::create(b, input.getLoc(), input, b.getStringAttr(weightName(matmuls.front())));
      observe->setAttr("lowbit.weights", b.getArrayAttr(weights));
      for (WeightMatmul m : matmuls)
        m.op.getDpsInputOperand(0)->set(observe.getResult());
    }
  }
};

class ObserversToResultsPass : public impl::ObserversToResultsPassBase<ObserversToResultsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    auto func = getOperation().lookupSymbol<func::FuncOp>(entry);
    WalkResult outside = getOperation().walk([&](ObserveOp op) {
      if (func && op->getParentOp() == func.getOperation() && func.getBody().hasOneBlock())
        return WalkResult::advance();
      op.emitError() << "lowbit-observers-to-results: only observes in the body of the entry function '" << entry
                     << "' can become its results";
      return WalkResult::interrupt();
    });
    if (outside.wasInterrupted())
      return signalPassFailure();
    if (!func)
      return;
    auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
    if (!ret) {
      func.emitError() << "lowbit-observers-to-results: the entry function does not end in func.return";
      return signalPassFailure();
    }
    SmallVector<ObserveOp> observes(func.getBody().front().getOps<ObserveOp>());
    unsigned first = func.getNumResults();
    SmallVector<Type> results(func.getResultTypes());
    for (ObserveOp op : observes) {
      ret->insertOperands(ret->getNumOperands(), op.getInput());
      results.push_back(op.getInput().getType());
    }
    func.setType(FunctionType::get(&getContext(), func.getArgumentTypes(), results));
    OpBuilder b(&getContext());
    for (auto [i, op] : llvm::enumerate(observes)) {
      func.setResultAttr(first + i, "onnx.name", b.getStringAttr("observe:" + op.getKey()));
      op.getResult().replaceAllUsesWith(op.getInput());
      op.erase();
    }
  }
};

} // namespace
} // namespace lowbit
