//===- Gptq.cpp - GPTQ for the weight matmuls ---------------------------===//
//
// The adapter between the matcher and lib/Quant/Gptq.h: per weight, find its
// input's X^T X, factor it once per distinct input (q/k/v and gate/up share
// one), run gptqQuantize, and emit the same lowbit.matmul as
// lowbit-quantize-weights (gptqQuantize's output has the RTN layout).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/CalibratedPasses.h"
#include "lowbit/Transforms/Progress.h"
#include "lowbit/Transforms/WeightMatmul.h"

#include "lowbit/Quant/Gptq.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace lowbit {
#define GEN_PASS_DEF_GPTQPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
namespace quant = lowbit::quant;

namespace lowbit {
namespace {

class GptqPass : public impl::GptqPassBase<GptqPass> {
public:
  using Base::Base;
  GptqPass(const GptqPassOptions &options, std::shared_ptr<const CalibrationData> calibration)
      : Base(options), calibration_(std::move(calibration)) {}

  void runOnOperation() override {
    constexpr StringLiteral pass = "lowbit-gptq";
    WeightSelection selection;
    if (failed(selection.compile(getOperation(), pass, include, exclude)) || failed(loadCalibration()))
      return signalPassFailure();
    SmallVector<WeightMatmul> matches = findWeightMatmuls(getOperation());
    FailureOr<SmallVector<std::optional<quant::Format>>> formats =
        formatsForWeights(getOperation(), pass, format, matches);
    if (failed(formats))
      return signalPassFailure();
    options_.dampPercent = damp;
    options_.blockSize = blockSize;
    options_.actOrder = actOrder;
    options_.staticGroups = staticGroups;
    options_.threads = threads;
    options_.measureLoss = report;
    auto start = std::chrono::steady_clock::now();
    if (report)
      progress_.emplace(pass, matches.size());
    for (auto [i, m] : llvm::enumerate(matches))
      if (failed(rewrite(m, i, matches.size(), selection, (*formats)[i])))
        return signalPassFailure();
    progress_.reset();
    if (report)
      llvm::errs() << "lowbit-gptq: " << quantized_ << " weights in "
                   << llvm::format("%.1f", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count())
                   << " s\n";
  }

private:
  LogicalResult loadCalibration() {
    return loadPassCalibration(getOperation(), "lowbit-gptq", calibStats, /*needGram=*/true,
                               /*required=*/true, calibration_);
  }


  /// The weight's input statistics, with X^T X and the weight's K.
  FailureOr<const ObservedInput *> inputOf(WeightMatmul m, const std::string &name) {
    const ObservedInput *input = calibration_->forWeight(name);
    if (!input)
      return m.op.emitError() << "lowbit-gptq: the calibration statistics have no input for weight '" << name
                              << "' (calibrated on another model?)";
    if (input->stats.channels != m.k)
      return m.op.emitError() << "lowbit-gptq: weight '" << name << "' has K = " << m.k << " but its calibrated input '"
                              << input->name << "' has " << input->stats.channels << " channels";
    if (!input->hasGram())
      return m.op.emitError() << "lowbit-gptq: the statistics of '" << input->name << "' have no X^T X";
    return input;
  }

  /// The factored Hessian of `input`: the last one is kept, since the
  /// weights that share an input are adjacent (q/k/v, gate/up).
  FailureOr<const quant::GptqHessian *> hessianOf(WeightMatmul m, const ObservedInput *input) {
    if (hessianInput_ == input)
      return &hessian_;
    hessianInput_ = nullptr;
    // X^T X left in the statistics file is read here, one input at a time.
    std::vector<double> storage;
    const double *gram = nullptr;
    if (Status status = loadGram(*calibration_, *input, storage, gram); status.failed())
      return m.op.emitError() << "lowbit-gptq: " << status.message();
    if (Status status = quant::prepareGptqHessian(gram, input->stats.channels, options_, hessian_);
        status.failed())
      return m.op.emitError() << "lowbit-gptq: the Hessian of '" << input->name << "': " << status.message();
    hessianInput_ = input;
    return &hessian_;
  }

  LogicalResult rewrite(WeightMatmul m, size_t index, size_t count, WeightSelection &selection,
                        std::optional<quant::Format> format) {
    std::string name = weightName(m);
    if (std::string why = whyFloat(m, selection, format); !why.empty()) {
      if (progress_)
        progress_->step(index + 1, name + ": stays f32 (" + why + ")");
      return success();
    }
    FailureOr<const ObservedInput *> input = inputOf(m, name);
    if (failed(input))
      return failure();
    FailureOr<const quant::GptqHessian *> hessian = hessianOf(m, *input);
    if (failed(hessian))
      return failure();
    std::vector<float> rows = rowsOf(m);
    std::vector<float> columnWeights = importance ? (*input)->stats.meanSquare() : std::vector<float>();
    quant::GptqResult result;
    if (Status status = quant::gptqQuantize(*format, rows.data(), m.n, m.k, **hessian, options_,
                                            columnWeights.empty() ? nullptr : columnWeights.data(), result);
        status.failed())
      return m.op.emitError() << "lowbit-gptq: cannot quantize weight '" << name << "' to "
                              << quant::toString(*format) << ": " << status.message();
    MatmulOp matmul = replaceWithPackedMatmul(m, name, *format, result.tensor.codes, result.tensor);
    if (measureError) {
      std::vector<float> decoded(rows.size());
      if (Status status = quant::gptqDequantize(*format, result.tensor, m.n, m.k, decoded.data()); status.failed())
        return matmul.emitError() << "lowbit-gptq: cannot decode weight '" << name << "': " << status.message();
      matmul->setAttr("lowbit.relative_error", OpBuilder(matmul).getF64FloatAttr(relativeError(rows, decoded)));
    }
    ++quantized_;
    if (progress_) {
      const quant::GptqReport &r = result.report;
      std::string line;
      llvm::raw_string_ostream os(line);
      os << name << ": " << m.n << "x" << m.k << " " << quant::toString(*format) << ": rtn loss "
         << llvm::format("%.4g", r.lossRtn) << " -> gptq loss " << llvm::format("%.4g", r.lossGptq);
      if (r.lossRtn > 0)
        os << " (" << llvm::format("%.2f", r.lossGptq / r.lossRtn) << "x)";
      if (!r.warning.empty())
        os << " [" << r.warning << "]";
      progress_->step(index + 1, line);
    }
    return success();
  }

  std::shared_ptr<const CalibrationData> calibration_;
  std::optional<Progress> progress_; ///< with `report`
  quant::GptqOptions options_;
  quant::GptqHessian hessian_;
  const ObservedInput *hessianInput_ = nullptr;
  int64_t quantized_ = 0;
};

} // namespace

std::unique_ptr<Pass> createGptqPass(const GptqPassOptions &options,
                                     std::shared_ptr<const CalibrationData> calibration) {
  return std::make_unique<GptqPass>(options, std::move(calibration));
}

} // namespace lowbit
