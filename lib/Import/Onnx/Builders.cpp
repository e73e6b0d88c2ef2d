//===- Builders.cpp - IR building helpers shared by the op groups ---------===//

#include "NodeImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace lowbit::onnx_import {

Type elementTypeFor(MLIRContext *context, DType dtype) {
  Builder b(context);
  switch (dtype) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
    return b.getI8Type();
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return b.getI16Type();
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return b.getI32Type();
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
    return b.getI64Type();
  default:
    return nullptr;
  }
}

bool isFloatDType(DType dtype) {
  return dtype == onnx::TensorProto::FLOAT || dtype == onnx::TensorProto::FLOAT16 ||
         dtype == onnx::TensorProto::BFLOAT16 || dtype == onnx::TensorProto::DOUBLE;
}

bool isUnsignedDType(DType dtype) {
  return dtype == onnx::TensorProto::UINT8 || dtype == onnx::TensorProto::UINT16 ||
         dtype == onnx::TensorProto::UINT32 || dtype == onnx::TensorProto::UINT64 ||
         dtype == onnx::TensorProto::BOOL;
}

std::string dtypeName(DType dtype) {
  if (onnx::TensorProto_DataType_IsValid(dtype))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(dtype));
  // Types newer than the ONNX library lowbit builds against (1.12).
  static const char *const newer[] = {"FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
                                      "UINT4",        "INT4",           "FLOAT4E2M1"};
  if (dtype >= 17 && dtype <= 23)
    return newer[dtype - 17];
  return "unknown type " + std::to_string(dtype);
}

std::string shapeToString(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "a scalar";
  std::string text;
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (i)
      text += "x";
    text += ShapedType::isDynamic(dim) ? "?" : std::to_string(dim);
  }
  return text;
}

FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> result(rank);
  for (size_t d = 0; d < rank; ++d) {
    int64_t x = d + a.size() >= rank ? a[d + a.size() - rank] : 1;
    int64_t y = d + b.size() >= rank ? b[d + b.size() - rank] : 1;
    if (x == 1)
      result[d] = y;
    else if (y == 1)
      result[d] = x;
    else if (ShapedType::isDynamic(x))
      result[d] = y; // static y > 1 wins; '?' with '?' stays '?'
    else if (ShapedType::isDynamic(y) || x == y)
      result[d] = x;
    else
      return failure();
  }
  return result;
}

Value emptyLike(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elementType,
                ValueRange sources) {
  SmallVector<Value> dynamicSizes;
  int64_t rank = shape.size();
  for (int64_t d = 0; d < rank; ++d) {
    if (!ShapedType::isDynamic(shape[d]))
      continue;
    for (Value source : sources) {
      auto type = cast<RankedTensorType>(source.getType());
      int64_t i = d - (rank - type.getRank());
      if (i >= 0 && type.isDynamicDim(i)) {
        dynamicSizes.push_back(tensor::DimOp::create(b, loc, source, i));
        break;
      }
    }
  }
  return tensor::EmptyOp::create(b, loc, shape, elementType, dynamicSizes);
}

FailureOr<Value> buildElementwise(NodeContext &ctx, ValueRange inputs, Type resultElementType,
                                  ScalarBody body) {
  SmallVector<int64_t> shape;
  for (Value input : inputs) {
    ArrayRef<int64_t> inputShape = cast<RankedTensorType>(input.getType()).getShape();
    FailureOr<SmallVector<int64_t>> next = broadcastShapes(shape, inputShape);
    if (failed(next))
      return ctx.emitError() << "input shapes " << shapeToString(shape) << " and "
                             << shapeToString(inputShape) << " do not broadcast";
    shape = *next;
  }
  OpBuilder &b = ctx.builder();
  MLIRContext *context = b.getContext();
  int64_t rank = shape.size();
  SmallVector<AffineMap> maps;
  for (Value input : inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t d = i + rank - type.getRank();
      bool broadcast = type.getDimSize(i) == 1 && shape[d] != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, context) : getAffineDimExpr(d, context));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, context));
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init = emptyLike(b, ctx.loc(), shape, resultElementType, inputs);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(b, 
      ctx.loc(), TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location loc, ValueRange args) {
        Value result = body(nested, loc, args.drop_back());
        linalg::YieldOp::create(nested, loc, result);
      });
  return generic.getResult(0);
}

Value buildGenerated(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Type elementType,
                     ScalarBody body) {
  Value init = tensor::EmptyOp::create(b, loc, sizes, elementType);
  int64_t rank = sizes.size();
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank)},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nested, Location l, ValueRange) {
        SmallVector<Value> indices;
        for (int64_t d = 0; d < rank; ++d)
          indices.push_back(linalg::IndexOp::create(nested, l, d));
        linalg::YieldOp::create(nested, l, body(nested, l, indices));
      });
  return generic.getResult(0);
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, value));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value castScalar(OpBuilder &b, Location loc, Value value, DType from, DType to, Type toType) {
  Type fromType = value.getType();
  if (fromType == toType)
    return value;
  bool fromFloat = isa<FloatType>(fromType), toFloat = isa<FloatType>(toType);
  bool fromUnsigned = isUnsignedDType(from);
  if (toType.isInteger(1)) { // anything non-zero is true
    Value zero = scalarConstant(b, loc, fromType, 0);
    if (fromFloat)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, value, zero);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, value, zero);
  }
  if (fromFloat && toFloat) {
    if (fromType.getIntOrFloatBitWidth() < toType.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, toType, value);
    return arith::TruncFOp::create(b, loc, toType, value);
  }
  if (!fromFloat && toFloat)
    return fromUnsigned ? arith::UIToFPOp::create(b, loc, toType, value).getResult()
                        : arith::SIToFPOp::create(b, loc, toType, value).getResult();
  if (fromFloat)
    return isUnsignedDType(to) ? arith::FPToUIOp::create(b, loc, toType, value).getResult()
                               : arith::FPToSIOp::create(b, loc, toType, value).getResult();
  unsigned fromWidth = fromType.getIntOrFloatBitWidth(), toWidth = toType.getIntOrFloatBitWidth();
  if (fromWidth > toWidth)
    return arith::TruncIOp::create(b, loc, toType, value);
  return fromUnsigned ? arith::ExtUIOp::create(b, loc, toType, value).getResult()
                      : arith::ExtSIOp::create(b, loc, toType, value).getResult();
}

std::optional<SmallVector<int64_t>> intValues(DenseElementsAttr attr) {
  auto intType = dyn_cast<IntegerType>(attr.getElementType());
  if (!intType)
    return std::nullopt;
  SmallVector<int64_t> values;
  for (const APInt &v : attr.getValues<APInt>())
    values.push_back(intType.getWidth() == 1 ? v.getZExtValue() : v.getSExtValue());
  return values;
}

DenseElementsAttr intConstant(Type elementType, ArrayRef<int64_t> shape, ArrayRef<int64_t> values) {
  unsigned width = elementType.getIntOrFloatBitWidth();
  SmallVector<APInt> bits;
  for (int64_t v : values)
    bits.push_back(APInt(width, static_cast<uint64_t>(v), /*isSigned=*/width > 1, /*implicitTrunc=*/true));
  return DenseElementsAttr::get(RankedTensorType::get(shape, elementType), bits);
}

SmallVector<OpFoldResult> tensorSizes(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(type.isDynamicDim(d) ? OpFoldResult(tensor::DimOp::create(b, loc, value, d).getResult())
                                         : OpFoldResult(b.getIndexAttr(type.getDimSize(d))));
  return sizes;
}

Value reshapeTo(OpBuilder &b, Location loc, Value source, ArrayRef<OpFoldResult> sizes) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes) {
    std::optional<int64_t> s = getConstantIntValue(size);
    shape.push_back(s ? *s : ShapedType::kDynamic);
  }
  auto resultType = RankedTensorType::get(shape, sourceType.getElementType());
  // Same shape: with at most one dynamic size, the element count fixes it.
  if (resultType == sourceType && sourceType.getNumDynamicDims() <= 1)
    return source;
  // Collapse or expand when the shapes group into each other. An expanded
  // group may hold one dynamic size at most: MLIR 22's
  // expand-strided-metadata crashes on more.
  if (std::optional<SmallVector<ReassociationIndices>> groups =
          getReassociationIndicesForReshape(sourceType, resultType)) {
    if (sourceType.getRank() > resultType.getRank())
      return tensor::CollapseShapeOp::create(b, loc, resultType, source, *groups);
    bool oneDynamicPerGroup = llvm::all_of(*groups, [&](const ReassociationIndices &group) {
      return llvm::count_if(group, [&](int64_t d) { return resultType.isDynamicDim(d); }) <= 1;
    });
    if (sourceType.getRank() < resultType.getRank() && oneDynamicPerGroup)
      return tensor::ExpandShapeOp::create(b, loc, resultType, source, *groups, sizes);
  }
  // Anything else: tensor.reshape with the sizes as a shape tensor.
  SmallVector<Value> dims;
  for (OpFoldResult size : sizes)
    dims.push_back(arith::IndexCastOp::create(b, loc, b.getI64Type(), getValueOrCreateConstantIndexOp(b, loc, size)));
  Value shapeTensor = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({int64_t(dims.size())}, b.getI64Type()), dims);
  return tensor::ReshapeOp::create(b, loc, resultType, source, shapeTensor);
}

Value materialize(OpBuilder &b, Location loc, DenseElementsAttr attr) {
  return arith::ConstantOp::create(b, loc, attr);
}

std::optional<ArrayRef<char>> constantBytes(Value value, std::string &storage) {
  auto constant = value ? value.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!constant)
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense || dense.getElementType().isInteger(1))
    return std::nullopt;
  ArrayRef<char> raw = dense.getRawData();
  if (!dense.isSplat())
    return raw;
  storage.clear();
  for (int64_t i = 0, e = dense.getNumElements(); i < e; ++i)
    storage.append(raw.data(), raw.size());
  return ArrayRef<char>(storage.data(), storage.size());
}

Value IndexMath::value(OpFoldResult x) { return getValueOrCreateConstantIndexOp(b_, loc_, x); }

#define LOWBIT_INDEX_BINARY(NAME, EXPR, OP)                                                        \
  OpFoldResult IndexMath::NAME(OpFoldResult x, OpFoldResult y) {                                   \
    std::optional<int64_t> a = getConstantIntValue(x), c = getConstantIntValue(y);                 \
    if (a && c)                                                                                    \
      return b_.getIndexAttr(EXPR);                                                                \
    return OP::create(b_, loc_, value(x), value(y)).getResult();                                   \
  }
// Known values wrap on overflow, as index arithmetic does at run time,
// rather than being undefined behaviour in the importer.
LOWBIT_INDEX_BINARY(add, int64_t(uint64_t(*a) + uint64_t(*c)), arith::AddIOp)
LOWBIT_INDEX_BINARY(sub, int64_t(uint64_t(*a) - uint64_t(*c)), arith::SubIOp)
LOWBIT_INDEX_BINARY(mul, int64_t(uint64_t(*a) * uint64_t(*c)), arith::MulIOp)
LOWBIT_INDEX_BINARY(div, *c == 0 ? 0 : *c == -1 ? int64_t(0 - uint64_t(*a)) : *a / *c, arith::DivSIOp)
LOWBIT_INDEX_BINARY(min, std::min(*a, *c), arith::MinSIOp)
LOWBIT_INDEX_BINARY(max, std::max(*a, *c), arith::MaxSIOp)
#undef LOWBIT_INDEX_BINARY

OpFoldResult IndexMath::wrapNegative(OpFoldResult x, OpFoldResult size) {
  if (std::optional<int64_t> a = getConstantIntValue(x))
    return *a < 0 ? add(x, size) : x;
  Value v = value(x);
  Value zero = arith::ConstantIndexOp::create(b_, loc_, 0);
  Value negative = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::slt, v, zero);
  return arith::SelectOp::create(b_, loc_, negative, value(add(x, size)), v).getResult();
}

OpFoldResult IndexMath::countSteps(OpFoldResult x, OpFoldResult y) {
  // (x + y - 1) / y rounds up for x > 0; for x <= 0 the max makes it 0.
  return max(div(sub(add(x, y), c(1)), y), c(0));
}

} // namespace lowbit::onnx_import
