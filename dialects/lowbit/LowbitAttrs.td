//===- LowbitAttrs.td - lowbit attributes ----------------------*- tablegen -*-===//

#ifndef LOWBIT_ATTRS_TD
#define LOWBIT_ATTRS_TD

include "lowbit/LowbitBase.td"

def Lowbit_FormatAttr : Lowbit_Attr<"Format", "format"> {
  let summary = "How the weights of a packed tensor are encoded";
  let description = [{
    Names a packing, with its options, along the reduction axis:

    ```
    format  ::= `int`N (`,` option)*          N in 2..8
              | gguf                          q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k
                                              q4_k q5_k q6_k iq4_nl iq4_xs tq1_0 tq2_0
              | `codebook` (`,` option)*      needs codebooks, bits and group
              | `ternary` (`,` option)*
    option  ::= `group` `=` N                 one scale per N weights along K
              | `per_channel` | `per_tensor`  one scale per row / for the whole tensor
              | `asym`                        w = s * (q - z), integer zero points
              | `min`                         w = s * q + m, float mins
              | `codebooks` `=` M | `bits` `=` B
    ```

    Int formats default to per-channel and symmetric (w = s * (q - 2^(N-1))),
    ternary to per-tensor. The GGUF block formats take no options: their
    block size and scales are fixed by the format (GGUF_SPEC.md section 2).
    A codebook format has M additive codebooks of 2^B code vectors of
    `group` weights each, and one scale per output channel.

    Examples: `#lowbit.format<q4_k>`, `#lowbit.format<int4, group = 128, asym>`,
    `#lowbit.format<codebook, codebooks = 2, bits = 8, group = 8>`,
    `#lowbit.format<ternary>`.

    The attribute wraps `lowbit::quant::Format`, the numerics library's
    description of a format, so the compiler and the quantizers agree on
    every layout by construction.
  }];
  let parameters = (ins AttrParameter<"::lowbit::quant::Format", "the format">:$value);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Parses the text between the angle brackets, as the packed type does.
    static std::optional<::lowbit::quant::Format> parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;

    ::lowbit::quant::FormatKind getKind() const { return getValue().kind; }
    bool isBlockFormat() const { return ::lowbit::quant::isBlockFormat(getKind()); }
  }];
}

#endif // LOWBIT_ATTRS_TD
