//===- LowbitTypes.td - lowbit types ---------------------------*- tablegen -*-===//

#ifndef LOWBIT_TYPES_TD
#define LOWBIT_TYPES_TD

include "lowbit/LowbitAttrs.td"

def Lowbit_PackedType : Lowbit_Type<"Packed", "packed"> {
  let summary = "A weight tensor packed in a format";
  let description = [{
    The logical shape of the weights, `[..., N, K]` with the reduction axis
    last, and the format that packs each row of K weights. The bytes live in
    a resource blob (see `lowbit.constant`); the type fixes how many there
    are. Every dimension is static and K must be a multiple of the format's
    block or group size.

    ```
    !lowbit.packed<4096x11008, q4_k>
    !lowbit.packed<64x128, int4, group = 32, asym>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "FormatAttr":$format);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRank() const { return getShape().size(); }
    /// Weights per row: the reduction dimension K.
    int64_t getRowLength() const { return getShape().back(); }
    /// Rows: the product of every dimension but the last.
    int64_t getNumRows() const;
    /// Bytes the packed weights take.
    int64_t getNumBytes() const;
    /// Bits per weight, in-block scales included.
    double getBitsPerWeight() const;
  }];
}

#endif // LOWBIT_TYPES_TD
