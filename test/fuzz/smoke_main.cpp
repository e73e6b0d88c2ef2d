//===- smoke_main.cpp - Runs the fuzz entry point over a fixed corpus -----===//
//
// For CI, without libFuzzer: `onnx-import-fuzz-smoke DIR...` calls
// LLVMFuzzerTestOneInput on every file in each folder (or on each file named)
// and reports how many ran. A crash or abort fails the test by itself.
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (!llvm::sys::fs::is_directory(argv[i])) {
      files.push_back(argv[i]);
      continue;
    }
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(argv[i], ec), end; it != end && !ec; it.increment(ec))
      if (llvm::sys::fs::is_regular_file(it->path()))
        files.push_back(it->path());
    if (ec) {
      llvm::errs() << "cannot list " << argv[i] << ": " << ec.message() << "\n";
      return 2;
    }
  }
  if (files.empty()) {
    llvm::errs() << "usage: onnx-import-fuzz-smoke CORPUS_DIR_OR_FILE...\n";
    return 2;
  }
  std::sort(files.begin(), files.end());
  for (const std::string &path : files) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buffer) {
      llvm::errs() << "cannot read " << path << ": " << buffer.getError().message() << "\n";
      return 2;
    }
    llvm::StringRef bytes = (*buffer)->getBuffer();
    // Names the input in the stack trace of a crash.
    llvm::PrettyStackTraceFormat entry("fuzz input '%s'", path.c_str());
    if (std::getenv("LOWBIT_FUZZ_KEEP_GOING"))
      llvm::errs() << "input " << path << "\n";
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  }
  llvm::outs() << "ran " << files.size() << " inputs without a crash\n";
  return 0;
}
