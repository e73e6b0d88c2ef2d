// RUN: %python %S/Inputs/make_model.py Trilu > %t.onnx
// RUN: lowbit-compile %t.onnx | FileCheck %s
// RUN: lowbit-compile %t.onnx | lowbit-opt --verify-roundtrip > /dev/null

// The lower triangle (j - i <= k, k = 0) of the last two dimensions.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x?xf32> {onnx.name = "x"}) -> (tensor<?x?x?xf32> {onnx.name = "y"})
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<?x?x?xf32>)
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: %[[J:.*]] = linalg.index 2 : index
// CHECK: %[[D:.*]] = arith.subi %[[J]], %[[I]] : index
// CHECK: %[[KEEP:.*]] = arith.cmpi sle, %[[D]], %c0 : index
// CHECK: arith.select %[[KEEP]], %{{.*}}, %[[ZERO]] : f32
