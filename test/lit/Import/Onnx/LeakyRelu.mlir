// RUN: %python %S/Inputs/make_model.py LeakyRelu > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// x < 0 ? alpha * x : x, alpha = 0.1.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK-DAG: %[[ALPHA:.*]] = arith.constant 1.000000e-01 : f32
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK: %[[NEG:.*]] = arith.cmpf olt
// CHECK: %[[S:.*]] = arith.mulf %{{.*}}, %[[ALPHA]]
// CHECK: arith.select %[[NEG]], %[[S]], %{{.*}} : f32
