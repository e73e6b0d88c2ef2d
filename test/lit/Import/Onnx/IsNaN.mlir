// RUN: %python %S/Inputs/make_model.py IsNaN > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// x != x, as i1.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x4xi1> {onnx.name = "y"})
// CHECK: arith.cmpf uno, %[[V:.*]], %[[V]] : f32
