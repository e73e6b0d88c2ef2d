// RUN: %python %S/Inputs/make_model.py ReduceMin > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// axes = [0], keepdims, from +inf.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<1x4xf32> {onnx.name = "y"})
// CHECK-DAG: arith.constant 0x7F800000 : f32
// CHECK: iterator_types = ["reduction", "parallel"]
// CHECK: arith.minimumf
