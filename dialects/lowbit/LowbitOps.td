//===- LowbitOps.td - lowbit operations ------------------------*- tablegen -*-===//

#ifndef LOWBIT_OPS_TD
#define LOWBIT_OPS_TD

include "lowbit/LowbitTypes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Lowbit_Float : AnyTypeOf<[F16, BF16, F32]>;
def Lowbit_FloatTensor : RankedTensorOf<[Lowbit_Float]>;
def Lowbit_IntTensor : RankedTensorOf<[AnySignlessInteger, AnyUnsignedInteger]>;
def Lowbit_Int8Tensor : RankedTensorOf<[I8, UI8]>;
def Lowbit_Packed : Type<CPred<"::llvm::isa<::lowbit::PackedType>($_self)">,
                         "packed weights", "::lowbit::PackedType">;

// Operands and assembly shared by the ops that read packed weights: scales,
// zero points, mins and codebooks, each present exactly when the format
// needs it (see #lowbit.format).
defvar QuantParamOperands = (ins
  Optional<Lowbit_FloatTensor>:$scales,
  Optional<Lowbit_IntTensor>:$zero_points,
  Optional<Lowbit_FloatTensor>:$mins,
  Optional<Lowbit_FloatTensor>:$codebooks);
defvar QuantParamAssembly = [{
  (`scales` `(` $scales^ `:` type($scales) `)`)?
  (`zero_points` `(` $zero_points^ `:` type($zero_points) `)`)?
  (`mins` `(` $mins^ `:` type($mins) `)`)?
  (`codebooks` `(` $codebooks^ `:` type($codebooks) `)`)?
}];

//===----------------------------------------------------------------------===//
// Packed weights
//===----------------------------------------------------------------------===//

def Lowbit_ConstantOp : Lowbit_Op<"constant", [Pure]> {
  let summary = "Packed weights from a byte blob";
  let description = [{
    Packed weights whose bytes are a 1-D i8 elements attribute, normally a
    `dense_resource` blob so that a large model is never copied into an
    attribute one element at a time. The number of bytes must be exactly what
    the packed type needs.

    ```mlir
    %w = lowbit.constant dense_resource<w0> : tensor<2304xi8>
           -> !lowbit.packed<64x64, q4_0>
    ```
  }];
  let arguments = (ins ElementsAttr:$bytes);
  let results = (outs Lowbit_Packed:$result);
  let assemblyFormat = "$bytes attr-dict `->` qualified(type($result))";
  let hasVerifier = 1;
}

def Lowbit_QuantizeOp : Lowbit_Op<"quantize", [Pure, AttrSizedOperandSegments]> {
  let summary = "Reference quantization of float weights";
  let description = [{
    Packs a float tensor in the result's format, rounding each weight to the
    nearest code with the given scales (and zero points, mins or codebooks).
    GGUF block formats compute their in-block scales themselves, by llama.cpp's
    reference algorithm, and take no operands besides the input.

    Scales have the weight's shape with the last dimension replaced by the
    number of groups along K (1 when per-channel), or rank 0 when per-tensor.
    Zero points and mins have the scales' shape. Codebooks are
    `[codebooks, 2^bits, group]`.

    ```mlir
    %p = lowbit.quantize %w scales(%s : tensor<64x4xf32>)
           : tensor<64x128xf32> -> !lowbit.packed<64x128, int4, group = 32>
    ```
  }];
  let arguments = !con((ins Lowbit_FloatTensor:$input), QuantParamOperands);
  let results = (outs Lowbit_Packed:$result);
  let assemblyFormat = !strconcat("$input ", QuantParamAssembly,
      "attr-dict `:` type($input) `->` qualified(type($result))");
  let hasVerifier = 1;
}

def Lowbit_DequantizeOp : Lowbit_Op<"dequantize", [Pure, AttrSizedOperandSegments]> {
  let summary = "Reference dequantization of packed weights";
  let description = [{
    Unpacks weights to a float tensor of the same shape. Its semantics are the
    reference every kernel is tested against.

    ```mlir
    %w = lowbit.dequantize %p : !lowbit.packed<64x64, q8_0> -> tensor<64x64xf32>
    ```
  }];
  let arguments = !con((ins Lowbit_Packed:$input), QuantParamOperands);
  let results = (outs Lowbit_FloatTensor:$result);
  let assemblyFormat = !strconcat("$input ", QuantParamAssembly,
      "attr-dict `:` qualified(type($input)) `->` type($result)");
  let hasVerifier = 1;
}

def Lowbit_MatmulOp : Lowbit_Op<"matmul", [Pure, AttrSizedOperandSegments]> {
  let summary = "Activations times packed weights, fused";
  let description = [{
    `result[..., n] = sum_k input[..., k] * W[n, k] (+ bias[n])`, where W is
    the dequantized weight `[N, K]`. This is the op every backend lowers to a
    fused kernel that unpacks weights in registers and never writes float
    weights to memory. The input's leading dimensions may be dynamic.

    ```mlir
    %y = lowbit.matmul %x, %w bias(%b : tensor<64xf32>)
           : tensor<?x128xf32>, !lowbit.packed<64x128, q4_0> -> tensor<?x64xf32>
    ```
  }];
  let arguments = !con((ins Lowbit_FloatTensor:$input, Lowbit_Packed:$weight),
                       QuantParamOperands,
                       (ins Optional<Lowbit_FloatTensor>:$bias));
  let results = (outs Lowbit_FloatTensor:$result);
  let assemblyFormat = !strconcat("$input `,` $weight ", QuantParamAssembly,
      "(`bias` `(` $bias^ `:` type($bias) `)`)? ",
      "attr-dict `:` type($input) `,` qualified(type($weight)) `->` type($result)");
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Integer activations
//===----------------------------------------------------------------------===//

def Lowbit_DynamicQuantizeOp : Lowbit_Op<"dynamic_quantize", [Pure]> {
  let summary = "Per-token symmetric int8 quantization of activations";
  let description = [{
    Quantizes each row (token) along the last axis to int8 with its own scale:
    `scale = max|x| / 127`, `q = round(x / scale)`. The scales have the
    input's shape with the last dimension 1. Used by W8A8 and BitNet.

    ```mlir
    %q, %s = lowbit.dynamic_quantize %x
               : tensor<?x128xf32> -> tensor<?x128xi8>, tensor<?x1xf32>
    ```
  }];
  let arguments = (ins Lowbit_FloatTensor:$input);
  let results = (outs RankedTensorOf<[I8]>:$result, Lowbit_FloatTensor:$scales);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result) `,` type($scales)";
  let hasVerifier = 1;
}

def Lowbit_IntMatmulOp : Lowbit_Op<"int_matmul", [Pure, AttrSizedOperandSegments]> {
  let summary = "8-bit integer matmul with 32-bit accumulation";
  let description = [{
    `result[..., n] = sum_k (lhs[..., k] - lhs_zp) * (rhs[n, k] - rhs_zp[n])`
    in i32, as ONNX's MatMulInteger with the weight stored `[N, K]`. The lhs
    zero point is a scalar (rank 0); the rhs zero point a scalar or one per
    output channel. Missing zero points are 0.

    ```mlir
    %y = lowbit.int_matmul %a, %b
           : tensor<?x128xi8>, tensor<64x128xi8> -> tensor<?x64xi32>
    ```
  }];
  let arguments = (ins Lowbit_Int8Tensor:$lhs, Lowbit_Int8Tensor:$rhs,
                       Optional<Lowbit_Int8Tensor>:$lhs_zero_point,
                       Optional<Lowbit_Int8Tensor>:$rhs_zero_point);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs
    (`lhs_zero_point` `(` $lhs_zero_point^ `:` type($lhs_zero_point) `)`)?
    (`rhs_zero_point` `(` $rhs_zero_point^ `:` type($rhs_zero_point) `)`)?
    attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Rotation and calibration
//===----------------------------------------------------------------------===//

def Lowbit_HadamardOp : Lowbit_Op<"hadamard", [Pure, SameOperandsAndResultType]> {
  let summary = "Online fast Walsh-Hadamard transform along the last axis";
  let description = [{
    Multiplies each consecutive block of `size` elements along the last axis
    by the orthonormal Hadamard matrix H / sqrt(size) (Sylvester order). The
    size is a power of two dividing the last dimension; without it, the whole
    last dimension, which must then be static and a power of two. Applying it
    twice gives the input back.

    ```mlir
    %y = lowbit.hadamard %x size 64 : tensor<?x128xf32>
    ```
  }];
  let arguments = (ins Lowbit_FloatTensor:$input, OptionalAttr<I64Attr>:$size);
  let results = (outs Lowbit_FloatTensor:$result);
  let assemblyFormat = "$input (`size` $size^)? attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Lowbit_ObserveOp : Lowbit_Op<"observe", [SameOperandsAndResultType]> {
  let summary = "Calibration probe: records statistics of a tensor, passes it on";
  let description = [{
    Returns its input unchanged and, when the model runs for calibration,
    records statistics of it per input channel (the last axis) under `key`:
    max |x|, mean |x|, mean x^2 and X^T X. It has effects, so it is never
    folded away or erased.

    ```mlir
    %y = lowbit.observe %x key "blk.0.attn_q" : tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Lowbit_FloatTensor:$input, StrAttr:$key);
  let results = (outs Lowbit_FloatTensor:$result);
  let assemblyFormat = "$input `key` $key attr-dict `:` type($input)";
  let hasVerifier = 1;
}

#endif // LOWBIT_OPS_TD
