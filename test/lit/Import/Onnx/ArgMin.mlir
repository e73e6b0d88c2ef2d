// RUN: %python %S/Inputs/make_model.py ArgMin > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// uint8 along axis 0 with select_last_index: unsigned compares, ties take
// the later index (ule), from 255; keepdims gives [1, 4].
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<1x4xi64> {onnx.name = "y"})
// CHECK-DAG: %[[MAX:.*]] = arith.constant -1 : i8
// CHECK: linalg.fill ins(%[[MAX]] : i8)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK: arith.cmpi ule
// CHECK: tensor.expand_shape {{.*}} : tensor<4xi64> into tensor<1x4xi64>
