// RUN: %python %S/Inputs/make_model.py CastLike > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// int64 to the element type of `like` (f16).
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x4xf16> {onnx.name = "y"})
// CHECK: arith.sitofp %{{.*}} : i64 to f16
