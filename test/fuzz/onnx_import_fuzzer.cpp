//===- onnx_import_fuzzer.cpp - libFuzzer entry point over the ONNX importer ===//
//
// Feeds arbitrary bytes to importOnnxBytes. Bad input must end in a
// diagnostic and a null module, never a crash; a module the importer returns
// must verify. Built with -fsanitize=fuzzer when LOWBIT_BUILD_FUZZERS is ON,
// and linked with smoke_main.cpp into a plain program that CTest runs over a
// fixed corpus (test/fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context per input: nothing (resource blobs, uniqued attributes)
  // carries over from one input to the next.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  std::string last;
  context.getDiagEngine().registerHandler([&](mlir::Diagnostic &d) {
    last = d.str();
    return mlir::success();
  });
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  // External data is looked up in a folder that does not exist, so an input
  // naming a file never reads the machine's files.
  mlir::OwningOpRef<mlir::ModuleOp> module =
      lowbit::importOnnxBytes(context, bytes, "/nonexistent/lowbit-fuzz", "fuzz-input");
  if (module && mlir::failed(mlir::verify(*module))) {
    llvm::errs() << "the importer returned a module that does not verify: " << last << "\n";
    // LOWBIT_FUZZ_KEEP_GOING=1 lists every such input instead of stopping.
    if (!std::getenv("LOWBIT_FUZZ_KEEP_GOING"))
      std::abort();
  }
  return 0;
}
