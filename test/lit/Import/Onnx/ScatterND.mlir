// RUN: %python %S/Inputs/make_model.py ScatterND > %t.onnx
// RUN: lowbit-compile %t.onnx | FileCheck %s
// RUN: lowbit-compile %t.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py ScatterNDAdd --opset 16 > %t.add.onnx
// RUN: lowbit-compile %t.add.onnx | FileCheck %s --check-prefix=ADD

// Rows of the data replaced by updates where indices name them: parallel
// over the output, a reduction over the update positions.
// CHECK-DAG: #[[$IDX:.*]] = affine_map<(d0, d1, d2) -> (d2, 0)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<4x4xf32> {onnx.name = "x"}, %[[I:.*]]: tensor<2x1xi64> {onnx.name = "i"}, %[[U:.*]]: tensor<2x4xf32> {onnx.name = "u"})
// CHECK: linalg.generic {indexing_maps = [#[[$IDX]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[I]] : tensor<2x1xi64>) outs(%[[X]] : tensor<4x4xf32>)
// CHECK: arith.cmpi eq
// CHECK: tensor.extract %[[U]]
// CHECK: arith.select

// reduction = "add": a matching position adds its update to the value.
// ADD-LABEL: func.func @main
// ADD: linalg.generic
// ADD: %[[MATCH:.*]] = arith.cmpi eq
// ADD: %[[U:.*]] = tensor.extract %{{.*}} : tensor<2x4xi64>
// ADD: %[[SUM:.*]] = arith.addi %[[OUT:.*]], %[[U]] : i64
// ADD: arith.select %[[MATCH]], %[[SUM]], %[[OUT]] : i64
