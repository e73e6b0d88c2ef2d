// RUN: %python %S/Inputs/make_model.py Selu > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// gamma * (x > 0 ? x : alpha * (exp(x) - 1)), ONNX's default alpha and gamma.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK-DAG: arith.constant 1.05070102 : f32
// CHECK-DAG: arith.constant 1.67326319 : f32
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK: math.expm1
// CHECK: arith.select
// CHECK: arith.mulf
