//===- CpuTarget.h - LLVM dialect to a shared object for the runtime -*- C++ -*-===//
#ifndef LOWBIT_TARGET_CPUTARGET_H
#define LOWBIT_TARGET_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace lowbit {

struct CpuTargetOptions {
  std::string triple = "x86_64-unknown-linux-gnu";
  /// An LLVM CPU name (znver4, x86-64-v3, ...), or "native" for the CPU of
  /// the machine that compiles. The instruction set follows it, never the
  /// compiler's own build.
  std::string cpu = "native";
  /// The function lowered with the runtime's convention.
  std::string entry = "main";
};

/// What codegen produced.
struct CpuBinary {
  std::string sharedObject; ///< ELF bytes
  std::string entrySymbol;  ///< the packed entry function (docs/ARTIFACT.md)
  std::string cpu;          ///< the resolved CPU name
};

/// Translates a module in the LLVM dialect to LLVM IR, adds the packed entry
/// function of the artifact's calling convention, optimizes at -O2 for
/// `options.cpu`, emits an object and links it into a shared object with
/// ld.lld. Fails with a diagnostic on the module.
mlir::FailureOr<CpuBinary> compileForCpu(mlir::ModuleOp module, const CpuTargetOptions &options);

} // namespace lowbit

#endif // LOWBIT_TARGET_CPUTARGET_H
