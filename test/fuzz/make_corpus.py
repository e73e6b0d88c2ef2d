#!/usr/bin/env python3
"""Writes the fuzz smoke corpus: a few models from the lit tests' generator,
every prefix of each (at most PREFIXES of them, evenly spaced), single-byte
changes spread over each (at most FLIPS), and structural changes that a byte
mutator rarely reaches but a hostile or broken exporter may write: each
optional input omitted, each attribute set to edge values, each graph input
made rank 0 or given another element type, each small integer initializer
filled with edge values, other opsets. Deterministic, so CI runs the same
inputs every time.

    make_corpus.py OUT_DIR
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lit", "Import", "Onnx", "Inputs"))
import make_model  # noqa: E402
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# Every model of the lit tests' generator, at the opset its test uses.
OPSETS = {"SplitNumOutputs": 18, "QuantizeLinearBlocked": 21, "QuantizeLinearInt4": 21, "ScatterNDAdd": 16}
SEEDS = [(name, OPSETS.get(name, 17)) for name in sorted(make_model.MODELS)]
PREFIXES = 32
FLIPS = 64
# What a flipped byte becomes, in turn: bit-inverted, zero, a varint
# continuation, a large field number.
PATTERNS = [lambda b: b ^ 0xFF, lambda b: 0, lambda b: 0x80 | b, lambda b: 0x7F]


def serialize(name, opset, mutate=None):
    g = make_model.MODELS[name]()
    if mutate:
        mutate(g)
    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain == "com.microsoft" for n in g.node):
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    m = helper.make_model(g, opset_imports=opsets, producer_name="lowbit-fuzz")
    m.ir_version = 8
    return m.SerializeToString()


EDGE_INTS = [-1, 0, 1, 2 ** 62, -2 ** 63, 2 ** 63 - 1]
EDGE_LISTS = [[], [-1], [0, 0], [2 ** 62, -2 ** 62]]
OTHER_TYPES = [TensorProto.BOOL, TensorProto.INT8, TensorProto.FLOAT16, TensorProto.INT64, TensorProto.STRING]


def structural_mutations(g):
    """(label, function changing a GraphProto in place) for each change."""
    changes = []
    for n, node in enumerate(g.node):
        for i in range(len(node.input)):
            def drop(g, n=n, i=i):
                g.node[n].input[i] = ""
            changes.append(("n%d-drop%d" % (n, i), drop))
        changes.append(("n%d-extra-input" % n, lambda g, n=n: g.node[n].input.append(g.node[n].input[0] if g.node[n].input else "x")))
        changes.append(("n%d-no-outputs" % n, lambda g, n=n: g.node[n].ClearField("output")))
        for a, attr in enumerate(node.attribute):
            if attr.type == attr.INT:
                for k, v in enumerate(EDGE_INTS):
                    def set_int(g, n=n, a=a, v=v):
                        g.node[n].attribute[a].i = v
                    changes.append(("n%d-a%d-int%d" % (n, a, k), set_int))
            elif attr.type == attr.INTS:
                for k, v in enumerate(EDGE_LISTS):
                    def set_ints(g, n=n, a=a, v=v):
                        del g.node[n].attribute[a].ints[:]
                        g.node[n].attribute[a].ints.extend(v)
                    changes.append(("n%d-a%d-ints%d" % (n, a, k), set_ints))
            elif attr.type == attr.STRING:
                changes.append(("n%d-a%d-str" % (n, a), lambda g, n=n, a=a: setattr(g.node[n].attribute[a], "s", b"...,->?")))
            def retype(g, n=n, a=a):
                g.node[n].attribute[a].type = onnx_attr_float
            changes.append(("n%d-a%d-float" % (n, a), retype))
    for v, value_info in enumerate(g.input):
        def rank0(g, v=v):
            g.input[v].type.tensor_type.shape.ClearField("dim")
        changes.append(("in%d-rank0" % v, rank0))
        def rank5(g, v=v):
            for _ in range(5):
                g.input[v].type.tensor_type.shape.dim.add().dim_value = 1
        changes.append(("in%d-rank+5" % v, rank5))
        for k, t in enumerate(OTHER_TYPES):
            def retype_input(g, v=v, t=t):
                g.input[v].type.tensor_type.elem_type = t
            changes.append(("in%d-type%d" % (v, k), retype_input))
    for t, tensor in enumerate(g.initializer):
        if tensor.data_type in (TensorProto.INT64, TensorProto.INT32) and np.prod(tensor.dims) <= 16:
            for k, v in enumerate(EDGE_INTS):
                def fill(g, t=t, v=v):
                    old = numpy_helper.to_array(g.initializer[t])
                    new = numpy_helper.from_array(np.full(old.shape, v, dtype=np.int64).astype(old.dtype), g.initializer[t].name)
                    g.initializer[t].CopyFrom(new)
                changes.append(("init%d-fill%d" % (t, k), fill))
        def rank0_init(g, t=t):
            g.initializer[t].ClearField("dims")
        changes.append(("init%d-rank0" % t, rank0_init))
    return changes


onnx_attr_float = 1  # AttributeProto.FLOAT


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
        for label, change in structural_mutations(make_model.MODELS[name]()):
            write("%s.%s" % (name, label), serialize(name, opset, change))
        for other in (13, 21):
            if other != opset:
                write("%s.opset%d" % (name, other), serialize(name, other))
    print("wrote %d inputs to %s" % (written, out))


if __name__ == "__main__":
    main()
