// RUN: %python %S/Inputs/make_model.py Clip > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Clip(x, 0, 6): max with the lower bound, then min with the upper.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK: linalg.generic {{.*}} ins(%[[X]], %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32>, tensor<f32>)
// CHECK: %[[LO:.*]] = arith.maximumf
// CHECK: arith.minimumf %[[LO]]
