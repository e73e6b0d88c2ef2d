//===- DuplicateElementwiseProducers.cpp - Recompute cheap shared ops -----===//
//
// linalg-fuse-elementwise-ops fuses a producer into its consumer only when
// the consumer is its one user, so a tensor read by two ops is always
// written to memory. In attention that is the scaled and masked scores
// (heads x queries x keys floats per layer), read by softmax's max and by
// its exp: one full write and two reads of the largest tensor of the
// model. A producer that is a few arithmetic ops per element is cheaper to
// recompute than to store and load, so this pass gives each consumer its
// own copy; the next fusion pass then fuses every copy away. A consumer
// that reads the tensor through an expand_shape adding unit dimensions
// reads the tensor itself instead (its indexing map drops the unit
// dimensions).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

namespace lowbit {
#define GEN_PASS_DEF_DUPLICATEELEMENTWISEPRODUCERSPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

/// At most this many arithmetic ops per element are recomputed.
constexpr int kMaxCheapOps = 6;

bool isCheap(linalg::GenericOp op) {
  if (op.getNumParallelLoops() != op.getNumLoops() || !op.hasPureTensorSemantics() || op->getNumResults() != 1)
    return false;
  int count = 0;
  for (Operation &inner : op.getBody()->without_terminator()) {
    if (!isa<arith::ArithDialect>(inner.getDialect()) || inner.getNumRegions() != 0)
      return false; // math (exp, erf...) is not cheap to recompute
    if (++count > kMaxCheapOps)
      return false;
  }
  return true;
}

/// The consumer's operand when `use` is an expand_shape that adds only unit
/// dimensions and feeds one linalg.generic input with a projected
/// permutation map; else null.
OpOperand *unitExpandIntoGeneric(OpOperand *use) {
  auto expand = dyn_cast<tensor::ExpandShapeOp>(use->getOwner());
  if (!expand || !expand.getResult().hasOneUse())
    return nullptr;
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  for (ReassociationIndices group : expand.getReassociationIndices())
    if (llvm::count_if(group, [&](int64_t d) { return shape[d] != 1; }) > 1)
      return nullptr;
  OpOperand &next = *expand.getResult().getUses().begin();
  auto consumer = dyn_cast<linalg::GenericOp>(next.getOwner());
  if (!consumer || !consumer.isDpsInput(&next) || !consumer.getMatchingIndexingMap(&next).isProjectedPermutation())
    return nullptr;
  return &next;
}

/// Makes the consumer behind a unit expand_shape read its source directly:
/// its indexing map keeps, per group, the result of the non-unit dimension.
OpOperand *foldUnitExpand(OpOperand *use) {
  auto expand = cast<tensor::ExpandShapeOp>(use->getOwner());
  OpOperand *next = unitExpandIntoGeneric(use);
  auto consumer = cast<linalg::GenericOp>(next->getOwner());
  AffineMap map = consumer.getMatchingIndexingMap(next);
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  SmallVector<AffineExpr> results;
  for (ReassociationIndices group : expand.getReassociationIndices()) {
    int64_t keep = group.front();
    for (int64_t d : group)
      if (shape[d] != 1)
        keep = d;
    results.push_back(map.getResult(keep));
  }
  SmallVector<AffineMap> maps = consumer.getIndexingMapsArray();
  maps[next->getOperandNumber()] = AffineMap::get(map.getNumDims(), 0, results, map.getContext());
  consumer.setIndexingMapsAttr(OpBuilder(consumer).getAffineMapArrayAttr(maps));
  next->set(expand.getSrc());
  expand.erase();
  return next;
}

class DuplicateElementwiseProducersPass
    : public impl::DuplicateElementwiseProducersPassBase<DuplicateElementwiseProducersPass> {
public:
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> producers;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (isCheap(op) && !op->getResult(0).hasOneUse() && !op->getResult(0).use_empty())
        producers.push_back(op);
    });
    for (linalg::GenericOp producer : producers) {
      // Only when every user can fuse its copy: then nothing is stored.
      // A shape query reads the init's shape instead (the same).
      SmallVector<OpOperand *> uses, dims;
      for (OpOperand &use : producer->getResult(0).getUses())
        (isa<tensor::DimOp>(use.getOwner()) ? dims : uses).push_back(&use);
      if (uses.size() < 2 && dims.empty())
        continue;
      bool allFuse = llvm::all_of(uses, [](OpOperand *use) {
        if (auto consumer = dyn_cast<linalg::GenericOp>(use->getOwner()))
          return consumer.isDpsInput(use) && linalg::areElementwiseOpsFusable(use);
        // Through an expand_shape that only adds unit dimensions (softmax's
        // reductions see the scores so), folded into the consumer below.
        return unitExpandIntoGeneric(use) != nullptr;
      });
      if (!allFuse)
        continue;
      for (OpOperand *&use : uses)
        if (!isa<linalg::GenericOp>(use->getOwner()))
          use = foldUnitExpand(use);
      for (OpOperand *dim : dims)
        dim->set(producer.getDpsInits()[0]);
      OpBuilder b(producer);
      for (OpOperand *use : ArrayRef(uses).drop_front())
        use->set(b.clone(*producer)->getResult(0));
    }
  }
};

} // namespace
} // namespace lowbit
