// RUN: %python %S/Inputs/make_model.py ReduceMax > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// No axes: everything, from -inf.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<f32> {onnx.name = "y"})
// CHECK-DAG: arith.constant 0xFF800000 : f32
// CHECK: iterator_types = ["reduction", "reduction"]
// CHECK: arith.maximumf
