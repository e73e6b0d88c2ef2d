//===- CalibrationData.h - Calibration statistics per observed input -*- C++ -*-===//
//
// What lowbit-compile --calibrate gathers (one lowbit.observe per distinct
// matmul input, named after the weights it feeds) and what the calibrated
// passes read: lowbit-quantize-weights (the importance, mean x^2) and
// lowbit-gptq (X^T X). Kept in memory by the driver, or in a statistics
// file (--save-calib / --calib-stats; the format is in docs/CALIBRATION.md).
//
// Plain C++ (no MLIR): the file can be written and read by any tool.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TRANSFORMS_CALIBRATIONDATA_H
#define LOWBIT_TRANSFORMS_CALIBRATIONDATA_H

#include "lowbit/Quant/Calibration.h"
#include "lowbit/Quant/Status.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace lowbit {

/// One observed activation: the input of every weight in `weights`.
struct ObservedInput {
  std::string name;                 ///< the observer's key
  std::vector<std::string> weights; ///< names of the weights that read it
  quant::CalibStats stats;
  /// X^T X left in the statistics file (readCalibrationFile with
  /// `lazyGram`): the byte offset of its upper triangle there; -1 when
  /// stats.gram holds it or there is none.
  int64_t gramOffset = -1;

  /// X^T X is available, in memory or in the file (loadGram).
  bool hasGram() const { return stats.hasGram() || gramOffset >= 0; }
};

struct CalibrationData {
  std::vector<ObservedInput> inputs;
  std::string path; ///< the statistics file the lazy X^T X are read from
  /// Keeps `path` alive while these statistics are: a temporary file (the
  /// chunked calibration's, when no --save-calib names one) is removed when
  /// the last holder goes. Null for a file the user named.
  std::shared_ptr<const void> fileOwner;

  /// The observed input that `weight` reads; null if none lists it.
  const ObservedInput *forWeight(const std::string &weight) const;
};

/// Writes a statistics file one observed input at a time (the chunked
/// calibration appends each chunk's inputs as it finishes them): through a
/// temporary file that finish() renames into place; removed if never
/// finished. The file is byte-identical to writeCalibrationFile's.
class CalibrationFileWriter {
public:
  CalibrationFileWriter() = default;
  CalibrationFileWriter(const CalibrationFileWriter &) = delete;
  CalibrationFileWriter &operator=(const CalibrationFileWriter &) = delete;
  ~CalibrationFileWriter();

  /// Starts a file of `observers` inputs, with X^T X if `withGram`.
  Status open(const std::string &path, size_t observers, bool withGram);
  /// The next input, in the order readCalibrationFile will list them.
  Status append(const ObservedInput &in);
  Status finish();

private:
  Status failWrite();
  std::string path_, temp_;
  FILE *file_ = nullptr;
  size_t left_ = 0; ///< inputs still to append
  bool withGram_ = false;
};

/// Writes `data` (X^T X only when `withGram` and every input has it)
/// through a temporary file renamed into place.
Status writeCalibrationFile(const CalibrationData &data, const std::string &path, bool withGram);

/// Reads a statistics file, checking every size against the file before
/// allocating. `needGram`: fail unless the file holds X^T X (else it is
/// skipped, to save memory). `lazyGram`: leave each X^T X in the file
/// (ObservedInput::gramOffset) for loadGram to read when a pass needs it,
/// so that only one input's K x K doubles are in memory at a time (SmolLM2:
/// 800 MB for all 121 inputs, 19 MB for the largest).
Status readCalibrationFile(const std::string &path, bool needGram, CalibrationData &out, bool lazyGram = false);

/// `in`'s X^T X (K x K, full, row-major): stats.gram when it is in memory,
/// else read from data.path into `storage`. `gram` points at it.
Status loadGram(const CalibrationData &data, const ObservedInput &in, std::vector<double> &storage,
                const double *&gram);

} // namespace lowbit

#endif // LOWBIT_TRANSFORMS_CALIBRATIONDATA_H
