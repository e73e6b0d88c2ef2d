//===- Passes.td - lowbit's lowerings --------------------------*- tablegen -*-===//

#ifndef LOWBIT_CONVERSION_PASSES_TD
#define LOWBIT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToRuntimePass : Pass<"lowbit-lower-to-runtime", "mlir::ModuleOp"> {
  let summary = "Turns the entry function into the runtime's calling convention";
  let description = [{
    Prepares the entry function for the CPU runtime (docs/ARTIFACT.md):
    - it gains a first argument, an i64 holding the runtime's dispatch
      context (`lowbit.context`);
    - every `lowbit.matmul` becomes a call of the runtime's fused matmul
      kernel through a private wrapper on flattened buffers;
    - packed weights and large float constants become arguments of the entry
      function, each marked `lowbit.weight` with its name and contents, so
      the artifact stores them once and the runtime maps them.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"", "The entry function">,
    Option<"minWeightElements", "min-weight-elements", "int64_t", /*default=*/"1024",
           "Constants with at least this many elements become weights">,
  ];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::func::FuncDialect", "::mlir::linalg::LinalgDialect"];
}

def FloatMatmulToRuntimePass : Pass<"lowbit-float-matmul-to-runtime", "mlir::ModuleOp"> {
  let summary = "Runs the entry function's f32 matmuls in the runtime's threaded kernel";
  let description = [{
    Every f32 contraction of the entry function (a linalg generic or named
    op with one reduction dimension and an `out + a * b` body: MatMul and
    Gemm on float weights, attention's Q K^T and P V) becomes a call of the
    runtime's batched strided matmul (`lowbit_matmul_f32_fn`, abi.h) through
    the dispatch context, on tensors, bridging with to_buffer/to_tensor like
    lowbit-lower-to-runtime (which must run first: it adds the context).

    Operands are read in place: transposes, broadcasts and copies (linalg
    ops whose body yields their input), expand_shape and collapse_shape on
    the way into the contraction fold into the strides; a collapse splits the
    loop dimension it feeds, so grouped-query attention's K and V, repeated
    over the heads of their group, are read once per group from where they
    are. The result is a fresh buffer; an init other than a fill with 0 is
    copied in and accumulated into.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"", "The entry function">,
  ];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::func::FuncDialect", "::mlir::linalg::LinalgDialect"];
}

def ResolveRuntimeCallsPass : Pass<"lowbit-resolve-runtime-calls", "mlir::ModuleOp"> {
  let summary = "Defines the runtime's kernels as calls through the dispatch context";
  let description = [{
    On the LLVM dialect: gives each declared runtime kernel (`lowbit_rt_*`) a
    body that loads the kernel's address from the dispatch context (its first
    argument) and calls it, so compiled code links no runtime symbol.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LOWBIT_CONVERSION_PASSES_TD
