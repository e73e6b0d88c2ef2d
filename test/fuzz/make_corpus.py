#!/usr/bin/env python3
"""Writes the fuzz smoke corpus: a few models from the lit tests' generator,
every prefix of each (at most PREFIXES of them, evenly spaced) and single-byte
changes spread over each (at most FLIPS). Deterministic, so CI runs the same
inputs every time.

    make_corpus.py OUT_DIR
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lit", "Import", "Onnx", "Inputs"))
import make_model  # noqa: E402
from onnx import helper  # noqa: E402

SEEDS = [("MatMul", 17), ("ShapeChain", 17), ("ShapeSlice", 17), ("LayerNormalization", 17), ("Slice", 17),
         ("SliceReverse", 17), ("Split", 17), ("SplitNumOutputs", 18), ("Expand", 17), ("ExpandDynamic", 17),
         ("ConstantOfShape", 17), ("Range", 17), ("Trilu", 17), ("CumSum", 17), ("GatherElements", 17),
         ("ScatterND", 17), ("EinsumEllipsis", 17), ("QuantizeLinearBlocked", 21), ("DequantizeLinear", 17),
         ("DynamicQuantizeLinear", 17), ("QLinearMatMul", 17), ("MatMulInteger", 17),
         ("MatMulNBitsAsym", 17), ("MatMulNBitsFloatZeroPoints", 17), ("Gemm", 17), ("Gather", 17),
         ("Where", 17), ("Softmax", 17), ("ReduceSum", 17), ("Transpose", 17),
         ("TransposeScalar", 17)]
PREFIXES = 120
FLIPS = 160
# What a flipped byte becomes, in turn: bit-inverted, zero, a varint
# continuation, a large field number.
PATTERNS = [lambda b: b ^ 0xFF, lambda b: 0, lambda b: 0x80 | b, lambda b: 0x7F]


def serialize(name, opset):
    g = make_model.MODELS[name]()
    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain == "com.microsoft" for n in g.node):
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    m = helper.make_model(g, opset_imports=opsets, producer_name="lowbit-fuzz")
    m.ir_version = 8
    return m.SerializeToString()


def spread(count, limit):
    if count <= limit:
        return list(range(count))
    return sorted(set(i * count // limit for i in range(limit)))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written = 0

    def write(name, data):
        nonlocal written
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        written += 1

    for name, opset in SEEDS:
        data = serialize(name, opset)
        write("%s.onnx" % name, data)
        for n in spread(len(data), PREFIXES):
            write("%s.prefix%05d" % (name, n), data[:n])
        for k, i in enumerate(spread(len(data), FLIPS)):
            mutated = bytearray(data)
            mutated[i] = PATTERNS[k % len(PATTERNS)](mutated[i]) & 0xFF
            write("%s.flip%05d" % (name, i), bytes(mutated))
    print("wrote %d inputs to %s" % (written, out))


if __name__ == "__main__":
    main()
