//===- Indexing.cpp - Slicing, splitting, gathers, scatters, masks --------===//
//
// Ops that read or write elements at computed positions: Slice and Split
// become tensor.extract_slice (views, no copy) wherever they can; the others
// become linalg.generic ops that compute their indices with linalg.index and
// read through tensor.extract. Sizes are OpFoldResults, so dynamic batch and
// sequence dimensions stay dynamic, and slices of tracked shape vectors
// (Shape -> Slice) stay tracked.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <limits>

using namespace mlir;

namespace lowbit::onnx_import {
namespace {

/// An index value from an integer scalar inside a linalg body.
Value toIndex(OpBuilder &b, Location l, Value v, DType dtype) {
  Value wide = castScalar(b, l, v, dtype, onnx::TensorProto::INT64, b.getI64Type());
  return arith::IndexCastOp::create(b, l, b.getIndexType(), wide);
}

/// `index < 0 ? index + size : index`, inside a linalg body.
Value wrapIndex(OpBuilder &b, Location l, Value index, Value size) {
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value negative = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, index, zero);
  return arith::SelectOp::create(b, l, negative, arith::AddIOp::create(b, l, index, size), index);
}

bool isIntegerDType(DType dtype) { return !isFloatDType(dtype) && dtype != onnx::TensorProto::BOOL; }

/// A scalar integer input (Trilu's k, CumSum's axis) as an index: known,
/// tracked, or read from the tensor at run time.
FailureOr<OpFoldResult> scalarIndexInput(NodeContext &ctx, size_t i, StringRef what) {
  if (!isIntegerDType(ctx.dtype(i)))
    return ctx.emitError() << "needs an integer " << what << ", got " << dtypeName(ctx.dtype(i));
  RankedTensorType type = ctx.type(i);
  if (type.getNumElements() != 1 || type.getRank() > 1)
    return ctx.emitError() << "needs a scalar " << what << ", got " << shapeToString(type.getShape());
  if (std::optional<SmallVector<OpFoldResult>> elements = ctx.shapeElements(i); elements && elements->size() == 1)
    return (*elements)[0];
  OpBuilder &b = ctx.builder();
  SmallVector<Value> zeros(type.getRank(), arith::ConstantIndexOp::create(b, ctx.loc(), 0));
  Value scalar = tensor::ExtractOp::create(b, ctx.loc(), ctx.value(i), zeros);
  return OpFoldResult(toIndex(b, ctx.loc(), scalar, ctx.dtype(i)));
}

/// A tensor.empty of `sizes` when one of them is a static 0 (tensor's
/// verifier rejects an extract_slice whose static offset equals a size of 0,
/// and an empty result has nothing to read anyway); else null.
Value emptyIfNoElements(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Type element) {
  if (llvm::none_of(sizes, [](OpFoldResult s) { return getConstantIntValue(s) == 0; }))
    return nullptr;
  return tensor::EmptyOp::create(b, loc, sizes, element);
}

//===----------------------------------------------------------------------===//
// Slice
//===----------------------------------------------------------------------===//

/// Slice (opset 13+: starts, ends, axes and steps are inputs). Starts and
/// ends may be computed from dynamic dimensions; axes and steps must be
/// known. Negative indices count from the end, out-of-range ones clamp, and
/// negative steps walk backwards, all as the ONNX spec says.
LogicalResult importSlice(NodeContext &ctx) {
  if (failed(ctx.requireInputs(3)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  std::optional<SmallVector<OpFoldResult>> starts = ctx.shapeElements(1), ends = ctx.shapeElements(2);
  if (!starts || !ends)
    return ctx.emitError() << "needs its starts and ends computed from constants and input shapes";
  if (starts->size() != ends->size())
    return ctx.emitError() << "has " << starts->size() << " starts but " << ends->size() << " ends";
  size_t count = starts->size();
  SmallVector<int64_t> axes, steps(count, 1);
  if (ctx.hasInput(3)) {
    FailureOr<SmallVector<int64_t>> given = ctx.constantInts(3, "axes");
    if (failed(given))
      return failure();
    axes = *given;
  } else {
    for (size_t i = 0; i < count; ++i)
      axes.push_back(i);
  }
  if (ctx.hasInput(4)) {
    FailureOr<SmallVector<int64_t>> given = ctx.constantInts(4, "steps");
    if (failed(given))
      return failure();
    steps = *given;
  }
  if (axes.size() != count || steps.size() != count)
    return ctx.emitError() << "starts, ends, axes and steps have different lengths (" << count << ", "
                           << ends->size() << ", " << axes.size() << ", " << steps.size() << ")";

  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  IndexMath m(b, loc);
  SmallVector<OpFoldResult> dims = tensorSizes(b, loc, ctx.value(0));
  SmallVector<OpFoldResult> offsets(rank, m.c(0)), sizes(dims), strides(rank, m.c(1));
  SmallVector<int64_t> stepOf(rank, 1);
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < count; ++i) {
    FailureOr<int64_t> axis = ctx.normalizeAxis(axes[i], rank, "axis");
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return ctx.emitError() << "axis " << axes[i] << " appears twice";
    seen[*axis] = true;
    int64_t step = steps[i];
    if (step == 0 || step < -(int64_t(1) << 62) || step > (int64_t(1) << 62))
      return ctx.emitError() << "step " << step << " for axis " << axes[i] << " is 0 or out of range";
    OpFoldResult dim = dims[*axis];
    OpFoldResult start = m.wrapNegative((*starts)[i], dim), end = m.wrapNegative((*ends)[i], dim);
    OpFoldResult size;
    if (step > 0) {
      start = m.min(m.max(start, m.c(0)), dim);
      end = m.min(m.max(end, m.c(0)), dim);
      size = m.countSteps(m.sub(end, start), m.c(step));
    } else {
      OpFoldResult last = m.sub(dim, m.c(1));
      start = m.min(m.max(start, m.c(0)), last);
      end = m.min(m.max(end, m.c(-1)), last);
      size = m.countSteps(m.sub(start, end), m.c(-step));
    }
    offsets[*axis] = start;
    sizes[*axis] = size;
    strides[*axis] = m.c(step);
    stepOf[*axis] = step;
  }

  // A slice of a tracked shape vector picks its elements.
  if (rank == 1) {
    std::optional<SmallVector<OpFoldResult>> elements = ctx.shapeElements(0);
    std::optional<int64_t> offset = getConstantIntValue(offsets[0]), size = getConstantIntValue(sizes[0]);
    if (elements && offset && size) {
      SmallVector<OpFoldResult> picked;
      for (int64_t i = 0; i < *size; ++i)
        picked.push_back((*elements)[*offset + i * stepOf[0]]);
      ctx.setShapeOutput(0, picked, ctx.dtype(0), /*scalar=*/false);
      return success();
    }
  }

  if (Value empty = emptyIfNoElements(b, loc, sizes, ctx.type(0).getElementType())) {
    ctx.setOutput(0, empty, ctx.dtype(0));
    return success();
  }
  if (llvm::all_of(stepOf, [](int64_t s) { return s > 0; })) {
    Value slice = tensor::ExtractSliceOp::create(b, loc, ctx.value(0), offsets, sizes, strides);
    ctx.setOutput(0, slice, ctx.dtype(0));
    return success();
  }
  // Negative steps: read element offset + i * step with tensor.extract.
  Value data = ctx.value(0);
  SmallVector<Value> offsetValues;
  for (OpFoldResult o : offsets)
    offsetValues.push_back(m.value(o));
  Value result = buildGenerated(b, loc, sizes, ctx.type(0).getElementType(),
                                [&](OpBuilder &nb, Location l, ValueRange indices) -> Value {
                                  SmallVector<Value> coords;
                                  for (int64_t d = 0; d < rank; ++d) {
                                    Value step = arith::ConstantIndexOp::create(nb, l, stepOf[d]);
                                    coords.push_back(arith::AddIOp::create(
                                        nb, l, offsetValues[d], arith::MulIOp::create(nb, l, indices[d], step)));
                                  }
                                  return tensor::ExtractOp::create(nb, l, data, coords);
                                });
  ctx.setOutput(0, result, ctx.dtype(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Split
//===----------------------------------------------------------------------===//

/// Split: sizes from the `split` input (opset 13+), or num_outputs (opset
/// 18+: equal parts of ceil(dim / n), the last smaller), or equal parts, one
/// per output.
LogicalResult importSplit(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank, "axis");
  if (failed(axis))
    return failure();
  int64_t outputs = ctx.numOutputs();
  if (outputs == 0)
    return ctx.emitError() << "has no outputs";
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  IndexMath m(b, loc);
  SmallVector<OpFoldResult> dims = tensorSizes(b, loc, ctx.value(0));
  OpFoldResult dim = dims[*axis];
  std::optional<int64_t> staticDim = getConstantIntValue(dim);
  SmallVector<OpFoldResult> parts;
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> split = ctx.constantInts(1, "split");
    if (failed(split))
      return failure();
    if (int64_t(split->size()) != outputs)
      return ctx.emitError() << "split has " << split->size() << " sizes for " << outputs << " outputs";
    int64_t total = 0;
    for (int64_t s : *split) {
      if (s < 0)
        return ctx.emitError() << "split has a negative size " << s;
      total += s;
      parts.push_back(m.c(s));
    }
    if (staticDim && total != *staticDim)
      return ctx.emitError() << "split sizes add up to " << total << ", but axis " << *axis << " has size "
                             << *staticDim;
  } else {
    int64_t n = outputs;
    bool ceilParts = false;
    if (const onnx::AttributeProto *numOutputs = ctx.attr("num_outputs")) {
      if (ctx.opset() < 18)
        return ctx.emitError() << "num_outputs is an attribute of Split from opset 18 on";
      if (numOutputs->i() != outputs)
        return ctx.emitError() << "num_outputs is " << numOutputs->i() << " but the node has " << outputs
                               << " outputs";
      ceilParts = true;
    } else if (staticDim && *staticDim % n) {
      return ctx.emitError() << "cannot split axis " << *axis << " of size " << *staticDim << " into " << n
                             << " equal parts";
    }
    OpFoldResult chunk = ceilParts ? m.div(m.add(dim, m.c(n - 1)), m.c(n)) : m.div(dim, m.c(n));
    if (staticDim && ceilParts && *getConstantIntValue(chunk) * (n - 1) >= *staticDim && n > 1)
      return ctx.emitError() << "cannot split axis " << *axis << " of size " << *staticDim << " into " << n
                             << " non-empty parts";
    for (int64_t i = 0; i < n; ++i)
      parts.push_back(i + 1 < n || !ceilParts ? chunk : m.sub(dim, m.mul(chunk, m.c(n - 1))));
  }
  OpFoldResult offset = m.c(0);
  for (int64_t i = 0; i < outputs; ++i) {
    SmallVector<OpFoldResult> offsets(rank, m.c(0)), sizes(dims), strides(rank, m.c(1));
    offsets[*axis] = offset;
    sizes[*axis] = parts[i];
    Value slice = emptyIfNoElements(b, loc, sizes, ctx.type(0).getElementType());
    if (!slice)
      slice = tensor::ExtractSliceOp::create(b, loc, ctx.value(0), offsets, sizes, strides);
    ctx.setOutput(i, slice, ctx.dtype(0));
    offset = m.add(offset, parts[i]);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// GatherElements, ScatterND
//===----------------------------------------------------------------------===//

/// out[i...] = data[i... with i[axis] replaced by indices[i...]].
LogicalResult importGatherElements(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  if (!isIntegerDType(ctx.dtype(1)))
    return ctx.emitError() << "needs integer indices, got " << dtypeName(ctx.dtype(1));
  int64_t rank = ctx.type(0).getRank();
  if (rank == 0 || ctx.type(1).getRank() != rank)
    return ctx.emitError() << "needs data and indices of the same rank (1 or more), got "
                           << shapeToString(ctx.shape(0)) << " and " << shapeToString(ctx.shape(1));
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank, "axis");
  if (failed(axis))
    return failure();
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  Value data = ctx.value(0), indices = ctx.value(1);
  Value init = tensor::EmptyOp::create(b, loc, tensorSizes(b, loc, indices), ctx.type(0).getElementType());
  DType indexDType = ctx.dtype(1);
  int64_t axisValue = *axis;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{indices}, ValueRange{init},
      SmallVector<AffineMap>(2, b.getMultiDimIdentityMap(rank)),
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        SmallVector<Value> coords;
        for (int64_t d = 0; d < rank; ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d));
        Value size = tensor::DimOp::create(nb, l, data, axisValue);
        coords[axisValue] = wrapIndex(nb, l, toIndex(nb, l, args[0], indexDType), size);
        linalg::YieldOp::create(nb, l, tensor::ExtractOp::create(nb, l, data, coords).getResult());
      });
  ctx.setOutput(0, generic.getResult(0), ctx.dtype(0));
  return success();
}

/// ScatterND: the output is data with the slices that indices name replaced
/// by updates (reduction "none"), or combined with them ("add", "mul",
/// "max", "min"). One linalg.generic: a parallel loop per output dimension
/// and a reduction loop per update position; each position whose index tuple
/// equals the output coordinates replaces or combines the value (with "none"
/// the last one wins, as with duplicate indices in the reference).
LogicalResult importScatterND(NodeContext &ctx) {
  if (failed(ctx.requireInputs(3)))
    return failure();
  std::string reduction = ctx.stringAttr("reduction", "none");
  if (!llvm::is_contained({StringRef("none"), StringRef("add"), StringRef("mul"), StringRef("max"), StringRef("min")},
                          reduction))
    return ctx.emitError() << "unknown reduction '" << reduction << "' (none, add, mul, max or min)";
  if (ctx.dtype(0) == onnx::TensorProto::BOOL && reduction != "none")
    return ctx.emitError() << "reduction '" << reduction << "' on bool data is not supported";
  bool isUnsigned = isUnsignedDType(ctx.dtype(0));
  if (ctx.dtype(1) != onnx::TensorProto::INT64)
    return ctx.emitError() << "needs int64 indices, got " << dtypeName(ctx.dtype(1));
  if (ctx.dtype(2) != ctx.dtype(0))
    return ctx.emitError() << "updates (" << dtypeName(ctx.dtype(2)) << ") and data ("
                           << dtypeName(ctx.dtype(0)) << ") have different element types";
  ArrayRef<int64_t> dataShape = ctx.shape(0), indexShape = ctx.shape(1), updateShape = ctx.shape(2);
  int64_t r = dataShape.size(), q = indexShape.size();
  if (r == 0 || q == 0)
    return ctx.emitError() << "needs data and indices of rank 1 or more";
  int64_t k = indexShape.back();
  if (ShapedType::isDynamic(k) || k < 1 || k > r)
    return ctx.emitError() << "needs the last dimension of indices (" << shapeToString(indexShape)
                           << ") static and in [1, " << r << "]";
  int64_t updateRank = q - 1 + r - k;
  if (int64_t(updateShape.size()) != updateRank)
    return ctx.emitError() << "updates have rank " << updateShape.size() << ", expected " << updateRank;
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = b.getContext();
  Value data = ctx.value(0), indices = ctx.value(1), updates = ctx.value(2);
  int64_t loops = r + q - 1;
  // indices is read whole in the body; its map (update loops..., 0) only
  // gives the reduction loops their bounds.
  SmallVector<AffineExpr> indexExprs;
  for (int64_t i = 0; i < q - 1; ++i)
    indexExprs.push_back(getAffineDimExpr(r + i, context));
  indexExprs.push_back(getAffineConstantExpr(0, context));
  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < r; ++d)
    outExprs.push_back(getAffineDimExpr(d, context));
  SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, indexExprs, context),
                                 AffineMap::get(loops, 0, outExprs, context)};
  SmallVector<utils::IteratorType> iterators(loops, utils::IteratorType::reduction);
  for (int64_t d = 0; d < r; ++d)
    iterators[d] = utils::IteratorType::parallel;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{data.getType()}, ValueRange{indices}, ValueRange{data}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        SmallVector<Value> out, position;
        for (int64_t d = 0; d < r; ++d)
          out.push_back(linalg::IndexOp::create(nb, l, d));
        for (int64_t i = 0; i < q - 1; ++i)
          position.push_back(linalg::IndexOp::create(nb, l, r + i));
        Value match = arith::ConstantIntOp::create(nb, l, 1, 1);
        for (int64_t j = 0; j < k; ++j) {
          SmallVector<Value> at(position);
          at.push_back(arith::ConstantIndexOp::create(nb, l, j));
          Value index = toIndex(nb, l, tensor::ExtractOp::create(nb, l, indices, at), onnx::TensorProto::INT64);
          index = wrapIndex(nb, l, index, tensor::DimOp::create(nb, l, data, j));
          match = arith::AndIOp::create(nb, l, match,
                                        arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, index, out[j]));
        }
        SmallVector<Value> at(position);
        at.append(out.begin() + k, out.end());
        Value update = tensor::ExtractOp::create(nb, l, updates, at);
        Value acc = args[1];
        bool isFloat = isa<FloatType>(acc.getType());
        if (reduction == "add")
          update = isFloat ? arith::AddFOp::create(nb, l, acc, update).getResult()
                           : arith::AddIOp::create(nb, l, acc, update).getResult();
        else if (reduction == "mul")
          update = isFloat ? arith::MulFOp::create(nb, l, acc, update).getResult()
                           : arith::MulIOp::create(nb, l, acc, update).getResult();
        else if (reduction == "max")
          update = isFloat      ? arith::MaximumFOp::create(nb, l, acc, update).getResult()
                   : isUnsigned ? arith::MaxUIOp::create(nb, l, acc, update).getResult()
                                : arith::MaxSIOp::create(nb, l, acc, update).getResult();
        else if (reduction == "min")
          update = isFloat      ? arith::MinimumFOp::create(nb, l, acc, update).getResult()
                   : isUnsigned ? arith::MinUIOp::create(nb, l, acc, update).getResult()
                                : arith::MinSIOp::create(nb, l, acc, update).getResult();
        linalg::YieldOp::create(nb, l, arith::SelectOp::create(nb, l, match, update, args[1]).getResult());
      });
  ctx.setOutput(0, generic.getResult(0), ctx.dtype(0));
  return success();
}

/// Combines a scattered update with the value already there.
Value scatterCombine(OpBuilder &b, Location l, StringRef reduction, Value acc, Value update, bool isUnsigned) {
  bool isFloat = isa<FloatType>(acc.getType());
  if (reduction == "add")
    return isFloat ? arith::AddFOp::create(b, l, acc, update).getResult() : arith::AddIOp::create(b, l, acc, update).getResult();
  if (reduction == "mul")
    return isFloat ? arith::MulFOp::create(b, l, acc, update).getResult() : arith::MulIOp::create(b, l, acc, update).getResult();
  if (reduction == "max")
    return isFloat      ? arith::MaximumFOp::create(b, l, acc, update).getResult()
           : isUnsigned ? arith::MaxUIOp::create(b, l, acc, update).getResult()
                        : arith::MaxSIOp::create(b, l, acc, update).getResult();
  if (reduction == "min")
    return isFloat      ? arith::MinimumFOp::create(b, l, acc, update).getResult()
           : isUnsigned ? arith::MinUIOp::create(b, l, acc, update).getResult()
                        : arith::MinSIOp::create(b, l, acc, update).getResult();
  return update;
}

/// ScatterElements: like ScatterND, one generic with a parallel loop per
/// output dimension and a reduction loop per update position; a position
/// writes where its coordinates, with the axis one replaced by its index,
/// equal the output's.
LogicalResult importScatterElements(NodeContext &ctx) {
  if (failed(ctx.requireInputs(3)))
    return failure();
  std::string reduction = ctx.stringAttr("reduction", "none");
  if (!llvm::is_contained({StringRef("none"), StringRef("add"), StringRef("mul"), StringRef("max"), StringRef("min")},
                          reduction))
    return ctx.emitError() << "unknown reduction '" << reduction << "' (none, add, mul, max or min)";
  if (!isIntegerDType(ctx.dtype(1)))
    return ctx.emitError() << "needs integer indices, got " << dtypeName(ctx.dtype(1));
  if (ctx.dtype(2) != ctx.dtype(0) || (ctx.dtype(0) == onnx::TensorProto::BOOL && reduction != "none"))
    return ctx.emitError() << "updates (" << dtypeName(ctx.dtype(2)) << ") and data (" << dtypeName(ctx.dtype(0))
                           << ") must have one element type, not bool with a reduction";
  int64_t r = ctx.type(0).getRank();
  if (r == 0 || ctx.type(1).getRank() != r || ctx.shape(1) != ctx.shape(2))
    return ctx.emitError() << "needs data, indices and updates of one rank (1 or more), indices and updates of one "
                              "shape; got "
                           << shapeToString(ctx.shape(0)) << ", " << shapeToString(ctx.shape(1)) << " and "
                           << shapeToString(ctx.shape(2));
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), r, "axis");
  if (failed(axis))
    return failure();
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = b.getContext();
  Value data = ctx.value(0), indices = ctx.value(1), updates = ctx.value(2);
  SmallVector<AffineExpr> outExprs, positionExprs;
  for (int64_t d = 0; d < r; ++d) {
    outExprs.push_back(getAffineDimExpr(d, context));
    positionExprs.push_back(getAffineDimExpr(r + d, context));
  }
  SmallVector<utils::IteratorType> iterators(2 * r, utils::IteratorType::reduction);
  for (int64_t d = 0; d < r; ++d)
    iterators[d] = utils::IteratorType::parallel;
  DType indexDType = ctx.dtype(1);
  bool isUnsigned = isUnsignedDType(ctx.dtype(0));
  int64_t axisValue = *axis;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{data.getType()}, ValueRange{indices, updates}, ValueRange{data},
      SmallVector<AffineMap>{AffineMap::get(2 * r, 0, positionExprs, context),
                             AffineMap::get(2 * r, 0, positionExprs, context),
                             AffineMap::get(2 * r, 0, outExprs, context)},
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value match = arith::ConstantIntOp::create(nb, l, 1, 1);
        for (int64_t d = 0; d < r; ++d) {
          Value out = linalg::IndexOp::create(nb, l, d);
          Value at = d == axisValue ? wrapIndex(nb, l, toIndex(nb, l, args[0], indexDType),
                                                tensor::DimOp::create(nb, l, data, d))
                                    : linalg::IndexOp::create(nb, l, r + d).getResult();
          match = arith::AndIOp::create(nb, l, match, arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, at, out));
        }
        Value update = scatterCombine(nb, l, reduction, args[2], args[1], isUnsigned);
        linalg::YieldOp::create(nb, l, arith::SelectOp::create(nb, l, match, update, args[2]).getResult());
      });
  ctx.setOutput(0, generic.getResult(0), ctx.dtype(0));
  return success();
}

/// GatherND with batch_dims: out[i..., j...] = data[i[:b]..., indices[i...],
/// j...], reading the k index components and the data with tensor.extract.
LogicalResult importGatherND(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  if (ctx.dtype(1) != onnx::TensorProto::INT64)
    return ctx.emitError() << "needs int64 indices, got " << dtypeName(ctx.dtype(1));
  ArrayRef<int64_t> dataShape = ctx.shape(0), indexShape = ctx.shape(1);
  int64_t r = dataShape.size(), q = indexShape.size(), batch = ctx.intAttr("batch_dims", 0);
  if (r == 0 || q == 0)
    return ctx.emitError() << "needs data and indices of rank 1 or more";
  int64_t k = indexShape.back();
  if (batch < 0 || batch >= std::min(r, q) || ShapedType::isDynamic(k) || k < 1 || batch + k > r)
    return ctx.emitError() << "needs batch_dims (" << batch << ") below both ranks and the last dimension of indices ("
                           << shapeToString(indexShape) << ") static, with batch_dims + it at most " << r;
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  Value data = ctx.value(0), indices = ctx.value(1);
  SmallVector<OpFoldResult> dataSizes = tensorSizes(b, loc, data), indexSizes = tensorSizes(b, loc, indices);
  SmallVector<OpFoldResult> sizes(indexSizes.begin(), indexSizes.end() - 1);
  sizes.append(dataSizes.begin() + batch + k, dataSizes.end());
  Value result = buildGenerated(
      b, loc, sizes, ctx.type(0).getElementType(), [&](OpBuilder &nb, Location l, ValueRange loops) -> Value {
        SmallVector<Value> coords(loops.begin(), loops.begin() + batch);
        for (int64_t c = 0; c < k; ++c) {
          SmallVector<Value> at(loops.begin(), loops.begin() + (q - 1));
          at.push_back(arith::ConstantIndexOp::create(nb, l, c));
          Value index = toIndex(nb, l, tensor::ExtractOp::create(nb, l, indices, at), onnx::TensorProto::INT64);
          coords.push_back(wrapIndex(nb, l, index, tensor::DimOp::create(nb, l, data, batch + c)));
        }
        coords.append(loops.begin() + (q - 1), loops.end());
        return tensor::ExtractOp::create(nb, l, data, coords);
      });
  ctx.setOutput(0, result, ctx.dtype(0));
  return success();
}

/// Tile: out[i...] = x[i % size...], with the repeats known.
LogicalResult importTile(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  FailureOr<SmallVector<int64_t>> repeats = ctx.constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  if (int64_t(repeats->size()) != rank)
    return ctx.emitError() << "has " << repeats->size() << " repeats for a rank-" << rank << " input";
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  IndexMath m(b, loc);
  SmallVector<OpFoldResult> inSizes = tensorSizes(b, loc, ctx.value(0)), sizes;
  for (auto [size, repeat] : llvm::zip(inSizes, *repeats)) {
    if (repeat < 0 || repeat > (int64_t(1) << 30))
      return ctx.emitError() << "repeat " << repeat << " is out of range";
    sizes.push_back(m.mul(size, m.c(repeat)));
  }
  if (Value empty = emptyIfNoElements(b, loc, sizes, ctx.type(0).getElementType())) {
    ctx.setOutput(0, empty, ctx.dtype(0));
    return success();
  }
  Value data = ctx.value(0);
  Value result = buildGenerated(b, loc, sizes, ctx.type(0).getElementType(),
                                [&](OpBuilder &nb, Location l, ValueRange indices) -> Value {
                                  SmallVector<Value> coords;
                                  for (int64_t d = 0; d < rank; ++d)
                                    coords.push_back(arith::RemUIOp::create(
                                        nb, l, indices[d], tensor::DimOp::create(nb, l, data, d)));
                                  return tensor::ExtractOp::create(nb, l, data, coords);
                                });
  ctx.setOutput(0, result, ctx.dtype(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Trilu, CumSum
//===----------------------------------------------------------------------===//

/// Keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last
/// two dimensions and zeroes the rest.
LogicalResult importTrilu(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  if (rank < 2)
    return ctx.emitError() << "needs an input of rank 2 or more, got " << shapeToString(ctx.shape(0));
  OpFoldResult k = ctx.builder().getIndexAttr(0);
  if (ctx.hasInput(1)) {
    FailureOr<OpFoldResult> given = scalarIndexInput(ctx, 1, "k");
    if (failed(given))
      return failure();
    k = *given;
  }
  bool upper = ctx.intAttr("upper", 1) != 0;
  OpBuilder &b = ctx.builder();
  Value kValue = getValueOrCreateConstantIndexOp(b, ctx.loc(), k);
  FailureOr<Value> result = buildElementwise(
      ctx, {ctx.value(0)}, ctx.type(0).getElementType(), [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value i = linalg::IndexOp::create(nb, l, rank - 2), j = linalg::IndexOp::create(nb, l, rank - 1);
        Value diagonal = arith::SubIOp::create(nb, l, j, i);
        Value keep = arith::CmpIOp::create(nb, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                                           diagonal, kValue);
        return arith::SelectOp::create(nb, l, keep, a[0], scalarConstant(nb, l, a[0].getType(), 0));
      });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, ctx.dtype(0));
  return success();
}

/// CumSum along a known axis: out[..i..] = sum of x[..j..] over j <= i
/// (j < i when exclusive; j >= i or j > i when reverse). One linalg.generic
/// with a reduction loop over j: quadratic in the axis length, which is what
/// a later pass may rewrite into a scan.
LogicalResult importCumSum(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  if (ctx.dtype(0) == onnx::TensorProto::BOOL)
    return ctx.emitError() << "does not take a bool input";
  int64_t rank = ctx.type(0).getRank();
  FailureOr<SmallVector<int64_t>> axisValues = ctx.constantInts(1, "axis");
  if (failed(axisValues))
    return failure();
  if (axisValues->size() != 1)
    return ctx.emitError() << "needs a scalar axis, got " << axisValues->size() << " values";
  FailureOr<int64_t> axis = ctx.normalizeAxis((*axisValues)[0], rank, "axis");
  if (failed(axis))
    return failure();
  bool exclusive = ctx.intAttr("exclusive", 0) != 0, reverse = ctx.intAttr("reverse", 0) != 0;
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = b.getContext();
  Type element = ctx.type(0).getElementType();
  Value empty = tensor::EmptyOp::create(b, loc, tensorSizes(b, loc, ctx.value(0)), element);
  Value init = linalg::FillOp::create(b, loc, scalarConstant(b, loc, element, 0), empty).getResult(0);
  SmallVector<AffineExpr> inExprs, outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inExprs.push_back(getAffineDimExpr(d == *axis ? rank : d, context));
    outExprs.push_back(getAffineDimExpr(d, context));
  }
  SmallVector<utils::IteratorType> iterators(rank + 1, utils::IteratorType::parallel);
  iterators[rank] = utils::IteratorType::reduction;
  arith::CmpIPredicate predicate = reverse ? (exclusive ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge)
                                           : (exclusive ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sle);
  int64_t axisValue = *axis;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{ctx.value(0)}, ValueRange{init},
      SmallVector<AffineMap>{AffineMap::get(rank + 1, 0, inExprs, context),
                             AffineMap::get(rank + 1, 0, outExprs, context)},
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value i = linalg::IndexOp::create(nb, l, axisValue), j = linalg::IndexOp::create(nb, l, rank);
        Value include = arith::CmpIOp::create(nb, l, predicate, j, i);
        Value term = arith::SelectOp::create(nb, l, include, args[0], scalarConstant(nb, l, element, 0));
        Value sum = isa<FloatType>(element) ? arith::AddFOp::create(nb, l, args[1], term).getResult()
                                            : arith::AddIOp::create(nb, l, args[1], term).getResult();
        linalg::YieldOp::create(nb, l, sum);
      });
  ctx.setOutput(0, generic.getResult(0), ctx.dtype(0));
  return success();
}

} // namespace

void addIndexingOps(OpTable &table) {
  table.add("", "Slice", importSlice);
  table.add("", "Split", importSplit);
  table.add("", "GatherElements", importGatherElements);
  table.add("", "ScatterND", importScatterND);
  table.add("", "ScatterElements", importScatterElements);
  table.add("", "GatherND", importGatherND);
  table.add("", "Tile", importTile);
  table.add("", "Trilu", importTrilu);
  table.add("", "CumSum", importCumSum);
}

} // namespace lowbit::onnx_import
