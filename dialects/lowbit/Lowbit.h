//===- Lowbit.h - The lowbit dialect: attributes, types, ops ---*- C++ -*-===//
//
// The one header users of the dialect include.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LOWBIT_H
#define LOWBIT_LOWBIT_H

#include "lowbit/Quant/Format.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/ADT/StringRef.h"

namespace lowbit::quant {
/// Lets a Format be a parameter of the uniqued #lowbit.format attribute.
inline llvm::hash_code hash_value(const Format &f) {
  return llvm::hash_combine(f.kind, f.bits, f.granularity, f.groupSize, f.offset, f.codebooks);
}
} // namespace lowbit::quant

#include "lowbit/LowbitDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lowbit/LowbitAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "lowbit/LowbitTypes.h.inc"

#define GET_OP_CLASSES
#include "lowbit/LowbitOps.h.inc"

namespace lowbit {
/// How many attributes of the operations under `root` (nested ones, such as
/// argument attributes, included) name each resource blob, by key. Passes
/// rewrite a weight's blob in place only when exactly one does.
llvm::DenseMap<llvm::StringRef, int> countResourceUses(mlir::Operation *root);
} // namespace lowbit

#endif // LOWBIT_LOWBIT_H
