//===- Normalization.cpp - Reductions, Softmax, LayerNormalization --------===//

#include "NodeImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace lowbit::onnx_import {
namespace {

using Combine = llvm::function_ref<Value(OpBuilder &, Location, Value acc, Value x)>;

/// Reduces `input` over `reduced` (one flag per dimension) with `combine`,
/// starting from `initial`. With `keepDims` the reduced dimensions stay as 1.
Value buildReduce(OpBuilder &b, Location loc, Value input, ArrayRef<bool> reduced, bool keepDims,
                  double initial, Combine combine) {
  auto type = cast<RankedTensorType>(input.getType());
  MLIRContext *context = b.getContext();
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> inputSizes = tensorSizes(b, loc, input);
  SmallVector<OpFoldResult> sizes;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    iterators.push_back(reduced[d] ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (!reduced[d]) {
      sizes.push_back(inputSizes[d]);
      outExprs.push_back(getAffineDimExpr(d, context));
    }
  }
  Type element = type.getElementType();
  Value empty = tensor::EmptyOp::create(b, loc, sizes, element);
  Value init = linalg::FillOp::create(b, loc, scalarConstant(b, loc, element, initial), empty).getResult(0);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank), AffineMap::get(rank, 0, outExprs, context)};
  auto generic = linalg::GenericOp::create(b, 
      loc, TypeRange{init.getType()}, ValueRange{input}, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, combine(nb, l, args[1], args[0]));
      });
  Value result = generic.getResult(0);
  if (!keepDims)
    return result;
  SmallVector<OpFoldResult> kept;
  for (int64_t d = 0; d < rank; ++d)
    kept.push_back(reduced[d] ? OpFoldResult(b.getIndexAttr(1)) : inputSizes[d]);
  return reshapeTo(b, loc, result, kept);
}

Value addValues(OpBuilder &b, Location l, Value acc, Value x) {
  return isa<FloatType>(x.getType()) ? arith::AddFOp::create(b, l, acc, x).getResult()
                                     : arith::AddIOp::create(b, l, acc, x).getResult();
}
Value maxValues(OpBuilder &b, Location l, Value acc, Value x) {
  return isa<FloatType>(x.getType()) ? arith::MaximumFOp::create(b, l, acc, x).getResult()
                                     : arith::MaxSIOp::create(b, l, acc, x).getResult();
}
Value minValues(OpBuilder &b, Location l, Value acc, Value x) {
  return isa<FloatType>(x.getType()) ? arith::MinimumFOp::create(b, l, acc, x).getResult()
                                     : arith::MinSIOp::create(b, l, acc, x).getResult();
}

/// The smallest or largest value of an element type, as a reduction's start.
double lowest(Type t) {
  if (isa<FloatType>(t))
    return -std::numeric_limits<double>::infinity();
  return -std::ldexp(1.0, t.getIntOrFloatBitWidth() - 1);
}
double highest(Type t) {
  if (isa<FloatType>(t))
    return std::numeric_limits<double>::infinity();
  return std::ldexp(1.0, t.getIntOrFloatBitWidth() - 1) - 1;
}

/// The reduced dimensions of a Reduce* node: axes from the attribute (before
/// the op's opset moved them to an input) or the second input.
FailureOr<SmallVector<bool>> reducedDims(NodeContext &ctx, int64_t axesInputSince) {
  int64_t rank = ctx.type(0).getRank();
  SmallVector<int64_t> axes;
  if (ctx.opset() >= axesInputSince) {
    if (ctx.hasInput(1)) {
      FailureOr<SmallVector<int64_t>> given = ctx.constantInts(1, "axes");
      if (failed(given))
        return failure();
      axes = *given;
    }
  } else if (std::optional<SmallVector<int64_t>> given = ctx.intsAttr("axes")) {
    axes = *given;
  }
  bool noopWithEmptyAxes = ctx.intAttr("noop_with_empty_axes", 0) != 0;
  SmallVector<bool> reduced(rank, axes.empty() && !noopWithEmptyAxes);
  for (int64_t axis : axes) {
    FailureOr<int64_t> a = ctx.normalizeAxis(axis, rank, "axis");
    if (failed(a))
      return failure();
    reduced[*a] = true;
  }
  return reduced;
}

template <bool IsMean>
LogicalResult importReduceSumOrMean(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  // ReduceSum's axes became an input at opset 13, ReduceMean's at 18.
  FailureOr<SmallVector<bool>> reduced = reducedDims(ctx, IsMean ? 18 : 13);
  if (failed(reduced))
    return failure();
  bool keepDims = ctx.intAttr("keepdims", 1) != 0;
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  Value sum = buildReduce(b, loc, ctx.value(0), *reduced, keepDims, 0, addValues);
  if (IsMean) {
    if (!isFloatDType(ctx.dtype(0)))
      return ctx.emitError() << "needs a float input, got " << dtypeName(ctx.dtype(0));
    Value count = arith::ConstantIndexOp::create(b, loc, 1);
    for (auto [d, r] : llvm::enumerate(*reduced))
      if (r)
        count = arith::MulIOp::create(b, loc, count, tensor::DimOp::create(b, loc, ctx.value(0), d));
    Type element = ctx.type(0).getElementType();
    Value countFloat = arith::UIToFPOp::create(b, loc, element, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), count));
    FailureOr<Value> mean = buildElementwise(ctx, {sum}, element, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return arith::DivFOp::create(nb, l, a[0], countFloat);
    });
    if (failed(mean))
      return failure();
    sum = *mean;
  }
  ctx.setOutput(0, sum, ctx.dtype(0));
  return success();
}

template <bool IsMax>
LogicalResult importReduceMaxOrMin(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  FailureOr<SmallVector<bool>> reduced = reducedDims(ctx, 18);
  if (failed(reduced))
    return failure();
  Type element = ctx.type(0).getElementType();
  if (ctx.dtype(0) == onnx::TensorProto::BOOL)
    return ctx.emitError() << "does not take a bool input";
  // Unsigned integers compare unsigned and start from 0 or all ones.
  bool isUnsigned = isUnsignedDType(ctx.dtype(0));
  double initial = IsMax ? (isUnsigned ? 0 : lowest(element)) : (isUnsigned ? -1 : highest(element));
  auto combineUnsigned = [](OpBuilder &b, Location l, Value acc, Value x) -> Value {
    return IsMax ? arith::MaxUIOp::create(b, l, acc, x).getResult() : arith::MinUIOp::create(b, l, acc, x).getResult();
  };
  Value result = buildReduce(ctx.builder(), ctx.loc(), ctx.value(0), *reduced, ctx.intAttr("keepdims", 1) != 0,
                             initial, isUnsigned ? Combine(combineUnsigned) : Combine(IsMax ? maxValues : minValues));
  ctx.setOutput(0, result, ctx.dtype(0));
  return success();
}

/// ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp and
/// ReduceSumSquare (axes an input from opset 18): an elementwise map, a sum
/// (a product for ReduceProd) and an elementwise finish.
enum class ReduceKind { Prod, L1, L2, LogSum, LogSumExp, SumSquare };

template <ReduceKind Kind> LogicalResult importReduceOther(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  DType dtype = ctx.dtype(0);
  bool needsFloat = Kind == ReduceKind::L2 || Kind == ReduceKind::LogSum || Kind == ReduceKind::LogSumExp;
  if (dtype == onnx::TensorProto::BOOL || (needsFloat && !isFloatDType(dtype)))
    return ctx.emitError() << "does not take " << dtypeName(dtype) << " inputs";
  FailureOr<SmallVector<bool>> reduced = reducedDims(ctx, 18);
  if (failed(reduced))
    return failure();
  bool keepDims = ctx.intAttr("keepdims", 1) != 0;
  Type element = ctx.type(0).getElementType();
  bool isFloat = isa<FloatType>(element), isUnsigned = isUnsignedDType(dtype);
  Value x = ctx.value(0);
  if (Kind != ReduceKind::Prod && Kind != ReduceKind::LogSum) {
    FailureOr<Value> mapped = buildElementwise(ctx, {x}, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      switch (Kind) {
      case ReduceKind::L1:
        return isFloat ? math::AbsFOp::create(b, l, a[0]).getResult()
                       : isUnsigned ? a[0] : math::AbsIOp::create(b, l, a[0]).getResult();
      case ReduceKind::LogSumExp:
        return math::ExpOp::create(b, l, a[0]);
      default: // L2, SumSquare
        return isFloat ? arith::MulFOp::create(b, l, a[0], a[0]).getResult()
                       : arith::MulIOp::create(b, l, a[0], a[0]).getResult();
      }
    });
    if (failed(mapped))
      return failure();
    x = *mapped;
  }
  auto multiply = [](OpBuilder &b, Location l, Value acc, Value v) -> Value {
    return isa<FloatType>(v.getType()) ? arith::MulFOp::create(b, l, acc, v).getResult()
                                       : arith::MulIOp::create(b, l, acc, v).getResult();
  };
  Value result = Kind == ReduceKind::Prod ? buildReduce(ctx.builder(), ctx.loc(), x, *reduced, keepDims, 1, multiply)
                                          : buildReduce(ctx.builder(), ctx.loc(), x, *reduced, keepDims, 0, addValues);
  if (Kind == ReduceKind::L2 || Kind == ReduceKind::LogSum || Kind == ReduceKind::LogSumExp) {
    FailureOr<Value> finished = buildElementwise(ctx, {result}, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      return Kind == ReduceKind::L2 ? math::SqrtOp::create(b, l, a[0]).getResult() : math::LogOp::create(b, l, a[0]).getResult();
    });
    if (failed(finished))
      return failure();
    result = *finished;
  }
  ctx.setOutput(0, result, dtype);
  return success();
}

/// ArgMax and ArgMin along one axis: one linalg.generic that carries the best
/// value and its index (int64); ties keep the first index, or the last with
/// select_last_index.
template <bool IsMax> LogicalResult importArgMaxOrMin(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  DType dtype = ctx.dtype(0);
  if (dtype == onnx::TensorProto::BOOL)
    return ctx.emitError() << "does not take a bool input";
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank, "axis");
  if (failed(axis))
    return failure();
  bool keepDims = ctx.intAttr("keepdims", 1) != 0, last = ctx.intAttr("select_last_index", 0) != 0;
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = b.getContext();
  Type element = ctx.type(0).getElementType(), i64 = b.getI64Type();
  bool isFloat = isa<FloatType>(element), isUnsigned = isUnsignedDType(dtype);
  SmallVector<OpFoldResult> inputSizes = tensorSizes(b, loc, ctx.value(0)), sizes;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    iterators.push_back(d == *axis ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (d != *axis) {
      sizes.push_back(inputSizes[d]);
      outExprs.push_back(getAffineDimExpr(d, context));
    }
  }
  double start = IsMax ? (isUnsigned ? 0 : lowest(element)) : (isUnsigned ? -1 : highest(element));
  Value valueInit = linalg::FillOp::create(b, loc, scalarConstant(b, loc, element, start),
                                           tensor::EmptyOp::create(b, loc, sizes, element).getResult())
                        .getResult(0);
  Value indexInit = linalg::FillOp::create(b, loc, scalarConstant(b, loc, i64, 0),
                                           tensor::EmptyOp::create(b, loc, sizes, i64).getResult())
                        .getResult(0);
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, context);
  int64_t axisValue = *axis;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{valueInit.getType(), indexInit.getType()}, ValueRange{ctx.value(0)},
      ValueRange{valueInit, indexInit}, SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank), outMap, outMap},
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value x = args[0], best = args[1], bestIndex = args[2];
        Value better;
        if (isFloat)
          better = arith::CmpFOp::create(nb, l, IsMax ? (last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT)
                                                      : (last ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OLT),
                                         x, best);
        else
          better = arith::CmpIOp::create(
              nb, l,
              IsMax ? (last ? (isUnsigned ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge)
                            : (isUnsigned ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt))
                    : (last ? (isUnsigned ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle)
                            : (isUnsigned ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt)),
              x, best);
        // The first element always wins, so an all -inf (or all max) row
        // still gets index 0 (or the last index).
        Value i = linalg::IndexOp::create(nb, l, axisValue);
        Value first = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, i, arith::ConstantIndexOp::create(nb, l, 0));
        better = arith::OrIOp::create(nb, l, better, first);
        Value index = arith::IndexCastOp::create(nb, l, nb.getI64Type(), i);
        linalg::YieldOp::create(nb, l, ValueRange{arith::SelectOp::create(nb, l, better, x, best).getResult(),
                                                  arith::SelectOp::create(nb, l, better, index, bestIndex).getResult()});
      });
  Value result = generic.getResult(1);
  if (keepDims) {
    SmallVector<OpFoldResult> kept(inputSizes);
    kept[*axis] = b.getIndexAttr(1);
    result = reshapeTo(b, loc, result, kept);
  }
  ctx.setOutput(0, result, onnx::TensorProto::INT64);
  return success();
}

/// Softmax and LogSoftmax (opset 13+: along one axis), computed stably:
/// exp(x - max) / sum, or x - max - log(sum).
template <bool IsLog>
LogicalResult importSoftmax(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  if (!isFloatDType(ctx.dtype(0)))
    return ctx.emitError() << "needs a float input, got " << dtypeName(ctx.dtype(0));
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", -1), rank, "axis");
  if (failed(axis))
    return failure();
  SmallVector<bool> reduced(rank, false);
  reduced[*axis] = true;
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  Type element = ctx.type(0).getElementType();
  Value x = ctx.value(0);
  Value max = buildReduce(b, loc, x, reduced, /*keepDims=*/true, lowest(element), maxValues);
  FailureOr<Value> shifted = buildElementwise(ctx, {x, max}, element, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return arith::SubFOp::create(nb, l, a[0], a[1]);
  });
  if (failed(shifted))
    return failure();
  FailureOr<Value> exps = buildElementwise(ctx, {*shifted}, element, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return math::ExpOp::create(nb, l, a[0]);
  });
  if (failed(exps))
    return failure();
  Value sum = buildReduce(b, loc, *exps, reduced, /*keepDims=*/true, 0, addValues);
  FailureOr<Value> result =
      IsLog ? buildElementwise(ctx, {*shifted, sum}, element, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                return arith::SubFOp::create(nb, l, a[0], math::LogOp::create(nb, l, a[1]));
              })
            : buildElementwise(ctx, {*exps, sum}, element, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                return arith::DivFOp::create(nb, l, a[0], a[1]);
              });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, ctx.dtype(0));
  return success();
}

/// LayerNormalization (opset 17): normalizes over dimensions [axis, rank)
/// in the stash type (float by default, so f16 and bf16 inputs are widened),
/// then scales and shifts in the input's type. The optional Mean and
/// InvStdDev outputs keep the reduced dimensions as 1.
LogicalResult importLayerNormalization(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  DType dtype = ctx.dtype(0);
  if (!isFloatDType(dtype))
    return ctx.emitError() << "needs a float input, got " << dtypeName(dtype);
  if (ctx.dtype(1) != dtype || (ctx.hasInput(2) && ctx.dtype(2) != dtype))
    return ctx.emitError() << "Scale and B must have X's element type " << dtypeName(dtype);
  DType stash = static_cast<DType>(ctx.intAttr("stash_type", onnx::TensorProto::FLOAT));
  if (!isFloatDType(stash))
    return ctx.emitError() << "stash_type " << dtypeName(stash) << " is not a float type";
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", -1), rank, "axis");
  if (failed(axis))
    return failure();
  float epsilon = ctx.floatAttr("epsilon", 1e-5f);
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  Type element = ctx.type(0).getElementType();
  Type stashType = elementTypeFor(ctx.context(), stash);
  auto map = [&](ValueRange inputs, Type resultType, ScalarBody body) { return buildElementwise(ctx, inputs, resultType, body); };

  Value x = ctx.value(0);
  if (stashType != element) {
    FailureOr<Value> widened = map({x}, stashType, [&](OpBuilder &nb, Location l, ValueRange a) {
      return castScalar(nb, l, a[0], dtype, stash, stashType);
    });
    if (failed(widened))
      return failure();
    x = *widened;
  }
  SmallVector<bool> reduced(rank, false);
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = *axis; d < rank; ++d) {
    reduced[d] = true;
    count = arith::MulIOp::create(b, loc, count, tensor::DimOp::create(b, loc, x, d));
  }
  Value countFloat = arith::UIToFPOp::create(b, loc, stashType, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), count));
  auto divideByCount = [&](Value sum) {
    return map({sum}, stashType, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return arith::DivFOp::create(nb, l, a[0], countFloat);
    });
  };
  FailureOr<Value> mean = divideByCount(buildReduce(b, loc, x, reduced, /*keepDims=*/true, 0, addValues));
  if (failed(mean))
    return failure();
  FailureOr<Value> centered = map({x, *mean}, stashType, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return arith::SubFOp::create(nb, l, a[0], a[1]);
  });
  if (failed(centered))
    return failure();
  FailureOr<Value> squares = map({*centered}, stashType, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return arith::MulFOp::create(nb, l, a[0], a[0]);
  });
  if (failed(squares))
    return failure();
  FailureOr<Value> variance = divideByCount(buildReduce(b, loc, *squares, reduced, /*keepDims=*/true, 0, addValues));
  if (failed(variance))
    return failure();
  FailureOr<Value> invStdDev = map({*variance}, stashType, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value shifted = arith::AddFOp::create(nb, l, a[0], scalarConstant(nb, l, stashType, epsilon));
    return math::RsqrtOp::create(nb, l, shifted);
  });
  if (failed(invStdDev))
    return failure();
  FailureOr<Value> normalized = map({*centered, *invStdDev}, element, [&](OpBuilder &nb, Location l, ValueRange a) {
    Value n = arith::MulFOp::create(nb, l, a[0], a[1]);
    return castScalar(nb, l, n, stash, dtype, element);
  });
  if (failed(normalized))
    return failure();
  SmallVector<Value> operands = {*normalized, ctx.value(1)};
  if (ctx.hasInput(2))
    operands.push_back(ctx.value(2));
  FailureOr<Value> y = map(operands, element, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value scaled = arith::MulFOp::create(nb, l, a[0], a[1]);
    return a.size() > 2 ? arith::AddFOp::create(nb, l, scaled, a[2]).getResult() : scaled;
  });
  if (failed(y))
    return failure();
  if (cast<RankedTensorType>(y->getType()).getRank() != rank)
    return ctx.emitError() << "Scale or B does not broadcast to X's shape " << shapeToString(ctx.shape(0));
  ctx.setOutput(0, *y, dtype);
  ctx.setOutput(1, *mean, stash);
  ctx.setOutput(2, *invStdDev, stash);
  return success();
}

} // namespace

void addNormalizationOps(OpTable &table) {
  table.add("", "ArgMax", importArgMaxOrMin<true>);
  table.add("", "ArgMin", importArgMaxOrMin<false>);
  table.add("", "ReduceProd", importReduceOther<ReduceKind::Prod>);
  table.add("", "ReduceL1", importReduceOther<ReduceKind::L1>);
  table.add("", "ReduceL2", importReduceOther<ReduceKind::L2>);
  table.add("", "ReduceLogSum", importReduceOther<ReduceKind::LogSum>);
  table.add("", "ReduceLogSumExp", importReduceOther<ReduceKind::LogSumExp>);
  table.add("", "ReduceSumSquare", importReduceOther<ReduceKind::SumSquare>);
  table.add("", "LayerNormalization", importLayerNormalization);
  table.add("", "ReduceSum", importReduceSumOrMean<false>);
  table.add("", "ReduceMean", importReduceSumOrMean<true>);
  table.add("", "ReduceMax", importReduceMaxOrMin<true>);
  table.add("", "ReduceMin", importReduceMaxOrMin<false>);
  table.add("", "Softmax", importSoftmax<false>);
  table.add("", "LogSoftmax", importSoftmax<true>);
}

} // namespace lowbit::onnx_import
