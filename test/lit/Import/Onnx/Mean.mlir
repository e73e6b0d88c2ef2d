// RUN: %python %S/Inputs/make_model.py Mean > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// The sum of the inputs divided by their count, 2.
// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: arith.addf
// CHECK: arith.divf %{{.*}}, %[[TWO]] : f32
