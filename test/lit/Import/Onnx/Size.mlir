// RUN: %python %S/Inputs/make_model.py Size > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// The element count of [?, 3]: batch * 3, computed at run time.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32> {onnx.name = "x"}) -> (tensor<i64> {onnx.name = "y"})
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[N:.*]] = arith.muli %[[B]], %c3
// CHECK: tensor.from_elements %{{.*}} : tensor<i64>
