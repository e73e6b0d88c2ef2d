// RUN: %python %S/Inputs/make_model.py DequantizeLinear > %t.onnx
// RUN: lowbit-compile %t.onnx | FileCheck %s
// RUN: lowbit-compile %t.onnx | lowbit-opt --verify-roundtrip > /dev/null

// A QDQ weight: the int8 constant is dequantized per output channel and
// multiplied as plain linalg (a later pass may turn it into lowbit ops).
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<4x3xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{.*}}> : tensor<3xf32>
// CHECK: %[[WF:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$COL]], #[[$ID]]], {{.*}}} ins(%[[W]], %[[S]] : tensor<4x3xi8>, tensor<3xf32>) outs(%{{.*}} : tensor<4x3xf32>)
// CHECK: arith.sitofp %{{.*}} : i8 to f32
// CHECK-NEXT: arith.mulf
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[WF]] : tensor<?x4xf32>, tensor<4x3xf32>)
