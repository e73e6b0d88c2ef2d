// RUN: lowbit-opt %s --split-input-file --lowbit-lower-to-runtime=interleave-rows=false --verify-diagnostics \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --split-input-file --lowbit-lower-to-runtime --verify-diagnostics \
// RUN:   | FileCheck %s --check-prefix=INTERLEAVE

// The entry function gains the context first and the weights last; the
// matmul becomes a call of the runtime's kernel on flat buffers, with the
// format encoded as one word (q8_0: kind 5 | per-group (2) << 16 = 131077;
// lowbit::quant::encodeFormat) and the missing operands as
// empty buffers; the result is allocated in its final shape.

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[CTX:.*]]: i64 {lowbit.context}, %[[X:.*]]: tensor<?x64xf32> {onnx.name = "x"}, %[[W:.*]]: memref<136xi8> {lowbit.weight = "packed_weight_0", lowbit.weight_value = dense<1> : tensor<136xi8>})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x2xf32>
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: %[[FORMAT:.*]] = arith.constant 131077 : i64
// CHECK: bufferization.to_buffer %{{.*}} read_only
// CHECK: call @__lowbit_matmul(%[[CTX]], %[[FORMAT]],
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x2xf32> to tensor<?x2xf32>
// CHECK: return %[[Y]]

// The wrapper passes addresses (null for empty buffers) to the kernel.
// CHECK-LABEL: func.func private @lowbit_rt_matmul(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> i32
// CHECK-LABEL: func.func private @__lowbit_matmul
// CHECK-COUNT-8: memref.extract_aligned_pointer_as_index
// CHECK: call @lowbit_rt_matmul

// interleave-rows: q8_0 can be interleaved, so the word has layout
// Interleaved4 (1 << 30): 131077 + 1073741824; a splat's bytes stay as
// they are.
// INTERLEAVE-LABEL: func.func @main
// INTERLEAVE-SAME: lowbit.weight_value = dense<1> : tensor<136xi8>
// INTERLEAVE: %[[FORMAT:.*]] = arith.constant 1073872901 : i64
// INTERLEAVE: call @__lowbit_matmul(%{{.*}}, %[[FORMAT]],
func.func @main(%x: tensor<?x64xf32> {onnx.name = "x"}) -> tensor<?x2xf32> {
  %w = lowbit.constant dense<1> : tensor<136xi8> -> !lowbit.packed<2x64, q8_0>
  %y = lowbit.matmul %x, %w : tensor<?x64xf32>, !lowbit.packed<2x64, q8_0> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Row layouts. %w is int2 per channel (word 0 | 2 << 8 | 1 << 16 = 66048),
// 5 rows of 48 bytes: a 32-byte unit (128 weights) and a 16-byte last unit;
// byte 0xRU is row R's unit U. %t is ternary (word 16), which has no unit.
// Without interleave-rows both keep their words and bytes.
// CHECK-LABEL: func.func @main
// CHECK-SAME: lowbit.weight = "w", lowbit.weight_value = dense_resource<w> : tensor<240xi8>}
// CHECK-SAME: lowbit.weight = "t", lowbit.weight_value = dense_resource<t> : tensor<64xi8>}) ->
// CHECK: arith.constant 66048 : i64
// CHECK: arith.constant 66048 : i64
// CHECK: arith.constant 16 : i64
// CHECK: w: "0x40000000{{(00){32}(01){16}(10){32}(11){16}(20){32}(21){16}(30){32}(31){16}(40){32}(41){16}"}}

// With it, %w's word gains Interleaved4 (66048 + 1073741824) and its bytes
// are laid out once for both matmuls: the first tile's rows take turns
// (units 0 of rows 0-3, then their last units), row 4 stays whole. %t keeps
// its word and its bytes.
// INTERLEAVE-LABEL: func.func @main
// INTERLEAVE-SAME: lowbit.weight = "w", lowbit.weight_value = dense_resource<[[LAID:.*]]> : tensor<240xi8>}
// INTERLEAVE-SAME: lowbit.weight = "t", lowbit.weight_value = dense_resource<t> : tensor<64xi8>}) ->
// INTERLEAVE: arith.constant 1073807872 : i64
// INTERLEAVE: arith.constant 1073807872 : i64
// INTERLEAVE: arith.constant 16 : i64
// INTERLEAVE: [[LAID]]: "0x40000000{{(00){32}(10){32}(20){32}(30){32}(01){16}(11){16}(21){16}(31){16}(40){32}(41){16}"}}
// INTERLEAVE: t: "0x40000000000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F"
func.func @main(%x: tensor<?x192xf32>, %y: tensor<?x64xf32>) -> (tensor<?x5xf32>, tensor<?x5xf32>, tensor<?x4xf32>) {
  %w = lowbit.constant dense_resource<w> : tensor<240xi8> -> !lowbit.packed<5x192, int2>
  %s = arith.constant dense<1.0> : tensor<5x1xf32>
  %a = lowbit.matmul %x, %w scales(%s : tensor<5x1xf32>) : tensor<?x192xf32>, !lowbit.packed<5x192, int2> -> tensor<?x5xf32>
  %b = lowbit.matmul %x, %w scales(%s : tensor<5x1xf32>) : tensor<?x192xf32>, !lowbit.packed<5x192, int2> -> tensor<?x5xf32>
  %t = lowbit.constant dense_resource<t> : tensor<64xi8> -> !lowbit.packed<4x64, ternary>
  %ts = arith.constant dense<1.0> : tensor<f32>
  %c = lowbit.matmul %y, %t scales(%ts : tensor<f32>) : tensor<?x64xf32>, !lowbit.packed<4x64, ternary> -> tensor<?x4xf32>
  return %a, %b, %c : tensor<?x5xf32>, tensor<?x5xf32>, tensor<?x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x40000000000000000000000000000000000000000000000000000000000000000000000001010101010101010101010101010101101010101010101010101010101010101010101010101010101010101010101011111111111111111111111111111111202020202020202020202020202020202020202020202020202020202020202021212121212121212121212121212121303030303030303030303030303030303030303030303030303030303030303031313131313131313131313131313131404040404040404040404040404040404040404040404040404040404040404041414141414141414141414141414141",
      t: "0x40000000000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F"
    }
  }
#-}

// -----

// Two constants naming one blob: each is laid out into a blob of its own
// (replacing the shared blob in place would lay the second out twice), with
// the same bytes as above. Without interleave-rows both name the blob.
// CHECK-LABEL: func.func @main
// CHECK-SAME: lowbit.weight_value = dense_resource<shared> : tensor<240xi8>}
// CHECK-SAME: lowbit.weight_value = dense_resource<shared> : tensor<240xi8>}
// INTERLEAVE-LABEL: func.func @main
// INTERLEAVE-SAME: lowbit.weight_value = dense_resource<[[A:[a-z_0-9]+]]> : tensor<240xi8>}
// INTERLEAVE-SAME: lowbit.weight_value = dense_resource<[[B:[a-z_0-9]+]]> : tensor<240xi8>}
// INTERLEAVE-DAG: [[A]]: "0x40000000{{(00){32}(10){32}(20){32}(30){32}(01){16}(11){16}(21){16}(31){16}(40){32}(41){16}"}}
// INTERLEAVE-DAG: [[B]]: "0x40000000{{(00){32}(10){32}(20){32}(30){32}(01){16}(11){16}(21){16}(31){16}(40){32}(41){16}"}}
func.func @main(%x: tensor<?x192xf32>) -> (tensor<?x5xf32>, tensor<?x5xf32>) {
  %v = lowbit.constant dense_resource<shared> : tensor<240xi8> -> !lowbit.packed<5x192, int2>
  %u = lowbit.constant dense_resource<shared> : tensor<240xi8> -> !lowbit.packed<5x192, int2>
  %s = arith.constant dense<1.0> : tensor<5x1xf32>
  %a = lowbit.matmul %x, %v scales(%s : tensor<5x1xf32>) : tensor<?x192xf32>, !lowbit.packed<5x192, int2> -> tensor<?x5xf32>
  %b = lowbit.matmul %x, %u scales(%s : tensor<5x1xf32>) : tensor<?x192xf32>, !lowbit.packed<5x192, int2> -> tensor<?x5xf32>
  return %a, %b : tensor<?x5xf32>, tensor<?x5xf32>
}

{-#
  dialect_resources: {
    builtin: {
      shared: "0x40000000000000000000000000000000000000000000000000000000000000000000000001010101010101010101010101010101101010101010101010101010101010101010101010101010101010101010101011111111111111111111111111111111202020202020202020202020202020202020202020202020202020202020202021212121212121212121212121212121303030303030303030303030303030303030303030303030303030303030303031313131313131313131313131313131404040404040404040404040404040404040404040404040404040404040404041414141414141414141414141414141"
    }
  }
#-}

// -----

// Large constants become weight arguments; small ones stay in the code.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%{{.*}}: i64 {lowbit.context}, %[[X:.*]]: tensor<2048xf32>, %[[BIG:.*]]: tensor<2048xf32> {lowbit.weight = "constant_0", lowbit.weight_value = dense<1.500000e+00> : tensor<2048xf32>})
// CHECK: arith.constant dense<2.000000e+00> : tensor<4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[BIG]] :
func.func @main(%x: tensor<2048xf32>) -> (tensor<2048xf32>, tensor<4xf32>) {
  %big = arith.constant dense<1.5> : tensor<2048xf32>
  %small = arith.constant dense<2.0> : tensor<4xf32>
  %e = tensor.empty() : tensor<2048xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                         iterator_types = ["parallel"]}
      ins(%x, %big : tensor<2048xf32>, tensor<2048xf32>) outs(%e : tensor<2048xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2048xf32>
  return %sum, %small : tensor<2048xf32>, tensor<4xf32>
}

// -----

func.func @main(%x: tensor<?x64xf32>, %w: !lowbit.packed<2x64, q8_0>) -> tensor<?x2xf32> {
  // expected-error @below {{'lowbit.matmul' op needs constant packed weights (a lowbit.constant) to run on the CPU runtime}}
  %y = lowbit.matmul %x, %w : tensor<?x64xf32>, !lowbit.packed<2x64, q8_0> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// expected-error @below {{lowbit-lower-to-runtime: no entry function 'main'}}
module {
  func.func @other() {
    return
  }
}
