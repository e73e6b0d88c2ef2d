// RUN: %python %S/Inputs/make_model.py Expand > %t.Expand.onnx
// RUN: lowbit-compile %t.Expand.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.Expand.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py ExpandDynamic > %t.ExpandDynamic.onnx
// RUN: lowbit-compile %t.ExpandDynamic.onnx | FileCheck %s --check-prefix=DYNAMIC
// RUN: lowbit-compile %t.ExpandDynamic.onnx | lowbit-opt --verify-roundtrip > /dev/null

// [3, 1] broadcast to [2, 3, 4]: the unit dimension reads index 0.
// CHECK-DAG: #[[$IN:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @main
// CHECK: linalg.generic {indexing_maps = [#[[$IN]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}} : tensor<3x1xf32>) outs(%{{.*}} : tensor<2x3x4xf32>)

// The target shape is Shape(ref) with a dynamic batch.
// DYNAMIC-LABEL: func.func @main
// DYNAMIC-SAME: (%[[X:.*]]: tensor<1x4xf32> {onnx.name = "x"}, %[[REF:.*]]: tensor<?x4xf32> {onnx.name = "ref"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// DYNAMIC: %[[B:.*]] = tensor.dim %[[REF]], %c0
// DYNAMIC: %[[E:.*]] = tensor.empty(%[[B]]) : tensor<?x4xf32>
// DYNAMIC: linalg.generic {{.*}} ins(%[[X]] : tensor<1x4xf32>) outs(%[[E]] : tensor<?x4xf32>)
