// RUN: %python %S/Inputs/make_model.py Unsqueeze > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// axes [1, -1] (an input from opset 13): an expand keeping the batch dynamic.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x1x4x1xf32> {onnx.name = "y"})
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK: tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2, 3]] output_shape [%[[B]], 1, 4, 1]
