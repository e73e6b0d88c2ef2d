// RUN: %python %S/Inputs/make_model.py GatherND > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// batch_dims = 1, k = 1: out[b, i, j] = x[b, indices[b, i, 0], j].
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x3xf32> {onnx.name = "x"}, %[[I:.*]]: tensor<?x2x1xi64> {onnx.name = "i"}) -> (tensor<?x2x3xf32> {onnx.name = "y"})
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2x3xf32>)
// CHECK: %[[B:.*]] = linalg.index 0 : index
// CHECK: %[[P:.*]] = linalg.index 1 : index
// CHECK: %[[J:.*]] = linalg.index 2 : index
// CHECK: tensor.extract %[[I]][%[[B]], %[[P]], %c0] : tensor<?x2x1xi64>
// CHECK: %[[ROW:.*]] = arith.select
// CHECK: tensor.extract %[[X]][%[[B]], %[[ROW]], %[[J]]] : tensor<?x4x3xf32>
