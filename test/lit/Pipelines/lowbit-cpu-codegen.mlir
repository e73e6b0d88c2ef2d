// RUN: lowbit-opt %s --lowbit-cpu-codegen | FileCheck %s
// RUN: lowbit-opt %s --lowbit-cpu-codegen | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// The whole CPU pipeline on a quantized matmul followed by a softmax-like
// elementwise tail: everything ends in the LLVM dialect, the kernel call goes
// through the dispatch context, temporaries are freed, the result is not.

// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @malloc
// CHECK: llvm.call @__lowbit_matmul
// CHECK: llvm.call @free
// CHECK: llvm.return
// CHECK-LABEL: llvm.func @_mlir_ciface_main
// CHECK-LABEL: llvm.func internal @lowbit_rt_matmul
// CHECK: llvm.load
// CHECK-NOT: bufferization.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.

// The C interface takes the results pointer, the context, then one
// descriptor pointer per input and weight (docs/ARTIFACT.md).
// LLVMIR: declare float @expf(float)
// LLVMIR: define void @_mlir_ciface_main(ptr %0, i64 %1, ptr %2, ptr %3)
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
