// RUN: lowbit-opt %s --split-input-file --verify-roundtrip | FileCheck %s

// Every format kind, printed in its canonical form.

// CHECK-LABEL: func.func @gguf_block_formats
// CHECK-SAME: !lowbit.packed<8x256, q4_0>
// CHECK-SAME: !lowbit.packed<8x256, q4_1>
// CHECK-SAME: !lowbit.packed<8x256, q5_0>
// CHECK-SAME: !lowbit.packed<8x256, q5_1>
// CHECK-SAME: !lowbit.packed<8x256, q8_0>
// CHECK-SAME: !lowbit.packed<8x256, q2_k>
// CHECK-SAME: !lowbit.packed<8x256, q3_k>
// CHECK-SAME: !lowbit.packed<8x256, q4_k>
// CHECK-SAME: !lowbit.packed<8x256, q5_k>
// CHECK-SAME: !lowbit.packed<8x256, q6_k>
// CHECK-SAME: !lowbit.packed<8x256, iq4_nl>
// CHECK-SAME: !lowbit.packed<8x256, iq4_xs>
// CHECK-SAME: !lowbit.packed<8x256, tq1_0>
// CHECK-SAME: !lowbit.packed<8x256, tq2_0>
func.func @gguf_block_formats(
    %a: !lowbit.packed<8x256, q4_0>, %b: !lowbit.packed<8x256, q4_1>,
    %c: !lowbit.packed<8x256, q5_0>, %d: !lowbit.packed<8x256, q5_1>,
    %e: !lowbit.packed<8x256, q8_0>, %f: !lowbit.packed<8x256, q2_k>,
    %g: !lowbit.packed<8x256, q3_k>, %h: !lowbit.packed<8x256, q4_k>,
    %i: !lowbit.packed<8x256, q5_k>, %j: !lowbit.packed<8x256, q6_k>,
    %k: !lowbit.packed<8x256, iq4_nl>, %l: !lowbit.packed<8x256, iq4_xs>,
    %m: !lowbit.packed<8x256, tq1_0>, %n: !lowbit.packed<8x256, tq2_0>) {
  return
}

// -----

// CHECK-LABEL: func.func @int_formats
// CHECK-SAME: !lowbit.packed<16x64, int2>
// CHECK-SAME: !lowbit.packed<16x64, int3, group = 16>
// CHECK-SAME: !lowbit.packed<16x64, int4, group = 32, asym>
// CHECK-SAME: !lowbit.packed<16x64, int5, group = 64, min>
// CHECK-SAME: !lowbit.packed<16x64, int6, per_tensor>
// CHECK-SAME: !lowbit.packed<16x64, int7, per_tensor, asym>
// CHECK-SAME: !lowbit.packed<16x64, int8>
// CHECK-SAME: !lowbit.packed<4x16x64, int8, group = 8>
func.func @int_formats(
    %a: !lowbit.packed<16x64, int2>, %b: !lowbit.packed<16x64, int3, group = 16>,
    %c: !lowbit.packed<16x64, int4, group = 32, asym>,
    %d: !lowbit.packed<16x64, int5, group = 64, min>,
    %e: !lowbit.packed<16x64, int6, per_tensor>,
    %f: !lowbit.packed<16x64, int7, asym, per_tensor>,
    %g: !lowbit.packed<16x64, int8, per_channel>,
    %h: !lowbit.packed<4x16x64, int8, group = 8>) {
  return
}

// -----

// CHECK-LABEL: func.func @codebook_and_ternary
// CHECK-SAME: !lowbit.packed<16x64, codebook, codebooks = 2, bits = 8, group = 8>
// CHECK-SAME: !lowbit.packed<16x64, codebook, codebooks = 1, bits = 16, group = 8>
// CHECK-SAME: !lowbit.packed<16x64, ternary>
// CHECK-SAME: !lowbit.packed<16x64, ternary, per_channel>
// CHECK-SAME: !lowbit.packed<16x64, ternary, group = 32>
func.func @codebook_and_ternary(
    %a: !lowbit.packed<16x64, codebook, group = 8, codebooks = 2, bits = 8>,
    %b: !lowbit.packed<16x64, codebook, codebooks = 1, bits = 16, group = 8>,
    %c: !lowbit.packed<16x64, ternary>, %d: !lowbit.packed<16x64, ternary, per_channel>,
    %e: !lowbit.packed<16x64, ternary, group = 32>) {
  return
}

// -----

// The attribute on its own, where other dialects or passes carry it.
// CHECK-LABEL: func.func @format_attribute
// CHECK-SAME: lowbit.formats = [#lowbit.format<q4_k>, #lowbit.format<int4, group = 128, asym>, #lowbit.format<codebook, codebooks = 2, bits = 8, group = 8>, #lowbit.format<ternary>]
func.func @format_attribute() attributes {
    lowbit.formats = [#lowbit.format<q4_k>, #lowbit.format<int4,group=128,asym>,
                      #lowbit.format<codebook, codebooks = 2, bits = 8, group = 8>,
                      #lowbit.format<ternary>]} {
  return
}
