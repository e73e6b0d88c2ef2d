#!/usr/bin/env python3
"""Runs the lit tests' ONNX models on the CPU and checks them against numpy.

The ONNX node conformance data has no tests for what lowbit adds on top of the
standard (com.microsoft MatMulNBits into lowbit ops), for opset 21's blocked
QuantizeLinear, or for dynamic batch and sequence sizes (its tests are all
static). This covers those: each model from test/lit/Import/Onnx/Inputs/
make_model.py is compiled with lowbit-compile -o MODEL.lbm, run with
lowbit-run on random inputs (with dynamic sizes chosen here), and compared with
an independent numpy reference.

    /usr/bin/python3 run_models.py --lowbit-compile build/bin/lowbit-compile --lowbit-run build/bin/lowbit-run
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lit", "Import", "Onnx", "Inputs"))
import make_model  # noqa: E402

rng = np.random.default_rng(1)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def unpack(packed, count, bits=4):
    """Low bits first, as MatMulNBits (and lowbit's int formats) store codes."""
    flat = packed.reshape(packed.shape[0], -1).astype(np.int64)
    per_byte = 8 // bits
    codes = np.zeros((flat.shape[0], flat.shape[1] * per_byte), np.int64)
    for j in range(per_byte):
        codes[:, j::per_byte] = (flat >> (j * bits)) & ((1 << bits) - 1)
    return codes[:, :count]


def matmul_nbits_reference(inits, a, k=64, block=32, bits=4):
    n = inits["b"].shape[0]
    blocks = k // block
    codes = unpack(inits["b"], k, bits)
    scales = inits["scales"].reshape(n, blocks)
    zp = inits.get("zp")
    if zp is None:
        zero = np.full((n, blocks), float(1 << (bits - 1)))
    elif zp.dtype == np.uint8:
        zero = unpack(zp, blocks, bits).astype(np.float64)
    else:
        zero = zp.reshape(n, blocks)
    w = (codes - np.repeat(zero, block, axis=1)) * np.repeat(scales, block, axis=1)
    return a @ w.T + inits.get("bias", 0)


def dynamic_quantize_reference(x):
    lo, hi = min(0.0, x.min()), max(0.0, x.max())
    scale = np.float32((hi - lo) / 255)
    zero = np.clip(np.round(-lo / scale), 0, 255)
    return np.clip(np.round(x / scale) + zero, 0, 255).astype(np.uint8), scale, np.uint8(zero)


def layer_norm(x, axis, eps):
    axes = tuple(range(axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


# name: (opset, inputs, reference(inputs, initializers) -> {output: array}, tolerance)
CASES = {
    "MatMulNBits": (17, lambda: {"a": randn(2, 3, 64)},
                    lambda x, i: {"y": matmul_nbits_reference(i, x["a"])}, 1e-4),
    "MatMulNBitsAsym": (17, lambda: {"a": randn(1, 5, 64)},
                        lambda x, i: {"y": matmul_nbits_reference(i, x["a"])}, 1e-4),
    "MatMulNBitsFloatZeroPoints": (17, lambda: {"a": randn(3, 1, 64)},
                                   lambda x, i: {"y": matmul_nbits_reference(i, x["a"])}, 1e-4),
    "MatMulNBits8": (17, lambda: {"a": randn(2, 2, 64)},
                     lambda x, i: {"y": matmul_nbits_reference(i, x["a"], bits=8)}, 1e-4),
    "MatMulNBits2": (17, lambda: {"a": randn(2, 2, 64)},
                     lambda x, i: {"y": matmul_nbits_reference(i, x["a"], bits=2)}, 1e-4),
    "EinsumBatchMatmul": (17, lambda: {"a": randn(3, 2, 3), "b": randn(3, 3, 4)},
                          lambda x, i: {"y": np.einsum("bij,bjk->bik", x["a"], x["b"])}, 1e-5),
    "EinsumAttention": (17, lambda: {"a": randn(2, 2, 5, 8), "b": randn(2, 2, 7, 8)},
                        lambda x, i: {"y": np.einsum("bhqd,bhkd->bhqk", x["a"], x["b"])}, 1e-5),
    "EinsumEllipsis": (17, lambda: {"a": randn(2, 5, 2, 3), "b": randn(3, 4)},
                       lambda x, i: {"y": np.einsum("...ij,...jk->...ik", x["a"], x["b"])}, 1e-5),
    "Slice": (17, lambda: {"x": randn(3, 10, 8)}, lambda x, i: {"y": x["x"][:, 2:, ::2]}, 0),
    "SliceReverse": (17, lambda: {"x": randn(3, 6)}, lambda x, i: {"y": x["x"][:, ::-1]}, 0),
    "SliceDynamic": (17, lambda: {"x": randn(2, 9)}, lambda x, i: {"y": x["x"][:, 1:-1]}, 0),
    "ShapeSlice": (17, lambda: {"x": randn(2, 3, 8)}, lambda x, i: {"y": x["x"].reshape(2, 3, 2, 4)}, 0),
    "Split": (17, lambda: {"x": randn(4, 6)}, lambda x, i: {"a": x["x"][:, :2], "b": x["x"][:, 2:]}, 0),
    "SplitNumOutputs": (18, lambda: {"x": randn(7, 3)},
                        lambda x, i: {"a": x["x"][:3], "b": x["x"][3:6], "c": x["x"][6:]}, 0),
    "SplitEqual": (17, lambda: {"x": randn(2, 8)}, lambda x, i: {"a": x["x"][:, :4], "b": x["x"][:, 4:]}, 0),
    "Expand": (17, lambda: {"x": randn(3, 1)}, lambda x, i: {"y": np.broadcast_to(x["x"], (2, 3, 4))}, 0),
    "ExpandDynamic": (17, lambda: {"x": randn(1, 4), "ref": randn(5, 4)},
                      lambda x, i: {"y": np.broadcast_to(x["x"], (5, 4))}, 0),
    "ConstantOfShape": (17, lambda: {"x": randn(3, 4)}, lambda x, i: {"y": np.ones((3, 4), np.int64)}, 0),
    "Range": (17, lambda: {"x": randn(2, 5)}, lambda x, i: {"y": np.arange(5, dtype=np.int64)}, 0),
    "Trilu": (17, lambda: {"x": randn(2, 4, 4)}, lambda x, i: {"y": np.tril(x["x"])}, 0),
    "CumSum": (17, lambda: {"x": randn(2, 5)},
               lambda x, i: {"y": np.flip(np.cumsum(np.flip(x["x"], 1), 1), 1) - x["x"]}, 1e-5),
    "GatherElements": (17, lambda: {"x": randn(3, 4), "i": rng.integers(-4, 4, (3, 2))},
                       lambda x, i: {"y": np.take_along_axis(x["x"], x["i"] % 4, 1)}, 0),
    "LayerNormalization": (17, lambda: {"x": randn(2, 3, 8)}, lambda x, i: {"y": layer_norm(x["x"], 2, 1e-6)}, 1e-5),
    "WhereMask": (17, lambda: {"m": rng.random((1, 1, 3, 3)) > 0.5, "x": randn(2, 2, 3, 3)},
                  lambda x, i: {"y": np.where(x["m"], x["x"], np.float32(-np.inf))}, 0),
    "QuantizeLinearBlocked": (21, lambda: {"x": randn(4, 8) * 3},
                              lambda x, i: {"y": np.clip(np.round(x["x"]), -128, 127).astype(np.int8)}, 0),
    "DynamicQuantizeLinear": (17, lambda: {"x": randn(3, 4)},
                              lambda x, i: dict(zip(["y", "s", "z"], dynamic_quantize_reference(x["x"]))), 1e-6),
    "MatMulInteger": (17, lambda: {"a": rng.integers(0, 256, (3, 4)).astype(np.uint8)},
                      lambda x, i: {"y": ((x["a"].astype(np.int32) - 128) @ (i["b"].astype(np.int32) - i["bz"]))
                                    .astype(np.int32)}, 0),
}


def model_for(name, opset):
    g = make_model.MODELS[name]()
    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain == "com.microsoft" for n in g.node):
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    m = helper.make_model(g, opset_imports=opsets, producer_name="lowbit-tests")
    m.ir_version = 8
    return m


def signless(array):
    """lowbit's integers are signless: unsigned data goes in as the same bits."""
    if array.dtype.kind == "u":
        return array.view({1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}[array.dtype.itemsize])
    return array


def check(name, args, work):
    opset, make_inputs, reference, tolerance = CASES[name]
    model = model_for(name, opset)
    folder = os.path.join(work, name)
    os.makedirs(folder)
    path = os.path.join(folder, "model.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    proc = subprocess.run([args.lowbit_compile, path, "-o", os.path.join(folder, "model.lbm")],
                          capture_output=True, text=True)
    if proc.returncode:
        return "compile: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    inputs = make_inputs()
    cmd = [args.lowbit_run, os.path.join(folder, "model.lbm"), "--output-dir", folder, "--threads", "1"]
    for key, value in inputs.items():
        np.save(os.path.join(folder, key + ".npy"), np.require(signless(np.asarray(value)), requirements="C"))
        cmd += ["--input", "%s=%s" % (key, os.path.join(folder, key + ".npy"))]
    # The references hold to float rounding (the tolerances above): the
    # portable matmul kernel, not the runtime's default tuned x86 kernels,
    # which round activations to int8 per 32-block (X86Matmul.h).
    env = dict(os.environ, LOWBIT_MATMUL_KERNELS="portable")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        return "run: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for output, want in reference(inputs, inits).items():
        want = np.asarray(want)
        got = np.load(os.path.join(folder, output + ".npy"))
        if want.dtype.kind == "u" and got.dtype.itemsize == want.dtype.itemsize:
            got = got.view(want.dtype)
        if got.shape != want.shape:
            return "%s has shape %s, expected %s" % (output, got.shape, want.shape)
        with np.errstate(invalid="ignore"):
            err = np.abs(got.astype(np.float64) - want.astype(np.float64))
        err = np.where(np.isinf(want) & (got == want), 0, err)  # -inf masks match exactly
        scale = max(1.0, float(np.abs(want[np.isfinite(want)]).max()) if np.isfinite(want).any() else 1.0)
        if err.size and err.max() > tolerance * scale:
            return "%s differs: max |error| %.3g (allowed %.3g)" % (output, err.max(), tolerance * scale)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lowbit-compile", required=True)
    parser.add_argument("--lowbit-run", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="lowbit-onnx-models-")
    failures = 0
    try:
        for name in sorted(CASES):
            error = check(name, args, work)
            print("%-28s %s" % (name, "ok" if error is None else "FAIL: " + error))
            failures += error is not None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d of %d models match numpy" % (len(CASES) - failures, len(CASES)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
