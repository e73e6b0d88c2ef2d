//===- Passes.td - lowbit's quantization passes ----------------*- tablegen -*-===//

#ifndef LOWBIT_TRANSFORMS_PASSES_TD
#define LOWBIT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeWeightsPass : Pass<"lowbit-quantize-weights", "mlir::ModuleOp"> {
  let summary = "Packs the constant weights of matmuls and feeds them to lowbit.matmul";
  let description = [{
    Finds every matmul whose weight is a float constant (a linalg contraction
    `x[..., k] * W[k, n]` or `x[..., k] * W[n, k]` accumulated into zeros, as
    the ONNX importer builds MatMul and Gemm) and replaces it with a
    `lowbit.matmul` over the weight packed in `format`, computed by the
    numerics library (lib/Quant): GGUF block formats by llama.cpp's
    reference quantizers, int and ternary formats by round-to-nearest with a
    clipping search. The transpose to lowbit's `[N, K]` layout is folded into
    the packing.

    Weights named by an `exclude` regex, not named by an `include` regex (when
    any is given), or whose reduction dimension the format's block does not
    divide stay in float; `report` prints one line per weight.

    With `measure-error`, each weight is decoded again after packing and its
    relative RMS error, ||W - dequant(quant(W))|| / ||W||, is kept on the
    new op as the discardable attribute `lowbit.relative_error` (f64) and
    printed in the report: what lowbit-compile --weight-stats collects.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"q8_0\"",
           "Weight format, as the body of #lowbit.format (q4_k, 'int4, group = 128')">,
    ListOption<"include", "include", "std::string",
               "Quantize only weights whose name matches one of these regexes">,
    ListOption<"exclude", "exclude", "std::string",
               "Leave weights whose name matches one of these regexes in float">,
    Option<"threads", "threads", "int", /*default=*/"0",
           "Threads that quantize a weight's rows (0: one per core)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print one line per weight to stderr">,
    Option<"measureError", "measure-error", "bool", /*default=*/"false",
           "Record each weight's relative RMS error as lowbit.relative_error">,
  ];
  let dependentDialects = ["::lowbit::LowbitDialect", "::mlir::arith::ArithDialect"];
}

#endif // LOWBIT_TRANSFORMS_PASSES_TD
