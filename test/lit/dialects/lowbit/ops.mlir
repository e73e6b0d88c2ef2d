// RUN: lowbit-opt %s --split-input-file --verify-roundtrip | FileCheck %s

// Every op, with every combination of quantization operands a format needs.

// CHECK-LABEL: func.func @constant
// CHECK: %[[W:.*]] = lowbit.constant dense_resource<q4_blob> : tensor<36xi8> -> !lowbit.packed<2x32, q4_0>
// CHECK: %[[I:.*]] = lowbit.constant dense<0> : tensor<32xi8> -> !lowbit.packed<8x8, int4>
// CHECK: return %[[W]], %[[I]]
func.func @constant() -> (!lowbit.packed<2x32, q4_0>, !lowbit.packed<8x8, int4>) {
  %w = lowbit.constant dense_resource<q4_blob> : tensor<36xi8> -> !lowbit.packed<2x32, q4_0>
  %i = lowbit.constant dense<0> : tensor<32xi8> -> !lowbit.packed<8x8, int4>
  return %w, %i : !lowbit.packed<2x32, q4_0>, !lowbit.packed<8x8, int4>
}

{-#
  dialect_resources: {
    builtin: {
      q4_blob: "0x08000000000000000000000000000000000000000000000000000000000000000000000000000000"
    }
  }
#-}

// -----

// CHECK-LABEL: func.func @quantize_block_format
// CHECK-SAME: (%[[X:.*]]: tensor<64x256xf32>)
// CHECK: lowbit.quantize %[[X]] : tensor<64x256xf32> -> !lowbit.packed<64x256, q4_k>
func.func @quantize_block_format(%x: tensor<64x256xf32>) -> !lowbit.packed<64x256, q4_k> {
  %p = lowbit.quantize %x : tensor<64x256xf32> -> !lowbit.packed<64x256, q4_k>
  return %p : !lowbit.packed<64x256, q4_k>
}

// -----

// CHECK-LABEL: func.func @quantize_int
// CHECK-SAME: (%[[X:.*]]: tensor<64x128xf32>, %[[S:.*]]: tensor<64x4xf16>, %[[Z:.*]]: tensor<64x4xi8>, %[[M:.*]]: tensor<64x4xf16>, %[[T:.*]]: tensor<f32>)
// CHECK: lowbit.quantize %[[X]] scales(%[[S]] : tensor<64x4xf16>) : tensor<64x128xf32> -> !lowbit.packed<64x128, int4, group = 32>
// CHECK: lowbit.quantize %[[X]] scales(%[[S]] : tensor<64x4xf16>) zero_points(%[[Z]] : tensor<64x4xi8>) : tensor<64x128xf32> -> !lowbit.packed<64x128, int4, group = 32, asym>
// CHECK: lowbit.quantize %[[X]] scales(%[[S]] : tensor<64x4xf16>) mins(%[[M]] : tensor<64x4xf16>) : tensor<64x128xf32> -> !lowbit.packed<64x128, int4, group = 32, min>
// CHECK: lowbit.quantize %[[X]] scales(%[[T]] : tensor<f32>) : tensor<64x128xf32> -> !lowbit.packed<64x128, int8, per_tensor>
func.func @quantize_int(%x: tensor<64x128xf32>, %s: tensor<64x4xf16>, %z: tensor<64x4xi8>,
                        %m: tensor<64x4xf16>, %t: tensor<f32>) {
  %0 = lowbit.quantize %x scales(%s : tensor<64x4xf16>)
         : tensor<64x128xf32> -> !lowbit.packed<64x128, int4, group = 32>
  %1 = lowbit.quantize %x scales(%s : tensor<64x4xf16>) zero_points(%z : tensor<64x4xi8>)
         : tensor<64x128xf32> -> !lowbit.packed<64x128, int4, group = 32, asym>
  %2 = lowbit.quantize %x scales(%s : tensor<64x4xf16>) mins(%m : tensor<64x4xf16>)
         : tensor<64x128xf32> -> !lowbit.packed<64x128, int4, group = 32, min>
  %3 = lowbit.quantize %x scales(%t : tensor<f32>)
         : tensor<64x128xf32> -> !lowbit.packed<64x128, int8, per_tensor>
  return
}

// -----

// CHECK-LABEL: func.func @dequantize
// CHECK-SAME: (%[[P:.*]]: !lowbit.packed<64x64, q8_0>, %[[C:.*]]: !lowbit.packed<16x64, codebook, codebooks = 2, bits = 8, group = 8>, %[[S:.*]]: tensor<16x1xf32>, %[[B:.*]]: tensor<2x256x8xf32>, %[[T:.*]]: !lowbit.packed<16x64, ternary>, %[[TS:.*]]: tensor<bf16>)
// CHECK: lowbit.dequantize %[[P]] : !lowbit.packed<64x64, q8_0> -> tensor<64x64xf32>
// CHECK: lowbit.dequantize %[[C]] scales(%[[S]] : tensor<16x1xf32>) codebooks(%[[B]] : tensor<2x256x8xf32>) : !lowbit.packed<16x64, codebook, codebooks = 2, bits = 8, group = 8> -> tensor<16x64xf32>
// CHECK: lowbit.dequantize %[[T]] scales(%[[TS]] : tensor<bf16>) : !lowbit.packed<16x64, ternary> -> tensor<16x64xbf16>
func.func @dequantize(%p: !lowbit.packed<64x64, q8_0>,
                      %c: !lowbit.packed<16x64, codebook, codebooks = 2, bits = 8, group = 8>,
                      %s: tensor<16x1xf32>, %b: tensor<2x256x8xf32>,
                      %t: !lowbit.packed<16x64, ternary>, %ts: tensor<bf16>) {
  %0 = lowbit.dequantize %p : !lowbit.packed<64x64, q8_0> -> tensor<64x64xf32>
  %1 = lowbit.dequantize %c scales(%s : tensor<16x1xf32>) codebooks(%b : tensor<2x256x8xf32>)
         : !lowbit.packed<16x64, codebook, codebooks = 2, bits = 8, group = 8> -> tensor<16x64xf32>
  %2 = lowbit.dequantize %t scales(%ts : tensor<bf16>)
         : !lowbit.packed<16x64, ternary> -> tensor<16x64xbf16>
  return
}

// -----

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xf32>, %[[W:.*]]: !lowbit.packed<64x128, q4_0>, %[[B:.*]]: tensor<64xf32>, %[[X3:.*]]: tensor<2x?x128xf16>, %[[V:.*]]: !lowbit.packed<64x128, int4, group = 64, asym>, %[[S:.*]]: tensor<64x2xf16>, %[[Z:.*]]: tensor<64x2xui8>)
// CHECK: lowbit.matmul %[[X]], %[[W]] : tensor<?x128xf32>, !lowbit.packed<64x128, q4_0> -> tensor<?x64xf32>
// CHECK: lowbit.matmul %[[X]], %[[W]] bias(%[[B]] : tensor<64xf32>) : tensor<?x128xf32>, !lowbit.packed<64x128, q4_0> -> tensor<?x64xf32>
// CHECK: lowbit.matmul %[[X3]], %[[V]] scales(%[[S]] : tensor<64x2xf16>) zero_points(%[[Z]] : tensor<64x2xui8>) : tensor<2x?x128xf16>, !lowbit.packed<64x128, int4, group = 64, asym> -> tensor<2x?x64xf16>
func.func @matmul(%x: tensor<?x128xf32>, %w: !lowbit.packed<64x128, q4_0>, %b: tensor<64xf32>,
                  %x3: tensor<2x?x128xf16>, %v: !lowbit.packed<64x128, int4, group = 64, asym>,
                  %s: tensor<64x2xf16>, %z: tensor<64x2xui8>) {
  %0 = lowbit.matmul %x, %w : tensor<?x128xf32>, !lowbit.packed<64x128, q4_0> -> tensor<?x64xf32>
  %1 = lowbit.matmul %x, %w bias(%b : tensor<64xf32>)
         : tensor<?x128xf32>, !lowbit.packed<64x128, q4_0> -> tensor<?x64xf32>
  %2 = lowbit.matmul %x3, %v scales(%s : tensor<64x2xf16>) zero_points(%z : tensor<64x2xui8>)
         : tensor<2x?x128xf16>, !lowbit.packed<64x128, int4, group = 64, asym> -> tensor<2x?x64xf16>
  return
}

// -----

// CHECK-LABEL: func.func @integer_activations
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xf32>, %[[W:.*]]: tensor<64x128xi8>, %[[AZ:.*]]: tensor<ui8>, %[[U:.*]]: tensor<?x128xui8>, %[[BZ:.*]]: tensor<64xi8>)
// CHECK: %[[Q:.*]], %[[S:.*]] = lowbit.dynamic_quantize %[[X]] : tensor<?x128xf32> -> tensor<?x128xi8>, tensor<?x1xf32>
// CHECK: lowbit.int_matmul %[[Q]], %[[W]] : tensor<?x128xi8>, tensor<64x128xi8> -> tensor<?x64xi32>
// CHECK: lowbit.int_matmul %[[U]], %[[W]] lhs_zero_point(%[[AZ]] : tensor<ui8>) rhs_zero_point(%[[BZ]] : tensor<64xi8>) : tensor<?x128xui8>, tensor<64x128xi8> -> tensor<?x64xi32>
func.func @integer_activations(%x: tensor<?x128xf32>, %w: tensor<64x128xi8>, %az: tensor<ui8>,
                               %u: tensor<?x128xui8>, %bz: tensor<64xi8>) {
  %q, %s = lowbit.dynamic_quantize %x : tensor<?x128xf32> -> tensor<?x128xi8>, tensor<?x1xf32>
  %0 = lowbit.int_matmul %q, %w : tensor<?x128xi8>, tensor<64x128xi8> -> tensor<?x64xi32>
  %1 = lowbit.int_matmul %u, %w lhs_zero_point(%az : tensor<ui8>) rhs_zero_point(%bz : tensor<64xi8>)
         : tensor<?x128xui8>, tensor<64x128xi8> -> tensor<?x64xi32>
  return
}

// -----

// CHECK-LABEL: func.func @hadamard_and_observe
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xf32>, %[[Y:.*]]: tensor<4x96xf32>)
// CHECK: lowbit.hadamard %[[X]] : tensor<?x128xf32>
// CHECK: lowbit.hadamard %[[Y]] size 32 : tensor<4x96xf32>
// CHECK: lowbit.observe %[[X]] key "blk.0.attn_q" : tensor<?x128xf32>
func.func @hadamard_and_observe(%x: tensor<?x128xf32>, %y: tensor<4x96xf32>) -> tensor<?x128xf32> {
  %0 = lowbit.hadamard %x : tensor<?x128xf32>
  %1 = lowbit.hadamard %y size 32 : tensor<4x96xf32>
  %2 = lowbit.observe %x key "blk.0.attn_q" : tensor<?x128xf32>
  return %0 : tensor<?x128xf32>
}
