//===- OutlierSplit.cpp - LLM.int8(): outlier channels in float, rest W8A8 ===//
//
// The adapter between the matcher and lib/Quant/OutlierSplit.h, and the W8A8
// matmul both calibrated int8 passes emit (W8A8.h). The IR a split weight
// becomes, with x [..., K] and O the outlier channels:
//
//   xr  = linalg.generic ins(x, mask) : x * mask     (mask: 0 on O, 1 elsewhere)
//   yi  = lowbit.matmul xr, W_int  (int8, a8)
//   xo  = linalg.generic ins(idx)  : x[..., idx[j]]  (the gathered outliers)
//   y   = the original contraction of xo by W[:, O], accumulating into yi
//
// The last one is the importer's own contraction cloned with the smaller
// weight, so the CPU pipeline lowers it to the runtime's float matmul
// (accumulating, since its init is yi).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/CalibratedPasses.h"
#include "lowbit/Transforms/W8A8.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_OUTLIERSPLITPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
namespace quant = lowbit::quant;

namespace lowbit {

quant::Format w8a8Format() {
  quant::Format f = quant::Format::integer(8);
  f.activations = quant::Activations::Int8PerToken;
  return f;
}

LogicalResult splitWeight(WeightMatmul m, StringRef name, StringRef pass, const std::vector<int64_t> &outliers,
                          quant::OutlierSplitWeights &out) {
  std::vector<float> rows = rowsOf(m);
  if (Status s = quant::splitOutlierWeights(rows.data(), m.n, m.k, outliers, out); s.failed())
    return m.op.emitError() << pass << ": cannot quantize weight '" << name << "': " << s.message();
  return success();
}

MatmulOp replaceWithW8A8(WeightMatmul m, StringRef name, const quant::OutlierSplitWeights &split) {
  // 8-bit codes pack as the bytes themselves.
  return replaceWithPackedMatmul(m, name, w8a8Format(), split.intPart.codes, split.intPart);
}

namespace {

template <typename T>
Value blobConstant(OpBuilder &b, Location loc, RankedTensorType type, ArrayRef<T> values, StringRef name) {
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(T));
  return arith::ConstantOp::create(b, loc, DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

/// tensor.empty shaped like `like` but with `last` as its last dimension.
Value emptyLike(OpBuilder &b, Location loc, Value like, int64_t last) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = last;
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(tensor::DimOp::create(b, loc, like, d));
  return tensor::EmptyOp::create(b, loc, shape, type.getElementType(), dynamic);
}

/// x * mask[k] along the last axis.
Value maskLastAxis(OpBuilder &b, Location loc, Value x, Value mask) {
  auto type = cast<RankedTensorType>(x.getType());
  const int64_t rank = type.getRank();
  Value init = emptyLike(b, loc, x, type.getShape().back());
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap last = AffineMap::get(rank, 0, b.getAffineDimExpr(rank - 1));
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{x, mask}, ValueRange{init},
      SmallVector<AffineMap>{identity, last, identity},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, arith::MulFOp::create(nb, l, args[0], args[1]).getResult());
      });
  return op.getResult(0);
}

/// x[..., indices[j]]: [..., |indices|].
Value gatherLastAxis(OpBuilder &b, Location loc, Value x, Value indices, int64_t count) {
  const int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  Value init = emptyLike(b, loc, x, count);
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap last = AffineMap::get(rank, 0, b.getAffineDimExpr(rank - 1));
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{indices}, ValueRange{init}, SmallVector<AffineMap>{last, identity},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        SmallVector<Value> coords;
        for (int64_t d = 0; d + 1 < rank; ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d));
        coords.push_back(arith::IndexCastOp::create(nb, l, nb.getIndexType(), args[0]));
        linalg::YieldOp::create(nb, l, tensor::ExtractOp::create(nb, l, x, coords).getResult());
      });
  return op.getResult(0);
}

class OutlierSplitPass : public impl::OutlierSplitPassBase<OutlierSplitPass> {
public:
  using Base::Base;
  OutlierSplitPass(const OutlierSplitPassOptions &options, std::shared_ptr<const CalibrationData> calibration)
      : Base(options), calibration_(std::move(calibration)) {}

  void runOnOperation() override {
    if (!(threshold > 0.0)) {
      getOperation().emitError() << "lowbit-outlier-split: threshold must be positive, got " << threshold;
      return signalPassFailure();
    }
    if (failed(loadCalibration()))
      return signalPassFailure();
    WeightSelection selection;
    if (failed(selection.compile(getOperation(), "lowbit-outlier-split", include, exclude)))
      return signalPassFailure();
    SmallVector<WeightMatmul> matches = findWeightMatmuls(getOperation());
    const std::optional<quant::Format> format = w8a8Format();
    for (auto [i, m] : llvm::enumerate(matches)) {
      std::string name = weightName(m);
      if (std::string why = whyFloat(m, selection, format); !why.empty()) {
        if (report)
          llvm::errs() << "[" << i + 1 << "/" << matches.size() << "] " << name << ": stays f32 (" << why << ")\n";
        continue;
      }
      if (failed(split(m, name, i + 1, matches.size())))
        return signalPassFailure();
    }
  }

private:
  LogicalResult loadCalibration() {
    return loadPassCalibration(getOperation(), "lowbit-outlier-split", calibStats, /*needGram=*/false,
                               /*required=*/true, calibration_);
  }


  LogicalResult split(WeightMatmul m, const std::string &name, size_t index, size_t count) {
    const ObservedInput *in = calibration_->forWeight(name);
    if (!in || in->stats.channels != m.k)
      return m.op.emitError() << "lowbit-outlier-split: no statistics with K = " << m.k << " for weight '" << name
                              << "'";
    std::vector<int64_t> outliers =
        quant::selectOutlierChannels(in->stats.absMax.data(), m.k, static_cast<float>(threshold));
    quant::OutlierSplitWeights parts;
    if (failed(splitWeight(m, name, "lowbit-outlier-split", outliers, parts)))
      return failure();
    if (report)
      llvm::errs() << "[" << index << "/" << count << "] " << name << ": " << m.n << "x" << m.k << " -> int8, a8 + "
                   << outliers.size() << " float channel" << (outliers.size() == 1 ? "" : "s") << "\n";
    if (outliers.empty()) {
      replaceWithW8A8(m, name, parts);
      return success();
    }
    OpBuilder b(m.op);
    Location loc = m.op.getLoc();
    const int64_t o = static_cast<int64_t>(outliers.size());
    Value x = m.activation();
    // The float part first, cloned from the contraction before it goes.
    std::vector<float> mask(m.k, 1.f);
    for (int64_t j : outliers)
      mask[j] = 0.f;
    Value indices = blobConstant(b, loc, RankedTensorType::get({o}, b.getI64Type()), ArrayRef<int64_t>(outliers),
                                 name + ".outlier_channels");
    Value gathered = gatherLastAxis(b, loc, x, indices, o);
    std::vector<float> floatWeight = parts.floatPart; // [N, |O|]
    auto weightType = cast<RankedTensorType>(m.weight.getType());
    SmallVector<int64_t> shape = m.transposed ? SmallVector<int64_t>{m.n, o} : SmallVector<int64_t>{o, m.n};
    if (!m.transposed) {
      for (int64_t n = 0; n < m.n; ++n)
        for (int64_t j = 0; j < o; ++j)
          floatWeight[j * m.n + n] = parts.floatPart[n * o + j];
    }
    Value outlierWeight = blobConstant(b, loc, RankedTensorType::get(shape, weightType.getElementType()),
                                       ArrayRef<float>(floatWeight), name + ".outlier_weight");
    IRMapping mapping;
    mapping.map(x, gathered);
    mapping.map(m.weight.getResult(), outlierWeight);
    Operation *floatPart = b.clone(*m.op, mapping);
    // The int part reads x with O zeroed, so its per-token scales ignore O.
    m.op->setOperand(0, maskLastAxis(b, loc, x,
                                     blobConstant(b, loc, RankedTensorType::get({m.k}, b.getF32Type()),
                                                  ArrayRef<float>(mask), name + ".regular_mask")));
    MatmulOp intPart = replaceWithW8A8(m, name, parts);
    // y = int part + float part: the float contraction accumulates into it.
    auto contraction = cast<linalg::GenericOp>(floatPart);
    intPart.getResult().replaceAllUsesWith(contraction.getResult(0));
    contraction.getDpsInitsMutable()[0].set(intPart.getResult());
    floatPart->moveAfter(intPart);
    return success();
  }

  std::shared_ptr<const CalibrationData> calibration_;
};

} // namespace

std::unique_ptr<Pass> createOutlierSplitPass(const OutlierSplitPassOptions &options,
                                             std::shared_ptr<const CalibrationData> calibration) {
  return std::make_unique<OutlierSplitPass>(options, std::move(calibration));
}

} // namespace lowbit
