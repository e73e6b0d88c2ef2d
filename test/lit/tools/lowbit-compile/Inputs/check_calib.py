#!/usr/bin/env python3
"""Checks a calibration statistics file against a numpy run of the model.

    check_calib.py MODEL.onnx TOKENS.npy SAMPLES SEQLEN STATS

Runs the model (its graph interpreted in numpy, float64: the few ops
examples/tiny-llama uses) on the same windows lowbit-compile
--calibrate used (SAMPLES windows of SEQLEN tokens from the start), taking the
activation input of every MatMul whose weight is an initializer, and compares
with the file (format: docs/CALIBRATION.md): the weights grouped per input,
the row count, max |x|, mean |x|, mean x^2 and X^T X / rows. The statistics
are fp32 activations summed in fp32 slices and double, so they differ from
the float64 run by rounding: agreement to 1e-5 relative (of each vector's
largest entry) is required, measured 2e-7 on tiny-llama; a wrong window is
off by 0.3.
"""
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper

OPS = {
    "Add": lambda n, a, b: a + b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: a / b,
    "Sqrt": lambda n, a: np.sqrt(a),
    "Sigmoid": lambda n, a: 1 / (1 + np.exp(-a)),
    "MatMul": lambda n, a, b: a @ b,
    "Gather": lambda n, a, i: np.take(a, i, axis=attr(n, "axis", 0)),
    "ReduceMean": lambda n, a: a.mean(axis=tuple(attr(n, "axes", None)), keepdims=bool(attr(n, "keepdims", 1))),
}


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def run(model, feeds):
    """Every value the graph computes, in float64."""
    values = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    values.update(feeds)
    for node in model.graph.node:
        values[node.output[0]] = OPS[node.op_type](node, *[values[i] for i in node.input])
    return values


def read_stats(path):
    data = open(path, "rb").read()
    assert data[:8] == b"LBCALIB1", "bad magic"
    version, count, flags, _ = struct.unpack_from("<IIII", data, 8)
    pos = 24

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v

    def text():
        (n,) = take("<I")
        return take(f"<{n}s")[0].decode()

    def floats(n):
        nonlocal pos
        v = np.frombuffer(data, "<f4", n, pos)
        pos += 4 * n
        return v

    out = {}
    for _ in range(count):
        name = text()
        (nw,) = take("<I")
        weights = [text() for _ in range(nw)]
        k, rows = take("<qq")
        entry = {"weights": weights, "rows": rows, "max": floats(k), "mean": floats(k), "square": floats(k)}
        if flags & 1:
            tri = floats(k * (k + 1) // 2)
            g = np.zeros((k, k), np.float32)
            g[np.triu_indices(k)] = tri
            entry["gram"] = g + np.triu(g, 1).T
        out[name] = entry
    assert pos == len(data), "trailing bytes"
    return out


def main() -> int:
    model_path, tokens_path, samples, seqlen, stats_path = sys.argv[1:6]
    samples, seqlen = int(samples), int(seqlen)
    model = onnx.load(model_path)
    inits = {i.name for i in model.graph.initializer}
    groups = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            groups.setdefault(node.input[0], []).append(node.input[1])
    tokens = np.load(tokens_path).astype(np.int64)
    acts = {x: [] for x in groups}
    for s in range(samples):
        values = run(model, {"input_ids": tokens[s * seqlen:(s + 1) * seqlen][None]})
        for x in groups:
            acts[x].append(values[x].reshape(-1, values[x].shape[-1]))
    stats = read_stats(stats_path)
    if len(stats) != len(groups):
        print(f"{len(stats)} observers, the model has {len(groups)} weight inputs")
        return 1
    for x, weights in groups.items():
        entry = stats[weights[0]]
        a = np.concatenate(acts[x])
        expect = {"max": np.abs(a).max(0), "mean": np.abs(a).mean(0), "square": (a * a).mean(0),
                  "gram": a.T @ a / len(a)}
        worst = max(np.abs(entry[key] - v).max() / np.abs(v).max() for key, v in expect.items() if key in entry)
        ok = entry["weights"] == weights and entry["rows"] == len(a) and worst < 1e-5
        print(f"{','.join(weights)}: K {a.shape[1]} rows {entry['rows']} {'with' if 'gram' in entry else 'no'} "
              f"X^T X {'ok' if ok else f'MISMATCH ({worst:.2e})'}")
        if not ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
