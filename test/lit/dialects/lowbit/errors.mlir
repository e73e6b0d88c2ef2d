// RUN: lowbit-opt %s --split-input-file --verify-diagnostics

// Every diagnostic the dialect's parsers and verifiers can emit.

//===----------------------------------------------------------------------===//
// #lowbit.format
//===----------------------------------------------------------------------===//

// expected-error @+1 {{unknown format 'q7_k' (expected int2..int8, a GGUF block format such as q4_k, codebook or ternary)}}
func.func private @f() attributes {fmt = #lowbit.format<q7_k>}

// -----

// expected-error @+1 {{int formats have 2 to 8 bits, got 9}}
func.func private @f() attributes {fmt = #lowbit.format<int9>}

// -----

// expected-error @+1 {{int formats have 2 to 8 bits, got 1}}
func.func private @f() attributes {fmt = #lowbit.format<int1, group = 32>}

// -----

// expected-error @+1 {{unknown format option 'round' (expected group, bits, codebooks, asym, min, per_tensor, per_channel or a8)}}
func.func private @f() attributes {fmt = #lowbit.format<int4, round>}

// -----

// expected-error @+1 {{per-token int8 activations ('a8') need int8 per-channel symmetric weights, got int4}}
func.func private @f() attributes {fmt = #lowbit.format<int4, a8>}

// -----

// expected-error @+1 {{per-token int8 activations ('a8') need int8 per-channel symmetric weights, got int8, group = 32}}
func.func private @f() attributes {fmt = #lowbit.format<int8, group = 32, a8>}

// -----

// expected-error @+1 {{format option 'group' needs a value: group = N}}
func.func private @f() attributes {fmt = #lowbit.format<int4, group>}

// -----

// expected-error @+1 {{format option 'asym' takes no value}}
func.func private @f() attributes {fmt = #lowbit.format<int4, asym = 1>}

// -----

// expected-error @+1 {{format option 'group' is out of range: -3}}
func.func private @f() attributes {fmt = #lowbit.format<int4, group = -3>}

// -----

// expected-error @+1 {{int4 needs a positive group size, got 0}}
func.func private @f() attributes {fmt = #lowbit.format<int4, group = 0>}

// -----

// expected-error @+1 {{q4_k is a GGUF block format and takes no options (got 'group')}}
func.func private @f() attributes {fmt = #lowbit.format<q4_k, group = 32>}

// -----

// expected-error @+1 {{int formats take no 'codebooks'}}
func.func private @f() attributes {fmt = #lowbit.format<int4, codebooks = 2>}

// -----

// expected-error @+1 {{ternary takes no 'bits' or 'codebooks': its codes are -1, 0 and +1}}
func.func private @f() attributes {fmt = #lowbit.format<ternary, bits = 2>}

// -----

// expected-error @+1 {{ternary is symmetric: it takes no 'asym' or 'min'}}
func.func private @f() attributes {fmt = #lowbit.format<ternary, min>}

// -----

// expected-error @+1 {{codebook needs 1 to 8 codebooks, got 9}}
func.func private @f() attributes {fmt = #lowbit.format<codebook, codebooks = 9, bits = 8, group = 8>}

// -----

// expected-error @+1 {{codebook codes have 1 to 16 bits, got 0}}
func.func private @f() attributes {fmt = #lowbit.format<codebook, codebooks = 2, group = 8>}

// -----

// expected-error @+1 {{codebook needs a positive group (code vector length), got 0}}
func.func private @f() attributes {fmt = #lowbit.format<codebook, codebooks = 2, bits = 8>}

// -----

// expected-error @+1 {{codebook groups weights into code vectors: it cannot be per-tensor or per-channel}}
func.func private @f() attributes {fmt = #lowbit.format<codebook, codebooks = 2, bits = 8, group = 8, per_channel>}

// -----

// expected-error @+1 {{codebook takes no 'asym' or 'min'}}
func.func private @f() attributes {fmt = #lowbit.format<codebook, codebooks = 2, bits = 8, group = 8, asym>}

// -----

//===----------------------------------------------------------------------===//
// !lowbit.packed
//===----------------------------------------------------------------------===//

// expected-error @+1 {{packed weights need at least one dimension}}
func.func private @f(!lowbit.packed<, q4_0>)

// -----

// expected-error @+1 {{packed weights need positive dimensions, got 0}}
func.func private @f(!lowbit.packed<0x32, q4_0>)

// -----

// expected-error @+1 {{packed weights have more than 2^48 elements}}
func.func private @f(!lowbit.packed<16777216x16777216x32, q4_0>)

// -----

// expected-error @+1 {{the reduction dimension (100) is not a multiple of the q4_0 block size (32)}}
func.func private @f(!lowbit.packed<64x100, q4_0>)

// -----

// expected-error @+1 {{the reduction dimension (4) is not a multiple of the code vector length (8)}}
func.func private @f(!lowbit.packed<64x4, codebook, codebooks = 1, bits = 8, group = 8>)

// -----

//===----------------------------------------------------------------------===//
// lowbit.constant
//===----------------------------------------------------------------------===//

func.func @f() {
  // expected-error @+1 {{'lowbit.constant' op bytes must be a 1-D tensor of i8, got 'tensor<2x18xi8>'}}
  %w = lowbit.constant dense<0> : tensor<2x18xi8> -> !lowbit.packed<2x32, q4_0>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'lowbit.constant' op bytes must be a 1-D tensor of i8, got 'tensor<36xf32>'}}
  %w = lowbit.constant dense<0.0> : tensor<36xf32> -> !lowbit.packed<2x32, q4_0>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'lowbit.constant' op has 35 bytes, but 2x32 weights in q4_0 take 36}}
  %w = lowbit.constant dense<0> : tensor<35xi8> -> !lowbit.packed<2x32, q4_0>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Quantization operands (shared by quantize, dequantize and matmul)
//===----------------------------------------------------------------------===//

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op q8_0 keeps its scales inside its blocks and takes no 'scales' operand}}
  %p = lowbit.quantize %x scales(%s : tensor<4x1xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, q8_0>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op q8_0 keeps its scales inside its blocks and takes no 'codebooks' operand}}
  %p = lowbit.quantize %x codebooks(%s : tensor<4x1xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, q8_0>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op format 'int4' needs a 'scales' operand}}
  %p = lowbit.quantize %x : tensor<4x32xf32> -> !lowbit.packed<4x32, int4>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op 'scales' must have shape 4x4 (one scale per group of 8 along the reduction axis), got 4x2}}
  %p = lowbit.quantize %x scales(%s : tensor<4x2xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op 'scales' must have shape 4x1 (one scale per output channel), got 4}}
  %p = lowbit.quantize %x scales(%s : tensor<4xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<1xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op 'scales' must have shape rank 0 (one scale for the whole tensor), got 1}}
  %p = lowbit.quantize %x scales(%s : tensor<1xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int8, per_tensor>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op format 'int4, group = 8, asym' needs a 'zero_points' operand}}
  %p = lowbit.quantize %x scales(%s : tensor<4x4xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8, asym>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x4xf32>, %z: tensor<4x4xi8>) {
  // expected-error @+1 {{'lowbit.quantize' op format 'int4, group = 8' takes no 'zero_points' (add ', asym' to the format)}}
  %p = lowbit.quantize %x scales(%s : tensor<4x4xf32>) zero_points(%z : tensor<4x4xi8>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x4xf32>, %z: tensor<4x1xi8>) {
  // expected-error @+1 {{'lowbit.quantize' op 'zero_points' must have the scales' shape 4x4, got 4x1}}
  %p = lowbit.quantize %x scales(%s : tensor<4x4xf32>) zero_points(%z : tensor<4x1xi8>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8, asym>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op format 'int4, group = 8, min' needs a 'mins' operand}}
  %p = lowbit.quantize %x scales(%s : tensor<4x4xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8, min>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op format 'int4, group = 8' takes no 'mins' (add ', min' to the format)}}
  %p = lowbit.quantize %x scales(%s : tensor<4x4xf32>) mins(%s : tensor<4x4xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x4xf32>, %m: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op 'mins' must have the scales' shape 4x4, got 4x2}}
  %p = lowbit.quantize %x scales(%s : tensor<4x4xf32>) mins(%m : tensor<4x2xf32>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8, min>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %s: tensor<4x4xf32>, %m: tensor<4x4xf16>) {
  // expected-error @+1 {{'lowbit.quantize' op 'mins' must have the scales' element type 'f32', got 'f16'}}
  %p = lowbit.quantize %x scales(%s : tensor<4x4xf32>) mins(%m : tensor<4x4xf16>) : tensor<4x32xf32> -> !lowbit.packed<4x32, int4, group = 8, min>
  return
}

// -----

func.func @f(%p: !lowbit.packed<4x32, codebook, codebooks = 2, bits = 4, group = 8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize' op format 'codebook, codebooks = 2, bits = 4, group = 8' needs a 'codebooks' operand}}
  %w = lowbit.dequantize %p scales(%s : tensor<4x1xf32>) : !lowbit.packed<4x32, codebook, codebooks = 2, bits = 4, group = 8> -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%p: !lowbit.packed<4x32, int4>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize' op format 'int4' takes no 'codebooks'}}
  %w = lowbit.dequantize %p scales(%s : tensor<4x1xf32>) codebooks(%s : tensor<4x1xf32>) : !lowbit.packed<4x32, int4> -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%p: !lowbit.packed<4x32, codebook, codebooks = 2, bits = 4, group = 8>, %s: tensor<4x1xf32>, %c: tensor<2x256x8xf32>) {
  // expected-error @+1 {{'lowbit.dequantize' op 'codebooks' must have shape 2x16x8 (codebooks x 2^bits x group), got 2x256x8}}
  %w = lowbit.dequantize %p scales(%s : tensor<4x1xf32>) codebooks(%c : tensor<2x256x8xf32>) : !lowbit.packed<4x32, codebook, codebooks = 2, bits = 4, group = 8> -> tensor<4x32xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// lowbit.quantize and lowbit.dequantize shapes
//===----------------------------------------------------------------------===//

func.func @f(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op input shape 4x64 differs from the packed shape 4x32}}
  %p = lowbit.quantize %x : tensor<4x64xf32> -> !lowbit.packed<4x32, q8_0>
  return
}

// -----

func.func @f(%p: !lowbit.packed<4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.dequantize' op result shape 4x? differs from the packed shape 4x32}}
  %w = lowbit.dequantize %p : !lowbit.packed<4x32, q8_0> -> tensor<4x?xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// lowbit.matmul
//===----------------------------------------------------------------------===//

func.func @f(%x: tensor<?x32xf32>, %w: !lowbit.packed<2x4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.matmul' op weight must be 2-D [N, K], got 2x4x32}}
  %y = lowbit.matmul %x, %w : tensor<?x32xf32>, !lowbit.packed<2x4x32, q8_0> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<f32>, %w: !lowbit.packed<4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.matmul' op input must have at least one dimension}}
  %y = lowbit.matmul %x, %w : tensor<f32>, !lowbit.packed<4x32, q8_0> -> tensor<4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %w: !lowbit.packed<4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.matmul' op input's last dimension (64) must equal the weight's reduction dimension K (32)}}
  %y = lowbit.matmul %x, %w : tensor<?x64xf32>, !lowbit.packed<4x32, q8_0> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %w: !lowbit.packed<4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.matmul' op result must have the input's rank 2, got 3}}
  %y = lowbit.matmul %x, %w : tensor<?x32xf32>, !lowbit.packed<4x32, q8_0> -> tensor<1x?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<3x32xf32>, %w: !lowbit.packed<4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.matmul' op result dimension 0 (5) differs from the input's (3)}}
  %y = lowbit.matmul %x, %w : tensor<3x32xf32>, !lowbit.packed<4x32, q8_0> -> tensor<5x4xf32>
  return
}

// -----

func.func @f(%x: tensor<3x32xf32>, %w: !lowbit.packed<4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.matmul' op result's last dimension (8) must equal the weight's output channels N (4)}}
  %y = lowbit.matmul %x, %w : tensor<3x32xf32>, !lowbit.packed<4x32, q8_0> -> tensor<3x8xf32>
  return
}

// -----

func.func @f(%x: tensor<3x32xf32>, %w: !lowbit.packed<4x32, q8_0>) {
  // expected-error @+1 {{'lowbit.matmul' op result element type 'f16' differs from the input's 'f32'}}
  %y = lowbit.matmul %x, %w : tensor<3x32xf32>, !lowbit.packed<4x32, q8_0> -> tensor<3x4xf16>
  return
}

// -----

func.func @f(%x: tensor<3x32xf32>, %w: !lowbit.packed<4x32, q8_0>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'lowbit.matmul' op 'bias' must have shape 4 (one per output channel), got 3}}
  %y = lowbit.matmul %x, %w bias(%b : tensor<3xf32>) : tensor<3x32xf32>, !lowbit.packed<4x32, q8_0> -> tensor<3x4xf32>
  return
}

// -----

func.func @f(%x: tensor<3x32xf32>, %w: !lowbit.packed<4x32, q8_0>, %b: tensor<4xbf16>) {
  // expected-error @+1 {{'lowbit.matmul' op 'bias' element type 'bf16' differs from the result's 'f32'}}
  %y = lowbit.matmul %x, %w bias(%b : tensor<4xbf16>) : tensor<3x32xf32>, !lowbit.packed<4x32, q8_0> -> tensor<3x4xf32>
  return
}

// -----

func.func @f(%x: tensor<3x32xf32>, %w: !lowbit.packed<4x32, int8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.matmul' op 'scales' must have shape 4x1 (one scale per output channel), got 4x2}}
  %y = lowbit.matmul %x, %w scales(%s : tensor<4x2xf32>) : tensor<3x32xf32>, !lowbit.packed<4x32, int8> -> tensor<3x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// lowbit.dynamic_quantize
//===----------------------------------------------------------------------===//

func.func @f(%x: tensor<f32>) {
  // expected-error @+1 {{'lowbit.dynamic_quantize' op input must have at least one dimension}}
  %q, %s = lowbit.dynamic_quantize %x : tensor<f32> -> tensor<i8>, tensor<f32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{'lowbit.dynamic_quantize' op result shape ?x16 differs from the input's ?x32}}
  %q, %s = lowbit.dynamic_quantize %x : tensor<?x32xf32> -> tensor<?x16xi8>, tensor<?x1xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{'lowbit.dynamic_quantize' op scales must have shape ?x1 (one per row), got ?}}
  %q, %s = lowbit.dynamic_quantize %x : tensor<?x32xf32> -> tensor<?x32xi8>, tensor<?xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// lowbit.int_matmul
//===----------------------------------------------------------------------===//

func.func @f(%a: tensor<i8>, %b: tensor<4x32xi8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op lhs must have at least one dimension}}
  %y = lowbit.int_matmul %a, %b : tensor<i8>, tensor<4x32xi8> -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<?x32xi8>, %b: tensor<32xi8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op rhs must be 2-D [N, K], got 32}}
  %y = lowbit.int_matmul %a, %b : tensor<?x32xi8>, tensor<32xi8> -> tensor<?x1xi32>
  return
}

// -----

func.func @f(%a: tensor<?x16xi8>, %b: tensor<4x32xi8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op lhs's last dimension (16) must equal rhs's reduction dimension K (32)}}
  %y = lowbit.int_matmul %a, %b : tensor<?x16xi8>, tensor<4x32xi8> -> tensor<?x4xi32>
  return
}

// -----

func.func @f(%a: tensor<?x32xi8>, %b: tensor<4x32xi8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op result shape ?x8 must be ?x4}}
  %y = lowbit.int_matmul %a, %b : tensor<?x32xi8>, tensor<4x32xi8> -> tensor<?x8xi32>
  return
}

// -----

func.func @f(%a: tensor<?x32xi8>, %b: tensor<4x32xi8>, %z: tensor<1xi8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op 'lhs_zero_point' must be a scalar (rank 0), got 1}}
  %y = lowbit.int_matmul %a, %b lhs_zero_point(%z : tensor<1xi8>) : tensor<?x32xi8>, tensor<4x32xi8> -> tensor<?x4xi32>
  return
}

// -----

func.func @f(%a: tensor<?x32xi8>, %b: tensor<4x32xi8>, %z: tensor<ui8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op 'lhs_zero_point' must have the lhs's element type}}
  %y = lowbit.int_matmul %a, %b lhs_zero_point(%z : tensor<ui8>) : tensor<?x32xi8>, tensor<4x32xi8> -> tensor<?x4xi32>
  return
}

// -----

func.func @f(%a: tensor<?x32xi8>, %b: tensor<4x32xi8>, %z: tensor<3xi8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op 'rhs_zero_point' must be a scalar or have shape 4 (one per output channel), got 3}}
  %y = lowbit.int_matmul %a, %b rhs_zero_point(%z : tensor<3xi8>) : tensor<?x32xi8>, tensor<4x32xi8> -> tensor<?x4xi32>
  return
}

// -----

func.func @f(%a: tensor<?x32xi8>, %b: tensor<4x32xi8>, %z: tensor<4xui8>) {
  // expected-error @+1 {{'lowbit.int_matmul' op 'rhs_zero_point' must have the rhs's element type}}
  %y = lowbit.int_matmul %a, %b rhs_zero_point(%z : tensor<4xui8>) : tensor<?x32xi8>, tensor<4x32xi8> -> tensor<?x4xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// lowbit.hadamard and lowbit.observe
//===----------------------------------------------------------------------===//

func.func @f(%x: tensor<f32>) {
  // expected-error @+1 {{'lowbit.hadamard' op input must have at least one dimension}}
  %y = lowbit.hadamard %x : tensor<f32>
  return
}

// -----

func.func @f(%x: tensor<4x?xf32>) {
  // expected-error @+1 {{'lowbit.hadamard' op needs a 'size' when the last dimension is dynamic}}
  %y = lowbit.hadamard %x : tensor<4x?xf32>
  return
}

// -----

func.func @f(%x: tensor<4x96xf32>) {
  // expected-error @+1 {{'lowbit.hadamard' op transform size must be a positive power of two, got 96}}
  %y = lowbit.hadamard %x : tensor<4x96xf32>
  return
}

// -----

func.func @f(%x: tensor<4x96xf32>) {
  // expected-error @+1 {{'lowbit.hadamard' op transform size 64 does not divide the last dimension (96)}}
  %y = lowbit.hadamard %x size 64 : tensor<4x96xf32>
  return
}

// -----

func.func @f(%x: tensor<4x96xf32>) {
  // expected-error @+1 {{'lowbit.observe' op needs a non-empty key naming what it observes}}
  %y = lowbit.observe %x key "" : tensor<4x96xf32>
  return
}
