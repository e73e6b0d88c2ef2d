//===- OutlineParallelLoops.cpp - Loops onto the runtime's thread pool ----===//
//
// Each scf.parallel at the top of the entry function (one per linalg op, from
// convert-linalg-to-parallel-loops) becomes a call of a launcher, and its
// body a function over one chunk of the iteration space. The launcher (a
// declaration here; lowbit-resolve-runtime-calls defines it on the LLVM
// dialect) picks a number of chunks from the work and the context's
// workers and runs them through the context's parallel_for, or calls the
// body once inline when the work is small.
//
// A chunk is a contiguous range of the iteration space linearized row-major:
// the body walks the rows it touches and, in each, a contiguous run of the
// innermost dimension, so the innermost loop stays a plain unit-step loop
// that LLVM can vectorize.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Conversion/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace lowbit {
#define GEN_PASS_DEF_OUTLINEPARALLELLOOPSPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

/// Trip count assumed for a loop whose bounds are only known inside the
/// parallel loop.
constexpr int64_t kUnknownTrips = 16;

class Outliner {
public:
  Outliner(ModuleOp module, Value context) : module_(module), context_(context) {}

  void outline(scf::ParallelOp loop) {
    if (loop.getNumReductions() != 0)
      return;
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    const unsigned rank = loop.getNumLoops();
    // Iterations per dimension.
    SmallVector<Value> counts;
    for (unsigned i = 0; i < rank; ++i)
      counts.push_back(tripCount(b, loc, loop.getLowerBound()[i], loop.getUpperBound()[i], loop.getStep()[i]));
    Value total = counts[0];
    for (unsigned i = 1; i < rank; ++i)
      total = b.createOrFold<arith::MulIOp>(loc, total, counts[i]);
    Value work = b.createOrFold<arith::MulIOp>(loc, total, cost(b, loc, loop, *loop.getBody()));

    // What the body needs from outside: bounds, counts and the values its
    // ops use; constants are rematerialized inside instead.
    llvm::SetVector<Value> needed;
    for (unsigned i = 0; i < rank; ++i) {
      needed.insert(loop.getLowerBound()[i]);
      needed.insert(loop.getStep()[i]);
      needed.insert(counts[i]);
    }
    getUsedValuesDefinedAbove(loop.getRegion(), needed);
    SmallVector<Value> captures;
    SmallVector<Operation *> constants;
    for (Value v : needed) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>())
        constants.push_back(def);
      else
        captures.push_back(v);
    }

    std::string suffix = std::to_string(next_++);
    func::FuncOp body = createBody("__lowbit_parallel_body_" + suffix, loop, counts, captures, constants);

    // The launcher: (context, work, total, captures...).
    OpBuilder mb = OpBuilder::atBlockEnd(module_.getBody());
    SmallVector<Type> launchTypes = {b.getI64Type(), b.getIndexType(), b.getIndexType()};
    for (Value v : captures)
      launchTypes.push_back(v.getType());
    auto launch = func::FuncOp::create(mb, loc, "__lowbit_parallel_launch_" + suffix,
                                       mb.getFunctionType(launchTypes, {}));
    launch.setPrivate();
    launch->setAttr(kParallelBodyAttr, mb.getStringAttr(body.getName()));
    SmallVector<Value> args = {context_, work, total};
    args.append(captures);
    func::CallOp::create(b, loc, launch, args);
    loop.erase();
  }

private:
  /// ceil((ub - lb) / step), with the common lb = 0, step = 1 folded.
  static Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
    Value span = b.createOrFold<arith::SubIOp>(loc, ub, lb);
    if (matchPattern(step, m_One()))
      return span;
    Value stepMinusOne = b.createOrFold<arith::SubIOp>(loc, step, arith::ConstantIndexOp::create(b, loc, 1));
    return b.createOrFold<arith::DivUIOp>(loc, b.createOrFold<arith::AddIOp>(loc, span, stepMinusOne), step);
  }

  /// Ops executed per iteration of `block`, as a value computed before
  /// `loop`: inner loops count their trips where their bounds are known
  /// outside `loop`.
  static Value cost(OpBuilder &b, Location loc, scf::ParallelOp loop, Block &block) {
    int64_t plain = 0;
    Value sum = arith::ConstantIndexOp::create(b, loc, 0);
    for (Operation &op : block.without_terminator()) {
      auto inner = dyn_cast<scf::ForOp>(op);
      if (!inner) {
        ++plain;
        continue;
      }
      auto outside = [&](Value v) { return !loop->isAncestor(v.getParentRegion()->getParentOp()); };
      Value trips;
      if (outside(inner.getLowerBound()) && outside(inner.getUpperBound()) && outside(inner.getStep()))
        trips = tripCount(b, loc, inner.getLowerBound(), inner.getUpperBound(), inner.getStep());
      else
        trips = arith::ConstantIndexOp::create(b, loc, kUnknownTrips);
      sum = b.createOrFold<arith::AddIOp>(
          loc, sum, b.createOrFold<arith::MulIOp>(loc, trips, cost(b, loc, loop, *inner.getBody())));
    }
    return b.createOrFold<arith::AddIOp>(loc, sum, arith::ConstantIndexOp::create(b, loc, plain + 1));
  }

  /// func @name(%g, %G, captures...): runs chunk g of G.
  func::FuncOp createBody(StringRef name, scf::ParallelOp loop, ArrayRef<Value> counts, ArrayRef<Value> captures,
                          ArrayRef<Operation *> constants) {
    OpBuilder mb = OpBuilder::atBlockEnd(module_.getBody());
    Location loc = loop.getLoc();
    Type index = mb.getIndexType();
    SmallVector<Type> types = {index, index};
    for (Value v : captures)
      types.push_back(v.getType());
    auto fn = func::FuncOp::create(mb, loc, name, mb.getFunctionType(types, {}));
    fn.setPrivate();
    Block *entry = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Operation *c : constants)
      b.clone(*c, map);
    for (auto [i, v] : llvm::enumerate(captures))
      map.map(v, entry->getArgument(2 + i));
    Value g = entry->getArgument(0), groups = entry->getArgument(1);
    const unsigned rank = loop.getNumLoops();
    // Dimensions of one iteration (a reduction's kept unit dimension, say)
    // stay out of the linearization: their index is the lower bound.
    SmallVector<unsigned> active;
    for (unsigned i = 0; i < rank; ++i)
      if (!matchPattern(counts[i], m_One()))
        active.push_back(i);
    if (active.empty())
      active.push_back(rank - 1);
    SmallVector<Value> ivs(rank);
    for (unsigned i = 0; i < rank; ++i)
      ivs[i] = map.lookup(loop.getLowerBound()[i]);
    SmallVector<Value> n;
    for (unsigned i : active)
      n.push_back(map.lookup(counts[i]));
    const unsigned dims = active.size();
    Value total = n[0];
    for (unsigned i = 1; i < dims; ++i)
      total = arith::MulIOp::create(b, loc, total, n[i]);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0), one = arith::ConstantIndexOp::create(b, loc, 1);
    // [begin, end) = [g * total / G, (g + 1) * total / G)
    Value begin = arith::DivUIOp::create(b, loc, arith::MulIOp::create(b, loc, g, total), groups);
    Value end = arith::DivUIOp::create(
        b, loc, arith::MulIOp::create(b, loc, arith::AddIOp::create(b, loc, g, one), total), groups);
    Value last = n[dims - 1];
    Value rowBegin = arith::DivUIOp::create(b, loc, begin, last);
    Value rowEnd = arith::CeilDivUIOp::create(b, loc, end, last);
    auto rows = scf::ForOp::create(b, loc, rowBegin, rowEnd, one);
    b.setInsertionPointToStart(rows.getBody());
    Value row = rows.getInductionVar();
    Value rowStart = arith::MulIOp::create(b, loc, row, last);
    Value from = arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, begin, rowStart), zero);
    Value to = arith::MinSIOp::create(b, loc, arith::SubIOp::create(b, loc, end, rowStart), last);
    // The row's outer indices, innermost first.
    auto iv = [&](unsigned i, Value index) {
      return arith::AddIOp::create(b, loc, map.lookup(loop.getLowerBound()[i]),
                                   arith::MulIOp::create(b, loc, index, map.lookup(loop.getStep()[i])))
          .getResult();
    };
    Value rest = row;
    for (int d = static_cast<int>(dims) - 2; d >= 0; --d) {
      Value index = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, n[d]).getResult();
      if (d > 0)
        rest = arith::DivUIOp::create(b, loc, rest, n[d]);
      ivs[active[d]] = iv(active[d], index);
    }
    auto inner = scf::ForOp::create(b, loc, from, to, one);
    b.setInsertionPointToStart(inner.getBody());
    ivs[active[dims - 1]] = iv(active[dims - 1], inner.getInductionVar());
    for (unsigned i = 0; i < rank; ++i)
      map.map(loop.getInductionVars()[i], ivs[i]);
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b, loc);
    return fn;
  }

  ModuleOp module_;
  Value context_;
  unsigned next_ = 0;
};

class OutlineParallelLoopsPass : public impl::OutlineParallelLoopsPassBase<OutlineParallelLoopsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entryFn = module.lookupSymbol<func::FuncOp>(entry);
    if (!entryFn || entryFn.isExternal() || !entryFn.getNumArguments() ||
        !entryFn.getArgument(0).getType().isInteger(64)) {
      module.emitError() << "lowbit-outline-parallel-loops: no entry function '" << entry
                         << "' taking the dispatch context (an i64) first";
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> loops;
    for (Block &block : entryFn.getBody())
      for (auto loop : block.getOps<scf::ParallelOp>())
        loops.push_back(loop);
    Outliner outliner(module, entryFn.getArgument(0));
    for (scf::ParallelOp loop : loops)
      outliner.outline(loop);
  }
};

} // namespace
} // namespace lowbit
