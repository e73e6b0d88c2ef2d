//===- CalibratedPasses.cpp - Statistics for the calibrated passes --------===//

#include "lowbit/Transforms/CalibratedPasses.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"

using namespace mlir;

namespace lowbit {

LogicalResult loadPassCalibration(Operation *root, StringRef pass, const std::string &path, bool needGram,
                                  bool required, std::shared_ptr<const CalibrationData> &calibration) {
  if (calibration || (path.empty() && !required))
    return success();
  if (path.empty())
    return root->emitError() << pass << ": needs calibration statistics" << (needGram ? " with X^T X" : "")
                             << " (calib-stats=FILE)";
  auto data = std::make_shared<CalibrationData>();
  if (Status status = readCalibrationFile(path, needGram, *data, /*lazyGram=*/needGram); status.failed())
    return root->emitError() << pass << ": " << status.message();
  calibration = std::move(data);
  return success();
}

} // namespace lowbit
