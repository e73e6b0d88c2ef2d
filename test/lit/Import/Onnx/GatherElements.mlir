// RUN: %python %S/Inputs/make_model.py GatherElements > %t.onnx
// RUN: lowbit-compile %t.onnx | FileCheck %s
// RUN: lowbit-compile %t.onnx | lowbit-opt --verify-roundtrip > /dev/null

// One element per index, read along axis 1; negative indices wrap.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}, %[[I:.*]]: tensor<?x2xi64> {onnx.name = "i"}) -> (tensor<?x2xf32> {onnx.name = "y"})
// CHECK: linalg.generic {{.*}} ins(%[[I]] : tensor<?x2xi64>) outs(%{{.*}} : tensor<?x2xf32>)
// CHECK: %[[ROW:.*]] = linalg.index 0 : index
// CHECK: %[[IDX:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK: %[[NEG:.*]] = arith.cmpi slt, %[[IDX]], %c0
// CHECK: %[[COL:.*]] = arith.select %[[NEG]]
// CHECK: tensor.extract %[[X]][%[[ROW]], %[[COL]]] : tensor<?x4xf32>
