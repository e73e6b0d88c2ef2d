// RUN: %python %S/Inputs/make_model.py Add > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// numpy broadcasting of [4] against [?, 3, 4]: b reads d2 only.
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: tensor<?x3x4xf32> {onnx.name = "a"}, %[[B:.*]]: tensor<4xf32> {onnx.name = "b"}) -> (tensor<?x3x4xf32> {onnx.name = "y"})
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$B]], #{{.*}}]{{.*}} ins(%[[A]], %[[B]] : tensor<?x3x4xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<?x3x4xf32>)
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
