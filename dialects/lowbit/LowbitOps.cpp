//===- LowbitOps.cpp - lowbit operations ----------------------------------===//

#include "lowbit/Lowbit.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
namespace quant = lowbit::quant;

#define GET_OP_CLASSES
#include "lowbit/LowbitOps.cpp.inc"

namespace lowbit {
namespace {

/// "64x4", or "rank 0" for a scalar tensor; '?' for a dynamic dimension.
std::string shapeString(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "rank 0";
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      shape, os, [&](int64_t d) { ShapedType::isDynamic(d) ? os << "?" : os << d; }, "x");
  return text;
}

ArrayRef<int64_t> shapeOf(Value value) { return cast<ShapedType>(value.getType()).getShape(); }
Type elementTypeOf(Value value) { return cast<ShapedType>(value.getType()).getElementType(); }

/// Two dimensions agree unless both are static and differ.
bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// The shape scales must have beside weights of `shape` in `format`: the
/// weights' shape with the last dimension replaced by the groups per row, or
/// rank 0 when one scale covers the tensor.
SmallVector<int64_t> expectedScaleShape(const quant::Format &format, ArrayRef<int64_t> shape) {
  if (format.granularity == quant::Granularity::Tensor)
    return {};
  SmallVector<int64_t> scaleShape(shape);
  scaleShape.back() = quant::groupsPerRow(format, shape.back());
  return scaleShape;
}

std::string scaleLayoutWords(const quant::Format &format) {
  if (format.kind == quant::FormatKind::Codebook)
    return "one scale per output channel";
  switch (format.granularity) {
  case quant::Granularity::Tensor:
    return "one scale for the whole tensor";
  case quant::Granularity::Channel:
    return "one scale per output channel";
  case quant::Granularity::Group:
    return "one scale per group of " + std::to_string(format.groupSize) + " along the reduction axis";
  }
  return "";
}

/// Checks that the scale, zero-point, min and codebook operands are exactly
/// those the format needs, with the shapes and element types it implies.
LogicalResult verifyQuantParams(Operation *op, FormatAttr formatAttr, ArrayRef<int64_t> shape,
                                Value scales, Value zeroPoints, Value mins, Value codebooks) {
  const quant::Format &format = formatAttr.getValue();
  std::string name = quant::toString(format);
  if (formatAttr.isBlockFormat()) {
    for (auto [value, what] : {std::pair{scales, "scales"}, {zeroPoints, "zero_points"},
                               {mins, "mins"}, {codebooks, "codebooks"}})
      if (value)
        return op->emitOpError() << name << " keeps its scales inside its blocks and takes no '"
                                 << what << "' operand";
    return success();
  }
  if (!scales)
    return op->emitOpError() << "format '" << name << "' needs a 'scales' operand";
  SmallVector<int64_t> scaleShape = expectedScaleShape(format, shape);
  if (shapeOf(scales) != ArrayRef<int64_t>(scaleShape))
    return op->emitOpError() << "'scales' must have shape " << shapeString(scaleShape) << " ("
                             << scaleLayoutWords(format) << "), got " << shapeString(shapeOf(scales));

  bool wantsZeroPoints = format.offset == quant::Offset::ZeroPoint;
  if (bool(zeroPoints) != wantsZeroPoints)
    return op->emitOpError() << "format '" << name << "' "
                             << (wantsZeroPoints ? "needs a 'zero_points' operand"
                                                 : "takes no 'zero_points' (add ', asym' to the format)");
  if (zeroPoints && shapeOf(zeroPoints) != ArrayRef<int64_t>(scaleShape))
    return op->emitOpError() << "'zero_points' must have the scales' shape "
                             << shapeString(scaleShape) << ", got " << shapeString(shapeOf(zeroPoints));

  bool wantsMins = format.offset == quant::Offset::Min;
  if (bool(mins) != wantsMins)
    return op->emitOpError() << "format '" << name << "' "
                             << (wantsMins ? "needs a 'mins' operand"
                                           : "takes no 'mins' (add ', min' to the format)");
  if (mins && shapeOf(mins) != ArrayRef<int64_t>(scaleShape))
    return op->emitOpError() << "'mins' must have the scales' shape " << shapeString(scaleShape)
                             << ", got " << shapeString(shapeOf(mins));
  if (mins && elementTypeOf(mins) != elementTypeOf(scales))
    return op->emitOpError() << "'mins' must have the scales' element type "
                             << elementTypeOf(scales) << ", got " << elementTypeOf(mins);

  bool wantsCodebooks = format.kind == quant::FormatKind::Codebook;
  if (bool(codebooks) != wantsCodebooks)
    return op->emitOpError() << "format '" << name << "' "
                             << (wantsCodebooks ? "needs a 'codebooks' operand"
                                                : "takes no 'codebooks'");
  if (codebooks) {
    SmallVector<int64_t> codebookShape = {format.codebooks, int64_t(1) << format.bits,
                                          format.groupSize};
    if (shapeOf(codebooks) != ArrayRef<int64_t>(codebookShape))
      return op->emitOpError() << "'codebooks' must have shape " << shapeString(codebookShape)
                               << " (codebooks x 2^bits x group), got "
                               << shapeString(shapeOf(codebooks));
  }
  return success();
}

/// Checks that `floatShape`, the shape of a quantize input or dequantize
/// result, is the packed type's logical shape.
LogicalResult verifySameLogicalShape(Operation *op, StringRef what, RankedTensorType tensor,
                                     PackedType packed) {
  if (tensor.getShape() != packed.getShape())
    return op->emitOpError() << what << " shape " << shapeString(tensor.getShape())
                             << " differs from the packed shape " << shapeString(packed.getShape());
  return success();
}

} // namespace

LogicalResult ConstantOp::verify() {
  auto bytesType = cast<ShapedType>(getBytes().getType());
  if (bytesType.getRank() != 1 || !bytesType.getElementType().isInteger(8))
    return emitOpError() << "bytes must be a 1-D tensor of i8, got " << bytesType;
  int64_t expected = getType().getNumBytes();
  if (bytesType.getDimSize(0) != expected)
    return emitOpError() << "has " << bytesType.getDimSize(0) << " bytes, but "
                         << shapeString(getType().getShape()) << " weights in "
                         << quant::toString(getType().getFormat().getValue()) << " take "
                         << expected;
  return success();
}

LogicalResult QuantizeOp::verify() {
  PackedType packed = getType();
  if (failed(verifySameLogicalShape(*this, "input", getInput().getType(), packed)))
    return failure();
  return verifyQuantParams(*this, packed.getFormat(), packed.getShape(), getScales(),
                           getZeroPoints(), getMins(), getCodebooks());
}

LogicalResult DequantizeOp::verify() {
  PackedType packed = getInput().getType();
  if (failed(verifySameLogicalShape(*this, "result", getType(), packed)))
    return failure();
  return verifyQuantParams(*this, packed.getFormat(), packed.getShape(), getScales(),
                           getZeroPoints(), getMins(), getCodebooks());
}

LogicalResult MatmulOp::verify() {
  PackedType weight = getWeight().getType();
  if (weight.getRank() != 2)
    return emitOpError() << "weight must be 2-D [N, K], got " << shapeString(weight.getShape());
  int64_t n = weight.getShape()[0], k = weight.getShape()[1];
  ArrayRef<int64_t> input = getInput().getType().getShape();
  ArrayRef<int64_t> result = getType().getShape();
  if (input.empty())
    return emitOpError() << "input must have at least one dimension";
  if (!dimsAgree(input.back(), k))
    return emitOpError() << "input's last dimension (" << input.back()
                         << ") must equal the weight's reduction dimension K (" << k << ")";
  if (result.size() != input.size())
    return emitOpError() << "result must have the input's rank " << input.size() << ", got "
                         << result.size();
  for (auto [i, dims] : llvm::enumerate(llvm::zip(input.drop_back(), result.drop_back())))
    if (!dimsAgree(std::get<0>(dims), std::get<1>(dims)))
      return emitOpError() << "result dimension " << i << " (" << std::get<1>(dims)
                           << ") differs from the input's (" << std::get<0>(dims) << ")";
  if (!dimsAgree(result.back(), n))
    return emitOpError() << "result's last dimension (" << result.back()
                         << ") must equal the weight's output channels N (" << n << ")";
  if (getType().getElementType() != getInput().getType().getElementType())
    return emitOpError() << "result element type " << getType().getElementType()
                         << " differs from the input's " << getInput().getType().getElementType();
  if (Value bias = getBias()) {
    if (shapeOf(bias) != ArrayRef<int64_t>{n})
      return emitOpError() << "'bias' must have shape " << n << " (one per output channel), got "
                           << shapeString(shapeOf(bias));
    if (elementTypeOf(bias) != getType().getElementType())
      return emitOpError() << "'bias' element type " << elementTypeOf(bias)
                           << " differs from the result's " << getType().getElementType();
  }
  return verifyQuantParams(*this, weight.getFormat(), weight.getShape(), getScales(),
                           getZeroPoints(), getMins(), getCodebooks());
}

LogicalResult DynamicQuantizeOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (input.empty())
    return emitOpError() << "input must have at least one dimension";
  if (getResult().getType().getShape() != input)
    return emitOpError() << "result shape " << shapeString(getResult().getType().getShape())
                         << " differs from the input's " << shapeString(input);
  SmallVector<int64_t> scaleShape(input);
  scaleShape.back() = 1;
  if (getScales().getType().getShape() != ArrayRef<int64_t>(scaleShape))
    return emitOpError() << "scales must have shape " << shapeString(scaleShape)
                         << " (one per row), got " << shapeString(getScales().getType().getShape());
  return success();
}

LogicalResult IntMatmulOp::verify() {
  ArrayRef<int64_t> lhs = getLhs().getType().getShape();
  ArrayRef<int64_t> rhs = getRhs().getType().getShape();
  ArrayRef<int64_t> result = getType().getShape();
  if (lhs.empty())
    return emitOpError() << "lhs must have at least one dimension";
  if (rhs.size() != 2)
    return emitOpError() << "rhs must be 2-D [N, K], got " << shapeString(rhs);
  if (!dimsAgree(lhs.back(), rhs[1]))
    return emitOpError() << "lhs's last dimension (" << lhs.back()
                         << ") must equal rhs's reduction dimension K (" << rhs[1] << ")";
  SmallVector<int64_t> expected(lhs.drop_back());
  expected.push_back(rhs[0]);
  if (result.size() != expected.size() ||
      !llvm::all_of(llvm::zip(result, expected),
                    [](auto dims) { return dimsAgree(std::get<0>(dims), std::get<1>(dims)); }))
    return emitOpError() << "result shape " << shapeString(result) << " must be "
                         << shapeString(expected);
  if (Value zp = getLhsZeroPoint()) {
    if (!shapeOf(zp).empty())
      return emitOpError() << "'lhs_zero_point' must be a scalar (rank 0), got "
                           << shapeString(shapeOf(zp));
    if (elementTypeOf(zp) != getLhs().getType().getElementType())
      return emitOpError() << "'lhs_zero_point' must have the lhs's element type";
  }
  if (Value zp = getRhsZeroPoint()) {
    if (!shapeOf(zp).empty() && shapeOf(zp) != ArrayRef<int64_t>{rhs[0]})
      return emitOpError() << "'rhs_zero_point' must be a scalar or have shape " << rhs[0]
                           << " (one per output channel), got " << shapeString(shapeOf(zp));
    if (elementTypeOf(zp) != getRhs().getType().getElementType())
      return emitOpError() << "'rhs_zero_point' must have the rhs's element type";
  }
  return success();
}

LogicalResult HadamardOp::verify() {
  ArrayRef<int64_t> shape = getInput().getType().getShape();
  if (shape.empty())
    return emitOpError() << "input must have at least one dimension";
  int64_t last = shape.back();
  int64_t size = getSize().value_or(last);
  if (ShapedType::isDynamic(size))
    return emitOpError() << "needs a 'size' when the last dimension is dynamic";
  if (size <= 0 || !llvm::isPowerOf2_64(size))
    return emitOpError() << "transform size must be a positive power of two, got " << size;
  if (!ShapedType::isDynamic(last) && last % size != 0)
    return emitOpError() << "transform size " << size << " does not divide the last dimension ("
                         << last << ")";
  return success();
}

LogicalResult ObserveOp::verify() {
  if (getKey().empty())
    return emitOpError() << "needs a non-empty key naming what it observes";
  return success();
}

} // namespace lowbit
