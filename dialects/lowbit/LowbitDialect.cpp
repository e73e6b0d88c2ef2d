//===- LowbitDialect.cpp - The lowbit dialect ----------------------------===//

#include "lowbit/Lowbit.h"

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

} // namespace lowbit
