//===- NormFold.cpp - Per-channel scales folded into a norm's gamma -------===//

#include "lowbit/Transforms/NormFold.h"

#include "lowbit/Quant/Calibration.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

namespace lowbit {

OpOperand *normGammaOperand(Value activation, int64_t k) {
  auto op = activation.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() || op.getRegion().front().getOperations().size() != 2)
    return nullptr;
  auto mul = dyn_cast<arith::MulFOp>(op.getRegion().front().front());
  if (!mul)
    return nullptr;
  for (OpOperand *operand : op.getDpsInputOperands()) {
    auto constant = operand->get().getDefiningOp<arith::ConstantOp>();
    auto type = constant ? dyn_cast<RankedTensorType>(constant.getType()) : nullptr;
    AffineMap map = op.getMatchingIndexingMap(operand);
    if (type && type.getRank() == 1 && type.getDimSize(0) == k && type.getElementType().isF32() &&
        map.getNumResults() == 1 && map.getResult(0) == getAffineDimExpr(op.getNumLoops() - 1, op.getContext()))
      return operand;
  }
  return nullptr;
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

llvm::DenseMap<StringRef, int> countResourceUses(Operation *root) {
  llvm::DenseMap<StringRef, int> uses;
  root->walk([&](arith::ConstantOp op) {
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue()))
      ++uses[resource.getRawHandle().getKey()];
  });
  return uses;
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

void foldIntoGamma(OpOperand *gamma, ArrayRef<float> scales, StringRef blobName) {
  auto constant = gamma->get().getDefiningOp<arith::ConstantOp>();
  std::vector<float> g = constantValues(constant);
  (void)quant::foldIntoNorm(g.data(), nullptr, int64_t(g.size()), scales.data());
  OpBuilder b(gamma->getOwner());
  auto type = cast<RankedTensorType>(constant.getType());
  ArrayRef<char> bytes(reinterpret_cast<const char *>(g.data()), g.size() * sizeof(float));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(float));
  auto attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
  gamma->set(arith::ConstantOp::create(b, constant.getLoc(), attr));
}

std::string whyNotFoldable(Value input, ArrayRef<WeightMatmul> group, OpOperand *gamma,
                           const llvm::DenseMap<StringRef, int> &resourceUses) {
  for (WeightMatmul m : group) {
    auto resource = dyn_cast<DenseResourceElementsAttr>(m.weight.getValue());
    if (!resource || resourceUses.lookup(resource.getRawHandle().getKey()) != 1)
      return "a weight is not a blob of its own";
  }
  if (!gamma)
    return "its input is not a norm's gamma multiply";
  // Shape queries do not read the values.
  for (Operation *user : input.getUsers())
    if (!isa<tensor::DimOp>(user) && !llvm::any_of(group, [&](WeightMatmul m) { return m.op.getOperation() == user; }))
      return "the norm's output has other users";
  return "";
}

} // namespace lowbit
