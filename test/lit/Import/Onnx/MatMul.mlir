// RUN: %python %S/Inputs/make_model.py MatMul > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// A batched activation times a constant weight: one contraction with the
// weight broadcast over the batch dimensions, which stay dynamic.
// CHECK-DAG: #[[$X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$W:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-DAG: #[[$Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[ARG:.*]]: tensor<?x?x4xf32> {onnx.name = "x"}) -> (tensor<?x?x3xf32> {onnx.name = "y"})
// CHECK-DAG: %[[WEIGHT:.*]] = arith.constant dense<{{.*}}> : tensor<4x3xf32>
// CHECK: %[[INIT:.*]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[ARG]], %[[WEIGHT]] : tensor<?x?x4xf32>, tensor<4x3xf32>) outs(%[[INIT]] : tensor<?x?x3xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
