//===- Quantization.cpp - Pre-quantized ONNX: QDQ, integer matmuls, NBits -===//
//
// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear become
// linalg.generic ops with ONNX's exact arithmetic (round half to even,
// saturation); MatMulInteger and QLinearMatMul become an i32 contraction
// between widened operands. com.microsoft's MatMulNBits becomes lowbit ops:
// its packed 4-bit weights are already lowbit's int layout (codes unsigned,
// low nibble first, rows of K), so the bytes go into a lowbit.constant
// untouched and the product is one lowbit.matmul.
//
// DequantizeLinear(constant int weight) -> MatMul stays plain linalg here; a
// later pass may rewrite it to lowbit ops.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"
#include "lowbit/Lowbit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>

using namespace mlir;

namespace lowbit::onnx_import {
namespace {

constexpr DType kFloat = onnx::TensorProto::FLOAT;

/// The range of a quantized integer type, or nullopt for types lowbit does
/// not quantize to.
std::optional<std::pair<double, double>> quantRange(DType dtype) {
  switch (dtype) {
  case onnx::TensorProto::INT8:
    return std::pair{-128.0, 127.0};
  case onnx::TensorProto::UINT8:
    return std::pair{0.0, 255.0};
  case onnx::TensorProto::INT16:
    return std::pair{-32768.0, 32767.0};
  case onnx::TensorProto::UINT16:
    return std::pair{0.0, 65535.0};
  default:
    return std::nullopt;
  }
}

Value toF32(OpBuilder &b, Location l, Value v, DType dtype) {
  return castScalar(b, l, v, dtype, kFloat, b.getF32Type());
}

/// saturate(round_half_even(value) + zeroPoint) in `outType`, from an f32
/// value and an optional integer zero point.
Value quantizeScalar(OpBuilder &b, Location l, Value value, Value zeroPoint, DType zpDType, DType outDType,
                     Type outType) {
  auto [lo, hi] = *quantRange(outDType);
  Value r = math::RoundEvenOp::create(b, l, value);
  if (zeroPoint)
    r = arith::AddFOp::create(b, l, r, toF32(b, l, zeroPoint, zpDType));
  r = arith::MaximumFOp::create(b, l, r, scalarConstant(b, l, b.getF32Type(), lo));
  r = arith::MinimumFOp::create(b, l, r, scalarConstant(b, l, b.getF32Type(), hi));
  return castScalar(b, l, r, kFloat, outDType, outType);
}

/// How a scale or zero-point tensor lines up with the quantized tensor: one
/// value (per tensor), one per index of `axis` (per axis, 1-D), or one per
/// block of `block_size` along `axis` (opset 21, same rank as the input).
FailureOr<AffineMap> paramMap(NodeContext &ctx, size_t param, size_t data, StringRef what) {
  ArrayRef<int64_t> shape = ctx.shape(data), paramShape = ctx.shape(param);
  int64_t rank = shape.size();
  MLIRContext *context = ctx.context();
  int64_t blockSize = ctx.intAttr("block_size", 0);
  if (blockSize < 0 || blockSize > (int64_t(1) << 40))
    return ctx.emitError() << "block_size " << blockSize << " is out of range";
  if (blockSize == 0 && (paramShape.empty() || (paramShape.size() == 1 && paramShape[0] == 1)))
    return AffineMap::get(rank, 0, SmallVector<AffineExpr>(paramShape.size(), getAffineConstantExpr(0, context)),
                          context);
  if (rank == 0)
    return ctx.emitError() << what << " of shape " << shapeToString(paramShape) << " for a scalar input";
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 1), rank, "axis");
  if (failed(axis))
    return failure();
  auto dimsAgree = [](int64_t a, int64_t b) { return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b; };
  if (blockSize == 0) {
    if (paramShape.size() != 1 || !dimsAgree(paramShape[0], shape[*axis]))
      return ctx.emitError() << what << " of shape " << shapeToString(paramShape)
                             << " is neither a scalar nor one value per index of axis " << *axis << " (size "
                             << shapeToString(shape[*axis]) << ")";
    return AffineMap::get(rank, 0, getAffineDimExpr(*axis, context));
  }
  if (int64_t(paramShape.size()) != rank)
    return ctx.emitError() << "blocked " << what << " must have the input's rank " << rank << ", got "
                           << shapeToString(paramShape);
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t want = d == *axis ? (ShapedType::isDynamic(shape[d]) ? shape[d] : (shape[d] + blockSize - 1) / blockSize)
                              : shape[d];
    if (!dimsAgree(paramShape[d], want))
      return ctx.emitError() << "blocked " << what << " of shape " << shapeToString(paramShape)
                             << " does not match blocks of " << blockSize << " along axis " << *axis
                             << " of " << shapeToString(shape);
    exprs.push_back(d == *axis ? getAffineDimExpr(d, context).floorDiv(blockSize) : getAffineDimExpr(d, context));
  }
  return AffineMap::get(rank, 0, exprs, context);
}

/// One linalg.generic over `data`'s shape reading `data` and the parameters
/// through their maps.
Value buildWithParams(NodeContext &ctx, Value data, ArrayRef<std::pair<Value, AffineMap>> params, Type resultElement,
                      ScalarBody body) {
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  auto type = cast<RankedTensorType>(data.getType());
  int64_t rank = type.getRank();
  SmallVector<Value> inputs = {data};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  for (auto [value, map] : params) {
    inputs.push_back(value);
    maps.push_back(map);
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init = tensor::EmptyOp::create(b, loc, tensorSizes(b, loc, data), resultElement);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, body(nb, l, args.drop_back()));
      });
  return generic.getResult(0);
}

LogicalResult checkQuantized(NodeContext &ctx, DType dtype, StringRef what) {
  if (quantRange(dtype) || (what == "x" && dtype == onnx::TensorProto::INT32))
    return success();
  return ctx.emitError() << what << " has element type " << dtypeName(dtype)
                         << "; lowbit supports INT8, UINT8, INT16 and UINT16 here (INT4, UINT4 and the "
                            "float8 types are not supported)";
}

/// y = saturate(round(x / scale) + zero_point).
LogicalResult importQuantizeLinear(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  if (!isFloatDType(ctx.dtype(0)) || !isFloatDType(ctx.dtype(1)))
    return ctx.emitError() << "needs float x and y_scale, got " << dtypeName(ctx.dtype(0)) << " and "
                           << dtypeName(ctx.dtype(1));
  DType out = onnx::TensorProto::UINT8;
  if (ctx.hasInput(2))
    out = ctx.dtype(2);
  else if (int64_t attr = ctx.intAttr("output_dtype", 0))
    out = static_cast<DType>(attr);
  if (failed(checkQuantized(ctx, out, "y")))
    return failure();
  SmallVector<std::pair<Value, AffineMap>> params;
  FailureOr<AffineMap> scaleMap = paramMap(ctx, 1, 0, "y_scale");
  if (failed(scaleMap))
    return failure();
  params.push_back({ctx.value(1), *scaleMap});
  if (ctx.hasInput(2)) {
    FailureOr<AffineMap> zpMap = paramMap(ctx, 2, 0, "y_zero_point");
    if (failed(zpMap))
      return failure();
    params.push_back({ctx.value(2), *zpMap});
  }
  DType xType = ctx.dtype(0), scaleType = ctx.dtype(1);
  Type outType = elementTypeFor(ctx.context(), out);
  Value result = buildWithParams(ctx, ctx.value(0), params, outType, [&](OpBuilder &b, Location l, ValueRange a) {
    Value scaled = arith::DivFOp::create(b, l, toF32(b, l, a[0], xType), toF32(b, l, a[1], scaleType));
    return quantizeScalar(b, l, scaled, a.size() > 2 ? a[2] : Value(), out, out, outType);
  });
  ctx.setOutput(0, result, out);
  return success();
}

/// y = (x - zero_point) * scale, in the scale's type.
LogicalResult importDequantizeLinear(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  DType in = ctx.dtype(0), scaleType = ctx.dtype(1);
  if (failed(checkQuantized(ctx, in, "x")))
    return failure();
  if (!isFloatDType(scaleType))
    return ctx.emitError() << "needs a float x_scale, got " << dtypeName(scaleType);
  if (ctx.hasInput(2) && ctx.dtype(2) != in)
    return ctx.emitError() << "x_zero_point (" << dtypeName(ctx.dtype(2)) << ") differs from x ("
                           << dtypeName(in) << ")";
  SmallVector<std::pair<Value, AffineMap>> params;
  FailureOr<AffineMap> scaleMap = paramMap(ctx, 1, 0, "x_scale");
  if (failed(scaleMap))
    return failure();
  params.push_back({ctx.value(1), *scaleMap});
  if (ctx.hasInput(2)) {
    FailureOr<AffineMap> zpMap = paramMap(ctx, 2, 0, "x_zero_point");
    if (failed(zpMap))
      return failure();
    params.push_back({ctx.value(2), *zpMap});
  }
  Type outType = ctx.type(1).getElementType();
  Value result = buildWithParams(ctx, ctx.value(0), params, outType, [&](OpBuilder &b, Location l, ValueRange a) {
    Value x = toF32(b, l, a[0], in);
    if (a.size() > 2)
      x = arith::SubFOp::create(b, l, x, toF32(b, l, a[2], in));
    Value y = arith::MulFOp::create(b, l, x, toF32(b, l, a[1], scaleType));
    return castScalar(b, l, y, kFloat, scaleType, outType);
  });
  ctx.setOutput(0, result, scaleType);
  return success();
}

/// Reduces every element of `input` to a rank-0 tensor.
Value reduceAll(OpBuilder &b, Location loc, Value input, double initial, bool isMax) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Type element = type.getElementType();
  Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, element);
  Value init = linalg::FillOp::create(b, loc, scalarConstant(b, loc, element, initial), empty).getResult(0);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{input}, ValueRange{init},
      SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank), AffineMap::get(rank, 0, {}, b.getContext())},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::reduction),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value r = isMax ? arith::MaximumFOp::create(nb, l, args[1], args[0]).getResult()
                        : arith::MinimumFOp::create(nb, l, args[1], args[0]).getResult();
        linalg::YieldOp::create(nb, l, r);
      });
  return generic.getResult(0);
}

/// DynamicQuantizeLinear: uint8 with scale = (max(0, max x) - min(0, min x))
/// / 255 and zero point saturate(round(-min / scale)).
LogicalResult importDynamicQuantizeLinear(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  if (ctx.dtype(0) != kFloat)
    return ctx.emitError() << "needs a FLOAT input, got " << dtypeName(ctx.dtype(0));
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  Type f32 = b.getF32Type(), i8 = b.getI8Type();
  constexpr DType u8 = onnx::TensorProto::UINT8;
  Value x = ctx.value(0);
  // Starting the reductions at 0 includes 0 in the range, as the spec asks.
  Value max = reduceAll(b, loc, x, 0, /*isMax=*/true), min = reduceAll(b, loc, x, 0, /*isMax=*/false);
  FailureOr<Value> scale = buildElementwise(ctx, {max, min}, f32, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return arith::DivFOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]), scalarConstant(nb, l, f32, 255));
  });
  if (failed(scale))
    return failure();
  FailureOr<Value> zeroPoint = buildElementwise(ctx, {min, *scale}, i8, [&](OpBuilder &nb, Location l, ValueRange a) {
    Value v = arith::DivFOp::create(nb, l, arith::NegFOp::create(nb, l, a[0]), a[1]);
    return quantizeScalar(nb, l, v, Value(), u8, u8, i8);
  });
  if (failed(zeroPoint))
    return failure();
  FailureOr<Value> y = buildElementwise(ctx, {x, *scale, *zeroPoint}, i8, [&](OpBuilder &nb, Location l, ValueRange a) {
    Value v = arith::DivFOp::create(nb, l, a[0], a[1]);
    return quantizeScalar(nb, l, v, a[2], u8, u8, i8);
  });
  if (failed(y))
    return failure();
  ctx.setOutput(0, *y, u8);
  ctx.setOutput(1, *scale, kFloat);
  ctx.setOutput(2, *zeroPoint, u8);
  return success();
}

bool isInt8(DType dtype) { return dtype == onnx::TensorProto::INT8 || dtype == onnx::TensorProto::UINT8; }

/// A per-row parameter of A (1-D, one per row M) reshaped to [M, 1] so that
/// it broadcasts over A's last dimension; scalars and [1] stay as they are.
FailureOr<Value> perRow(NodeContext &ctx, size_t param, size_t matrix, StringRef what) {
  ArrayRef<int64_t> shape = ctx.shape(param), a = ctx.shape(matrix);
  if (shape.empty() || (shape.size() == 1 && shape[0] == 1))
    return ctx.value(param);
  if (shape.size() != 1 || a.size() < 2 ||
      (!ShapedType::isDynamic(shape[0]) && !ShapedType::isDynamic(a[a.size() - 2]) && shape[0] != a[a.size() - 2]))
    return ctx.emitError() << what << " of shape " << shapeToString(shape)
                           << " is neither a scalar nor one value per row of " << shapeToString(a);
  SmallVector<OpFoldResult> sizes = tensorSizes(ctx.builder(), ctx.loc(), ctx.value(param));
  sizes.push_back(ctx.builder().getIndexAttr(1));
  return reshapeTo(ctx.builder(), ctx.loc(), ctx.value(param), sizes);
}

/// The i32 product (A - a_zero_point) x (B - b_zero_point) of MatMulInteger
/// and QLinearMatMul: zero points scalar, per row of A or per column of B.
FailureOr<Value> integerMatmul(NodeContext &ctx, size_t a, size_t aZp, size_t bIndex, size_t bZp) {
  for (size_t i : {a, bIndex})
    if (!isInt8(ctx.dtype(i)))
      return ctx.emitError() << "needs INT8 or UINT8 operands, got " << dtypeName(ctx.dtype(i));
  Type i32 = ctx.builder().getI32Type();
  auto widen = [&](size_t x, size_t zp, bool isA) -> FailureOr<Value> {
    DType dtype = ctx.dtype(x);
    SmallVector<Value> operands = {ctx.value(x)};
    if (ctx.hasInput(zp)) {
      if (ctx.dtype(zp) != dtype)
        return ctx.emitError() << "zero point input " << zp << " (" << dtypeName(ctx.dtype(zp))
                               << ") differs from its operand (" << dtypeName(dtype) << ")";
      FailureOr<Value> z = isA ? perRow(ctx, zp, x, "a_zero_point") : FailureOr<Value>(ctx.value(zp));
      if (failed(z))
        return failure();
      if (!isA && ctx.type(zp).getRank() > 1)
        return ctx.emitError() << "b_zero_point must be a scalar or one value per column";
      operands.push_back(*z);
    }
    return buildElementwise(ctx, operands, i32, [&](OpBuilder &b, Location l, ValueRange v) -> Value {
      Value w = castScalar(b, l, v[0], dtype, onnx::TensorProto::INT32, i32);
      if (v.size() > 1)
        w = arith::SubIOp::create(b, l, w, castScalar(b, l, v[1], dtype, onnx::TensorProto::INT32, i32));
      return w;
    });
  };
  FailureOr<Value> lhs = widen(a, aZp, true);
  if (failed(lhs))
    return failure();
  FailureOr<Value> rhs = widen(bIndex, bZp, false);
  if (failed(rhs))
    return failure();
  if (cast<RankedTensorType>(lhs->getType()).getRank() != ctx.type(a).getRank())
    return ctx.emitError() << "a_zero_point does not broadcast to A";
  return buildMatmul(ctx, *lhs, *rhs);
}

LogicalResult importMatMulInteger(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  FailureOr<Value> result = integerMatmul(ctx, 0, 2, 1, 3);
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, onnx::TensorProto::INT32);
  return success();
}

/// QLinearMatMul: the integer product rescaled by a_scale * b_scale / y_scale
/// and quantized with y_zero_point.
LogicalResult importQLinearMatMul(NodeContext &ctx) {
  if (failed(ctx.requireInputs(8)))
    return failure();
  for (size_t i : {1, 4, 6})
    if (!isFloatDType(ctx.dtype(i)))
      return ctx.emitError() << "needs float scales, input " << i << " is " << dtypeName(ctx.dtype(i));
  DType out = ctx.dtype(7);
  if (!isInt8(out))
    return ctx.emitError() << "needs an INT8 or UINT8 y_zero_point, got " << dtypeName(out);
  FailureOr<Value> product = integerMatmul(ctx, 0, 2, 3, 5);
  if (failed(product))
    return failure();
  FailureOr<Value> aScale = perRow(ctx, 1, 0, "a_scale");
  if (failed(aScale))
    return failure();
  if (ctx.type(4).getRank() > 1 || ctx.type(6).getNumElements() != 1 || ctx.type(7).getNumElements() != 1)
    return ctx.emitError() << "needs b_scale scalar or per column, y_scale and y_zero_point scalars";
  DType aScaleType = ctx.dtype(1), bScaleType = ctx.dtype(4), yScaleType = ctx.dtype(6);
  Type outType = elementTypeFor(ctx.context(), out);
  FailureOr<Value> result = buildElementwise(
      ctx, {*product, *aScale, ctx.value(4), ctx.value(6), ctx.value(7)}, outType,
      [&](OpBuilder &b, Location l, ValueRange a) {
        Value acc = castScalar(b, l, a[0], onnx::TensorProto::INT32, kFloat, b.getF32Type());
        Value scale = arith::MulFOp::create(b, l, toF32(b, l, a[1], aScaleType), toF32(b, l, a[2], bScaleType));
        scale = arith::DivFOp::create(b, l, scale, toF32(b, l, a[3], yScaleType));
        return quantizeScalar(b, l, arith::MulFOp::create(b, l, acc, scale), a[4], out, out, outType);
      });
  if (failed(result))
    return failure();
  if (cast<RankedTensorType>(result->getType()).getShape() != cast<RankedTensorType>(product->getType()).getShape())
    return ctx.emitError() << "scales or zero points do not broadcast to the product's shape";
  ctx.setOutput(0, *result, out);
  return success();
}

//===----------------------------------------------------------------------===//
// com.microsoft MatMulNBits
//===----------------------------------------------------------------------===//

/// A tensor attribute holding `bytes` as `type`: dense when small, else a
/// dense_resource blob named `name`.
ElementsAttr bytesAttr(RankedTensorType type, ArrayRef<char> bytes, StringRef name) {
  if (type.getNumElements() <= kMaxFoldedElements)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

/// MatMulNBits(A, B, scales, zero_points?, g_idx?, bias?) with attributes K,
/// N, bits and block_size: Y = A x dequantize(B)^T, where B holds N rows of
/// K codes in blocks of block_size, each with its own scale (and zero point,
/// 2^(bits-1) by default).
LogicalResult importMatMulNBits(NodeContext &ctx) {
  if (failed(ctx.requireInputs(3)))
    return failure();
  int64_t k = ctx.intAttr("K", 0), n = ctx.intAttr("N", 0), bits = ctx.intAttr("bits", 4),
          block = ctx.intAttr("block_size", 0);
  if (k <= 0 || n <= 0 || k > (int64_t(1) << 30) || n > (int64_t(1) << 30))
    return ctx.emitError() << "needs positive K and N attributes, got K = " << k << ", N = " << n;
  if (bits != 2 && bits != 4 && bits != 8)
    return ctx.emitError() << "bits = " << bits << " is not supported (2, 4 or 8)";
  if (block < 16 || (block & (block - 1)))
    return ctx.emitError() << "block_size must be a power of two of at least 16, got " << block;
  if (k % block)
    return ctx.emitError() << "K = " << k << " is not a multiple of block_size " << block
                           << "; lowbit's packed type needs whole blocks";
  if (ctx.hasInput(4))
    return ctx.emitError() << "g_idx (act-order group indices) is not supported";
  DType aType = ctx.dtype(0);
  if (!isFloatDType(aType) || aType == onnx::TensorProto::DOUBLE)
    return ctx.emitError() << "needs an f32, f16 or bf16 A, got " << dtypeName(aType);
  ArrayRef<int64_t> aShape = ctx.shape(0);
  if (aShape.empty() || (!ShapedType::isDynamic(aShape.back()) && aShape.back() != k))
    return ctx.emitError() << "A of shape " << shapeToString(aShape) << " does not end in K = " << k;
  int64_t blocks = k / block, blobBytes = block * bits / 8;
  SmallVector<int64_t> bShape = {n, blocks, blobBytes};
  if (ctx.dtype(1) != onnx::TensorProto::UINT8 || ctx.shape(1) != ArrayRef<int64_t>(bShape))
    return ctx.emitError() << "B must be UINT8 of shape " << shapeToString(bShape) << ", got "
                           << dtypeName(ctx.dtype(1)) << " of shape " << shapeToString(ctx.shape(1));
  std::string storage;
  std::optional<ArrayRef<char>> packed = constantBytes(ctx.value(1), storage);
  if (!packed || int64_t(packed->size()) != n * blocks * blobBytes)
    return ctx.emitError() << "needs B (input '" << ctx.node().input(1) << "') to be an initializer or constant";
  if (ctx.dtype(2) != aType || ctx.type(2).getNumElements() != n * blocks)
    return ctx.emitError() << "scales must be " << dtypeName(aType) << " with " << n * blocks << " elements, got "
                           << dtypeName(ctx.dtype(2)) << " of shape " << shapeToString(ctx.shape(2));

  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = b.getContext();
  Value scales = reshapeTo(b, loc, ctx.value(2), {b.getIndexAttr(n), b.getIndexAttr(blocks)});

  // Zero points: packed integers (default 2^(bits-1), lowbit's symmetric
  // format) or floats (w = s * q - s * z, lowbit's `min` format).
  quant::Offset offset = quant::Offset::None;
  Value zeroPoints, mins;
  if (ctx.hasInput(3)) {
    DType zpType = ctx.dtype(3);
    if (zpType == onnx::TensorProto::UINT8) {
      int64_t rowBytes = (blocks * bits + 7) / 8;
      std::string zpStorage;
      std::optional<ArrayRef<char>> zpBytes = constantBytes(ctx.value(3), zpStorage);
      if (ctx.type(3).getNumElements() != n * rowBytes || !zpBytes || int64_t(zpBytes->size()) != n * rowBytes)
        return ctx.emitError() << "packed zero_points must be a UINT8 constant of " << n * rowBytes << " bytes";
      std::string unpacked;
      bool symmetric = true;
      for (int64_t row = 0; row < n; ++row)
        for (int64_t j = 0; j < blocks; ++j) {
          auto byte = static_cast<uint8_t>((*zpBytes)[row * rowBytes + j * bits / 8]);
          uint8_t z = (byte >> (j * bits % 8)) & ((1 << bits) - 1);
          symmetric &= z == (1 << (bits - 1));
          unpacked.push_back(static_cast<char>(z));
        }
      if (!symmetric) {
        offset = quant::Offset::ZeroPoint;
        auto type = RankedTensorType::get({n, blocks}, IntegerType::get(context, 8, IntegerType::Unsigned));
        std::string name = ctx.node().input(3) + "_unpacked";
        zeroPoints = arith::ConstantOp::create(b, loc, bytesAttr(type, ArrayRef<char>(unpacked.data(), unpacked.size()), name));
      }
    } else if (zpType == aType) {
      if (ctx.type(3).getNumElements() != n * blocks)
        return ctx.emitError() << "float zero_points must have " << n * blocks << " elements";
      offset = quant::Offset::Min;
      Value zp = reshapeTo(b, loc, ctx.value(3), {b.getIndexAttr(n), b.getIndexAttr(blocks)});
      FailureOr<Value> m = buildElementwise(ctx, {scales, zp}, ctx.type(2).getElementType(),
                                            [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                              return arith::NegFOp::create(nb, l, arith::MulFOp::create(nb, l, a[0], a[1]));
                                            });
      if (failed(m))
        return failure();
      mins = *m;
    } else {
      return ctx.emitError() << "zero_points must be UINT8 (packed) or " << dtypeName(aType) << ", got "
                             << dtypeName(zpType);
    }
  }
  Value bias;
  if (ctx.hasInput(5)) {
    if (ctx.dtype(5) != aType || ctx.shape(5) != ArrayRef<int64_t>{n})
      return ctx.emitError() << "bias must be " << dtypeName(aType) << " of shape " << n;
    bias = ctx.value(5);
  }

  quant::Format format = quant::Format::integer(bits, quant::Granularity::Group, block, offset);
  auto packedType = PackedType::get(context, {n, k}, FormatAttr::get(context, format));
  auto byteType = RankedTensorType::get({n * blocks * blobBytes}, b.getI8Type());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(*packed, alignof(uint64_t));
  auto bytes = DenseResourceElementsAttr::get(byteType, ctx.node().input(1), std::move(blob));
  Value weight = lowbit::ConstantOp::create(b, loc, packedType, bytes);
  SmallVector<int64_t> resultShape(aShape);
  resultShape.back() = n;
  auto resultType = RankedTensorType::get(resultShape, ctx.type(0).getElementType());
  Value result = lowbit::MatmulOp::create(b, loc, resultType, ctx.value(0), weight, scales, zeroPoints, mins,
                                          Value(), bias);
  ctx.setOutput(0, result, aType);
  return success();
}

} // namespace

void addQuantizationOps(OpTable &table) {
  table.add("", "QuantizeLinear", importQuantizeLinear);
  table.add("", "DequantizeLinear", importDequantizeLinear);
  table.add("", "DynamicQuantizeLinear", importDynamicQuantizeLinear);
  table.add("", "MatMulInteger", importMatMulInteger);
  table.add("", "QLinearMatMul", importQLinearMatMul);
  table.add("com.microsoft", "MatMulNBits", importMatMulNBits);
}

} // namespace lowbit::onnx_import
