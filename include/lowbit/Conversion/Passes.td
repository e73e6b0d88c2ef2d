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

    With `interleave-rows` (the default), packed weights whose format has
    an interleave unit (lowbit::quant::interleaveUnitBytes: not codebook,
    ternary or a8) are stored in the Interleaved4 row layout (docs/FORMATS.md,
    "Row layouts"): their bytes are reordered once per constant and the
    format word the kernel gets says so (bits 30-31). A blob that only its
    constant names, and only matmuls read, is reordered in place; a shared
    one is copied.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"", "The entry function">,
    Option<"minWeightElements", "min-weight-elements", "int64_t", /*default=*/"1024",
           "Constants with at least this many elements become weights">,
    Option<"interleaveRows", "interleave-rows", "bool", /*default=*/"true",
           "Store packed weights in 4-row interleaved tiles (Interleaved4) where the format allows">,
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

def DuplicateElementwiseProducersPass : Pass<"lowbit-duplicate-elementwise-producers"> {
  let summary = "Gives each consumer of a cheap elementwise op its own copy to fuse";
  let description = [{
    A linalg.generic with only parallel loops and at most six arithmetic
    ops in its body (no math ops), used as an input by several linalg
    generics that could each fuse it, is cloned once per extra user, so
    that linalg-fuse-elementwise-ops (which fuses single-use producers only)
    fuses every copy and the tensor is never stored: attention's scaled and
    masked scores, read by softmax's max and exp, are recomputed in both
    instead of written and read twice.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FastExpPass : Pass<"lowbit-fast-exp"> {
  let summary = "Computes f32 math.exp inline instead of calling libm's expf";
  let description = [{
    Rewrites every f32 `math.exp` into MLIR's polynomial approximation (the
    Cephes one: Cody-Waite range reduction, a degree-6 polynomial, relative
    error below 2^-22.5 over the normal range; results below 2^-126 flush to
    0, large inputs give +inf). libm's expf is a call per element that the
    loop vectorizer cannot widen, and for the very negative inputs of a
    masked softmax (exp(-3.4e38 - max)) glibc takes its slow underflow path
    that sets errno; that was 28% of a SmolLM2 forward pass. The inline form
    is branch-free arithmetic the loops around it can vectorize.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def MathToInstructionsPass : Pass<"lowbit-math-to-instructions", "mlir::ModuleOp"> {
  let summary = "Lowers the math ops that are single instructions to LLVM intrinsics";
  let description = [{
    `math.floor`, `ceil`, `trunc`, `roundeven`, `fma`, `sqrt`, `absf` and
    `copysign` become LLVM intrinsics (one instruction each on x86-64 with
    SSE4.1 and FMA), so that convert-math-to-libm, which runs next for
    erf and the like, does not turn them into calls of floorf, fmaf or
    sqrtf: calls the loop vectorizer cannot widen. lowbit-fast-exp's
    expansion uses floor and fma.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def PromoteLoopAccumulatorsPass : Pass<"lowbit-promote-loop-accumulators"> {
  let summary = "Keeps a reduction loop's output element in a register";
  let description = [{
    An scf.for without results whose body loads one element of a buffer,
    combines, and stores it back at the same loop-invariant indices (what
    convert-linalg-to-loops makes of a reduction), with nothing else in the
    body writing memory, carries the element in an iter_arg instead: loaded
    before the loop, stored after it. An `addf` combiner gets `reassoc`, so
    LLVM may vectorize the sum. Sound for loops from bufferized linalg ops,
    where an input never aliases the output of a reduction.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def OutlineParallelLoopsPass : Pass<"lowbit-outline-parallel-loops", "mlir::ModuleOp"> {
  let summary = "Runs the entry function's parallel loops on the runtime's thread pool";
  let description = [{
    Each scf.parallel directly in the entry function (convert-linalg-to-
    parallel-loops makes one per linalg op) is outlined: its body becomes a
    private function `__lowbit_parallel_body_N(g, G, captures...)` that runs
    chunk g of G of the iteration space (linearized row-major: the rows a
    chunk touches, each a contiguous run of the innermost dimension), and
    the loop becomes a call of `__lowbit_parallel_launch_N(context, work,
    total, captures...)`, a declaration marked `lowbit.parallel_body` that
    lowbit-resolve-runtime-calls defines: it splits `total` iterations into
    chunks by `work` (iterations times the ops each runs) and the context's
    workers, and runs them through the context's parallel_for, or inline.
    Constants are rematerialized in the body; everything else it uses is
    passed. Loops with reductions are left alone.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"", "The entry function">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect", "::mlir::func::FuncDialect"];
}

def ResolveRuntimeCallsPass : Pass<"lowbit-resolve-runtime-calls", "mlir::ModuleOp"> {
  let summary = "Defines the runtime's kernels as calls through the dispatch context";
  let description = [{
    On the LLVM dialect: gives each declared runtime kernel (`lowbit_rt_*`) a
    body that loads the kernel's address from the dispatch context (its first
    argument) and calls it, so compiled code links no runtime symbol.

    Defines each parallel launcher (a declaration marked
    `lowbit.parallel_body`, from lowbit-outline-parallel-loops): it stores
    its arguments in a struct on the stack and runs the body's chunks
    through the context's parallel_for with a thunk that unpacks them, or
    calls the body once when one chunk is enough.

    In the entry function, malloc and free become the context's alloc and
    dealloc (the runtime reuses large blocks across runs).
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"", "The entry function">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LOWBIT_CONVERSION_PASSES_TD
