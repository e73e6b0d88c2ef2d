// RUN: %python %S/Inputs/make_model.py ScatterElements > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Along axis 1: parallel loops over the output, reduction loops over the
// update positions; a position writes where its row matches and its index
// (wrapped if negative) equals the output column.
// CHECK-DAG: #[[$POS:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x5xf32> {onnx.name = "x"}, %[[I:.*]]: tensor<?x2xi64> {onnx.name = "i"}, %[[U:.*]]: tensor<?x2xf32> {onnx.name = "u"})
// CHECK: linalg.generic {indexing_maps = [#[[$POS]], #[[$POS]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[I]], %[[U]] : tensor<?x2xi64>, tensor<?x2xf32>) outs(%[[X]] : tensor<?x5xf32>)
// CHECK: arith.cmpi eq
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
