// RUN: %python %S/Inputs/make_model.py ReduceMean > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// axes = [-1] (an attribute before opset 18), keepdims: sum, then divide by 4.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x1xf32> {onnx.name = "y"})
// CHECK-DAG: %[[FOUR:.*]] = arith.constant 4.000000e+00 : f32
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: tensor.expand_shape
// CHECK: arith.divf %{{.*}}, %[[FOUR]] : f32
