// RUN: %python %S/Inputs/make_model.py ConstantOfShape > %t.ConstantOfShape.onnx
// RUN: lowbit-compile %t.ConstantOfShape.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.ConstantOfShape.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py ConstantOfShapeStatic > %t.ConstantOfShapeStatic.onnx
// RUN: lowbit-compile %t.ConstantOfShapeStatic.onnx | FileCheck %s --check-prefix=STATIC
// RUN: lowbit-compile %t.ConstantOfShapeStatic.onnx | lowbit-opt --verify-roundtrip > /dev/null

// The shape comes from a dynamic input: tensor.empty + linalg.fill of the value.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x4xi64> {onnx.name = "y"})
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[E:.*]] = tensor.empty(%[[B]]) : tensor<?x4xi64>
// CHECK: linalg.fill ins(%[[ONE]] : i64) outs(%[[E]] : tensor<?x4xi64>)

// A known shape and no value: a splat of float 0.
// STATIC-LABEL: func.func @main
// STATIC: arith.constant dense<0.000000e+00> : tensor<2x3xf32>
