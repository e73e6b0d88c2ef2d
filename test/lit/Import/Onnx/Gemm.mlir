// RUN: %python %S/Inputs/make_model.py Gemm > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// transB = 1 and alpha = 2: the weight is read transposed, the product scaled, then C added.
// CHECK-DAG: #[[$W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32> {onnx.name = "x"}, %[[C:.*]]: tensor<3xf32> {onnx.name = "c"}) -> (tensor<2x3xf32> {onnx.name = "y"})
// CHECK-DAG: %[[ALPHA:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$W]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %{{.*}} : tensor<2x4xf32>, tensor<3x4xf32>)
// CHECK: arith.mulf %{{.*}}, %[[ALPHA]]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[C]] : tensor<2x3xf32>, tensor<3xf32>)
