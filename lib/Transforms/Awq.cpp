//===- Awq.cpp - AWQ: scale salient input channels, fold 1/s upstream ---===//
//
// The adapter between the matcher and lib/Quant/Awq.h. Inputs are scaled
// where 1/s folds for free into the op producing them:
//  - a norm's gamma multiply (q/k/v, gate/up): gamma / s;
//  - an elementwise product with a linear's output read by nothing else
//    (down_proj's silu(gate) * up): that linear's output rows / s (up_proj),
//    as the reference does.
// o_proj is left alone: its input is attention's output, whose channel
// (head h, d) is v_proj's row (kv(h), d); with grouped-query attention
// (SmolLM2: 9 heads, 3 KV heads) several heads share one v_proj row, so a
// per-channel s would have to be equal across those heads. AutoAWQ skips
// o_proj in that case too (it scales v -> o only when the shapes match).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/CalibratedPasses.h"
#include "lowbit/Transforms/NormFold.h"
#include "lowbit/Transforms/Progress.h"
#include "lowbit/Transforms/WeightMatmul.h"

#include "lowbit/Quant/Awq.h"
#include "lowbit/Quant/Calibration.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace lowbit {
#define GEN_PASS_DEF_AWQPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
namespace quant = lowbit::quant;

namespace lowbit {
namespace {

/// `a * b` elementwise (identity maps, one mulf) where one operand is the
/// output of a weight matmul with K = `k` outputs that nothing else reads:
/// dividing that linear's output rows by s divides the product's channels by
/// s (down_proj's input silu(gate) * up, folded into up_proj).
std::optional<WeightMatmul> previousLinear(Value activation, int64_t k) {
  auto op = activation.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() || op.getRegion().front().getOperations().size() != 2 ||
      !isa<arith::MulFOp>(op.getRegion().front().front()) ||
      !llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) { return map.isIdentity(); }))
    return std::nullopt;
  for (Value operand : op.getDpsInputs()) {
    auto producer = operand.getDefiningOp<linalg::GenericOp>();
    if (!producer || !operand.hasOneUse())
      continue;
    if (std::optional<WeightMatmul> m = matchWeightMatmul(producer); m && m->n == k)
      return m;
  }
  return std::nullopt;
}

class AwqPass : public impl::AwqPassBase<AwqPass> {
public:
  using Base::Base;
  AwqPass(const AwqPassOptions &options, std::shared_ptr<const CalibrationData> calibration,
          std::shared_ptr<CalibrationData> scaled)
      : Base(options), calibration_(std::move(calibration)), scaled_(std::move(scaled)) {}

  void runOnOperation() override {
    if (failed(loadCalibration()))
      return signalPassFailure();
    SmallVector<WeightMatmul> matches = findWeightMatmuls(getOperation());
    FailureOr<SmallVector<std::optional<quant::Format>>> formats =
        formatsForWeights(getOperation(), "lowbit-awq", format, matches);
    if (failed(formats))
      return signalPassFailure();
    // A weight's blob is rewritten in place (its name is how the statistics
    // find it), so it must not be shared with another constant.
    resourceUses_ = countResourceUses(getOperation());
    copyStatisticsWithoutGram();
    llvm::MapVector<Value, SmallVector<std::pair<WeightMatmul, std::optional<quant::Format>>>> groups;
    for (auto [m, f] : llvm::zip_equal(matches, *formats))
      groups[m.activation()].push_back({m, f});
    if (report)
      progress_.emplace("lowbit-awq", groups.size());
    int64_t index = 0;
    for (auto &[input, group] : groups)
      if (failed(scaleGroup(input, group, ++index, groups.size())))
        return signalPassFailure();
    progress_.reset();
  }

private:
  LogicalResult loadCalibration() {
    return loadPassCalibration(getOperation(), "lowbit-awq", calibStats, /*needGram=*/true,
                               /*required=*/true, calibration_);
  }


  /// `scaled_` starts as the per-channel statistics of every input; the
  /// inputs this pass scales are divided by s as it goes.
  void copyStatisticsWithoutGram() {
    if (!scaled_)
      return;
    scaled_->inputs.clear();
    for (const ObservedInput &in : calibration_->inputs) {
      ObservedInput copy{in.name, in.weights, {}};
      copy.stats.channels = in.stats.channels;
      copy.stats.rows = in.stats.rows;
      copy.stats.absMax = in.stats.absMax;
      copy.stats.absSum = in.stats.absSum;
      copy.stats.squareSum = in.stats.squareSum;
      scaled_->inputs.push_back(std::move(copy));
    }
  }

  /// Why a group is left alone ("" when it is scaled): 1/s goes into `gamma`
  /// or, without one, into `previous`'s rows.
  std::string skipReason(Value input, ArrayRef<std::pair<WeightMatmul, std::optional<quant::Format>>> group,
                         OpOperand *gamma, std::optional<WeightMatmul> previous) {
    for (auto [m, f] : group) {
      if (!f || !group.front().second || *f != *group.front().second)
        return "its weights do not share one format";
      if (!quant::checkRowLength(*f, m.k).empty())
        return "the format does not fit its rows";
      auto resource = dyn_cast<DenseResourceElementsAttr>(m.weight.getValue());
      if (!resource || resourceUses_.lookup(resource.getRawHandle().getKey()) != 1)
        return "a weight is not a blob of its own";
    }
    if (!gamma && !previous)
      return "its input is neither a norm's gamma multiply nor a product with a linear's output";
    if (!gamma) {
      auto resource = dyn_cast<DenseResourceElementsAttr>(previous->weight.getValue());
      if (!resource || resourceUses_.lookup(resource.getRawHandle().getKey()) != 1)
        return "the previous linear's weight is not a blob of its own";
    }
    // Shape queries do not read the values.
    for (Operation *user : input.getUsers())
      if (!isa<tensor::DimOp>(user) && !llvm::any_of(group, [&](auto p) { return p.first.op.getOperation() == user; }))
        return "the norm's output has other users";
    return "";
  }

  LogicalResult scaleGroup(Value input, ArrayRef<std::pair<WeightMatmul, std::optional<quant::Format>>> group,
                           int64_t index, size_t count) {
    WeightMatmul first = group.front().first;
    std::string name = weightName(first);
    OpOperand *gamma = normGammaOperand(input, first.k);
    std::optional<WeightMatmul> previous = gamma ? std::nullopt : previousLinear(input, first.k);
    if (std::string why = skipReason(input, group, gamma, previous); !why.empty()) {
      if (progress_)
        progress_->step(index, name + ": not scaled (" + why + ")");
      return success();
    }
    const ObservedInput *in = calibration_->forWeight(name);
    if (!in || in->stats.channels != first.k || !in->hasGram())
      return first.op.emitError() << "lowbit-awq: no statistics with X^T X and K = " << first.k << " for weight '"
                                  << name << "'";
    std::vector<float> stacked;
    int64_t rows = 0;
    for (auto [m, f] : group) {
      std::vector<float> w = rowsOf(m);
      stacked.insert(stacked.end(), w.begin(), w.end());
      rows += m.n;
    }
    quant::AwqOptions options;
    options.searchClip = clip;
    options.threads = threads;
    options.uniform = quant::UniformOptions(); // the quantize pass's own quantizer
    const std::vector<float> meanSquare = importance ? in->stats.meanSquare() : std::vector<float>();
    options.importance = importance ? meanSquare.data() : nullptr;
    options.duoScaling = duoScaling;
    quant::AwqResult r;
    std::vector<double> storage; // X^T X left in the statistics file, read for this group only
    const double *gram = nullptr;
    if (Status status = loadGram(*calibration_, *in, storage, gram); status.failed())
      return first.op.emitError() << "lowbit-awq: " << status.message();
    if (Status status = quant::awqSearch(*group.front().second, stacked.data(), rows, first.k,
                                         in->stats.absMean().data(), gram, options, r);
        status.failed())
      return first.op.emitError() << "lowbit-awq: '" << name << "': " << status.message();
    int64_t row = 0;
    for (auto [m, f] : group) {
      writeWeightRows(m, ArrayRef<float>(r.weights).slice(row * m.k, m.n * m.k));
      row += m.n;
    }
    if (scaled_)
      for (ObservedInput &copy : scaled_->inputs)
        if (copy.name == in->name)
          (void)quant::divideCalibStatsByScales(copy.stats, r.scales.data());
    if (gamma) {
      foldIntoGamma(gamma, r.scales, name + ".awq_norm");
    } else {
      std::vector<float> rows = rowsOf(*previous);
      (void)quant::foldIntoPreviousLinear(rows.data(), nullptr, previous->n, previous->k, r.scales.data());
      writeWeightRows(*previous, rows);
    }
    if (progress_) {
      std::string line;
      llvm::raw_string_ostream os(line);
      os << name << " (+" << group.size() - 1 << (gamma ? "" : ", 1/s into " + weightName(*previous))
         << "): alpha " << llvm::format("%.2f", r.alpha) << (r.duo ? " (duo)" : "") << ", loss rtn "
         << llvm::format("%.4g", r.lossRtn)
         << " -> scaled " << llvm::format("%.4g", r.lossScaled) << " -> clipped "
         << llvm::format("%.4g", r.lossClipped);
      progress_->step(index, line);
    }
    return success();
  }

  std::shared_ptr<const CalibrationData> calibration_;
  std::shared_ptr<CalibrationData> scaled_; ///< null, or filled for the quantize pass
  std::optional<Progress> progress_;        ///< with `report`
  llvm::DenseMap<StringRef, int> resourceUses_;
};

} // namespace

std::unique_ptr<Pass> createAwqPass(const AwqPassOptions &options,
                                    std::shared_ptr<const CalibrationData> calibration,
                                    std::shared_ptr<CalibrationData> scaled) {
  return std::make_unique<AwqPass>(options, std::move(calibration), std::move(scaled));
}

} // namespace lowbit
