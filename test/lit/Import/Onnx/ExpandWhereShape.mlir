// RUN: %python %S/../../../e2e/models/repro_expand_where.py %t.onnx
// RUN: lowbit-compile %t.onnx | FileCheck %s
// RUN: lowbit-compile %t.onnx | lowbit-opt --verify-roundtrip > /dev/null

// torch.onnx's `t.expand(batch, -1)` (transformers' causal mask): the target
// shape is Where(Equal(s, -1), 1, s) over s = [Shape(x)[0], -1]. Equal of a
// dimension with -1 folds to false, so Where keeps s tracked and Expand gets
// [batch, 1] with a dynamic batch: one broadcast, no shape arithmetic left.
// CHECK-DAG: #[[$IN:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK-NOT: arith.select
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[E:.*]] = tensor.empty(%[[B]]) : tensor<?x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$IN]], #[[$OUT]]], {{.*}} ins(%{{.*}} : tensor<1x4xf32>) outs(%[[E]] : tensor<?x4xf32>)
// CHECK-NOT: tensor.from_elements
