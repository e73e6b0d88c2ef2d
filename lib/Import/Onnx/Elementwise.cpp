//===- Elementwise.cpp - Elementwise ONNX ops -----------------------------===//
//
// Every elementwise op becomes one linalg.generic with numpy broadcasting
// (buildElementwise). When all inputs are small integer constants (shape
// arithmetic), the result is computed at import time instead, so that
// Shape -> Gather -> Concat -> Reshape chains fold.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringSwitch.h"

#include <cmath>
#include <limits>
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace lowbit::onnx_import {
namespace {

using IntFold = int64_t (*)(ArrayRef<int64_t>);

/// Evaluates an elementwise op over integer constants, broadcasting them.
DenseElementsAttr foldInts(ArrayRef<DenseElementsAttr> inputs, Type resultElement, IntFold fold) {
  SmallVector<int64_t> shape;
  SmallVector<SmallVector<int64_t>> values;
  for (DenseElementsAttr input : inputs) {
    std::optional<SmallVector<int64_t>> ints = input ? intValues(input) : std::nullopt;
    if (!ints)
      return nullptr;
    FailureOr<SmallVector<int64_t>> next =
        broadcastShapes(shape, cast<ShapedType>(input.getType()).getShape());
    if (failed(next))
      return nullptr;
    shape = *next;
    values.push_back(std::move(*ints));
  }
  int64_t count = ShapedType::getNumElements(shape);
  if (count > kMaxFoldedElements)
    return nullptr;
  SmallVector<int64_t> result(count);
  SmallVector<int64_t> args(inputs.size());
  for (int64_t flat = 0; flat < count; ++flat) {
    for (auto [k, input] : llvm::enumerate(inputs)) {
      ArrayRef<int64_t> inShape = cast<ShapedType>(input.getType()).getShape();
      // Index into the input, dimension by dimension, broadcasting size 1.
      int64_t rest = flat, index = 0, stride = 1;
      for (int64_t d = shape.size() - 1; d >= 0; --d) {
        int64_t coord = rest % shape[d];
        rest /= shape[d];
        int64_t i = d - (shape.size() - inShape.size());
        if (i < 0)
          continue;
        index += (inShape[i] == 1 ? 0 : coord) * stride;
        stride *= inShape[i];
      }
      args[k] = values[k][index];
    }
    result[flat] = fold(args);
  }
  return intConstant(resultElement, shape, result);
}

struct ElementwiseSpec {
  StringRef name;
  enum Kind { Arithmetic, Comparison, Logical, FloatOnly, AnyNumeric } kind;
  int arity; // inputs; 0 for the variadic Max and Min
  /// Builds the scalar computation; `isUnsigned` comes from the ONNX type.
  Value (*build)(OpBuilder &, Location, ValueRange, bool isUnsigned);
  IntFold fold; // null: never folded
};

bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

Value add(OpBuilder &b, Location l, ValueRange a, bool) {
  return isFloat(a[0]) ? arith::AddFOp::create(b, l, a[0], a[1]).getResult()
                       : arith::AddIOp::create(b, l, a[0], a[1]).getResult();
}
Value sub(OpBuilder &b, Location l, ValueRange a, bool) {
  return isFloat(a[0]) ? arith::SubFOp::create(b, l, a[0], a[1]).getResult()
                       : arith::SubIOp::create(b, l, a[0], a[1]).getResult();
}
Value mul(OpBuilder &b, Location l, ValueRange a, bool) {
  return isFloat(a[0]) ? arith::MulFOp::create(b, l, a[0], a[1]).getResult()
                       : arith::MulIOp::create(b, l, a[0], a[1]).getResult();
}
Value div(OpBuilder &b, Location l, ValueRange a, bool isUnsigned) {
  if (isFloat(a[0]))
    return arith::DivFOp::create(b, l, a[0], a[1]);
  return isUnsigned ? arith::DivUIOp::create(b, l, a[0], a[1]).getResult()
                    : arith::DivSIOp::create(b, l, a[0], a[1]).getResult();
}
Value maximum(OpBuilder &b, Location l, ValueRange a, bool isUnsigned) {
  if (isFloat(a[0]))
    return arith::MaximumFOp::create(b, l, a[0], a[1]);
  return isUnsigned ? arith::MaxUIOp::create(b, l, a[0], a[1]).getResult()
                    : arith::MaxSIOp::create(b, l, a[0], a[1]).getResult();
}
Value minimum(OpBuilder &b, Location l, ValueRange a, bool isUnsigned) {
  if (isFloat(a[0]))
    return arith::MinimumFOp::create(b, l, a[0], a[1]);
  return isUnsigned ? arith::MinUIOp::create(b, l, a[0], a[1]).getResult()
                    : arith::MinSIOp::create(b, l, a[0], a[1]).getResult();
}

template <arith::CmpFPredicate F, arith::CmpIPredicate S, arith::CmpIPredicate U>
Value compare(OpBuilder &b, Location l, ValueRange a, bool isUnsigned) {
  if (isFloat(a[0]))
    return arith::CmpFOp::create(b, l, F, a[0], a[1]);
  return arith::CmpIOp::create(b, l, isUnsigned ? U : S, a[0], a[1]);
}

Value logicalAnd(OpBuilder &b, Location l, ValueRange a, bool) { return arith::AndIOp::create(b, l, a[0], a[1]); }
Value logicalOr(OpBuilder &b, Location l, ValueRange a, bool) { return arith::OrIOp::create(b, l, a[0], a[1]); }
Value logicalNot(OpBuilder &b, Location l, ValueRange a, bool) {
  return arith::XOrIOp::create(b, l, a[0], scalarConstant(b, l, a[0].getType(), 1));
}

Value neg(OpBuilder &b, Location l, ValueRange a, bool) {
  if (isFloat(a[0]))
    return arith::NegFOp::create(b, l, a[0]);
  return arith::SubIOp::create(b, l, scalarConstant(b, l, a[0].getType(), 0), a[0]);
}
Value abs(OpBuilder &b, Location l, ValueRange a, bool isUnsigned) {
  if (isFloat(a[0]))
    return math::AbsFOp::create(b, l, a[0]);
  return isUnsigned ? a[0] : math::AbsIOp::create(b, l, a[0]).getResult();
}
Value relu(OpBuilder &b, Location l, ValueRange a, bool isUnsigned) {
  Value zero = scalarConstant(b, l, a[0].getType(), 0);
  return maximum(b, l, {a[0], zero}, isUnsigned);
}
Value reciprocal(OpBuilder &b, Location l, ValueRange a, bool) {
  return arith::DivFOp::create(b, l, scalarConstant(b, l, a[0].getType(), 1), a[0]);
}
Value sigmoid(OpBuilder &b, Location l, ValueRange a, bool) {
  Type t = a[0].getType();
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, a[0]));
  Value denom = arith::AddFOp::create(b, l, scalarConstant(b, l, t, 1), e);
  return arith::DivFOp::create(b, l, scalarConstant(b, l, t, 1), denom);
}
Value logicalXor(OpBuilder &b, Location l, ValueRange a, bool) { return arith::XOrIOp::create(b, l, a[0], a[1]); }
Value sign(OpBuilder &b, Location l, ValueRange a, bool isUnsigned) {
  Type t = a[0].getType();
  Value zero = scalarConstant(b, l, t, 0), one = scalarConstant(b, l, t, 1), minusOne = scalarConstant(b, l, t, -1);
  Value positive, negative;
  if (isFloat(a[0])) {
    positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, a[0], zero);
    negative = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, a[0], zero);
  } else {
    positive = arith::CmpIOp::create(b, l, isUnsigned ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt, a[0], zero);
    negative = isUnsigned ? arith::ConstantIntOp::create(b, l, 0, 1).getResult()
                          : arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, a[0], zero).getResult();
  }
  Value r = arith::SelectOp::create(b, l, negative, minusOne, zero);
  r = arith::SelectOp::create(b, l, positive, one, r);
  // NaN stays NaN.
  return isFloat(a[0]) ? arith::SelectOp::create(b, l, arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, a[0], a[0]), a[0], r).getResult() : r;
}
Value softplus(OpBuilder &b, Location l, ValueRange a, bool) {
  return math::Log1pOp::create(b, l, math::ExpOp::create(b, l, a[0]));
}
Value softsign(OpBuilder &b, Location l, ValueRange a, bool) {
  Value denom = arith::AddFOp::create(b, l, scalarConstant(b, l, a[0].getType(), 1), math::AbsFOp::create(b, l, a[0]));
  return arith::DivFOp::create(b, l, a[0], denom);
}
Value isNaN(OpBuilder &b, Location l, ValueRange a, bool) {
  return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, a[0], a[0]);
}
template <typename MathOp> Value unaryMath(OpBuilder &b, Location l, ValueRange a, bool) {
  return MathOp::create(b, l, a[0]);
}

// clang-format off
const ElementwiseSpec kSpecs[] = {
    {"Add", ElementwiseSpec::Arithmetic, 2, add, [](ArrayRef<int64_t> v) { return int64_t(uint64_t(v[0]) + uint64_t(v[1])); }},
    {"Sub", ElementwiseSpec::Arithmetic, 2, sub, [](ArrayRef<int64_t> v) { return int64_t(uint64_t(v[0]) - uint64_t(v[1])); }},
    {"Mul", ElementwiseSpec::Arithmetic, 2, mul, [](ArrayRef<int64_t> v) { return int64_t(uint64_t(v[0]) * uint64_t(v[1])); }},
    {"Div", ElementwiseSpec::Arithmetic, 2, div, [](ArrayRef<int64_t> v) { return v[1] == 0 ? 0 : v[1] == -1 ? int64_t(0 - uint64_t(v[0])) : v[0] / v[1]; }},
    {"Max", ElementwiseSpec::Arithmetic, 0, maximum, [](ArrayRef<int64_t> v) { return std::max(v[0], v[1]); }},
    {"Min", ElementwiseSpec::Arithmetic, 0, minimum, [](ArrayRef<int64_t> v) { return std::min(v[0], v[1]); }},
    {"Pow", ElementwiseSpec::FloatOnly, 2, nullptr, nullptr},
    {"Equal", ElementwiseSpec::Comparison, 2,
     compare<arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq, arith::CmpIPredicate::eq>,
     [](ArrayRef<int64_t> v) -> int64_t { return v[0] == v[1]; }},
    {"Less", ElementwiseSpec::Comparison, 2,
     compare<arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt, arith::CmpIPredicate::ult>,
     [](ArrayRef<int64_t> v) -> int64_t { return v[0] < v[1]; }},
    {"LessOrEqual", ElementwiseSpec::Comparison, 2,
     compare<arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle, arith::CmpIPredicate::ule>,
     [](ArrayRef<int64_t> v) -> int64_t { return v[0] <= v[1]; }},
    {"Greater", ElementwiseSpec::Comparison, 2,
     compare<arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt, arith::CmpIPredicate::ugt>,
     [](ArrayRef<int64_t> v) -> int64_t { return v[0] > v[1]; }},
    {"GreaterOrEqual", ElementwiseSpec::Comparison, 2,
     compare<arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge, arith::CmpIPredicate::uge>,
     [](ArrayRef<int64_t> v) -> int64_t { return v[0] >= v[1]; }},
    {"And", ElementwiseSpec::Logical, 2, logicalAnd, [](ArrayRef<int64_t> v) -> int64_t { return v[0] && v[1]; }},
    {"Or", ElementwiseSpec::Logical, 2, logicalOr, [](ArrayRef<int64_t> v) -> int64_t { return v[0] || v[1]; }},
    {"Not", ElementwiseSpec::Logical, 1, logicalNot, [](ArrayRef<int64_t> v) -> int64_t { return !v[0]; }},
    {"Neg", ElementwiseSpec::AnyNumeric, 1, neg, [](ArrayRef<int64_t> v) { return -v[0]; }},
    {"Abs", ElementwiseSpec::AnyNumeric, 1, abs, [](ArrayRef<int64_t> v) { return v[0] < 0 ? -v[0] : v[0]; }},
    {"Relu", ElementwiseSpec::AnyNumeric, 1, relu, [](ArrayRef<int64_t> v) { return std::max<int64_t>(v[0], 0); }},
    {"Exp", ElementwiseSpec::FloatOnly, 1, unaryMath<math::ExpOp>, nullptr},
    {"Log", ElementwiseSpec::FloatOnly, 1, unaryMath<math::LogOp>, nullptr},
    {"Sin", ElementwiseSpec::FloatOnly, 1, unaryMath<math::SinOp>, nullptr},
    {"Cos", ElementwiseSpec::FloatOnly, 1, unaryMath<math::CosOp>, nullptr},
    {"Tanh", ElementwiseSpec::FloatOnly, 1, unaryMath<math::TanhOp>, nullptr},
    {"Erf", ElementwiseSpec::FloatOnly, 1, unaryMath<math::ErfOp>, nullptr},
    {"Sqrt", ElementwiseSpec::FloatOnly, 1, unaryMath<math::SqrtOp>, nullptr},
    {"Sigmoid", ElementwiseSpec::FloatOnly, 1, sigmoid, nullptr},
    {"Reciprocal", ElementwiseSpec::FloatOnly, 1, reciprocal, nullptr},
    {"IsNaN", ElementwiseSpec::FloatOnly, 1, isNaN, nullptr},
    {"Xor", ElementwiseSpec::Logical, 2, logicalXor, [](ArrayRef<int64_t> v) -> int64_t { return (v[0] != 0) != (v[1] != 0); }},
    {"Sum", ElementwiseSpec::Arithmetic, 0, add, [](ArrayRef<int64_t> v) { return int64_t(uint64_t(v[0]) + uint64_t(v[1])); }},
    {"Sign", ElementwiseSpec::AnyNumeric, 1, sign, [](ArrayRef<int64_t> v) -> int64_t { return (v[0] > 0) - (v[0] < 0); }},
    {"Floor", ElementwiseSpec::FloatOnly, 1, unaryMath<math::FloorOp>, nullptr},
    {"Ceil", ElementwiseSpec::FloatOnly, 1, unaryMath<math::CeilOp>, nullptr},
    {"Round", ElementwiseSpec::FloatOnly, 1, unaryMath<math::RoundEvenOp>, nullptr},
    {"Tan", ElementwiseSpec::FloatOnly, 1, unaryMath<math::TanOp>, nullptr},
    {"Asin", ElementwiseSpec::FloatOnly, 1, unaryMath<math::AsinOp>, nullptr},
    {"Acos", ElementwiseSpec::FloatOnly, 1, unaryMath<math::AcosOp>, nullptr},
    {"Atan", ElementwiseSpec::FloatOnly, 1, unaryMath<math::AtanOp>, nullptr},
    {"Sinh", ElementwiseSpec::FloatOnly, 1, unaryMath<math::SinhOp>, nullptr},
    {"Cosh", ElementwiseSpec::FloatOnly, 1, unaryMath<math::CoshOp>, nullptr},
    {"Asinh", ElementwiseSpec::FloatOnly, 1, unaryMath<math::AsinhOp>, nullptr},
    {"Acosh", ElementwiseSpec::FloatOnly, 1, unaryMath<math::AcoshOp>, nullptr},
    {"Atanh", ElementwiseSpec::FloatOnly, 1, unaryMath<math::AtanhOp>, nullptr},
    {"Softplus", ElementwiseSpec::FloatOnly, 1, softplus, nullptr},
    {"Softsign", ElementwiseSpec::FloatOnly, 1, softsign, nullptr},
};
// clang-format on

const ElementwiseSpec &specFor(StringRef opType) {
  for (const ElementwiseSpec &spec : kSpecs)
    if (spec.name == opType)
      return spec;
  llvm_unreachable("op registered without a spec");
}

bool producesBool(const ElementwiseSpec &spec) {
  return spec.kind == ElementwiseSpec::Comparison || spec.kind == ElementwiseSpec::Logical ||
         spec.name == "IsNaN";
}

/// Checks the input types an elementwise op accepts.
LogicalResult checkOperandTypes(NodeContext &ctx, const ElementwiseSpec &spec) {
  DType first = ctx.dtype(0);
  for (size_t i = 1; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i) && ctx.dtype(i) != first && spec.name != "Pow")
      return ctx.emitError() << "inputs have different element types " << dtypeName(first)
                             << " and " << dtypeName(ctx.dtype(i));
  bool isBool = first == onnx::TensorProto::BOOL;
  if (spec.name == "Pow" && first != onnx::TensorProto::BOOL && ctx.numInputs() == 2 && ctx.hasInput(1) &&
      ctx.dtype(1) != onnx::TensorProto::BOOL)
    return success(); // any numeric base and exponent; the result has the base's type
  if (spec.kind == ElementwiseSpec::FloatOnly && !isFloatDType(first))
    return ctx.emitError() << "needs float inputs, got " << dtypeName(first);
  if (spec.kind == ElementwiseSpec::Logical && !isBool)
    return ctx.emitError() << "needs bool inputs, got " << dtypeName(first);
  if ((spec.kind == ElementwiseSpec::Arithmetic || spec.kind == ElementwiseSpec::AnyNumeric) && isBool)
    return ctx.emitError() << "does not take bool inputs";
  return success();
}

/// Pow with a constant exponent of 2 (RMSNorm, variance) is a multiply:
/// exact, and cheaper than powf.
bool isSquare(NodeContext &ctx) {
  DenseElementsAttr exponent = ctx.constant(1);
  if (!exponent || !exponent.isSplat() || !isa<FloatType>(exponent.getElementType()))
    return false;
  return exponent.getSplatValue<APFloat>().convertToDouble() == 2.0;
}

/// Add, Sub, Mul and Div over shape vectors (sizes computed from dynamic
/// dimensions) stay element by element, so the result is still a tracked
/// shape. Fails, without a diagnostic, when the inputs are not shapes.
LogicalResult importShapeArithmetic(NodeContext &ctx, const ElementwiseSpec &spec) {
  if (!llvm::is_contained({StringRef("Add"), StringRef("Sub"), StringRef("Mul"), StringRef("Div")}, spec.name))
    return failure();
  std::optional<SmallVector<OpFoldResult>> a = ctx.shapeElements(0), b = ctx.shapeElements(1);
  if (!a || !b || (a->size() != b->size() && a->size() != 1 && b->size() != 1))
    return failure();
  OpBuilder &builder = ctx.builder();
  Location loc = ctx.loc();
  size_t count = std::max(a->size(), b->size());
  SmallVector<OpFoldResult> result;
  for (size_t i = 0; i < count; ++i) {
    Value x = getValueOrCreateConstantIndexOp(builder, loc, (*a)[a->size() == 1 ? 0 : i]);
    Value y = getValueOrCreateConstantIndexOp(builder, loc, (*b)[b->size() == 1 ? 0 : i]);
    Value r = spec.name == "Add"   ? arith::AddIOp::create(builder, loc, x, y).getResult()
              : spec.name == "Sub" ? arith::SubIOp::create(builder, loc, x, y).getResult()
              : spec.name == "Mul" ? arith::MulIOp::create(builder, loc, x, y).getResult()
                                   : arith::DivSIOp::create(builder, loc, x, y).getResult();
    result.push_back(getAsOpFoldResult(r));
  }
  bool scalar = ctx.type(0).getRank() == 0 && ctx.type(1).getRank() == 0;
  ctx.setShapeOutput(0, result, ctx.dtype(0), scalar);
  return success();
}

/// Whether a tracked shape element is a tensor's dimension (never negative).
bool isDimension(OpFoldResult v) {
  auto value = dyn_cast<Value>(v);
  return value && value.getDefiningOp<tensor::DimOp>();
}

/// Equal over shape vectors, decided at import time where it can be: known
/// elements compare, and a dimension never equals a negative constant.
/// torch.onnx exports `t.expand(batch, -1)` as Where(Equal(s, -1), 1, s) over
/// a shape s with a dynamic batch (transformers' causal mask); folding the
/// Equal lets importWhere keep s tracked, so Expand gets its shape. Fails,
/// without a diagnostic, when an element cannot be decided.
LogicalResult importShapeEqual(NodeContext &ctx, const ElementwiseSpec &spec) {
  if (spec.name != "Equal")
    return failure();
  std::optional<SmallVector<OpFoldResult>> a = ctx.shapeElements(0), b = ctx.shapeElements(1);
  if (!a || !b || (a->size() != b->size() && a->size() != 1 && b->size() != 1))
    return failure();
  SmallVector<int64_t> result;
  for (size_t i = 0, e = std::max(a->size(), b->size()); i < e; ++i) {
    OpFoldResult x = (*a)[a->size() == 1 ? 0 : i], y = (*b)[b->size() == 1 ? 0 : i];
    std::optional<int64_t> cx = getConstantIntValue(x), cy = getConstantIntValue(y);
    if (cx && cy)
      result.push_back(*cx == *cy);
    else if ((cx && *cx < 0 && isDimension(y)) || (cy && *cy < 0 && isDimension(x)))
      result.push_back(0);
    else
      return failure();
  }
  bool scalar = ctx.type(0).getRank() == 0 && ctx.type(1).getRank() == 0;
  SmallVector<int64_t> shape = scalar ? SmallVector<int64_t>{} : SmallVector<int64_t>{int64_t(result.size())};
  DenseElementsAttr attr = intConstant(ctx.builder().getI1Type(), shape, result);
  ctx.setOutput(0, materialize(ctx.builder(), ctx.loc(), attr), onnx::TensorProto::BOOL, attr);
  return success();
}

FailureOr<Value> buildPow(NodeContext &ctx, ValueRange operands, Type resultElement) {
  bool square = isSquare(ctx);
  DType baseDType = ctx.dtype(0), exponentDType = ctx.dtype(1);
  if (!isFloatDType(baseDType)) {
    // Integer bases: computed in f64 (exact for the results an integer
    // type holds up to 2^53), truncated back like the reference's cast.
    constexpr DType f64 = onnx::TensorProto::DOUBLE;
    return buildElementwise(ctx, operands, resultElement, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      Type t = b.getF64Type();
      Value base = castScalar(b, l, a[0], baseDType, f64, t);
      Value exponent = castScalar(b, l, a[1], exponentDType, f64, t);
      return castScalar(b, l, math::PowFOp::create(b, l, base, exponent), f64, baseDType, resultElement);
    });
  }
  return buildElementwise(ctx, operands, resultElement,
                          [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                            if (square)
                              return arith::MulFOp::create(b, l, a[0], a[0]);
                            Value exponent =
                                castScalar(b, l, a[1], exponentDType, baseDType, a[0].getType());
                            return math::PowFOp::create(b, l, a[0], exponent);
                          });
}

LogicalResult importElementwise(NodeContext &ctx) {
  const ElementwiseSpec &spec = specFor(ctx.node().op_type());
  if (failed(ctx.requireInputs(std::max<size_t>(ctx.numInputs(), 1))) || failed(checkOperandTypes(ctx, spec)))
    return failure();
  SmallVector<Value> inputs;
  SmallVector<DenseElementsAttr> constants;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    inputs.push_back(ctx.value(i));
    constants.push_back(ctx.constant(i));
  }
  bool isUnsigned = isUnsignedDType(ctx.dtype(0));
  DType resultDType = producesBool(spec) ? DType(onnx::TensorProto::BOOL) : ctx.dtype(0);
  Type resultElement = elementTypeFor(ctx.context(), resultDType);

  if (spec.arity && static_cast<int>(inputs.size()) != spec.arity)
    return ctx.emitError() << "needs " << spec.arity << " input" << (spec.arity > 1 ? "s" : "")
                           << ", got " << inputs.size();

  // Max and Min are variadic: apply them pairwise, left to right.
  auto foldAll = [&]() -> DenseElementsAttr {
    if (!spec.fold)
      return nullptr;
    if (spec.arity)
      return foldInts(constants, resultElement, spec.fold);
    DenseElementsAttr folded = constants[0];
    for (size_t i = 1; folded && i < constants.size(); ++i)
      folded = foldInts({folded, constants[i]}, resultElement, spec.fold);
    return folded;
  };
  if (DenseElementsAttr folded = foldAll()) {
    ctx.setOutput(0, materialize(ctx.builder(), ctx.loc(), folded), resultDType, folded);
    return success();
  }

  if (succeeded(importShapeArithmetic(ctx, spec)))
    return success();
  if (succeeded(importShapeEqual(ctx, spec)))
    return success();

  auto build = [&](ValueRange operands) -> FailureOr<Value> {
    if (spec.name == "Pow")
      return buildPow(ctx, operands, resultElement);
    return buildElementwise(ctx, operands, resultElement, [&](OpBuilder &b, Location l, ValueRange a) {
      return spec.build(b, l, a, isUnsigned);
    });
  };
  FailureOr<Value> result = spec.arity ? build(inputs) : FailureOr<Value>(inputs[0]);
  for (size_t i = 1; !spec.arity && succeeded(result) && i < inputs.size(); ++i)
    result = build({*result, inputs[i]});
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, resultDType);
  return success();
}

LogicalResult importWhere(NodeContext &ctx) {
  if (failed(ctx.requireInputs(3)))
    return failure();
  if (ctx.dtype(0) != onnx::TensorProto::BOOL)
    return ctx.emitError() << "needs a bool condition, got " << dtypeName(ctx.dtype(0));
  if (ctx.dtype(1) != ctx.dtype(2))
    return ctx.emitError() << "X and Y have different element types " << dtypeName(ctx.dtype(1))
                           << " and " << dtypeName(ctx.dtype(2));
  Type element = ctx.type(1).getElementType();
  if (DenseElementsAttr folded =
          foldInts({ctx.constant(0), ctx.constant(1), ctx.constant(2)}, element,
                   [](ArrayRef<int64_t> v) { return v[0] ? v[1] : v[2]; })) {
    ctx.setOutput(0, materialize(ctx.builder(), ctx.loc(), folded), ctx.dtype(1), folded);
    return success();
  }
  // A known condition choosing between shape vectors keeps them tracked
  // (torch.onnx's expand(-1): see importShapeEqual).
  std::optional<SmallVector<OpFoldResult>> x = ctx.shapeElements(1), y = ctx.shapeElements(2);
  if (DenseElementsAttr cond = ctx.constant(0); cond && x && y && cond.getType().getRank() <= 1) {
    SmallVector<int64_t> bits = *intValues(cond);
    size_t n = std::max({bits.size(), x->size(), y->size()});
    if ((bits.size() == 1 || bits.size() == n) && (x->size() == 1 || x->size() == n) &&
        (y->size() == 1 || y->size() == n)) {
      SmallVector<OpFoldResult> picked;
      for (size_t i = 0; i < n; ++i)
        picked.push_back(bits[bits.size() == 1 ? 0 : i] ? (*x)[x->size() == 1 ? 0 : i]
                                                        : (*y)[y->size() == 1 ? 0 : i]);
      bool scalar = ctx.type(0).getRank() == 0 && ctx.type(1).getRank() == 0 && ctx.type(2).getRank() == 0;
      ctx.setShapeOutput(0, picked, ctx.dtype(1), scalar);
      return success();
    }
  }
  FailureOr<Value> result = buildElementwise(
      ctx, {ctx.value(0), ctx.value(1), ctx.value(2)}, element,
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::SelectOp::create(b, l, a[0], a[1], a[2]);
      });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, ctx.dtype(1));
  return success();
}

LogicalResult importCast(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  DType from = ctx.dtype(0);
  DType to = static_cast<DType>(ctx.intAttr("to", 0));
  Type toType = elementTypeFor(ctx.context(), to);
  if (!toType)
    return ctx.emitError() << "cannot cast to " << dtypeName(to);
  bool intToInt = !isFloatDType(from) && !isFloatDType(to) && to != onnx::TensorProto::BOOL;
  if (std::optional<SmallVector<OpFoldResult>> elements = ctx.shapeElements(0); intToInt && elements && !ctx.constant(0)) {
    ctx.setShapeOutput(0, *elements, to, ctx.type(0).getRank() == 0);
    return success();
  }
  if (!isFloatDType(from) && !isFloatDType(to)) {
    bool toBool = to == onnx::TensorProto::BOOL;
    if (DenseElementsAttr folded = foldInts({ctx.constant(0)}, toType,
                                            toBool ? IntFold([](ArrayRef<int64_t> v) -> int64_t { return v[0] != 0; })
                                                   : IntFold([](ArrayRef<int64_t> v) { return v[0]; }))) {
      ctx.setOutput(0, materialize(ctx.builder(), ctx.loc(), folded), to, folded);
      return success();
    }
  }
  FailureOr<Value> result = buildElementwise(
      ctx, {ctx.value(0)}, toType,
      [&](OpBuilder &b, Location l, ValueRange a) { return castScalar(b, l, a[0], from, to, toType); });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, to);
  return success();
}

LogicalResult importIdentity(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  if (std::optional<SmallVector<OpFoldResult>> elements = ctx.shapeElements(0); elements && !ctx.constant(0)) {
    ctx.setShapeOutput(0, *elements, ctx.dtype(0), ctx.type(0).getRank() == 0);
    return success();
  }
  ctx.setOutput(0, ctx.value(0), ctx.dtype(0), ctx.constant(0));
  return success();
}

/// Gelu (opset 20): x * Phi(x), exactly with erf or with the tanh
/// approximation.
LogicalResult importGelu(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  if (!isFloatDType(ctx.dtype(0)))
    return ctx.emitError() << "needs a float input, got " << dtypeName(ctx.dtype(0));
  std::string approximate = ctx.stringAttr("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    return ctx.emitError() << "unknown approximate mode '" << approximate << "'";
  bool useTanh = approximate == "tanh";
  FailureOr<Value> result = buildElementwise(
      ctx, {ctx.value(0)}, ctx.type(0).getElementType(),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value x = a[0];
        Type t = x.getType();
        Value inner;
        if (useTanh) {
          Value x3 = arith::MulFOp::create(b, l, x, arith::MulFOp::create(b, l, x, x));
          Value poly = arith::AddFOp::create(b, 
              l, x, arith::MulFOp::create(b, l, scalarConstant(b, l, t, 0.044715), x3));
          inner = math::TanhOp::create(b, 
              l, arith::MulFOp::create(b, l, scalarConstant(b, l, t, std::sqrt(2.0 / llvm::numbers::pi)), poly));
        } else {
          inner = math::ErfOp::create(b, 
              l, arith::MulFOp::create(b, l, x, scalarConstant(b, l, t, 1.0 / llvm::numbers::sqrt2)));
        }
        Value onePlus = arith::AddFOp::create(b, l, scalarConstant(b, l, t, 1), inner);
        Value half = arith::MulFOp::create(b, l, scalarConstant(b, l, t, 0.5), x);
        return arith::MulFOp::create(b, l, half, onePlus);
      });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, ctx.dtype(0));
  return success();
}

/// A float unary op whose body reads attributes.
LogicalResult importFloatUnary(NodeContext &ctx, llvm::function_ref<Value(OpBuilder &, Location, Value)> body) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  if (!isFloatDType(ctx.dtype(0)))
    return ctx.emitError() << "needs a float input, got " << dtypeName(ctx.dtype(0));
  FailureOr<Value> result = buildElementwise(ctx, {ctx.value(0)}, ctx.type(0).getElementType(),
                                             [&](OpBuilder &b, Location l, ValueRange a) { return body(b, l, a[0]); });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, ctx.dtype(0));
  return success();
}

Value constantLike(OpBuilder &b, Location l, Value like, double v) { return scalarConstant(b, l, like.getType(), v); }

LogicalResult importLeakyRelu(NodeContext &ctx) {
  double alpha = ctx.floatAttr("alpha", 0.01f);
  return importFloatUnary(ctx, [&](OpBuilder &b, Location l, Value x) -> Value {
    Value negative = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, constantLike(b, l, x, 0));
    return arith::SelectOp::create(b, l, negative, arith::MulFOp::create(b, l, x, constantLike(b, l, x, alpha)), x);
  });
}

/// Elu and Selu: gamma * (x > 0 ? x : alpha * (exp(x) - 1)).
template <bool IsSelu> LogicalResult importElu(NodeContext &ctx) {
  double alpha = ctx.floatAttr("alpha", IsSelu ? 1.67326319217681884765625f : 1.0f);
  double gamma = IsSelu ? ctx.floatAttr("gamma", 1.05070102214813232421875f) : 1.0;
  return importFloatUnary(ctx, [&](OpBuilder &b, Location l, Value x) -> Value {
    Value positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, constantLike(b, l, x, 0));
    Value expm1 = math::ExpM1Op::create(b, l, x);
    Value r = arith::SelectOp::create(b, l, positive, x, arith::MulFOp::create(b, l, expm1, constantLike(b, l, x, alpha)));
    return IsSelu ? arith::MulFOp::create(b, l, r, constantLike(b, l, x, gamma)).getResult() : r;
  });
}

/// HardSigmoid: max(0, min(1, alpha * x + beta)); HardSwish: x * HardSigmoid
/// with alpha 1/6, beta 0.5.
template <bool IsSwish> LogicalResult importHardSigmoid(NodeContext &ctx) {
  double alpha = IsSwish ? 1.0 / 6 : ctx.floatAttr("alpha", 0.2f), beta = IsSwish ? 0.5 : ctx.floatAttr("beta", 0.5f);
  return importFloatUnary(ctx, [&](OpBuilder &b, Location l, Value x) -> Value {
    Value y = arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, x, constantLike(b, l, x, alpha)),
                                    constantLike(b, l, x, beta));
    y = arith::MaximumFOp::create(b, l, arith::MinimumFOp::create(b, l, y, constantLike(b, l, x, 1)),
                                  constantLike(b, l, x, 0));
    return IsSwish ? arith::MulFOp::create(b, l, x, y).getResult() : y;
  });
}

LogicalResult importThresholdedRelu(NodeContext &ctx) {
  double alpha = ctx.floatAttr("alpha", 1.0f);
  return importFloatUnary(ctx, [&](OpBuilder &b, Location l, Value x) -> Value {
    Value above = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, constantLike(b, l, x, alpha));
    return arith::SelectOp::create(b, l, above, x, constantLike(b, l, x, 0));
  });
}

LogicalResult importIsInf(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  if (!isFloatDType(ctx.dtype(0)))
    return ctx.emitError() << "needs a float input, got " << dtypeName(ctx.dtype(0));
  bool positive = ctx.intAttr("detect_positive", 1) != 0, negative = ctx.intAttr("detect_negative", 1) != 0;
  FailureOr<Value> result = buildElementwise(ctx, {ctx.value(0)}, ctx.builder().getI1Type(),
                                             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
    Value inf = constantLike(b, l, a[0], std::numeric_limits<double>::infinity());
    Value isPos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, a[0], inf);
    Value isNeg = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, a[0], arith::NegFOp::create(b, l, inf));
    Value no = arith::ConstantIntOp::create(b, l, 0, 1);
    return arith::OrIOp::create(b, l, positive ? isPos : no, negative ? isNeg : no);
  });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, onnx::TensorProto::BOOL);
  return success();
}

/// Clip(x, min?, max?): max(min(x, hi), lo) with whichever bounds are given.
LogicalResult importClip(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  DType dtype = ctx.dtype(0);
  if (dtype == onnx::TensorProto::BOOL)
    return ctx.emitError() << "does not take a bool input";
  SmallVector<Value> operands = {ctx.value(0)};
  bool hasMin = ctx.hasInput(1), hasMax = ctx.hasInput(2);
  for (size_t i : {size_t(1), size_t(2)}) {
    if (!ctx.hasInput(i))
      continue;
    if (ctx.dtype(i) != dtype || ctx.type(i).getNumElements() != 1)
      return ctx.emitError() << "input " << i << " must be a scalar of " << dtypeName(dtype);
    operands.push_back(ctx.value(i));
  }
  bool isUnsigned = isUnsignedDType(dtype);
  FailureOr<Value> result = buildElementwise(ctx, operands, ctx.type(0).getElementType(),
                                             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
    Value x = a[0];
    size_t next = 1;
    if (hasMin)
      x = maximum(b, l, {x, a[next++]}, isUnsigned);
    if (hasMax)
      x = minimum(b, l, {x, a[next++]}, isUnsigned);
    return x;
  });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, dtype);
  return success();
}

/// Mod: fmod = 1 is C's fmod (sign of the dividend); fmod = 0 (integers
/// only) takes the divisor's sign, like Python's %.
LogicalResult importMod(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  DType dtype = ctx.dtype(0);
  if (ctx.dtype(1) != dtype || dtype == onnx::TensorProto::BOOL)
    return ctx.emitError() << "needs two numeric inputs of one type";
  bool fmod = ctx.intAttr("fmod", 0) != 0, isUnsigned = isUnsignedDType(dtype);
  if (isFloatDType(dtype) && !fmod)
    return ctx.emitError() << "needs fmod = 1 for float inputs";
  FailureOr<Value> result = buildElementwise(ctx, {ctx.value(0), ctx.value(1)}, ctx.type(0).getElementType(),
                                             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
    if (isFloat(a[0]))
      return arith::RemFOp::create(b, l, a[0], a[1]);
    if (isUnsigned)
      return arith::RemUIOp::create(b, l, a[0], a[1]);
    Value r = arith::RemSIOp::create(b, l, a[0], a[1]);
    if (fmod)
      return r;
    Value zero = constantLike(b, l, r, 0);
    Value nonZero = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, r, zero);
    Value signsDiffer = arith::XOrIOp::create(b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, r, zero),
                                              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, a[1], zero));
    Value fix = arith::AndIOp::create(b, l, nonZero, signsDiffer);
    return arith::SelectOp::create(b, l, fix, arith::AddIOp::create(b, l, r, a[1]), r);
  });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, dtype);
  return success();
}

/// Mean of several inputs: their sum divided by the count.
LogicalResult importMean(NodeContext &ctx) {
  if (failed(ctx.requireInputs(std::max<size_t>(ctx.numInputs(), 1))))
    return failure();
  DType dtype = ctx.dtype(0);
  if (!isFloatDType(dtype))
    return ctx.emitError() << "needs float inputs, got " << dtypeName(dtype);
  Value acc = ctx.value(0);
  Type element = ctx.type(0).getElementType();
  for (size_t i = 1; i < ctx.numInputs(); ++i) {
    if (ctx.dtype(i) != dtype)
      return ctx.emitError() << "inputs have different element types";
    FailureOr<Value> sum = buildElementwise(ctx, {acc, ctx.value(i)}, element, [](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::AddFOp::create(b, l, a[0], a[1]);
    });
    if (failed(sum))
      return failure();
    acc = *sum;
  }
  double count = ctx.numInputs();
  FailureOr<Value> mean = buildElementwise(ctx, {acc}, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
    return arith::DivFOp::create(b, l, a[0], scalarConstant(b, l, element, count));
  });
  if (failed(mean))
    return failure();
  ctx.setOutput(0, *mean, dtype);
  return success();
}

/// Dropout at inference: the identity, with an all-true mask. Training mode
/// (a true training_mode input) is refused.
LogicalResult importDropout(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  if (ctx.hasInput(2)) {
    std::optional<SmallVector<int64_t>> training = ctx.constant(2) ? intValues(ctx.constant(2)) : std::nullopt;
    if (!training || training->size() != 1 || (*training)[0])
      return ctx.emitError() << "training_mode must be a known false: lowbit compiles for inference";
  }
  ctx.setOutput(0, ctx.value(0), ctx.dtype(0), ctx.constant(0));
  if (ctx.numOutputs() > 1 && !ctx.node().output(1).empty()) {
    OpBuilder &b = ctx.builder();
    Value empty = tensor::EmptyOp::create(b, ctx.loc(), tensorSizes(b, ctx.loc(), ctx.value(0)), b.getI1Type());
    Value mask = linalg::FillOp::create(b, ctx.loc(), arith::ConstantIntOp::create(b, ctx.loc(), 1, 1).getResult(), empty)
                     .getResult(0);
    ctx.setOutput(1, mask, onnx::TensorProto::BOOL);
  }
  return success();
}

/// CastLike: Cast to the second input's element type.
LogicalResult importCastLike(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)))
    return failure();
  DType from = ctx.dtype(0), to = ctx.dtype(1);
  Type toType = ctx.type(1).getElementType();
  FailureOr<Value> result = buildElementwise(ctx, {ctx.value(0)}, toType, [&](OpBuilder &b, Location l, ValueRange a) {
    return castScalar(b, l, a[0], from, to, toType);
  });
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, to);
  return success();
}

} // namespace

void addElementwiseOps(OpTable &table) {
  table.add("", "LeakyRelu", importLeakyRelu);
  table.add("", "Elu", importElu<false>);
  table.add("", "Selu", importElu<true>);
  table.add("", "HardSigmoid", importHardSigmoid<false>);
  table.add("", "HardSwish", importHardSigmoid<true>);
  table.add("", "ThresholdedRelu", importThresholdedRelu);
  table.add("", "IsInf", importIsInf);
  table.add("", "Clip", importClip);
  table.add("", "Mod", importMod);
  table.add("", "Mean", importMean);
  table.add("", "Dropout", importDropout);
  table.add("", "CastLike", importCastLike);
  for (const ElementwiseSpec &spec : kSpecs)
    table.add("", spec.name, importElementwise);
  table.add("", "Where", importWhere);
  table.add("", "Cast", importCast);
  table.add("", "Identity", importIdentity);
  table.add("", "Gelu", importGelu);
}

} // namespace lowbit::onnx_import
