// RUN: lowbit-opt %s --split-input-file --lowbit-lower-to-runtime --verify-diagnostics | FileCheck %s

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
func.func @main(%x: tensor<?x64xf32> {onnx.name = "x"}) -> tensor<?x2xf32> {
  %w = lowbit.constant dense<1> : tensor<136xi8> -> !lowbit.packed<2x64, q8_0>
  %y = lowbit.matmul %x, %w : tensor<?x64xf32>, !lowbit.packed<2x64, q8_0> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

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
