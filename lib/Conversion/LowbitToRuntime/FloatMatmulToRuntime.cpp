//===- FloatMatmulToRuntime.cpp - f32 contractions to the runtime's kernel ===//
//
// Every f32 matmul-like linalg op of the entry function (a generic or named
// op with one reduction dimension and an `out + a * b` body: the importer's
// MatMul, Gemm and attention products, float weights or two activations)
// becomes a call of the runtime's batched, strided matmul
// (lowbit_matmul_f32_fn, abi.h) through the dispatch context.
//
// The operands are read in place where the IR only moves data on the way
// in: transposes, broadcasts and copies (any linalg op whose body yields its
// input), collapse_shape and expand_shape are folded into the strides, so
// attention's K^T and a grouped-query K/V repeated over the heads of its
// group are never materialized. Folding a collapse_shape splits the loop
// dimension it feeds (heads -> kv heads x heads per group), one stride per
// part. The kernel folds batch dimensions back into rows or columns where
// the memory allows.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Conversion/Passes.h"

#include "lowbit/abi.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

#include <cstddef>

namespace lowbit {
#define GEN_PASS_DEF_FLOATMATMULTORUNTIMEPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

constexpr StringLiteral kKernel = "lowbit_rt_matmul_f32";
constexpr int64_t kMaxBatch = LOWBIT_MATMUL_F32_MAX_BATCH;
constexpr int64_t kDescWords = LOWBIT_MATMUL_F32_DESC_WORDS;
/// Loop dimensions a contraction may grow to by splitting (M, N, K and the
/// batch dimensions the kernel takes).
constexpr size_t kMaxLoopDims = 3 + kMaxBatch;

/// coefficient * loop dimension.
struct Term {
  unsigned dim;
  int64_t coefficient;
};
/// An index into an operand as a sum of loop dimensions (empty: index 0).
using Expr = SmallVector<Term, 2>;

/// An operand read from `source`: index j of source is exprs[j].
struct View {
  Value source;
  SmallVector<Expr> exprs;
};

/// A contraction over loop dimensions of the given sizes.
struct Contraction {
  SmallVector<OpFoldResult> sizes;
  unsigned k;
  View a, b;
  SmallVector<Expr> c; // the result's index j is c[j]
};

bool uses(ArrayRef<Expr> exprs, unsigned dim) {
  return llvm::any_of(exprs, [&](const Expr &e) { return llvm::any_of(e, [&](Term t) { return t.dim == dim; }); });
}

/// The body is yield(out + a * b) (in either order).
bool isMulAddBody(Block &body) {
  if (body.getNumArguments() != 3)
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1 || std::distance(body.begin(), body.end()) != 3)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1), out = body.getArgument(2);
  Value product = add.getLhs() == out ? add.getRhs() : add.getRhs() == out ? add.getLhs() : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul || mul->getBlock() != &body)
    return false;
  return (mul.getLhs() == a && mul.getRhs() == b) || (mul.getLhs() == b && mul.getRhs() == a);
}

/// Exprs of a map whose results are loop dimensions or the constant 0.
std::optional<SmallVector<Expr>> exprsOf(AffineMap map) {
  SmallVector<Expr> exprs;
  for (AffineExpr e : map.getResults()) {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      exprs.push_back(Expr{{d.getPosition(), 1}});
    else if (auto c = dyn_cast<AffineConstantExpr>(e); c && c.getValue() == 0)
      exprs.push_back(Expr{});
    else
      return std::nullopt;
  }
  return exprs;
}

/// The contraction `op` computes, or nullopt.
std::optional<Contraction> match(linalg::LinalgOp op, OpBuilder &b) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics() ||
      op->getNumResults() != 1 || op.getNumReductionLoops() != 1)
    return std::nullopt;
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.getElementType().isF32())
      return std::nullopt;
  }
  if (!isMulAddBody(*op.getBlock()))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto a = exprsOf(maps[0]), bb = exprsOf(maps[1]), c = exprsOf(maps[2]);
  if (!a || !bb || !c)
    return std::nullopt;
  Contraction con;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < iterators.size(); ++d)
    if (iterators[d] == utils::IteratorType::reduction)
      con.k = d;
  // The output: every parallel dimension once, plain (no constants), never K.
  SmallVector<int> seen(iterators.size(), 0);
  for (const Expr &e : *c) {
    if (e.size() != 1)
      return std::nullopt;
    ++seen[e[0].dim];
  }
  for (unsigned d = 0; d < iterators.size(); ++d)
    if (seen[d] != (d == con.k ? 0 : 1))
      return std::nullopt;
  if (!uses(*a, con.k) || !uses(*bb, con.k))
    return std::nullopt;
  if (iterators.size() > kMaxLoopDims)
    return std::nullopt;

  // Loop sizes from the first operand dimension each loop indexes alone.
  Location loc = op.getLoc();
  con.sizes.assign(iterators.size(), OpFoldResult());
  Value operands[3] = {op.getDpsInputs()[0], op.getDpsInputs()[1], op.getDpsInits()[0]};
  const SmallVector<Expr> *exprs[3] = {&*a, &*bb, &*c};
  for (int i = 0; i < 3; ++i)
    for (auto [j, e] : llvm::enumerate(*exprs[i]))
      if (e.size() == 1 && !con.sizes[e[0].dim])
        con.sizes[e[0].dim] = tensor::getMixedSize(b, loc, operands[i], j);
  if (llvm::any_of(con.sizes, [](OpFoldResult s) { return !s; }))
    return std::nullopt;
  con.a = View{op.getDpsInputs()[0], *a};
  con.b = View{op.getDpsInputs()[1], *bb};
  con.c = *c;
  return con;
}

/// Replaces loop dimension `dim` by parts of the given sizes, outermost
/// first (parts[0] may be null: the rest of the size), in every expr.
void splitDim(Contraction &con, unsigned dim, ArrayRef<int64_t> innerSizes, OpFoldResult first) {
  SmallVector<unsigned> parts = {dim};
  for (size_t i = 0; i < innerSizes.size(); ++i)
    parts.push_back(con.sizes.size() + i);
  con.sizes[dim] = first;
  for (int64_t size : innerSizes)
    con.sizes.push_back(OpFoldResult(IntegerAttr::get(IndexType::get(first.getContext()), size)));
  // dim = sum_u part_u * prod_{w > u} inner_w
  SmallVector<int64_t> weights(parts.size(), 1);
  for (int u = static_cast<int>(parts.size()) - 2; u >= 0; --u)
    weights[u] = weights[u + 1] * innerSizes[u];
  auto rewrite = [&](SmallVector<Expr> &exprs) {
    for (Expr &e : exprs) {
      Expr out;
      for (Term t : e) {
        if (t.dim != dim) {
          out.push_back(t);
          continue;
        }
        for (size_t u = 0; u < parts.size(); ++u)
          out.push_back(Term{parts[u], t.coefficient * weights[u]});
      }
      e = out;
    }
  };
  rewrite(con.a.exprs);
  rewrite(con.b.exprs);
  rewrite(con.c);
}

/// The producer of `view` when it only moves data: any linalg op with one
/// input whose body yields that input, every loop parallel, the output map a
/// permutation and the input map dimensions or zeros.
bool throughCopy(View &view) {
  auto op = view.source.getDefiningOp<linalg::LinalgOp>();
  if (!op || op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 || op.getNumParallelLoops() != op.getNumLoops() ||
      !op.hasPureTensorSemantics() || op->getNumResults() != 1)
    return false;
  Block *body = op.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || !llvm::hasSingleElement(*body) || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != body->getArgument(0))
    return false;
  Value input = op.getDpsInputs()[0];
  if (!isa<RankedTensorType>(input.getType()))
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps[1].isPermutation())
    return false;
  auto inputExprs = exprsOf(maps[0]);
  if (!inputExprs)
    return false;
  // Loop l of the producer is output index p with maps[1](p) = l.
  SmallVector<Expr> next;
  for (const Expr &e : *inputExprs) {
    if (e.empty()) {
      next.push_back(Expr{});
      continue;
    }
    unsigned position = *maps[1].getResultPosition(getAffineDimExpr(e[0].dim, op.getContext()));
    next.push_back(view.exprs[position]);
  }
  view.source = input;
  view.exprs = std::move(next);
  return true;
}

/// Through an expand_shape: source index j is sum_u result_u * stride_u over
/// its group, with static inner sizes.
bool throughExpand(View &view) {
  auto expand = view.source.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand)
    return false;
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  SmallVector<Expr> next;
  for (ReassociationIndices group : expand.getReassociationIndices()) {
    Expr sum;
    int64_t weight = 1;
    for (int u = static_cast<int>(group.size()) - 1; u >= 0; --u) {
      for (Term t : view.exprs[group[u]])
        sum.push_back(Term{t.dim, t.coefficient * weight});
      if (u > 0) {
        if (ShapedType::isDynamic(shape[group[u]]))
          return false;
        weight *= shape[group[u]];
      }
    }
    next.push_back(sum);
  }
  view.source = expand.getSrc();
  view.exprs = std::move(next);
  return true;
}

/// Through a collapse_shape: a result index that is one loop dimension
/// (or 0) splits that loop dimension into one per source index of its
/// group. Never splits K (the kernel takes one reduction dimension).
bool throughCollapse(View &view, Contraction &con, bool isA, OpBuilder &b, Location loc) {
  auto collapse = view.source.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse)
    return false;
  ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
  SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
  size_t growth = 0;
  for (auto [r, group] : llvm::enumerate(groups)) {
    if (group.size() == 1 || view.exprs[r].empty())
      continue;
    const Expr &e = view.exprs[r];
    if (e.size() != 1 || e[0].coefficient != 1 || e[0].dim == con.k)
      return false;
    for (size_t u = 1; u < group.size(); ++u)
      if (ShapedType::isDynamic(shape[group[u]]))
        return false;
    // The dimension must feed this index alone in this operand.
    for (auto [q, other] : llvm::enumerate(view.exprs))
      if (q != r && llvm::any_of(other, [&](Term t) { return t.dim == e[0].dim; }))
        return false;
    growth += group.size() - 1;
  }
  if (con.sizes.size() + growth > kMaxLoopDims)
    return false;
  SmallVector<Expr> next(collapse.getSrcType().getRank());
  for (auto [r, group] : llvm::enumerate(groups)) {
    if (group.size() == 1) {
      next[group[0]] = view.exprs[r];
      continue;
    }
    if (view.exprs[r].empty()) {
      for (int64_t j : group)
        next[j] = Expr{};
      continue;
    }
    unsigned dim = view.exprs[r][0].dim;
    SmallVector<int64_t> inner;
    int64_t innerProduct = 1;
    for (size_t u = 1; u < group.size(); ++u) {
      inner.push_back(shape[group[u]]);
      innerProduct *= shape[group[u]];
    }
    OpFoldResult first = ShapedType::isDynamic(shape[group[0]])
                             ? OpFoldResult(arith::DivUIOp::create(b, loc,
                                                                   getValueOrCreateConstantIndexOp(b, loc, con.sizes[dim]),
                                                                   arith::ConstantIndexOp::create(b, loc, innerProduct))
                                                .getResult())
                             : OpFoldResult(b.getIndexAttr(shape[group[0]]));
    unsigned firstNew = con.sizes.size();
    splitDim(con, dim, inner, first);
    // The view being walked is a copy: rewrite it like the contraction's.
    View &self = isA ? con.a : con.b;
    view.exprs = self.exprs;
    next[group[0]] = Expr{{dim, 1}};
    for (size_t u = 1; u < group.size(); ++u)
      next[group[u]] = Expr{{firstNew + static_cast<unsigned>(u) - 1, 1}};
  }
  view.source = collapse.getSrc();
  view.exprs = std::move(next);
  return true;
}

/// Walks an operand up through the data movement that produced it.
void fold(Contraction &con, bool isA, OpBuilder &b, Location loc) {
  while (true) {
    View view = isA ? con.a : con.b;
    if (throughCopy(view) || throughExpand(view) || throughCollapse(view, con, isA, b, loc)) {
      (isA ? con.a : con.b) = view;
      continue;
    }
    return;
  }
}

/// A fully dynamic strided memref type of `rank`.
MemRefType stridedType(MLIRContext *context, int64_t rank) {
  SmallVector<int64_t> dynamic(rank, ShapedType::kDynamic);
  return MemRefType::get(dynamic, Float32Type::get(context),
                         StridedLayoutAttr::get(context, ShapedType::kDynamic, dynamic));
}

/// private func @__lowbit_matmul_f32_<ra>_<rb>_<rc>(ctx, A, B, C, desc words...):
/// stores the descriptor on the stack and calls the kernel with the
/// operands' addresses. Taking the buffers keeps them alive across the call.
func::FuncOp getOrCreateWrapper(ModuleOp module, int64_t ra, int64_t rb, int64_t rc) {
  std::string name = "__lowbit_matmul_f32_" + std::to_string(ra) + "_" + std::to_string(rb) + "_" + std::to_string(rc);
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  MLIRContext *context = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  Type i64 = b.getI64Type(), index = b.getIndexType();
  auto kernel = module.lookupSymbol<func::FuncOp>(kKernel);
  if (!kernel) {
    kernel = func::FuncOp::create(b, loc, kKernel, b.getFunctionType({i64, i64, i64, i64, i64}, {b.getI32Type()}));
    kernel.setPrivate();
  }
  SmallVector<Type> args = {i64, stridedType(context, ra), stridedType(context, rb), stridedType(context, rc)};
  args.append(kDescWords, index);
  auto wrapper = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  wrapper.setPrivate();
  Block *body = wrapper.addEntryBlock();
  b.setInsertionPointToStart(body);
  auto desc = memref::AllocaOp::create(b, loc, MemRefType::get({kDescWords}, i64));
  for (int64_t i = 0; i < kDescWords; ++i) {
    Value word = arith::IndexCastOp::create(b, loc, i64, body->getArgument(4 + i));
    memref::StoreOp::create(b, loc, word, desc, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
  }
  auto address = [&](Value buffer) -> Value {
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    Value bytes = arith::MulIOp::create(b, loc, metadata.getOffset(), arith::ConstantIndexOp::create(b, loc, 4));
    return arith::IndexCastOp::create(b, loc, i64, arith::AddIOp::create(b, loc, base, bytes));
  };
  Value descAddress = arith::IndexCastOp::create(b, loc, i64, memref::ExtractAlignedPointerAsIndexOp::create(b, loc, desc));
  func::CallOp::create(b, loc, kernel,
                       ValueRange{body->getArgument(0), address(body->getArgument(1)), address(body->getArgument(2)),
                                  address(body->getArgument(3)), descAddress});
  func::ReturnOp::create(b, loc);
  return wrapper;
}

class FloatMatmulToRuntimePass : public impl::FloatMatmulToRuntimePassBase<FloatMatmulToRuntimePass> {
public:
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entryFn = module.lookupSymbol<func::FuncOp>(entry);
    if (!entryFn || entryFn.isExternal() || !entryFn.getNumArguments() || !entryFn.getArgAttr(0, kContextAttr)) {
      module.emitError() << "lowbit-float-matmul-to-runtime: no entry function '" << entry
                         << "' with the dispatch context (run lowbit-lower-to-runtime first)";
      return signalPassFailure();
    }
    Value context = entryFn.getArgument(0);
    SmallVector<linalg::LinalgOp> candidates;
    entryFn.walk([&](linalg::LinalgOp op) { candidates.push_back(op); });
    for (linalg::LinalgOp op : candidates)
      lower(op, context, module);
  }

private:
  void lower(linalg::LinalgOp op, Value context, ModuleOp module) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    std::optional<Contraction> matched = match(op, b);
    if (!matched)
      return;
    Contraction &con = *matched;
    Value init = op.getDpsInits()[0];
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    SmallVector<Value> dynamicSizes;
    for (auto [j, e] : llvm::enumerate(con.c))
      if (resultType.isDynamicDim(j))
        dynamicSizes.push_back(getValueOrCreateConstantIndexOp(b, loc, con.sizes[e[0].dim]));
    fold(con, /*isA=*/true, b, loc);
    fold(con, /*isA=*/false, b, loc);

    // Roles: K; M the row index of A and C that B lacks (the one innermost
    // in A), N likewise for B; every other dimension is a batch dimension.
    const unsigned dims = con.sizes.size();
    auto lastPosition = [&](ArrayRef<Expr> exprs, unsigned d) {
      int position = -1;
      for (auto [j, e] : llvm::enumerate(exprs))
        if (llvm::any_of(e, [&](Term t) { return t.dim == d; }))
          position = static_cast<int>(j);
      return position;
    };
    std::optional<unsigned> m, n;
    for (unsigned d = 0; d < dims; ++d) {
      if (d == con.k)
        continue;
      bool inA = uses(con.a.exprs, d), inB = uses(con.b.exprs, d);
      if (inA && !inB && (!m || lastPosition(con.a.exprs, d) > lastPosition(con.a.exprs, *m)))
        m = d;
      if (inB && !inA && (!n || lastPosition(con.b.exprs, d) > lastPosition(con.b.exprs, *n)))
        n = d;
    }
    SmallVector<unsigned> batch;
    for (unsigned d = 0; d < dims; ++d)
      if (d != con.k && d != m && d != n)
        batch.push_back(d);
    if (static_cast<int64_t>(batch.size()) > kMaxBatch)
      return;

    // Buffers: A and B read in place, C fresh (holding the init unless it
    // is a fill with 0).
    MLIRContext *ctx = &getContext();
    auto bufferOf = [&](Value tensor) {
      auto type = cast<RankedTensorType>(tensor.getType());
      SmallVector<int64_t> dynamic(type.getRank(), ShapedType::kDynamic);
      auto bufferType = MemRefType::get(type.getShape(), type.getElementType(),
                                        StridedLayoutAttr::get(ctx, ShapedType::kDynamic, dynamic));
      return bufferization::ToBufferOp::create(b, loc, bufferType, tensor, /*read_only=*/true).getResult();
    };
    Value aBuffer = bufferOf(con.a.source), bBuffer = bufferOf(con.b.source);
    Value output = memref::AllocOp::create(b, loc, MemRefType::get(resultType.getShape(), b.getF32Type()), dynamicSizes);
    bool accumulate = !isZeroFill(init);
    if (accumulate)
      memref::CopyOp::create(b, loc, bufferOf(init), output);

    // Index constants, one per value.
    llvm::SmallDenseMap<int64_t, Value> constants;
    auto constant = [&](int64_t v) {
      Value &c = constants[v];
      if (!c)
        c = arith::ConstantIndexOp::create(b, loc, v);
      return c;
    };
    auto valueOf = [&](OpFoldResult size) {
      if (std::optional<int64_t> v = getConstantIntValue(size))
        return constant(*v);
      return cast<Value>(size);
    };
    // Strides per loop dimension: sum of coefficient * the source's stride.
    auto strides = [&](Value buffer, ArrayRef<Expr> exprs) {
      SmallVector<Value> out(dims);
      auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
      for (auto [j, e] : llvm::enumerate(exprs))
        for (Term t : e) {
          Value s = metadata.getStrides()[j];
          if (t.coefficient != 1)
            s = arith::MulIOp::create(b, loc, s, constant(t.coefficient));
          out[t.dim] = out[t.dim] ? arith::AddIOp::create(b, loc, out[t.dim], s).getResult() : s;
        }
      for (Value &v : out)
        if (!v)
          v = constant(0);
      return out;
    };
    SmallVector<Value> sa = strides(aBuffer, con.a.exprs), sb = strides(bBuffer, con.b.exprs),
                       sc = strides(output, con.c);
    auto size = [&](std::optional<unsigned> d) { return d ? valueOf(con.sizes[*d]) : constant(1); };
    auto at = [&](const SmallVector<Value> &s, std::optional<unsigned> d) { return d ? s[*d] : constant(0); };
    SmallVector<Value> words = {size(m),        size(n),   size(con.k), at(sa, m),  at(sa, con.k),
                                at(sb, con.k),  at(sb, n), at(sc, m),   at(sc, n),
                                constant(accumulate ? LOWBIT_MATMUL_F32_ACCUMULATE : 0),
                                constant(static_cast<int64_t>(batch.size()))};
    const SmallVector<Value> *sources[] = {nullptr, &sa, &sb, &sc};
    for (const SmallVector<Value> *source : sources)
      for (int64_t j = 0; j < kMaxBatch; ++j) {
        if (j >= static_cast<int64_t>(batch.size()))
          words.push_back(constant(source ? 0 : 1));
        else
          words.push_back(source ? (*source)[batch[j]] : size(batch[j]));
      }
    assert(static_cast<int64_t>(words.size()) == kDescWords);

    auto rankOf = [](Value v) { return cast<MemRefType>(v.getType()).getRank(); };
    func::FuncOp wrapper = getOrCreateWrapper(module, rankOf(aBuffer), rankOf(bBuffer), rankOf(output));
    SmallVector<Value> args = {context};
    for (Value buffer : {aBuffer, bBuffer, output})
      args.push_back(memref::CastOp::create(b, loc, stridedType(ctx, rankOf(buffer)), buffer));
    args.append(words);
    func::CallOp::create(b, loc, wrapper, args);
    Value result = bufferization::ToTensorOp::create(b, loc, resultType, output, /*restrict=*/true, /*writable=*/true);
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
  }

  static bool isZeroFill(Value init) {
    auto fill = init.getDefiningOp<linalg::FillOp>();
    if (!fill)
      return false;
    FloatAttr value;
    return matchPattern(fill.getInputs()[0], m_Constant(&value)) && value.getValue().isPosZero();
  }
};

} // namespace
} // namespace lowbit
