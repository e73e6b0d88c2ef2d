// RUN: %python %S/Inputs/make_model.py Xor > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Logical ops on i1, broadcasting [3] against [2, 3].
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xi1> {onnx.name = "a"}, %[[B:.*]]: tensor<3xi1> {onnx.name = "b"}) -> (tensor<2x3xi1> {onnx.name = "y"})
// CHECK: arith.xori %{{.*}}, %{{.*}} : i1
