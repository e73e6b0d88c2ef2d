//===- Progress.h - Per-weight progress of the slow calibrated passes -*- C++ -*-===//
//
// GPTQ and AWQ take seconds to minutes on a real model, so they say how far
// they are: on a terminal, one progress bar redrawn in place; otherwise (a
// log, a pipe, lit) one line per step, as before.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TRANSFORMS_PROGRESS_H
#define LOWBIT_TRANSFORMS_PROGRESS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstddef>
#include <string>

namespace lowbit {

/// "[=========>          ]  45% 95/211": `width` cells, the done ones '=',
/// the current one '>'.
std::string progressBar(size_t done, size_t total, unsigned width);

class Progress {
public:
  /// Draws a bar when `out` is a terminal, else writes whole lines.
  Progress(llvm::StringRef pass, size_t total, llvm::raw_ostream &out = llvm::errs());
  Progress(llvm::StringRef pass, size_t total, llvm::raw_ostream &out, bool bar);
  ~Progress() { finish(); }

  /// Step `done` of `total` finished; `line` says what it did ("[i/n] "
  /// is prefixed in line mode).
  void step(size_t done, llvm::StringRef line);
  /// Ends the bar's line (idempotent).
  void finish();
  bool drawsBar() const { return bar_; }

private:
  std::string pass_;
  size_t total_;
  llvm::raw_ostream &out_;
  bool bar_;
  bool open_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace lowbit

#endif // LOWBIT_TRANSFORMS_PROGRESS_H
