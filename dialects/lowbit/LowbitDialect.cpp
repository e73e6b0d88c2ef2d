//===- LowbitDialect.cpp - The lowbit dialect ----------------------------===//

#include "lowbit/Lowbit.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "lowbit/LowbitDialect.cpp.inc"

using namespace mlir;

namespace lowbit {

void LowbitDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "lowbit/LowbitOps.cpp.inc"
      >();
}

llvm::DenseMap<llvm::StringRef, int> countResourceUses(Operation *root) {
  llvm::DenseMap<llvm::StringRef, int> uses;
  root->walk([&](Operation *op) {
    op->getAttrDictionary().walk(
        [&](DenseResourceElementsAttr resource) { ++uses[resource.getRawHandle().getKey()]; });
  });
  return uses;
}

} // namespace lowbit
