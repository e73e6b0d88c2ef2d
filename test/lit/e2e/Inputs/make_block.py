"""make_block.py DIR: a small transformer block as an ONNX model, its inputs
and numpy's float64 outputs of the same graph.

  ids int64 [seq] -> Gather (embedding 50 x 64)
  -> RMSNorm (ReduceMean of x*x, Sqrt, Div, Mul)
  -> causal self-attention, 4 heads of 16: MatMul q/k/v, Reshape, Transpose,
     MatMul, scale, a Where mask built from Range/Unsqueeze/GreaterOrEqual,
     Softmax, MatMul, Transpose, Reshape, MatMul, residual Add
  -> LayerNormalization -> MLP: MatMul, Gelu (erf), times a SiLU gate
     (x * Sigmoid(x)), MatMul, residual Add
  -> Concat with the embedding -> MatMul to logits [seq, 50]

Outputs: logits and the attention probabilities [4, seq, seq]. All float
weights stay float (lowbit-compile without --quant): this checks the
non-matmul lowering through execution."""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(7)
V, D, H, DH, F = 50, 64, 4, 16, 128
W = {
    "emb": rng.standard_normal((V, D)),
    "g_rms": 1 + 0.1 * rng.standard_normal(D),
    "Wq": rng.standard_normal((D, D)) / 8, "Wk": rng.standard_normal((D, D)) / 8,
    "Wv": rng.standard_normal((D, D)) / 8, "Wo": rng.standard_normal((D, D)) / 8,
    "g_ln": 1 + 0.1 * rng.standard_normal(D), "b_ln": 0.1 * rng.standard_normal(D),
    "W1": rng.standard_normal((D, F)) / 8, "b1": 0.1 * rng.standard_normal(F),
    "Wg": rng.standard_normal((D, F)) / 8, "W2": rng.standard_normal((F, D)) / 11,
    "Wout": rng.standard_normal((2 * D, V)) / 11,
}
W = {k: v.astype(np.float32) for k, v in W.items()}
consts = {
    "eps": np.array(1e-5, np.float32), "axes_last": np.array([-1], np.int64),
    "shape_heads": np.array([-1, H, DH], np.int64), "shape_flat": np.array([-1, D], np.int64),
    "scale": np.array(1 / math.sqrt(DH), np.float32), "neg": np.array(-1e4, np.float32),
    "zero": np.array(0, np.int64), "one": np.array(1, np.int64),
    "ax0": np.array([0], np.int64), "ax1": np.array([1], np.int64),
}
n = helper.make_node
nodes = [
    n("Gather", ["emb", "ids"], ["e"]),
    # RMSNorm
    n("Mul", ["e", "e"], ["e2"]), n("ReduceMean", ["e2", "axes_last"], ["ms"], keepdims=1),
    n("Add", ["ms", "eps"], ["ms_eps"]), n("Sqrt", ["ms_eps"], ["rms"]), n("Div", ["e", "rms"], ["en"]),
    n("Mul", ["en", "g_rms"], ["x"]),
    # attention
    n("MatMul", ["x", "Wq"], ["q0"]), n("MatMul", ["x", "Wk"], ["k0"]), n("MatMul", ["x", "Wv"], ["v0"]),
    n("Reshape", ["q0", "shape_heads"], ["q1"]), n("Transpose", ["q1"], ["q"], perm=[1, 0, 2]),
    n("Reshape", ["k0", "shape_heads"], ["k1"]), n("Transpose", ["k1"], ["kt"], perm=[1, 2, 0]),
    n("Reshape", ["v0", "shape_heads"], ["v1"]), n("Transpose", ["v1"], ["v"], perm=[1, 0, 2]),
    n("MatMul", ["q", "kt"], ["s0"]), n("Mul", ["s0", "scale"], ["s1"]),
    n("Shape", ["ids"], ["seq1"]), n("Squeeze", ["seq1", "ax0"], ["seq"]),
    n("Range", ["zero", "seq", "one"], ["pos"]),
    n("Unsqueeze", ["pos", "ax1"], ["rows"]), n("Unsqueeze", ["pos", "ax0"], ["cols"]),
    n("GreaterOrEqual", ["rows", "cols"], ["causal"]),
    n("Where", ["causal", "s1", "neg"], ["s2"]),
    n("Softmax", ["s2"], ["probs"], axis=-1),
    n("MatMul", ["probs", "v"], ["c0"]), n("Transpose", ["c0"], ["c1"], perm=[1, 0, 2]),
    n("Reshape", ["c1", "shape_flat"], ["c2"]), n("MatMul", ["c2", "Wo"], ["att"]),
    n("Add", ["e", "att"], ["h"]),
    # MLP
    n("LayerNormalization", ["h", "g_ln", "b_ln"], ["ln"], axis=-1, epsilon=1e-5),
    n("MatMul", ["ln", "W1"], ["u0"]), n("Add", ["u0", "b1"], ["u1"]), n("Gelu", ["u1"], ["u"]),
    n("MatMul", ["ln", "Wg"], ["a"]), n("Sigmoid", ["a"], ["sa"]), n("Mul", ["a", "sa"], ["silu"]),
    n("Mul", ["u", "silu"], ["m"]), n("MatMul", ["m", "W2"], ["mo"]), n("Add", ["h", "mo"], ["h2"]),
    n("Concat", ["h2", "e"], ["cat"], axis=-1), n("MatMul", ["cat", "Wout"], ["logits"]),
]
inits = [numpy_helper.from_array(v, k) for k, v in {**W, **consts}.items()]
graph = helper.make_graph(
    nodes, "block", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["seq"])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["seq", V]),
     helper.make_tensor_value_info("probs", TensorProto.FLOAT, [H, "seq", "seq"])], inits)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), os.path.join(out, "block.onnx"))

# numpy, float64, the same graph, for 7 tokens and for 1 (the sequence
# length is dynamic).
def reference(ids):
    w = {k: v.astype(np.float64) for k, v in W.items()}
    e = w["emb"][ids]
    x = e / np.sqrt((e * e).mean(-1, keepdims=True) + 1e-5) * w["g_rms"]
    S = len(ids)
    heads = lambda t: t.reshape(S, H, DH).transpose(1, 0, 2)  # noqa: E731
    q, k, v = heads(x @ w["Wq"]), heads(x @ w["Wk"]), heads(x @ w["Wv"])
    s = q @ k.transpose(0, 2, 1) / math.sqrt(DH)
    s = np.where(np.tril(np.ones((S, S), bool)), s, -1e4)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    h = e + (p @ v).transpose(1, 0, 2).reshape(S, D) @ w["Wo"]
    mu, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
    ln = (h - mu) / np.sqrt(var + 1e-5) * w["g_ln"] + w["b_ln"]
    u1 = ln @ w["W1"] + w["b1"]
    gelu = 0.5 * u1 * (1 + np.vectorize(math.erf)(u1 / math.sqrt(2)))
    a = ln @ w["Wg"]
    h2 = h + (gelu * (a / (1 + np.exp(-a)))) @ w["W2"]
    cat = np.concatenate([h2, e], -1)
    # |cat| @ |Wout|: the sum of |terms| of each logit, for the rounding bound.
    return cat @ w["Wout"], p, np.abs(cat) @ np.abs(w["Wout"])


for name, length in (("long", 7), ("one", 1)):
    ids = rng.integers(0, V, length).astype(np.int64)
    logits, probs, terms = reference(ids)
    np.save(os.path.join(out, name + "_ids.npy"), ids)
    np.savez(os.path.join(out, name + "_ref.npz"), logits=logits, probs=probs, terms=terms)
