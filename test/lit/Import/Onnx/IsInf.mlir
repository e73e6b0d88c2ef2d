// RUN: %python %S/Inputs/make_model.py IsInf > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// detect_negative = 0: only +inf (the or with false folds away).
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x4xi1> {onnx.name = "y"})
// CHECK-DAG: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK: arith.cmpf oeq, %{{.*}}, %[[INF]] : f32

