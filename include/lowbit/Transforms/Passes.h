//===- Passes.h - lowbit's quantization passes -----------------*- C++ -*-===//
#ifndef LOWBIT_TRANSFORMS_PASSES_H
#define LOWBIT_TRANSFORMS_PASSES_H

#include "lowbit/Lowbit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Pass/Pass.h"

namespace lowbit {

#define GEN_PASS_DECL
#include "lowbit/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowbit/Transforms/Passes.h.inc"

} // namespace lowbit

#endif // LOWBIT_TRANSFORMS_PASSES_H
