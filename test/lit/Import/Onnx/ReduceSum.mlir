// RUN: %python %S/Inputs/make_model.py ReduceSum > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// axes input [1], keepdims = 0.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.addf
