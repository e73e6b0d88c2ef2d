// RUN: %python %S/Inputs/make_model.py Reshape > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// [0, -1]: dimension 0 is copied (dynamic), -1 becomes 12; a collapse.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x4xf32> {onnx.name = "x"}) -> (tensor<?x12xf32> {onnx.name = "y"})
// CHECK: tensor.collapse_shape %[[X]] {{\[\[}}0], [1, 2]] : tensor<?x3x4xf32> into tensor<?x12xf32>
