//===- QuantizeWeights.cpp - Pack matmul weights for lowbit.matmul --------===//
//
// The MLIR side is only matching and rewriting: the numbers come from
// lib/Quant, so the compiler and lowbit-quantize pack identically.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/CalibratedPasses.h"
#include "lowbit/Transforms/WeightMatmul.h"

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Uniform.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace lowbit {
#define GEN_PASS_DEF_QUANTIZEWEIGHTSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
namespace quant = lowbit::quant;

namespace lowbit {
namespace {

/// The packed weights and their side tensors, ready for lowbit.matmul.
struct Packed {
  std::vector<uint8_t> bytes;
  quant::UniformTensor side; // scales, zero points, mins for int and ternary
  std::optional<double> relativeError; // with measure-error
};

class QuantizeWeightsPass : public impl::QuantizeWeightsPassBase<QuantizeWeightsPass> {
public:
  using Base::Base;
  QuantizeWeightsPass(const QuantizeWeightsPassOptions &options, std::shared_ptr<const CalibrationData> calibration)
      : Base(options), calibration_(std::move(calibration)) {}

  void runOnOperation() override {
    constexpr StringLiteral pass = "lowbit-quantize-weights";
    WeightSelection selection;
    if (failed(selection.compile(getOperation(), pass, include, exclude)) || failed(loadCalibration()))
      return signalPassFailure();
    SmallVector<WeightMatmul> matches = findWeightMatmuls(getOperation());
    FailureOr<SmallVector<std::optional<quant::Format>>> formats =
        formatsForWeights(getOperation(), pass, format, matches);
    if (failed(formats))
      return signalPassFailure();
    for (auto [i, m] : llvm::enumerate(matches))
      if (failed(rewrite(m, i, matches.size(), selection, (*formats)[i])))
        return signalPassFailure();
  }

private:
  /// calib-stats, unless the statistics came in memory.
  LogicalResult loadCalibration() {
    return loadPassCalibration(getOperation(), "lowbit-quantize-weights", calibStats, /*needGram=*/false,
                               /*required=*/false, calibration_);
  }


  /// The importance of a weight's columns: its input's mean x^2, when
  /// calibrated (an error if the statistics lack the weight or disagree on K).
  FailureOr<std::vector<float>> importanceFor(WeightMatmul m, const std::string &name) {
    if (!calibration_)
      return std::vector<float>();
    const ObservedInput *input = calibration_->forWeight(name);
    if (!input)
      return m.op.emitError() << "lowbit-quantize-weights: the calibration statistics have no input for weight '"
                              << name << "' (calibrated on another model?)";
    if (input->stats.channels != m.k)
      return m.op.emitError() << "lowbit-quantize-weights: weight '" << name << "' has K = " << m.k
                              << " but its calibrated input '" << input->name << "' has " << input->stats.channels
                              << " channels";
    return input->stats.meanSquare();
  }

  /// Packs rows of weights; fails with a diagnostic on bad values.
  FailureOr<Packed> pack(WeightMatmul m, StringRef name, const quant::Format &format_, const float *importance) {
    std::vector<float> rows = rowsOf(m);
    Packed packed;
    packed.bytes.resize(m.n * quant::packedRowBytes(format_, m.k));
    Status status = Status::ok();
    std::vector<float> decoded(measureError ? rows.size() : 0);
    if (std::optional<quant::GgmlType> type = quant::ggmlTypeOf(format_.kind)) {
      status = quant::quantizeRowsParallel(*type, rows.data(), packed.bytes.data(), m.n, m.k, importance, threads);
      if (!status.failed() && measureError)
        status = quant::dequantizeRowsParallel(*type, packed.bytes.data(), decoded.data(), m.n, m.k, threads);
    } else {
      quant::UniformOptions options;
      options.threads = threads;
      status = quant::quantizeUniform(format_, rows.data(), m.n, m.k, options, importance, packed.side);
      if (!status.failed() && measureError)
        status = quant::dequantizeUniform(format_, packed.side, m.n, m.k, decoded.data());
      packed.bytes = std::move(packed.side.codes);
    }
    if (status.failed())
      return m.op.emitError() << "cannot quantize weight '" << name << "' to " << quant::toString(format_) << ": "
                              << status.message();
    if (measureError)
      packed.relativeError = relativeError(rows, decoded);
    return packed;
  }

  LogicalResult rewrite(WeightMatmul m, size_t index, size_t count, WeightSelection &selection,
                        std::optional<quant::Format> format) {
    std::string name = weightName(m);
    if (std::string why = whyFloat(m, selection, format); !why.empty()) {
      if (report)
        llvm::errs() << "[" << index + 1 << "/" << count << "] " << name << ": " << m.n << "x" << m.k
                     << " stays f32 (" << why << ")\n";
      return success();
    }
    const quant::Format &f = *format;
    FailureOr<std::vector<float>> importance = importanceFor(m, name);
    if (failed(importance))
      return failure();
    FailureOr<Packed> packed = pack(m, name, f, importance->empty() ? nullptr : importance->data());
    if (failed(packed))
      return failure();
    MatmulOp matmul = replaceWithPackedMatmul(m, name, f, packed->bytes, packed->side);
    if (packed->relativeError)
      matmul->setAttr("lowbit.relative_error", OpBuilder(matmul).getF64FloatAttr(*packed->relativeError));
    if (report) {
      llvm::errs() << "[" << index + 1 << "/" << count << "] " << name << ": " << m.n << "x" << m.k << " f32 -> "
                   << quant::toString(f) << " (" << llvm::format("%.2f", quant::bitsPerWeight(f, m.k))
                   << " bits per weight";
      if (!importance->empty())
        llvm::errs() << ", importance from calibration";
      if (packed->relativeError)
        llvm::errs() << ", relative error " << llvm::format("%.4f", *packed->relativeError);
      llvm::errs() << ")\n";
    }
    return success();
  }

  std::shared_ptr<const CalibrationData> calibration_;
};

} // namespace

std::unique_ptr<Pass> createQuantizeWeightsPass(const QuantizeWeightsPassOptions &options,
                                                std::shared_ptr<const CalibrationData> calibration) {
  return std::make_unique<QuantizeWeightsPass>(options, std::move(calibration));
}

} // namespace lowbit
