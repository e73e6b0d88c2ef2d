//===- LowbitBase.td - The lowbit dialect and its base classes -*- tablegen -*-===//

#ifndef LOWBIT_BASE_TD
#define LOWBIT_BASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def Lowbit_Dialect : Dialect {
  let name = "lowbit";
  let cppNamespace = "::lowbit";
  let summary = "Quantized weights and the operations over them";
  let description = [{
    The lowbit dialect holds what a quantizing compiler needs beyond upstream
    MLIR: packed weights (`!lowbit.packed`) in a named format
    (`#lowbit.format`), reference quantize/dequantize semantics, the fused
    `lowbit.matmul` every backend lowers, dynamic per-token activation
    quantization, integer matmul, the online Hadamard transform and the
    calibration probe `lowbit.observe`.

    Scales, zero points, mins and codebooks are operands (tensors), never part
    of a type, so one weight tensor does not make one type with millions of
    constants. The GGUF block formats are the exception: their scales live
    inside each block, so the packed bytes carry them and those ops take no
    scale operands.

    Shapes follow one convention: a packed weight is `[..., N, K]` with the
    reduction axis K last and contiguous (as in GGUF and `nn.Linear`), and
    every format packs along K, row by row.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
  }];
}

class Lowbit_Op<string mnemonic, list<Trait> traits = []>
    : Op<Lowbit_Dialect, mnemonic, traits>;

class Lowbit_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Lowbit_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

class Lowbit_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Lowbit_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

#endif // LOWBIT_BASE_TD
