// RUN: %python %S/Inputs/make_model.py MatMulNBits > %t.MatMulNBits.onnx
// RUN: lowbit-compile %t.MatMulNBits.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.MatMulNBits.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py MatMulNBitsAsym > %t.MatMulNBitsAsym.onnx
// RUN: lowbit-compile %t.MatMulNBitsAsym.onnx | FileCheck %s --check-prefix=ASYM
// RUN: lowbit-compile %t.MatMulNBitsAsym.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py MatMulNBitsFloatZeroPoints > %t.MatMulNBitsFloatZeroPoints.onnx
// RUN: lowbit-compile %t.MatMulNBitsFloatZeroPoints.onnx | FileCheck %s --check-prefix=FZP
// RUN: lowbit-compile %t.MatMulNBitsFloatZeroPoints.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py MatMulNBits8 > %t.MatMulNBits8.onnx
// RUN: lowbit-compile %t.MatMulNBits8.onnx | FileCheck %s --check-prefix=BITS8
// RUN: %python %S/Inputs/make_model.py MatMulNBits2 > %t.MatMulNBits2.onnx
// RUN: lowbit-compile %t.MatMulNBits2.onnx | FileCheck %s --check-prefix=BITS2

// 4-bit codes in blocks of 32 without zero points (8 by default): the
// bytes go unchanged into a lowbit.constant of the symmetric int4 format,
// the scales [N * K/32] become [N, K/32], and the product is lowbit.matmul.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: tensor<?x?x64xf32> {onnx.name = "a"}) -> (tensor<?x?x8xf32> {onnx.name = "y"})
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{.*}}> : tensor<8x2xf32>
// CHECK-DAG: %[[W:.*]] = lowbit.constant dense_resource<b> : tensor<256xi8> -> !lowbit.packed<8x64, int4, group = 32>
// CHECK: %[[Y:.*]] = lowbit.matmul %[[A]], %[[W]] scales(%[[S]] : tensor<8x2xf32>) : tensor<?x?x64xf32>, !lowbit.packed<8x64, int4, group = 32> -> tensor<?x?x8xf32>
// CHECK: return %[[Y]]
// CHECK: dialect_resources
// CHECK: b: "0x08000000

// Packed 4-bit zero points (low nibble first: 0x31 is 1 then 3) unpack to
// [N, K/32] integers; the format becomes asym; the bias is passed on.
// ASYM-LABEL: func.func @main
// ASYM-DAG: %[[Z:.*]] = arith.constant dense<{{\[\[}}1, 3], [8, 0], [15, 15], [0, 0], [2, 1], [4, 3], [6, 5], [8, 7]]> : tensor<8x2xui8>
// ASYM-DAG: %[[BIAS:.*]] = arith.constant dense<1.000000e+00> : tensor<8xf32>
// ASYM-DAG: %[[W:.*]] = lowbit.constant dense_resource<b> : tensor<256xi8> -> !lowbit.packed<8x64, int4, group = 32, asym>
// ASYM: lowbit.matmul %{{.*}}, %[[W]] scales(%{{.*}} : tensor<8x2xf32>) zero_points(%[[Z]] : tensor<8x2xui8>) bias(%[[BIAS]] : tensor<8xf32>)

// Float zero points: w = s * (q - z) = s * q + (-s * z), the `min` format.
// FZP-LABEL: func.func @main
// FZP: %[[M:.*]] = linalg.generic
// FZP: arith.mulf
// FZP-NEXT: arith.negf
// FZP: lowbit.constant dense_resource<b> : tensor<256xi8> -> !lowbit.packed<8x64, int4, group = 32, min>
// FZP: lowbit.matmul %{{.*}}, %{{.*}} scales(%{{.*}} : tensor<8x2xf32>) mins(%[[M]] : tensor<8x2xf32>)

// 8 bits: a byte per code, default zero point 128, the symmetric int8 format.
// BITS8-LABEL: func.func @main
// BITS8: lowbit.constant dense_resource<b> : tensor<512xi8> -> !lowbit.packed<8x64, int8, group = 32>

// 2 bits, four codes per byte from the low bits up; zero points packed four
// to a byte too (one byte per row here: two blocks).
// BITS2-LABEL: func.func @main
// BITS2-DAG: arith.constant dense<{{\[\[}}0, 0], [1, 0], [2, 0], [3, 0], [0, 0], [1, 0], [2, 0], [3, 0]]> : tensor<8x2xui8>
// BITS2-DAG: lowbit.constant dense_resource<b> : tensor<128xi8> -> !lowbit.packed<8x64, int2, group = 32, asym>
