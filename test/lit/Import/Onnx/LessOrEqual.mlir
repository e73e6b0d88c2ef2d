// RUN: %python %S/Inputs/make_model.py LessOrEqual > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// A [2, 1] operand broadcasts along d1 (read at column 0); the result is i1.
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32> {onnx.name = "a"}, %[[B:.*]]: tensor<2x1xf32> {onnx.name = "b"}) -> (tensor<2x3xi1> {onnx.name = "y"})
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$B]], #{{.*}}]
// CHECK: arith.cmpf ole, %{{.*}}, %{{.*}} : f32
