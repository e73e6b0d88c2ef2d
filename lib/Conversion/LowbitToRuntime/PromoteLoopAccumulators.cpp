//===- PromoteLoopAccumulators.cpp - Reductions in registers --------------===//
//
// convert-linalg-to-(parallel-)loops writes a reduction as a loop that loads
// the output element, combines and stores it back on every iteration. LLVM
// cannot keep that element in a register: the output and the inputs are
// pointers it cannot tell apart. Here, at the loop level, the element moves
// into the loop's iter_args (load before, store after), and an `addf`
// combiner is marked `reassoc` so the loop vectorizer may split the sum into
// lanes (the order of a float sum changes; every fast CPU backend allows
// it for reductions).
//
// Sound for loops from linalg ops on buffers: one-shot bufferization never
// lets an input alias the output a reduction writes (that would be a
// read-after-write conflict it resolves with a copy).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Conversion/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace lowbit {
#define GEN_PASS_DEF_PROMOTELOOPACCUMULATORSPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

/// Whether `op` (with its regions) only reads memory.
bool onlyReads(Operation *op) {
  if (isa<memref::LoadOp>(op) || isMemoryEffectFree(op))
    return true;
  if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>()) {
    for (Region &region : op->getRegions())
      for (Operation &inner : region.getOps())
        if (!onlyReads(&inner))
          return false;
    return true;
  }
  return false;
}

bool definedOutside(Value v, scf::ForOp loop) { return !loop->isAncestor(v.getParentRegion()->getParentOp()); }

/// Moves the one element `loop` accumulates into an iter_arg; returns the
/// new loop or null.
scf::ForOp promote(scf::ForOp loop) {
  if (loop.getNumRegionIterArgs() != 0)
    return nullptr;
  Block *body = loop.getBody();
  memref::StoreOp store;
  for (Operation &op : body->without_terminator()) {
    if (auto s = dyn_cast<memref::StoreOp>(op)) {
      if (store)
        return nullptr; // two stores
      store = s;
      continue;
    }
    if (!onlyReads(&op))
      return nullptr;
  }
  if (!store || !definedOutside(store.getMemRef(), loop) ||
      !llvm::all_of(store.getIndices(), [&](Value v) { return definedOutside(v, loop); }))
    return nullptr;
  // The element is read once, before the store, at the same indices, and
  // the buffer is used for nothing else in the loop.
  memref::LoadOp load;
  for (OpOperand &use : store.getMemRef().getUses()) {
    Operation *user = use.getOwner();
    if (!loop->isAncestor(user) || user == store)
      continue;
    auto l = dyn_cast<memref::LoadOp>(user);
    if (!l || load || l->getBlock() != body || !llvm::equal(l.getIndices(), store.getIndices()) || !l->isBeforeInBlock(store))
      return nullptr;
    load = l;
  }
  if (!load)
    return nullptr;

  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value buffer = store.getMemRef();
  SmallVector<Value> indices(store.getIndices());
  Value init = memref::LoadOp::create(b, loc, buffer, indices);
  auto promoted = scf::ForOp::create(b, loc, loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
                                     ValueRange{init});
  Block *newBody = promoted.getBody();
  if (!newBody->empty() && newBody->back().hasTrait<OpTrait::IsTerminator>())
    newBody->back().erase();
  // Move the old body's ops over, all but its yield.
  newBody->getOperations().splice(newBody->end(), body->getOperations(), body->begin(), std::prev(body->end()));
  loop.getInductionVar().replaceAllUsesWith(promoted.getInductionVar());
  Value acc = promoted.getRegionIterArgs()[0];
  load.getResult().replaceAllUsesWith(acc);
  Value next = store.getValueToStore();
  b.setInsertionPointToEnd(newBody);
  scf::YieldOp::create(b, loc, next);
  store.erase();
  load.erase();
  b.setInsertionPointAfter(promoted);
  memref::StoreOp::create(b, loc, promoted.getResult(0), buffer, indices);
  loop.erase();
  // A sum may be reassociated (split into vector lanes).
  if (auto add = next.getDefiningOp<arith::AddFOp>();
      add && (add.getLhs() == acc || add.getRhs() == acc))
    add.setFastmath(add.getFastmath() | arith::FastMathFlags::reassoc);
  return promoted;
}

class PromoteLoopAccumulatorsPass : public impl::PromoteLoopAccumulatorsPassBase<PromoteLoopAccumulatorsPass> {
public:
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation()->walk([&](scf::ForOp loop) { loops.push_back(loop); }); // innermost first
    for (scf::ForOp loop : loops)
      (void)promote(loop);
  }
};

} // namespace
} // namespace lowbit
