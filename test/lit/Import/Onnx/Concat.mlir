// RUN: %python %S/Inputs/make_model.py Concat > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// axis -1.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: tensor<?x2xf32> {onnx.name = "a"}, %[[B:.*]]: tensor<?x3xf32> {onnx.name = "b"})
// CHECK: tensor.concat dim(1) %[[A]], %[[B]] : (tensor<?x2xf32>, tensor<?x3xf32>) -> tensor<?x5xf32>
