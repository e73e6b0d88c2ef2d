// RUN: %python %S/Inputs/make_model.py Cast > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// uint8 to float: unsigned conversion (the ONNX type says unsigned).
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xi8> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"})
// CHECK: arith.uitofp %{{.*}} : i8 to f32
