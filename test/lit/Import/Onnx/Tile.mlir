// RUN: %python %S/Inputs/make_model.py Tile > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// repeats [2, 2] over [?, 3]: [2 * batch, 6], each element read at i % size.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32> {onnx.name = "x"}) -> (tensor<?x6xf32> {onnx.name = "y"})
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[N:.*]] = arith.muli %[[B]], %c2
// CHECK: tensor.empty(%[[N]]) : tensor<?x6xf32>
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = arith.remui
// CHECK: %[[J:.*]] = arith.remui
// CHECK: tensor.extract %[[X]][%[[I]], %[[J]]] : tensor<?x3xf32>
