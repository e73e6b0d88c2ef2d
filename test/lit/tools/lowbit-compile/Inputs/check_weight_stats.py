"""Checks lowbit-compile --weight-stats for q8_0 against numpy.

usage: check_weight_stats.py MODEL.onnx STATS.json

Each weight's relative error is recomputed here from the ONNX initializers
with Q8_0 written out in numpy (GGUF_SPEC.md: per 32-block d = max|x| / 127,
codes round(x / d), d stored as fp16): the two must agree to 1e-6 relative,
far below the error itself (about 0.4% here), so a wrong decode, a transposed
weight or a stats entry attached to the wrong matmul fails.
"""
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def q8_0_relative_error(w):
    rows = w.reshape(-1, 32).astype(np.float64)
    amax = np.abs(rows).max(axis=1, keepdims=True)
    d = amax / 127
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    codes = np.round(rows * inv.astype(np.float32))
    decoded = codes * d.astype(np.float16).astype(np.float64)
    return np.sqrt(((rows - decoded) ** 2).sum() / (rows ** 2).sum())


model = onnx.load(sys.argv[1])
weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
stats = json.load(open(sys.argv[2]))
assert stats["quant"] == "q8_0" and stats["linear_weights"] == len(stats["weights"]), stats
# make_mlp.py's two MatMul weights, in graph order (W2 is small enough to be
# an inline constant, so the pass names it after its node instead).
for record, onnx_name in zip(stats["weights"], ["W1", "W2"], strict=True):
    name = record["name"]
    # ONNX MatMul weights are [K, N]; lowbit packs [N, K] rows.
    w = weights[onnx_name].T
    assert (record["rows"], record["cols"]) == w.shape, (record, w.shape)
    assert record["format"] == "q8_0" and record["bits_per_weight"] == 8.5, record
    want = q8_0_relative_error(np.ascontiguousarray(w))
    got = record["relative_error"]
    assert abs(got - want) <= 1e-6 * want, f"{name}: lowbit {got} numpy {want}"
    print(f"{name} {record['rows']}x{record['cols']} q8_0 relative error {got:.5f} ok")
