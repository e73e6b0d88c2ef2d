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
    Option<"calibStats", "calib-stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (lowbit-compile --save-calib): each weight's "
           "input mean x^2 is the importance (llama.cpp's imatrix) of its quantizer">,
  ];
  let dependentDialects = ["::lowbit::LowbitDialect", "::mlir::arith::ArithDialect"];
}

def InsertObserversPass : Pass<"lowbit-insert-observers", "mlir::ModuleOp"> {
  let summary = "Puts a lowbit.observe on the activation input of every weight matmul";
  let description = [{
    For calibration: every matmul that lowbit-quantize-weights and lowbit-gptq
    would rewrite (the same matcher) reads its activation through a
    `lowbit.observe`. One observer per distinct activation value, so the
    linears that share an input (q/k/v, gate/up) share one set of statistics;
    its key is the name of the first weight it feeds, and the discardable
    attribute `lowbit.weights` lists all of them. Other users of the value
    keep reading it directly.
  }];
  let dependentDialects = ["::lowbit::LowbitDialect"];
}

def ObserversToResultsPass : Pass<"lowbit-observers-to-results", "mlir::ModuleOp"> {
  let summary = "Returns every observed tensor as an extra result of the entry function";
  let description = [{
    Turns each `lowbit.observe` in the entry function into one more result
    (in program order), named `observe:KEY` through the `onnx.name` result
    attribute, and erases the observe. The float model then runs in the
    existing runtime unchanged (results may have dynamic shapes), and the
    caller reads the activations off the outputs. An observe outside the
    entry function's body is an error.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "The entry function">,
  ];
}

def GptqPass : Pass<"lowbit-gptq", "mlir::ModuleOp"> {
  let summary = "Quantizes matmul weights with GPTQ from calibration statistics";
  let description = [{
    Rewrites the matmuls lowbit-quantize-weights matches into the same
    `lowbit.matmul` (same formats, same packed layout, same mixes), but picks
    the codes with GPTQ (lib/Quant/Gptq.h): error feedback through the
    Hessian X^T X of each weight's input, read from `calib-stats` (or handed
    over in memory by lowbit-compile). The scales are the round-to-nearest
    quantizer's (static groups); only the codes change. A weight without
    statistics, or whose statistics have another K, is an error.

    `report` prints one line per weight with the proxy loss
    tr((W - Q) H (W - Q)^T) of round-to-nearest and of GPTQ.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"q4_0\"",
           "Weight format or llama.cpp mix, as lowbit-quantize-weights' format">,
    ListOption<"include", "include", "std::string",
               "Quantize only weights whose name matches one of these regexes">,
    ListOption<"exclude", "exclude", "std::string",
               "Leave weights whose name matches one of these regexes in float">,
    Option<"calibStats", "calib-stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file with X^T X (lowbit-compile --save-calib --method gptq)">,
    Option<"damp", "damp", "double", /*default=*/"0.01",
           "Damping, a fraction of the Hessian's mean diagonal (GPTQ's percdamp)">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Columns per lazy batch">,
    Option<"actOrder", "act-order", "bool", /*default=*/"true",
           "Quantize columns in order of decreasing Hessian diagonal">,
    Option<"staticGroups", "static-groups", "bool", /*default=*/"true",
           "Choose every group's scale from the original weights, before the sweep">,
    Option<"importance", "importance", "bool", /*default=*/"false",
           "Fit the grid (scales) with the input's mean x^2 as importance, as --calib-stats does for RTN">,
    Option<"threads", "threads", "int", /*default=*/"0",
           "Threads over a weight's rows (0: one per core)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print one line per weight: RTN and GPTQ proxy loss">,
    Option<"measureError", "measure-error", "bool", /*default=*/"false",
           "Record each weight's relative RMS error as lowbit.relative_error">,
  ];
  let dependentDialects = ["::lowbit::LowbitDialect", "::mlir::arith::ArithDialect"];
}

def AwqPass : Pass<"lowbit-awq", "mlir::ModuleOp"> {
  let summary = "Activation-aware weight scaling (AWQ) from calibration statistics";
  let description = [{
    For every group of weight matmuls that read one activation produced by a
    norm's gamma multiply (RMSNorm or LayerNorm scale: an elementwise
    `x * gamma` with a constant 1-D gamma over the last axis, read by nothing
    but those matmuls), searches AWQ's per-input-channel scale s over the
    alpha grid with the mean |x| statistic, then the clipping
    (lib/Quant/Awq.h, loss through X^T X), multiplies the weights' columns by
    s (clipped) and divides gamma by s. A group whose input is an
    elementwise product with the output of a weight matmul that nothing else
    reads (down_proj's silu(gate) * up) is scaled too, 1/s folded into that
    linear's output rows (up_proj), as the reference does. The weights stay
    float: a quantize pass with the same `format` follows. Groups whose input
    comes from anything else (o_proj: attention's output, whose channels
    share v_proj rows across heads under grouped-query attention) are left
    alone, and so are groups whose weights the format (or mix) puts in
    different formats.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"q4_0\"",
           "The format the weights will be quantized to (or a llama.cpp mix)">,
    Option<"calibStats", "calib-stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file with X^T X">,
    Option<"clip", "clip", "bool", /*default=*/"true", "Also search the clipping">,
    Option<"importance", "importance", "bool", /*default=*/"false",
           "The search's quantizer weights each column's error by mean (x / s)^2 (the importance matrix "
           "of the scaled input), as a quantize pass with the scaled statistics will">,
    Option<"duoScaling", "duo-scaling", "bool", /*default=*/"false",
           "Also search AutoAWQ's duo grid (s from mean |x| and mean |w|); the lower loss wins">,
    Option<"threads", "threads", "int", /*default=*/"0", "Threads (0: one per core)">,
    Option<"report", "report", "bool", /*default=*/"false", "Print one line per group">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def SmoothPass : Pass<"lowbit-smooth", "mlir::ModuleOp"> {
  let summary = "SmoothQuant: per-channel smoothing folded into the norm, then W8A8 matmuls";
  let description = [{
    For every group of weight matmuls that read one activation produced by a
    norm's gamma multiply (as lowbit-awq finds them: q/k/v after
    input_layernorm, gate/up after post_attention_layernorm), computes
    SmoothQuant's scales s_j = max|x_j|^alpha / max|W[:, j]|^(1 - alpha)
    (lib/Quant/SmoothQuant.h, max|x_j| from the calibration statistics, the
    weight maximum over every linear of the group), divides gamma by s and
    multiplies the weights' columns by s. Then every selected weight matmul
    (smoothed or not: o_proj and down_proj read no norm) becomes a
    `lowbit.matmul` in `int8, a8`: absmax int8 weights per output channel
    and, at run time, per-token int8 activations with int32 accumulation
    (runtime/src/kernels/MatmulW8A8.h).
  }];
  let options = [
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "Migration strength in [0, 1] (0.5 in the paper; 0.8-0.9 for Llama-like models)">,
    Option<"calibStats", "calib-stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (lowbit-compile --save-calib): max |x| per input channel">,
    ListOption<"include", "include", "std::string",
               "Quantize only weights whose name matches one of these regexes">,
    ListOption<"exclude", "exclude", "std::string",
               "Leave weights whose name matches one of these regexes in float">,
    Option<"report", "report", "bool", /*default=*/"false", "Print one line per group and weight">,
  ];
  let dependentDialects = ["::lowbit::LowbitDialect", "::mlir::arith::ArithDialect"];
}

def OutlierSplitPass : Pass<"lowbit-outlier-split", "mlir::ModuleOp"> {
  let summary = "LLM.int8(): outlier input channels in float, the rest W8A8";
  let description = [{
    For every selected weight matmul, the input channels whose calibration
    max |x_j| reached `threshold` form the outlier set O (fixed here, at
    compile time: lib/Quant/OutlierSplit.h). The matmul becomes
      lowbit.matmul(x * mask, W_int)  (`int8, a8`: O zeroed in x and W, so
                                        the per-token scales ignore O)
      + x[..., O] W[:, O]^T            (a float matmul over the gathered
                                        outlier columns, accumulated into it)
    with W_int absmax int8 per output channel over the regular columns.
    A weight without outliers is only the W8A8 matmul. A channel that first
    exceeds the threshold at run time is quantized with the others.
  }];
  let options = [
    Option<"threshold", "threshold", "double", /*default=*/"6.0",
           "Input channels with calibration max |x| >= this stay in float">,
    Option<"calibStats", "calib-stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (lowbit-compile --save-calib): max |x| per input channel">,
    ListOption<"include", "include", "std::string",
               "Quantize only weights whose name matches one of these regexes">,
    ListOption<"exclude", "exclude", "std::string",
               "Leave weights whose name matches one of these regexes in float">,
    Option<"report", "report", "bool", /*default=*/"false", "Print one line per weight">,
  ];
  let dependentDialects = ["::lowbit::LowbitDialect", "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

#endif // LOWBIT_TRANSFORMS_PASSES_TD
