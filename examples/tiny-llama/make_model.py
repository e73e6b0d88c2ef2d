#!/usr/bin/env python3
"""Writes tiny-llama.onnx: a two-layer Llama-style decoder stack without
attention (token embedding, RMSNorm, SiLU-gated MLP, final norm, LM head),
with Hugging Face weight names so llama.cpp's mixes (q4_k_m) apply by role.
Random weights from a fixed seed; hidden size 256 so every K-quant fits.

    make_model.py OUT.onnx
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

VOCAB, HIDDEN, FFN, LAYERS = 512, 256, 768, 2
rng = np.random.default_rng(2024)
nodes, weights = [], []


def weight(name, shape, scale):
    weights.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
    return name


def node(op, inputs, **attrs):
    out = f"t{len(nodes)}"
    nodes.append(helper.make_node(op, inputs, [out], name=f"{op.lower()}_{len(nodes)}", **attrs))
    return out


def rms_norm(x, name):
    gamma = weight(name, [HIDDEN], 0.1)
    weights[-1] = numpy_helper.from_array(1 + numpy_helper.to_array(weights[-1]), name)
    square = node("Mul", [x, x])
    mean = node("ReduceMean", [square], axes=[-1], keepdims=1)
    std = node("Sqrt", [node("Add", [mean, "eps"])])
    return node("Mul", [node("Div", [x, std]), gamma])


weights.append(numpy_helper.from_array(np.array(1e-5, dtype=np.float32), "eps"))
h = node("Gather", [weight("model.embed_tokens.weight", [VOCAB, HIDDEN], 1.0), "input_ids"], axis=0)
for i in range(LAYERS):
    p = f"model.layers.{i}."
    x = rms_norm(h, p + "post_attention_layernorm.weight")
    gate = node("MatMul", [x, weight(p + "mlp.gate_proj.weight", [HIDDEN, FFN], HIDDEN ** -0.5)])
    up = node("MatMul", [x, weight(p + "mlp.up_proj.weight", [HIDDEN, FFN], HIDDEN ** -0.5)])
    silu = node("Mul", [gate, node("Sigmoid", [gate])])
    down = node("MatMul", [node("Mul", [silu, up]), weight(p + "mlp.down_proj.weight", [FFN, HIDDEN], FFN ** -0.5)])
    h = node("Add", [h, down])
logits = node("MatMul", [rms_norm(h, "model.norm.weight"), weight("lm_head.weight", [HIDDEN, VOCAB], HIDDEN ** -0.5)])
nodes[-1].output[0] = "logits"

graph = helper.make_graph(nodes, "tiny-llama",
                          [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", VOCAB])],
                          weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lowbit-example")
model.ir_version = 8
with open(sys.argv[1], "wb") as f:
    f.write(model.SerializeToString())
