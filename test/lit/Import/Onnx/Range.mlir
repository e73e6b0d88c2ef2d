// RUN: %python %S/Inputs/make_model.py Range > %t.Range.onnx
// RUN: lowbit-compile %t.Range.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.Range.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py RangeConstant > %t.RangeConstant.onnx
// RUN: lowbit-compile %t.RangeConstant.onnx | FileCheck %s --check-prefix=CONST
// RUN: lowbit-compile %t.RangeConstant.onnx | lowbit-opt --verify-roundtrip > /dev/null

// Range(0, seq_len, 1) with seq_len taken from a dynamic shape: a generic
// over max(seq_len, 0) elements writing start + i * delta.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf32> {onnx.name = "x"}) -> (tensor<?xi64> {onnx.name = "y"})
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %c1
// CHECK: %[[COUNT:.*]] = arith.maxsi %[[N]], %c0
// CHECK: %[[E:.*]] = tensor.empty(%[[COUNT]]) : tensor<?xi64>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<?xi64>)
// CHECK: linalg.index 0
// CHECK: arith.index_cast

// Known inputs fold: 1, 1.5, 2, 2.5.
// CONST-LABEL: func.func @main
// CONST: arith.constant dense<[1.000000e+00, 1.500000e+00, 2.000000e+00, 2.500000e+00]> : tensor<4xf32>
