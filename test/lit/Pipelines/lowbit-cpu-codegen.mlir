// RUN: lowbit-opt %s --split-input-file --lowbit-cpu-codegen | FileCheck %s
// RUN: lowbit-opt %s --split-input-file --lowbit-cpu-codegen | mlir-translate --split-input-file --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// The whole CPU pipeline on a quantized matmul followed by a softmax-like
// elementwise tail: everything ends in the LLVM dialect, the kernel call goes
// through the dispatch context, the elementwise loop runs through a parallel
// launcher, temporaries are freed, the result is not; buffers come from the
// context's allocator.

// CHECK-LABEL: llvm.func @main
// CHECK-NOT: @malloc
// CHECK: llvm.call @lowbit_rt_alloc
// CHECK: llvm.call @__lowbit_matmul
// CHECK: llvm.call @__lowbit_parallel_launch_0(
// CHECK: llvm.call @lowbit_rt_dealloc
// CHECK-NOT: @free
// CHECK: llvm.return
// CHECK-LABEL: llvm.func @_mlir_ciface_main
// CHECK-LABEL: llvm.func internal @lowbit_rt_matmul
// CHECK: llvm.load
// CHECK-LABEL: llvm.func @__lowbit_parallel_body_0
// CHECK: llvm.intr.fma
// CHECK-LABEL: llvm.func internal @__lowbit_parallel_launch_0
// CHECK-NOT: bufferization.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: scf.

// The C interface takes the results pointer, the context, then one
// descriptor pointer per input and weight (docs/ARTIFACT.md). exp is
// computed inline (lowbit-fast-exp), with no libm call.
// LLVMIR-NOT: @expf
// LLVMIR: define void @_mlir_ciface_main(ptr %0, i64 %1, ptr %2, ptr %3)
// LLVMIR-NOT: @expf
func.func @main(%x: tensor<?x64xf32>) -> tensor<?x2xf32> {
  %w = lowbit.constant dense<1> : tensor<136xi8> -> !lowbit.packed<2x64, q8_0>
  %y = lowbit.matmul %x, %w : tensor<?x64xf32>, !lowbit.packed<2x64, q8_0> -> tensor<?x2xf32>
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %y, %c0 : tensor<?x2xf32>
  %e = tensor.empty(%rows) : tensor<?x2xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<?x2xf32>) outs(%e : tensor<?x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.exp %a : f32
    linalg.yield %t : f32
  } -> tensor<?x2xf32>
  return %z : tensor<?x2xf32>
}

// -----

// A float matmul runs in the runtime's kernel through the context.
// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @__lowbit_matmul_f32_2_2_2(
// CHECK-LABEL: llvm.func internal @lowbit_rt_matmul_f32
// CHECK: llvm.getelementptr %{{.*}}[32]
func.func @main(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%rows) : tensor<?x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>) outs(%f : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
