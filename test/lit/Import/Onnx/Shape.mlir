// RUN: %python %S/Inputs/make_model.py Shape > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// start = 1: the static tail [3, 4] folds to a constant.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<2xi64> {onnx.name = "y"})
// CHECK: %[[S:.*]] = arith.constant dense<[3, 4]> : tensor<2xi64>
// CHECK-NEXT: return %[[S]]
