// RUN: %python %S/Inputs/make_model.py ReduceProd --opset 18 > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Opset 18: axes an input; a product from 1.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x4xf32> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK-DAG: arith.constant 1.000000e+00 : f32
// CHECK: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
