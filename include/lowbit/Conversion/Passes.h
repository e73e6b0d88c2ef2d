//===- Passes.h - lowbit's lowerings ---------------------------*- C++ -*-===//
#ifndef LOWBIT_CONVERSION_PASSES_H
#define LOWBIT_CONVERSION_PASSES_H

#include "lowbit/Lowbit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace lowbit {

#define GEN_PASS_DECL
#include "lowbit/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowbit/Conversion/Passes.h.inc"

/// Attribute names the entry function's arguments carry.
inline constexpr llvm::StringLiteral kContextAttr = "lowbit.context";
inline constexpr llvm::StringLiteral kWeightNameAttr = "lowbit.weight";
inline constexpr llvm::StringLiteral kWeightValueAttr = "lowbit.weight_value";
/// On a parallel launcher declaration: the name of its body function.
inline constexpr llvm::StringLiteral kParallelBodyAttr = "lowbit.parallel_body";

} // namespace lowbit

#endif // LOWBIT_CONVERSION_PASSES_H
