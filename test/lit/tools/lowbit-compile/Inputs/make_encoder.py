#!/usr/bin/env python3
"""Writes a tiny post-LN encoder block with three inputs, as BERT's
(input_ids, attention_mask, token_type_ids), and an .npz to calibrate it on.

    make_encoder.py OUT.onnx OUT.npz

h = LayerNorm(embed[input_ids] + type[token_type_ids] + mask) (with a bias);
y = h + (h W1) W2: the LayerNorm's output feeds W1 and the residual, as in
BERT. Random weights from a fixed seed; channel 3 of h is made an outlier
(gamma 20). The .npz holds 6 rows of width 12, padded after each row's
length (attention_mask 0).
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

VOCAB, HIDDEN = 64, 128
rng = np.random.default_rng(7)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


gamma = 1 + 0.1 * rng.standard_normal(HIDDEN)
gamma[3] = 20
weights = [
    const("embed", rng.standard_normal((VOCAB, HIDDEN))),
    const("types", rng.standard_normal((2, HIDDEN))),
    const("gamma", gamma),
    const("beta", 0.1 * rng.standard_normal(HIDDEN)),
    const("w1", rng.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)),
    const("w2", rng.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)),
]
nodes = [
    helper.make_node("Gather", ["embed", "input_ids"], ["e"], axis=0),
    helper.make_node("Gather", ["types", "token_type_ids"], ["t"], axis=0),
    helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
    helper.make_node("Unsqueeze", ["mf", "axis"], ["m"]),
    helper.make_node("Add", ["e", "t"], ["et"]),
    helper.make_node("Add", ["et", "m"], ["x"]),
    helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["h"], axis=-1, epsilon=1e-5),
    helper.make_node("MatMul", ["h", "w1"], ["a"]),
    helper.make_node("MatMul", ["a", "w2"], ["b"]),
    helper.make_node("Add", ["h", "b"], ["y"]),
]
weights.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis"))
ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
       for n in ("input_ids", "attention_mask", "token_type_ids")]
out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", HIDDEN])
graph = helper.make_graph(nodes, "encoder", ids, [out], weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
open(sys.argv[1], "wb").write(model.SerializeToString())

rows, width = 6, 12
lengths = np.array([12, 5, 9, 3, 12, 7])
input_ids = rng.integers(0, VOCAB, (rows, width))
mask = (np.arange(width)[None] < lengths[:, None]).astype(np.int64)
input_ids *= mask
np.savez(sys.argv[2], input_ids=input_ids, attention_mask=mask, token_type_ids=np.zeros_like(input_ids))
