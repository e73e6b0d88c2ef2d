//===- Progress.cpp - Per-weight progress of the slow calibrated passes ---===//

#include "lowbit/Transforms/Progress.h"

#include "llvm/Support/Format.h"

#include <algorithm>

namespace lowbit {

std::string progressBar(size_t done, size_t total, unsigned width) {
  done = std::min(done, total);
  const size_t filled = total ? done * width / total : width;
  std::string bar = "[";
  for (unsigned i = 0; i < width; ++i)
    bar += i < filled ? '=' : (i == filled ? '>' : ' ');
  bar += "] ";
  const unsigned percent = total ? static_cast<unsigned>(done * 100 / total) : 100;
  std::string number = std::to_string(percent);
  bar += std::string(3 - std::min<size_t>(3, number.size()), ' ') + number + "% " + std::to_string(done) + "/" +
         std::to_string(total);
  return bar;
}

Progress::Progress(llvm::StringRef pass, size_t total, llvm::raw_ostream &out)
    : Progress(pass, total, out, out.is_displayed()) {}

Progress::Progress(llvm::StringRef pass, size_t total, llvm::raw_ostream &out, bool bar)
    : pass_(pass.str()), total_(total), out_(out), bar_(bar) {}

void Progress::step(size_t done, llvm::StringRef line) {
  if (!bar_) {
    out_ << "[" << done << "/" << total_ << "] " << line << "\n";
    return;
  }
  // Redraw in place: carriage return, the bar, the elapsed time, then the
  // step's text cut to keep the line short, and clear to the line's end.
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  out_ << "\r" << pass_ << " " << progressBar(done, total_, 30) << " " << llvm::format("%.0f", seconds) << " s  "
       << line.take_front(60) << "\x1b[K";
  out_.flush();
  open_ = true;
}

void Progress::finish() {
  if (open_)
    out_ << "\n";
  open_ = false;
}

} // namespace lowbit
