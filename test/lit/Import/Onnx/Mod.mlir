// RUN: %python %S/Inputs/make_model.py Mod > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// int32 Mod with fmod = 0: the remainder takes the divisor's sign.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x3xi32> {onnx.name = "y"})
// CHECK: %[[R:.*]] = arith.remsi
// CHECK: arith.xori
// CHECK: %[[FIX:.*]] = arith.andi
// CHECK: %[[SUM:.*]] = arith.addi %[[R]]
// CHECK: arith.select %[[FIX]], %[[SUM]], %[[R]] : i32
