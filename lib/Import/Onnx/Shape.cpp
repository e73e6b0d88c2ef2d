//===- Shape.cpp - Constants and shape manipulation -----------------------===//
//
// Shape-only ops: their outputs are known at import time whenever their
// inputs are, which is what lets Shape -> Gather -> Concat -> Reshape chains
// fold to constant shapes.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;

namespace lowbit::onnx_import {
namespace {

void setKnown(NodeContext &ctx, DenseElementsAttr attr, DType dtype) {
  ctx.setOutput(0, materialize(ctx.builder(), ctx.loc(), attr), dtype, attr);
}

Type i64(NodeContext &ctx) { return ctx.builder().getI64Type(); }

LogicalResult importConstant(NodeContext &ctx) {
  OpBuilder &b = ctx.builder();
  if (const onnx::AttributeProto *value = ctx.attr("value")) {
    DenseElementsAttr known;
    FailureOr<Value> loaded = ctx.loadTensor(value->t(), known);
    if (failed(loaded))
      return failure();
    ctx.setOutput(0, *loaded, value->t().data_type(), known);
    return success();
  }
  if (const onnx::AttributeProto *a = ctx.attr("value_float")) {
    setKnown(ctx, DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()), a->f()),
             onnx::TensorProto::FLOAT);
    return success();
  }
  if (const onnx::AttributeProto *a = ctx.attr("value_floats")) {
    SmallVector<float> values(a->floats().begin(), a->floats().end());
    setKnown(ctx, DenseElementsAttr::get(RankedTensorType::get({int64_t(values.size())}, b.getF32Type()),
                                         ArrayRef<float>(values)),
             onnx::TensorProto::FLOAT);
    return success();
  }
  if (const onnx::AttributeProto *a = ctx.attr("value_int")) {
    setKnown(ctx, intConstant(i64(ctx), {}, {a->i()}), onnx::TensorProto::INT64);
    return success();
  }
  if (std::optional<SmallVector<int64_t>> ints = ctx.intsAttr("value_ints")) {
    setKnown(ctx, intConstant(i64(ctx), {int64_t(ints->size())}, *ints), onnx::TensorProto::INT64);
    return success();
  }
  return ctx.emitError() << "has no value lowbit supports (value, value_float(s), value_int(s))";
}

/// A product of sizes: a constant times run-time values.
struct Product {
  int64_t constant = 1;
  SmallVector<Value> dynamic;

  Value build(OpBuilder &b, Location loc) const {
    Value result = arith::ConstantIndexOp::create(b, loc, constant);
    for (Value v : dynamic)
      result = arith::MulIOp::create(b, loc, result, v);
    return result;
  }
};

Product productOf(ArrayRef<OpFoldResult> sizes, int64_t skip) {
  Product p;
  for (auto [i, s] : llvm::enumerate(sizes)) {
    if (int64_t(i) == skip)
      continue;
    if (std::optional<int64_t> c = getConstantIntValue(s))
      p.constant *= *c;
    else
      p.dynamic.push_back(cast<Value>(s));
  }
  return p;
}

/// Whether two index values are the same dimension of the same tensor.
bool sameSize(Value a, Value b) {
  if (a == b)
    return true;
  auto da = a.getDefiningOp<tensor::DimOp>(), db = b.getDefiningOp<tensor::DimOp>();
  return da && db && da.getSource() == db.getSource() && da.getConstantIndex() &&
         da.getConstantIndex() == db.getConstantIndex();
}

/// Reshape's target shape with 0 (copy, unless allowzero) and -1 (infer)
/// resolved to static sizes where possible and to index values otherwise.
FailureOr<SmallVector<OpFoldResult>> reshapeSizes(NodeContext &ctx, ArrayRef<OpFoldResult> targetSizes,
                                                 bool allowZero) {
  // Dynamic entries are taken as the sizes they compute: exporters build
  // them from the input's own dimensions, never as a run-time 0 or -1.
  SmallVector<int64_t> target;
  for (OpFoldResult t : targetSizes)
    target.push_back(getConstantIntValue(t).value_or(ShapedType::kDynamic));
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  SmallVector<OpFoldResult> inputSizes = tensorSizes(b, loc, ctx.value(0));
  SmallVector<OpFoldResult> sizes;
  int64_t inferred = -1;
  for (auto [i, t] : llvm::enumerate(target)) {
    if (ShapedType::isDynamic(t)) {
      sizes.push_back(targetSizes[i]);
    } else if (t == -1) {
      if (inferred >= 0)
        return ctx.emitError() << "shape " << shapeToString(target) << " has more than one -1";
      inferred = i;
      sizes.push_back(b.getIndexAttr(1)); // placeholder
    } else if (t == 0 && !allowZero) {
      if (i >= inputSizes.size())
        return ctx.emitError() << "shape " << shapeToString(target) << " copies dimension " << i
                               << " of a rank-" << inputSizes.size() << " input";
      sizes.push_back(inputSizes[i]);
    } else if (t < 0) {
      return ctx.emitError() << "shape " << shapeToString(target) << " has a negative size " << t;
    } else {
      sizes.push_back(b.getIndexAttr(t));
    }
  }
  if (inferred < 0)
    return sizes;
  // -1 takes whatever the other sizes leave of the element count. Dynamic
  // sizes that appear on both sides (the batch size copied through Shape)
  // cancel, so the inferred size is static whenever it can be.
  Product total = productOf(inputSizes, -1), rest = productOf(sizes, inferred);
  for (auto it = rest.dynamic.begin(); it != rest.dynamic.end();) {
    auto match = llvm::find_if(total.dynamic, [&](Value v) { return sameSize(v, *it); });
    if (match == total.dynamic.end()) {
      ++it;
      continue;
    }
    total.dynamic.erase(match);
    it = rest.dynamic.erase(it);
  }
  if (rest.constant == 0 || (rest.dynamic.empty() && total.constant % rest.constant))
    return ctx.emitError() << "cannot reshape the input (" << shapeToString(ctx.shape(0)) << ") into "
                           << shapeToString(target);
  if (rest.dynamic.empty() && total.dynamic.empty()) {
    sizes[inferred] = b.getIndexAttr(total.constant / rest.constant);
    return sizes;
  }
  sizes[inferred] = arith::DivUIOp::create(b, loc, total.build(b, loc), rest.build(b, loc)).getResult();
  return sizes;
}

/// A known constant reshaped to static sizes, or null.
DenseElementsAttr reshapeKnown(DenseElementsAttr known, ArrayRef<OpFoldResult> sizes) {
  if (!known)
    return nullptr;
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes) {
    std::optional<int64_t> c = getConstantIntValue(s);
    if (!c)
      return nullptr;
    shape.push_back(*c);
  }
  if (ShapedType::getNumElements(shape) != known.getNumElements())
    return nullptr;
  return known.reshape(RankedTensorType::get(shape, known.getElementType()));
}

LogicalResult finishReshape(NodeContext &ctx, ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> target;
  for (OpFoldResult s : sizes)
    target.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
  if (ctx.type(0).hasStaticShape() && !ShapedType::isDynamicShape(target) &&
      ShapedType::getNumElements(target) != ctx.type(0).getNumElements())
    return ctx.emitError() << "cannot reshape " << shapeToString(ctx.shape(0)) << " ("
                           << ctx.type(0).getNumElements() << " elements) into " << shapeToString(target);
  if (DenseElementsAttr known = reshapeKnown(ctx.constant(0), sizes)) {
    setKnown(ctx, known, ctx.dtype(0));
    return success();
  }
  // A shape scalar or vector stays tracked through Unsqueeze/Squeeze/Reshape.
  if (std::optional<SmallVector<OpFoldResult>> elements = ctx.shapeElements(0); elements && sizes.size() <= 1) {
    ctx.setShapeOutput(0, *elements, ctx.dtype(0), /*scalar=*/sizes.empty());
    return success();
  }
  ctx.setOutput(0, reshapeTo(ctx.builder(), ctx.loc(), ctx.value(0), sizes), ctx.dtype(0));
  return success();
}

LogicalResult importReshape(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  std::optional<SmallVector<OpFoldResult>> target = ctx.shapeElements(1);
  if (!target)
    return ctx.emitError() << "needs its shape (input '" << ctx.node().input(1)
                           << "') computed from constants and input shapes";
  FailureOr<SmallVector<OpFoldResult>> sizes = reshapeSizes(ctx, *target, ctx.intAttr("allowzero", 0));
  if (failed(sizes))
    return failure();
  return finishReshape(ctx, *sizes);
}

LogicalResult importFlatten(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  int64_t axis = ctx.intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.emitError() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  // [prod(shape[:axis]), prod(shape[axis:])]
  OpBuilder &b = ctx.builder();
  SmallVector<OpFoldResult> sizes = tensorSizes(b, ctx.loc(), ctx.value(0));
  auto product = [&](ArrayRef<OpFoldResult> part) -> OpFoldResult {
    OpFoldResult acc = b.getIndexAttr(1);
    for (OpFoldResult s : part) {
      std::optional<int64_t> x = getConstantIntValue(acc), y = getConstantIntValue(s);
      if (x && y)
        acc = b.getIndexAttr(*x * *y);
      else
        acc = arith::MulIOp::create(b, ctx.loc(), getValueOrCreateConstantIndexOp(b, ctx.loc(), acc),
                                      getValueOrCreateConstantIndexOp(b, ctx.loc(), s))
                  .getResult();
    }
    return acc;
  };
  return finishReshape(ctx, {product(ArrayRef(sizes).take_front(axis)), product(ArrayRef(sizes).drop_front(axis))});
}

/// Unsqueeze and Squeeze take their axes from an attribute before opset 13
/// and from an input from 13 on; lowbit imports opsets 13+.
FailureOr<SmallVector<int64_t>> axesInput(NodeContext &ctx, size_t index) {
  if (!ctx.hasInput(index))
    return SmallVector<int64_t>{};
  return ctx.constantInts(index, "axes");
}

LogicalResult importUnsqueeze(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  FailureOr<SmallVector<int64_t>> axes = axesInput(ctx, 1);
  if (failed(axes))
    return failure();
  int64_t rank = ctx.type(0).getRank() + axes->size();
  SmallVector<bool> inserted(rank, false);
  for (int64_t axis : *axes) {
    FailureOr<int64_t> a = ctx.normalizeAxis(axis, rank, "axis");
    if (failed(a))
      return failure();
    if (inserted[*a])
      return ctx.emitError() << "axis " << axis << " appears twice";
    inserted[*a] = true;
  }
  SmallVector<OpFoldResult> inputSizes = tensorSizes(ctx.builder(), ctx.loc(), ctx.value(0));
  SmallVector<OpFoldResult> sizes;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(inserted[d] ? OpFoldResult(ctx.builder().getIndexAttr(1)) : inputSizes[next++]);
  return finishReshape(ctx, sizes);
}

LogicalResult importSqueeze(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  FailureOr<SmallVector<int64_t>> axes = axesInput(ctx, 1);
  if (failed(axes))
    return failure();
  ArrayRef<int64_t> shape = ctx.shape(0);
  int64_t rank = shape.size();
  SmallVector<bool> removed(rank, false);
  if (axes->empty()) {
    for (int64_t d = 0; d < rank; ++d)
      removed[d] = shape[d] == 1;
  }
  for (int64_t axis : *axes) {
    FailureOr<int64_t> a = ctx.normalizeAxis(axis, rank, "axis");
    if (failed(a))
      return failure();
    if (shape[*a] != 1 && !ShapedType::isDynamic(shape[*a]))
      return ctx.emitError() << "cannot squeeze dimension " << axis << " of size " << shape[*a];
    removed[*a] = true;
  }
  SmallVector<OpFoldResult> inputSizes = tensorSizes(ctx.builder(), ctx.loc(), ctx.value(0));
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d)
    if (!removed[d])
      sizes.push_back(inputSizes[d]);
  return finishReshape(ctx, sizes);
}

LogicalResult importTranspose(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  SmallVector<int64_t> perm;
  if (std::optional<SmallVector<int64_t>> given = ctx.intsAttr("perm"))
    perm = *given;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  SmallVector<bool> seen(rank, false);
  if (int64_t(perm.size()) != rank)
    return ctx.emitError() << "perm has " << perm.size() << " entries for a rank-" << rank << " input";
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return ctx.emitError() << "perm " << shapeToString(perm) << " is not a permutation of 0.." << rank - 1;
    seen[p] = true;
  }
  if (rank <= 1) { // nothing to permute (and linalg.transpose's verifier crashes on rank 0)
    ctx.setOutput(0, ctx.value(0), ctx.dtype(0), ctx.constant(0));
    return success();
  }
  OpBuilder &b = ctx.builder();
  SmallVector<OpFoldResult> inputSizes = tensorSizes(b, ctx.loc(), ctx.value(0));
  SmallVector<OpFoldResult> sizes;
  for (int64_t p : perm)
    sizes.push_back(inputSizes[p]);
  Value init = tensor::EmptyOp::create(b, ctx.loc(), sizes, ctx.type(0).getElementType());
  auto transpose = linalg::TransposeOp::create(b, ctx.loc(), ctx.value(0), init, perm);
  ctx.setOutput(0, transpose.getResult()[0], ctx.dtype(0));
  return success();
}

LogicalResult importShape(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  // start and end (opset 15) clamp to [0, rank] after adding rank to negatives.
  auto clampAxis = [&](int64_t a) { return std::clamp<int64_t>(a < 0 ? a + rank : a, 0, rank); };
  int64_t start = clampAxis(ctx.intAttr("start", 0)), end = clampAxis(ctx.intAttr("end", rank));
  end = std::max(start, end);
  SmallVector<OpFoldResult> sizes = tensorSizes(ctx.builder(), ctx.loc(), ctx.value(0));
  ctx.setShapeOutput(0, ArrayRef(sizes).slice(start, end - start), onnx::TensorProto::INT64, /*scalar=*/false);
  return success();
}

LogicalResult importSize(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  OpBuilder &b = ctx.builder();
  RankedTensorType type = ctx.type(0);
  if (type.hasStaticShape()) {
    setKnown(ctx, intConstant(i64(ctx), {}, {type.getNumElements()}), onnx::TensorProto::INT64);
    return success();
  }
  Value count = arith::ConstantIndexOp::create(b, ctx.loc(), 1);
  for (OpFoldResult s : tensorSizes(b, ctx.loc(), ctx.value(0)))
    count = arith::MulIOp::create(b, ctx.loc(), count, getValueOrCreateConstantIndexOp(b, ctx.loc(), s));
  Value scalar = arith::IndexCastOp::create(b, ctx.loc(), b.getI64Type(), count);
  Value result = tensor::FromElementsOp::create(b, ctx.loc(), RankedTensorType::get({}, b.getI64Type()), scalar);
  ctx.setOutput(0, result, onnx::TensorProto::INT64);
  return success();
}

LogicalResult importConcat(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank, "axis");
  if (failed(axis))
    return failure();
  SmallVector<Value> inputs;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i))
      continue;
    if (ctx.type(i).getRank() != rank || ctx.dtype(i) != ctx.dtype(0))
      return ctx.emitError() << "input " << i << " (" << shapeToString(ctx.shape(i)) << " of "
                             << dtypeName(ctx.dtype(i)) << ") does not match input 0 ("
                             << shapeToString(ctx.shape(0)) << " of " << dtypeName(ctx.dtype(0)) << ")";
    for (int64_t d = 0; d < rank; ++d) {
      int64_t a = ctx.shape(0)[d], b = ctx.shape(i)[d];
      if (d != *axis && !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b)
        return ctx.emitError() << "input " << i << " (" << shapeToString(ctx.shape(i))
                               << ") differs from input 0 (" << shapeToString(ctx.shape(0))
                               << ") in dimension " << d << ", which is not the axis";
    }
    inputs.push_back(ctx.value(i));
  }
  // Shape vectors concatenate element by element.
  if (rank == 1) {
    SmallVector<OpFoldResult> elements;
    bool tracked = true;
    for (size_t i = 0; i < ctx.numInputs() && tracked; ++i) {
      std::optional<SmallVector<OpFoldResult>> part = ctx.hasInput(i) ? ctx.shapeElements(i) : SmallVector<OpFoldResult>{};
      tracked = part.has_value();
      if (part)
        elements.append(*part);
    }
    if (tracked) {
      ctx.setShapeOutput(0, elements, ctx.dtype(0), /*scalar=*/false);
      return success();
    }
  }
  // Empty inputs (size 0 along the axis) are legal in ONNX and contribute nothing.
  llvm::erase_if(inputs, [&](Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(*axis) == 0; });
  if (inputs.size() == 1) {
    ctx.setOutput(0, inputs[0], ctx.dtype(0));
    return success();
  }
  Value result = tensor::ConcatOp::create(ctx.builder(), ctx.loc(), *axis, inputs);
  ctx.setOutput(0, result, ctx.dtype(0));
  return success();
}

/// Gather along `axis`: out[a..., i..., b...] = data[a..., indices[i...], b...].
LogicalResult importGather(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  if (isFloatDType(ctx.dtype(1)) || ctx.dtype(1) == onnx::TensorProto::BOOL)
    return ctx.emitError() << "needs integer indices, got " << dtypeName(ctx.dtype(1));
  ArrayRef<int64_t> dataShape = ctx.shape(0), indexShape = ctx.shape(1);
  int64_t rank = dataShape.size();
  if (rank == 0)
    return ctx.emitError() << "needs data of rank 1 or more";
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank, "axis");
  if (failed(axis))
    return failure();

  // A gather from a shape vector (Shape -> Gather) picks its elements.
  std::optional<SmallVector<OpFoldResult>> shapeData = rank == 1 ? ctx.shapeElements(0) : std::nullopt;
  std::optional<SmallVector<int64_t>> indices =
      ctx.constant(1) && indexShape.size() <= 1 ? intValues(ctx.constant(1)) : std::nullopt;
  if (shapeData && indices) {
    SmallVector<OpFoldResult> picked;
    for (int64_t i : *indices) {
      if (i < -int64_t(shapeData->size()) || i >= int64_t(shapeData->size()))
        return ctx.emitError() << "index " << i << " is out of range for " << shapeData->size() << " elements";
      picked.push_back((*shapeData)[i < 0 ? i + shapeData->size() : i]);
    }
    ctx.setShapeOutput(0, picked, ctx.dtype(0), /*scalar=*/indexShape.empty());
    return success();
  }

  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = b.getContext();
  SmallVector<OpFoldResult> dataSizes = tensorSizes(b, loc, ctx.value(0));
  SmallVector<OpFoldResult> indexSizes = tensorSizes(b, loc, ctx.value(1));
  SmallVector<OpFoldResult> sizes(dataSizes.begin(), dataSizes.begin() + *axis);
  sizes.append(indexSizes);
  sizes.append(dataSizes.begin() + *axis + 1, dataSizes.end());
  int64_t outRank = sizes.size(), indexRank = indexShape.size();
  Value init = tensor::EmptyOp::create(b, loc, sizes, ctx.type(0).getElementType());
  SmallVector<AffineExpr> indexExprs;
  for (int64_t i = 0; i < indexRank; ++i)
    indexExprs.push_back(getAffineDimExpr(*axis + i, context));
  SmallVector<AffineMap> maps = {AffineMap::get(outRank, 0, indexExprs, context), b.getMultiDimIdentityMap(outRank)};
  SmallVector<utils::IteratorType> iterators(outRank, utils::IteratorType::parallel);
  Value data = ctx.value(0);
  DType indexDType = ctx.dtype(1);
  int64_t axisValue = *axis;
  auto generic = linalg::GenericOp::create(b, 
      loc, TypeRange{init.getType()}, ValueRange{ctx.value(1)}, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        // Negative indices count from the end of the axis.
        Value index = arith::IndexCastOp::create(nb, l, nb.getIndexType(),
                                                    castScalar(nb, l, args[0], indexDType, onnx::TensorProto::INT64, nb.getI64Type()));
        Value axisSize = tensor::DimOp::create(nb, l, data, axisValue);
        Value zero = arith::ConstantIndexOp::create(nb, l, 0);
        Value isNegative = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, index, zero);
        index = arith::SelectOp::create(nb, l, isNegative, arith::AddIOp::create(nb, l, index, axisSize), index);
        SmallVector<Value> coords;
        for (int64_t d = 0; d < axisValue; ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d));
        coords.push_back(index);
        for (int64_t d = axisValue + 1; d < rank; ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d - 1 + indexRank));
        linalg::YieldOp::create(nb, l, tensor::ExtractOp::create(nb, l, data, coords).getResult());
      });
  ctx.setOutput(0, generic.getResult(0), ctx.dtype(0));
  return success();
}

/// The target shape of ConstantOfShape or Expand: known or tracked sizes.
FailureOr<SmallVector<OpFoldResult>> targetShape(NodeContext &ctx, size_t i) {
  if (!ctx.hasInput(i))
    return ctx.emitError() << "needs its shape input";
  if (ctx.type(i).getRank() != 1)
    return ctx.emitError() << "needs a 1-D shape, got " << shapeToString(ctx.shape(i));
  std::optional<SmallVector<OpFoldResult>> sizes = ctx.shapeElements(i);
  if (!sizes)
    return ctx.emitError() << "needs its shape (input '" << ctx.node().input(i)
                           << "') computed from constants and input shapes";
  int64_t count = 1;
  for (OpFoldResult s : *sizes) {
    std::optional<int64_t> c = getConstantIntValue(s);
    if (c && *c < 0)
      return ctx.emitError() << "shape has a negative size " << *c;
    if (c && *c && count > (int64_t(1) << 40) / *c)
      return ctx.emitError() << "shape has more than 2^40 elements";
    if (c)
      count *= std::max<int64_t>(*c, 1);
  }
  return *sizes;
}

SmallVector<int64_t> staticShape(ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes)
    shape.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
  return shape;
}

/// ConstantOfShape: a splat of `value` (one element; float 0 by default) in
/// a shape that may have dynamic sizes.
LogicalResult importConstantOfShape(NodeContext &ctx) {
  FailureOr<SmallVector<OpFoldResult>> sizes = targetShape(ctx, 0);
  if (failed(sizes))
    return failure();
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  DType dtype = onnx::TensorProto::FLOAT;
  Attribute scalar = b.getF32FloatAttr(0);
  if (const onnx::AttributeProto *value = ctx.attr("value")) {
    DenseElementsAttr known;
    FailureOr<Value> loaded = ctx.loadTensor(value->t(), known);
    if (failed(loaded))
      return failure();
    loaded->getDefiningOp()->erase();
    if (!known || known.getNumElements() != 1)
      return ctx.emitError() << "needs a value of exactly one element";
    dtype = value->t().data_type();
    scalar = *known.getValues<Attribute>().begin();
  }
  auto typed = cast<TypedAttr>(scalar);
  SmallVector<int64_t> shape = staticShape(*sizes);
  auto type = RankedTensorType::get(shape, typed.getType());
  if (type.hasStaticShape()) {
    auto attr = DenseElementsAttr::get(type, scalar);
    ctx.setOutput(0, materialize(b, loc, attr), dtype,
                  type.getNumElements() <= kMaxFoldedElements ? attr : DenseElementsAttr());
    return success();
  }
  Value empty = tensor::EmptyOp::create(b, loc, *sizes, typed.getType());
  Value fill = arith::ConstantOp::create(b, loc, typed);
  ctx.setOutput(0, linalg::FillOp::create(b, loc, fill, empty).getResult(0), dtype);
  return success();
}

/// Expand: numpy broadcasting of the input against a target shape, which may
/// hold dynamic sizes. A target size of 1 keeps the input's size.
LogicalResult importExpand(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> target = targetShape(ctx, 1);
  if (failed(target))
    return failure();
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  IndexMath m(b, loc);
  ArrayRef<int64_t> inShape = ctx.shape(0);
  SmallVector<OpFoldResult> inSizes = tensorSizes(b, loc, ctx.value(0));
  int64_t inRank = inShape.size(), targetRank = target->size();
  int64_t rank = std::max(inRank, targetRank);
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t i = d - (rank - inRank), t = d - (rank - targetRank);
    if (i < 0) {
      sizes.push_back((*target)[t]);
      continue;
    }
    if (t < 0) {
      sizes.push_back(inSizes[i]);
      continue;
    }
    std::optional<int64_t> want = getConstantIntValue((*target)[t]);
    int64_t have = inShape[i];
    if (want && *want == 1)
      sizes.push_back(inSizes[i]);
    else if (have == 1)
      sizes.push_back((*target)[t]);
    else if (!ShapedType::isDynamic(have) && want && *want != have)
      return ctx.emitError() << "cannot expand dimension " << i << " of size " << have << " to " << *want;
    else if (!ShapedType::isDynamic(have) || want)
      sizes.push_back(want ? (*target)[t] : inSizes[i]);
    else
      sizes.push_back(m.max(inSizes[i], (*target)[t])); // both dynamic: the one that is not 1
  }
  SmallVector<int64_t> shape = staticShape(sizes);
  Type element = ctx.type(0).getElementType();
  auto type = RankedTensorType::get(shape, element);
  if (type == ctx.type(0) && type.hasStaticShape()) {
    ctx.setOutput(0, ctx.value(0), ctx.dtype(0), ctx.constant(0));
    return success();
  }
  if (DenseElementsAttr known = ctx.constant(0); known && known.isSplat() && type.hasStaticShape()) {
    auto attr = DenseElementsAttr::get(type, known.getSplatValue<Attribute>());
    ctx.setOutput(0, materialize(b, loc, attr), ctx.dtype(0),
                  type.getNumElements() <= kMaxFoldedElements ? attr : DenseElementsAttr());
    return success();
  }
  MLIRContext *context = b.getContext();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < inRank; ++i) {
    int64_t d = i + rank - inRank;
    bool broadcast = inShape[i] == 1 && shape[d] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, context) : getAffineDimExpr(d, context));
  }
  Value init = tensor::EmptyOp::create(b, loc, sizes, element);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{ctx.value(0)}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::get(rank, 0, exprs, context), b.getMultiDimIdentityMap(rank)},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [](OpBuilder &nb, Location l, ValueRange args) { linalg::YieldOp::create(nb, l, args[0]); });
  ctx.setOutput(0, generic.getResult(0), ctx.dtype(0));
  return success();
}

/// Range(start, limit, delta): computed at import time when all three are
/// known; else a linalg.generic writing start + i * delta over
/// max(ceil((limit - start) / delta), 0) elements.
LogicalResult importRange(NodeContext &ctx) {
  if (failed(ctx.requireInputs(3)))
    return failure();
  DType dtype = ctx.dtype(0);
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.dtype(i) != dtype)
      return ctx.emitError() << "start, limit and delta have different element types";
    if (ctx.type(i).getNumElements() != 1 || ctx.type(i).getRank() > 1)
      return ctx.emitError() << "input " << i << " is not a scalar (" << shapeToString(ctx.shape(i)) << ")";
  }
  if (dtype == onnx::TensorProto::BOOL)
    return ctx.emitError() << "does not take bool inputs";
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  Type element = ctx.type(0).getElementType();
  bool isFloat = isFloatDType(dtype);

  // All known: compute it here.
  if (ctx.constant(0) && ctx.constant(1) && ctx.constant(2)) {
    auto get = [&](size_t i) {
      DenseElementsAttr c = ctx.constant(i);
      return isFloat ? (*c.getValues<APFloat>().begin()).convertToDouble()
                     : double(isUnsignedDType(dtype) ? (*c.getValues<APInt>().begin()).getZExtValue()
                                                     : (*c.getValues<APInt>().begin()).getSExtValue());
    };
    double start = get(0), limit = get(1), delta = get(2);
    if (delta == 0)
      return ctx.emitError() << "delta is 0";
    double steps = std::ceil((limit - start) / delta);
    if (std::isnan(steps) || steps > double(int64_t(1) << 24))
      return ctx.emitError() << "would produce " << steps << " elements (lowbit folds at most 2^24)";
    int64_t count = steps > 0 ? static_cast<int64_t>(steps) : 0;
    auto type = RankedTensorType::get({count}, element);
    DenseElementsAttr attr;
    if (isFloat) {
      SmallVector<Attribute> values;
      for (int64_t i = 0; i < count; ++i)
        values.push_back(FloatAttr::get(element, start + i * delta));
      attr = DenseElementsAttr::get(type, values);
    } else {
      SmallVector<int64_t> values;
      for (int64_t i = 0; i < count; ++i)
        values.push_back(static_cast<int64_t>(start) + i * static_cast<int64_t>(delta));
      attr = intConstant(element, {count}, values);
    }
    ctx.setOutput(0, materialize(b, loc, attr), dtype, count <= kMaxFoldedElements ? attr : DenseElementsAttr());
    return success();
  }

  // The scalars as run-time values.
  auto scalarOf = [&](size_t i) -> Value {
    if (std::optional<SmallVector<OpFoldResult>> e = ctx.shapeElements(i); e && e->size() == 1 && !isFloat)
      return arith::IndexCastOp::create(b, loc, element, getValueOrCreateConstantIndexOp(b, loc, (*e)[0]));
    SmallVector<Value> zeros(ctx.type(i).getRank(), arith::ConstantIndexOp::create(b, loc, 0));
    return tensor::ExtractOp::create(b, loc, ctx.value(i), zeros);
  };
  Value start = scalarOf(0), limit = scalarOf(1), delta = scalarOf(2);
  Value count;
  if (isFloat) {
    Value steps = math::CeilOp::create(b, loc, arith::DivFOp::create(b, loc, arith::SubFOp::create(b, loc, limit, start), delta));
    Value wide = arith::FPToSIOp::create(b, loc, b.getI64Type(), steps);
    count = arith::IndexCastOp::create(b, loc, b.getIndexType(), wide);
    count = arith::MaxSIOp::create(b, loc, count, arith::ConstantIndexOp::create(b, loc, 0));
  } else {
    auto index = [&](Value v) {
      return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                        castScalar(b, loc, v, dtype, onnx::TensorProto::INT64, b.getI64Type()));
    };
    Value span = arith::SubIOp::create(b, loc, index(limit), index(start));
    Value step = index(delta);
    // ceil(span / step) for either sign of step: (span + step - sign(step)) / step.
    Value zero = arith::ConstantIndexOp::create(b, loc, 0), one = arith::ConstantIndexOp::create(b, loc, 1);
    Value positive = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, step, zero);
    Value sign = arith::SelectOp::create(b, loc, positive, one, arith::ConstantIndexOp::create(b, loc, -1));
    Value numerator = arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, span, step), sign);
    count = arith::MaxSIOp::create(b, loc, arith::DivSIOp::create(b, loc, numerator, step), zero);
  }
  Value result = buildGenerated(
      b, loc, SmallVector<OpFoldResult>{count}, element, [&](OpBuilder &nb, Location l, ValueRange indices) -> Value {
        Value wide = arith::IndexCastOp::create(nb, l, nb.getI64Type(), indices[0]);
        Value offset = castScalar(nb, l, wide, onnx::TensorProto::INT64, dtype, element);
        return isFloat ? arith::AddFOp::create(nb, l, start, arith::MulFOp::create(nb, l, offset, delta)).getResult()
                       : arith::AddIOp::create(nb, l, start, arith::MulIOp::create(nb, l, offset, delta)).getResult();
      });
  ctx.setOutput(0, result, dtype);
  return success();
}

} // namespace

void addShapeOps(OpTable &table) {
  table.add("", "ConstantOfShape", importConstantOfShape);
  table.add("", "Expand", importExpand);
  table.add("", "Range", importRange);
  table.add("", "Constant", importConstant);
  table.add("", "Reshape", importReshape);
  table.add("", "Flatten", importFlatten);
  table.add("", "Unsqueeze", importUnsqueeze);
  table.add("", "Squeeze", importSqueeze);
  table.add("", "Transpose", importTranspose);
  table.add("", "Shape", importShape);
  table.add("", "Size", importSize);
  table.add("", "Concat", importConcat);
  table.add("", "Gather", importGather);
}

} // namespace lowbit::onnx_import
