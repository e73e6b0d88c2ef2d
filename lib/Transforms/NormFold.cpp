//===- NormFold.cpp - Per-channel scales folded into a norm's gamma -------===//

#include "lowbit/Transforms/NormFold.h"

#include "lowbit/Quant/Calibration.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

namespace lowbit {

namespace {

/// A constant f32 [k] read along the generic's last loop: a norm's gamma or
/// beta, one value per channel.
bool isChannelConstant(linalg::GenericOp op, OpOperand *operand, int64_t k) {
  auto constant = operand->get().getDefiningOp<arith::ConstantOp>();
  auto type = constant ? dyn_cast<RankedTensorType>(constant.getType()) : nullptr;
  AffineMap map = op.getMatchingIndexingMap(operand);
  return type && type.getRank() == 1 && type.getDimSize(0) == k && type.getElementType().isF32() &&
         map.getNumResults() == 1 && map.getResult(0) == getAffineDimExpr(op.getNumLoops() - 1, op.getContext());
}

/// The generic's input that block argument `v` is, or null.
OpOperand *inputOf(linalg::GenericOp op, Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != &op.getRegion().front() || arg.getArgNumber() >= unsigned(op.getNumDpsInputs()))
    return nullptr;
  return op.getDpsInputOperand(arg.getArgNumber());
}

/// The elementwise generic's body: `a * b` (RMSNorm, LayerNorm without a
/// bias) or `a * b + c` (LayerNorm's `x * gamma + beta`). Its multiply, and
/// the input added after it (null without a bias).
bool matchScaleShift(linalg::GenericOp op, arith::MulFOp &mul, OpOperand *&bias) {
  Block &body = op.getRegion().front();
  size_t ops = body.getOperations().size();
  if (op.getNumDpsInits() != 1 || op.getNumLoops() != op.getNumParallelLoops() ||
      !((op.getNumDpsInputs() == 2 && ops == 2) || (op.getNumDpsInputs() == 3 && ops == 3)))
    return false;
  mul = dyn_cast<arith::MulFOp>(body.front());
  bias = nullptr;
  if (!mul)
    return false;
  if (ops == 2)
    return true;
  auto add = dyn_cast<arith::AddFOp>(*std::next(body.begin()));
  if (!add || body.getTerminator()->getOperand(0) != add.getResult())
    return false;
  Value other = add.getLhs() == mul.getResult() ? add.getRhs() : add.getRhs() == mul.getResult() ? add.getLhs() : Value();
  bias = other ? inputOf(op, other) : nullptr;
  return bias != nullptr;
}

} // namespace

OpOperand *normGammaOperand(Value activation, int64_t k) {
  auto op = activation.getDefiningOp<linalg::GenericOp>();
  arith::MulFOp mul;
  OpOperand *bias = nullptr;
  if (!op || !matchScaleShift(op, mul, bias))
    return nullptr;
  // A bias folds with gamma ((x gamma + beta) / s), so it must be one too.
  if (bias && !isChannelConstant(op, bias, k))
    return nullptr;
  for (Value factor : {mul.getLhs(), mul.getRhs()})
    if (OpOperand *operand = inputOf(op, factor); operand && operand != bias && isChannelConstant(op, operand, k))
      return operand;
  return nullptr;
}

OpOperand *normBetaOperand(OpOperand *gamma) {
  auto op = cast<linalg::GenericOp>(gamma->getOwner());
  arith::MulFOp mul;
  OpOperand *bias = nullptr;
  return matchScaleShift(op, mul, bias) ? bias : nullptr;
}

std::vector<float> constantValues(arith::ConstantOp constant) {
  Attribute value = constant.getValue();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    ArrayRef<char> bytes = resource.getRawHandle().getBlob()->getData();
    std::vector<float> out(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
  }
  auto dense = cast<DenseElementsAttr>(value);
  return std::vector<float>(dense.getValues<float>().begin(), dense.getValues<float>().end());
}

void writeWeightRows(WeightMatmul m, ArrayRef<float> rows) {
  std::vector<float> values(rows.begin(), rows.end());
  if (!m.transposed)
    for (int64_t kk = 0; kk < m.k; ++kk)
      for (int64_t nn = 0; nn < m.n; ++nn)
        values[kk * m.n + nn] = rows[nn * m.k + kk];
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(float));
  auto resource = cast<DenseResourceElementsAttr>(m.weight.getValue());
  resource.getRawHandle().getResource()->setBlob(HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(float)));
}

namespace {

/// `values` as a new blob constant `blobName` of `operand`'s type, for this
/// operand only.
void replaceConstant(OpOperand *operand, ArrayRef<float> values, StringRef blobName) {
  auto constant = operand->get().getDefiningOp<arith::ConstantOp>();
  OpBuilder b(operand->getOwner());
  auto type = cast<RankedTensorType>(constant.getType());
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(float));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(float));
  auto attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
  operand->set(arith::ConstantOp::create(b, constant.getLoc(), attr));
}

} // namespace

void foldIntoGamma(OpOperand *gamma, ArrayRef<float> scales, StringRef blobName) {
  std::vector<float> g = constantValues(gamma->get().getDefiningOp<arith::ConstantOp>());
  OpOperand *beta = normBetaOperand(gamma);
  std::vector<float> bias;
  if (beta)
    bias = constantValues(beta->get().getDefiningOp<arith::ConstantOp>());
  (void)quant::foldIntoNorm(g.data(), beta ? bias.data() : nullptr, int64_t(g.size()), scales.data());
  replaceConstant(gamma, g, blobName);
  if (beta)
    replaceConstant(beta, bias, (blobName + "_bias").str());
}

namespace {

bool isGroupReader(Operation *user, ArrayRef<WeightMatmul> group) {
  // Shape queries do not read the values.
  return isa<tensor::DimOp>(user) || llvm::any_of(group, [&](WeightMatmul m) { return m.op.getOperation() == user; });
}

} // namespace

void detachOtherReaders(Value input, ArrayRef<WeightMatmul> group) {
  if (llvm::all_of(input.getUsers(), [&](Operation *user) { return isGroupReader(user, group); }))
    return;
  Operation *norm = input.getDefiningOp();
  OpBuilder b(norm);
  b.setInsertionPointAfter(norm);
  Operation *copy = b.clone(*norm);
  Value result = copy->getResult(cast<OpResult>(input).getResultNumber());
  input.replaceUsesWithIf(result, [&](OpOperand &use) { return !isGroupReader(use.getOwner(), group); });
}

std::string whyNotFoldable(Value input, ArrayRef<WeightMatmul> group, OpOperand *gamma,
                           const llvm::DenseMap<StringRef, int> &resourceUses, bool otherReadersAllowed) {
  for (WeightMatmul m : group) {
    auto resource = dyn_cast<DenseResourceElementsAttr>(m.weight.getValue());
    if (!resource || resourceUses.lookup(resource.getRawHandle().getKey()) != 1)
      return "a weight is not a blob of its own";
  }
  if (!gamma)
    return "its input is not a norm's gamma multiply";
  if (!otherReadersAllowed)
    for (Operation *user : input.getUsers())
      if (!isGroupReader(user, group))
        return "the norm's output has other users";
  return "";
}

} // namespace lowbit
