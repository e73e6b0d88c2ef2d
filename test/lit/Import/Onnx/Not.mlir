// RUN: %python %S/Inputs/make_model.py Not > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Logical not: xor with true.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xi1> {onnx.name = "x"})
// CHECK: arith.xori %{{.*}}, %true : i1
