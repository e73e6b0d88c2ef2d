//===- CalibratedPasses.h - Passes handed calibration data in memory -*- C++ -*-===//
//
// lowbit-compile calibrates and quantizes in one process: these overloads
// give the passes the statistics directly instead of through a file (for
// SmolLM2 the X^T X matrices alone are ~100M floats).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TRANSFORMS_CALIBRATEDPASSES_H
#define LOWBIT_TRANSFORMS_CALIBRATEDPASSES_H

#include "lowbit/Transforms/CalibrationData.h"
#include "lowbit/Transforms/Passes.h"

#include <memory>

namespace lowbit {

/// lowbit-quantize-weights with each weight's input mean x^2 as importance.
std::unique_ptr<mlir::Pass> createQuantizeWeightsPass(const QuantizeWeightsPassOptions &options,
                                                      std::shared_ptr<const CalibrationData> calibration);

/// lowbit-gptq reading X^T X from `calibration` (its calib-stats is ignored).
std::unique_ptr<mlir::Pass> createGptqPass(const GptqPassOptions &options,
                                           std::shared_ptr<const CalibrationData> calibration);

/// lowbit-awq reading its statistics from `calibration`. When `scaled` is
/// given, the pass fills it with the statistics (without X^T X) of the
/// inputs as they are after it: those of the inputs it divided by s are
/// divided too, so a quantize pass reading `scaled` gets the importance of
/// x / s.
std::unique_ptr<mlir::Pass> createAwqPass(const AwqPassOptions &options,
                                          std::shared_ptr<const CalibrationData> calibration,
                                          std::shared_ptr<CalibrationData> scaled = nullptr);

/// lowbit-smooth reading max |x| from `calibration`.
std::unique_ptr<mlir::Pass> createSmoothPass(const SmoothPassOptions &options,
                                             std::shared_ptr<const CalibrationData> calibration);

/// lowbit-outlier-split reading max |x| from `calibration`.
std::unique_ptr<mlir::Pass> createOutlierSplitPass(const OutlierSplitPassOptions &options,
                                                   std::shared_ptr<const CalibrationData> calibration);

/// The statistics a calibrated pass reads: kept when the driver handed them
/// over (`calibration` non-null), else read from `path` (the pass's
/// calib-stats option; X^T X left in the file with `needGram`). Emits an
/// error on `root` naming `pass` when the file cannot be read, or when there
/// is no path and the statistics are `required`; without a path and not
/// required, `calibration` stays null.
mlir::LogicalResult loadPassCalibration(mlir::Operation *root, llvm::StringRef pass, const std::string &path,
                                        bool needGram, bool required,
                                        std::shared_ptr<const CalibrationData> &calibration);

} // namespace lowbit

#endif // LOWBIT_TRANSFORMS_CALIBRATEDPASSES_H
