//===- Smooth.cpp - SmoothQuant: smoothing folded into the norm, then W8A8 ===//
//
// The adapter between the matcher and lib/Quant/SmoothQuant.h: the groups
// lowbit-awq scales (readers of a norm's `x * gamma`) get SmoothQuant's
// scales instead of AWQ's search, and then every selected weight matmul is
// quantized to W8A8. A group whose input is not a norm's output (o_proj,
// down_proj) is quantized unsmoothed, as in the paper's Llama recipe.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/CalibratedPasses.h"
#include "lowbit/Transforms/NormFold.h"
#include "lowbit/Transforms/W8A8.h"

#include "lowbit/Quant/Calibration.h"
#include "lowbit/Quant/SmoothQuant.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace lowbit {
#define GEN_PASS_DEF_SMOOTHPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
namespace quant = lowbit::quant;

namespace lowbit {
namespace {

class SmoothPass : public impl::SmoothPassBase<SmoothPass> {
public:
  using Base::Base;
  SmoothPass(const SmoothPassOptions &options, std::shared_ptr<const CalibrationData> calibration)
      : Base(options), calibration_(std::move(calibration)) {}

  void runOnOperation() override {
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      getOperation().emitError() << "lowbit-smooth: alpha must be in [0, 1], got " << alpha;
      return signalPassFailure();
    }
    if (failed(loadCalibration()))
      return signalPassFailure();
    WeightSelection selection;
    if (failed(selection.compile(getOperation(), "lowbit-smooth", include, exclude)))
      return signalPassFailure();
    SmallVector<WeightMatmul> matches = findWeightMatmuls(getOperation());
    resourceUses_ = countResourceUses(getOperation());
    llvm::MapVector<Value, SmallVector<WeightMatmul>> groups;
    for (WeightMatmul m : matches)
      groups[m.activation()].push_back(m);
    int64_t index = 0;
    for (auto &[input, group] : groups)
      if (failed(smoothGroup(input, group, ++index, groups.size())))
        return signalPassFailure();
    const std::optional<quant::Format> format = w8a8Format();
    for (auto [i, m] : llvm::enumerate(matches)) {
      std::string name = weightName(m);
      if (std::string why = whyFloat(m, selection, format); !why.empty()) {
        if (report)
          llvm::errs() << "[" << i + 1 << "/" << matches.size() << "] " << name << ": stays f32 (" << why << ")\n";
        continue;
      }
      quant::OutlierSplitWeights split;
      if (failed(splitWeight(m, name, "lowbit-smooth", {}, split)))
        return signalPassFailure();
      replaceWithW8A8(m, name, split);
      if (report)
        llvm::errs() << "[" << i + 1 << "/" << matches.size() << "] " << name << ": " << m.n << "x" << m.k
                     << " f32 -> int8, a8\n";
    }
  }

private:
  LogicalResult loadCalibration() {
    return loadPassCalibration(getOperation(), "lowbit-smooth", calibStats, /*needGram=*/false,
                               /*required=*/true, calibration_);
  }


  LogicalResult smoothGroup(Value input, ArrayRef<WeightMatmul> group, int64_t index, size_t count) {
    WeightMatmul first = group.front();
    std::string name = weightName(first);
    OpOperand *gamma = normGammaOperand(input, first.k);
    if (std::string why = whyNotFoldable(input, group, gamma, resourceUses_, /*otherReadersAllowed=*/true);
        !why.empty()) {
      if (report)
        llvm::errs() << "[group " << index << "/" << count << "] " << name << ": not smoothed (" << why << ")\n";
      return success();
    }
    const ObservedInput *in = calibration_->forWeight(name);
    if (!in || in->stats.channels != first.k)
      return first.op.emitError() << "lowbit-smooth: no statistics with K = " << first.k << " for weight '" << name
                                  << "'";
    std::vector<std::vector<float>> rows;
    std::vector<float> colMax;
    for (WeightMatmul m : group) {
      rows.push_back(rowsOf(m));
      if (Status s = quant::accumulateWeightColumnAbsMax(rows.back().data(), m.n, m.k, colMax); s.failed())
        return m.op.emitError() << "lowbit-smooth: '" << weightName(m) << "': " << s.message();
    }
    quant::SmoothQuantOptions options;
    options.alpha = static_cast<float>(alpha);
    std::vector<float> scales;
    if (Status s = quant::smoothQuantScales(in->stats.absMax.data(), colMax.data(), first.k, options, scales);
        s.failed())
      return first.op.emitError() << "lowbit-smooth: '" << name << "': " << s.message();
    for (size_t i = 0; i < group.size(); ++i) {
      WeightMatmul m = group[i];
      if (Status s = quant::scaleWeightColumns(rows[i].data(), m.n, m.k, scales.data()); s.failed())
        return m.op.emitError() << "lowbit-smooth: '" << weightName(m) << "': " << s.message();
      writeWeightRows(m, rows[i]);
    }
    detachOtherReaders(input, group);
    foldIntoGamma(gamma, scales, name + ".smooth_norm");
    if (report) {
      auto [lo, hi] = std::minmax_element(scales.begin(), scales.end());
      llvm::errs() << "[group " << index << "/" << count << "] " << name << " (+" << group.size() - 1
                   << "): smoothed, alpha " << llvm::format("%.2f", double(alpha)) << ", s in ["
                   << llvm::format("%.3g", *lo) << ", " << llvm::format("%.3g", *hi) << "]\n";
    }
    return success();
  }

  std::shared_ptr<const CalibrationData> calibration_;
  llvm::DenseMap<StringRef, int> resourceUses_;
};

} // namespace

std::unique_ptr<Pass> createSmoothPass(const SmoothPassOptions &options,
                                       std::shared_ptr<const CalibrationData> calibration) {
  return std::make_unique<SmoothPass>(options, std::move(calibration));
}

} // namespace lowbit
