// RUN: %python %S/Inputs/make_model.py Constant > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// A Constant node's value is an arith.constant that the Add reads.
// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[C:.*]] = arith.constant dense<[1.500000e+00, -2.000000e+00]> : tensor<2xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[C]] : tensor<2xf32>, tensor<2xf32>)
