//===- lowbit-opt.cpp - lowbit's mlir-opt ---------------------------------===//
//
// Parses, verifies, transforms and prints IR with the dialects and passes
// lowbit uses, and only those.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Lowbit.h"
#include "lowbit/Conversion/Passes.h"
#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  // What the importer produces, lowbit itself, and what codegen lowers to.
  lowbit::registerCodegenDialects(registry);
  lowbit::registerLowbitTransformsPasses();
  lowbit::registerLowbitConversionPasses();
  lowbit::registerPipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerInlinerPass();
  mlir::registerSymbolDCEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "lowbit optimizer driver\n", registry));
}
