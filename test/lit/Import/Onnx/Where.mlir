// RUN: %python %S/Inputs/make_model.py WhereMask > %t.onnx
// RUN: lowbit-compile %t.onnx | FileCheck %s
// RUN: lowbit-compile %t.onnx | lowbit-opt --verify-roundtrip > /dev/null

// An attention mask: a [1, 1, seq, seq] bool condition broadcast over the
// batch and heads, against a -inf scalar.
// CHECK-DAG: #[[$MASK:.*]] = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>
// CHECK-DAG: #[[$ALL:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$SCALAR:.*]] = affine_map<(d0, d1, d2, d3) -> ()>
// CHECK-LABEL: func.func @main
// CHECK: linalg.generic {indexing_maps = [#[[$MASK]], #[[$ALL]], #[[$SCALAR]], #[[$ALL]]]
// CHECK-SAME: tensor<1x1x?x?xi1>, tensor<?x2x?x?xf32>, tensor<f32>
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
