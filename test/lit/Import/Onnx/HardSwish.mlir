// RUN: %python %S/Inputs/make_model.py HardSwish > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// x * HardSigmoid(x) with alpha 1/6, beta 0.5.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK: arith.minimumf
// CHECK: %[[H:.*]] = arith.maximumf
// CHECK: arith.mulf %{{.*}}, %[[H]] : f32
