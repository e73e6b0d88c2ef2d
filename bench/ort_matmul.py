"""ort_matmul.py OUT.tsv [--quick] [--threads 1,2] [--shapes NxK,..] [--m 1,16,512]

ONNX Runtime's side of bench/MatmulBench (run both through
bench/run-matmul-bench.sh): times, on the same shapes and thread counts,

  * MatMulNBits (com.microsoft, 4 bits, block 32 and 128, no zero points,
    accuracy_level 4 = int8 activations, ORT's fastest CPU path), the peer of
    lowbit's "int4, group = 32 / 128";
  * the float MatMul (f32 weights), the peer of lowbit's q8_0.

y = x W^T with x [M, K] and W [N, K] (MatMulNBits' B is [N, K/block,
block/2] nibbles; the float MatMul takes W^T [K, N]). Like MatmulBench, each
case rotates over enough copies of the weights (one session each) to exceed
the last-level cache eightfold, so decode reads come from memory. Writes one line per
case: op block M N K threads median_seconds.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def llc_bytes():
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as f:
            text = f.read().strip()
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except OSError:
        return 32 << 20


def nbits_model(N, K, block, rng):
    blocks = K // block
    b = rng.integers(0, 256, size=(N, blocks, block // 2), dtype=np.uint8)
    scales = (rng.random(N * blocks, dtype=np.float32) * 0.01 + 0.001).astype(np.float32)
    node = helper.make_node("MatMulNBits", ["x", "B", "scales"], ["y"], domain="com.microsoft", K=K, N=N,
                            bits=4, block_size=block, accuracy_level=4)
    graph = helper.make_graph(
        [node], "nbits", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["M", K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["M", N])],
        [numpy_helper.from_array(b, "B"), numpy_helper.from_array(scales, "scales")])
    model = helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    return model, b.nbytes + scales.nbytes


def float_model(N, K, rng):
    w = (rng.standard_normal((K, N), dtype=np.float32) * 0.02).astype(np.float32)
    node = helper.make_node("MatMul", ["x", "W"], ["y"])
    graph = helper.make_graph(
        [node], "float", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["M", K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["M", N])], [numpy_helper.from_array(w, "W")])
    return helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", 17)]), w.nbytes


def sessions(model, nbytes, threads):
    # As MatmulBench: copies as large as 8x the LLC, at least 256 MiB.
    copies = max(2, -(-max(8 * llc_bytes(), 256 << 20) // nbytes))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
    data = model.SerializeToString()
    return [ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"]) for _ in range(copies)]


def time_case(sess, M, K, min_seconds, min_calls, rng):
    x = rng.standard_normal((M, K), dtype=np.float32)
    for s in sess:  # warm-up: first runs prepack weights
        s.run(None, {"x": x})
    times = []
    start = time.perf_counter()
    i = 0
    while i < min_calls or time.perf_counter() - start < min_seconds:
        s = sess[i % len(sess)]
        t0 = time.perf_counter()
        s.run(None, {"x": x})
        times.append(time.perf_counter() - t0)
        i += 1
        if i >= 2000:
            break
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--shapes", help="NxK,NxK (default: all three, or 4096x4096 with --quick)")
    p.add_argument("--m", help="activation rows, e.g. 1,512 (default 1,16,512; --quick 1,16)")
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    shapes = [(4096, 4096)] if args.quick else [(4096, 4096), (11008, 4096), (4096, 11008)]
    if args.shapes:
        shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    ms = [1, 16] if args.quick else [1, 16, 512]
    if args.m:
        ms = [int(m) for m in args.m.split(",")]
    rng = np.random.default_rng(0)
    print("onnxruntime", ort.__version__, "onnx", onnx.__version__, file=sys.stderr)
    with open(args.out, "w") as out:
        out.write("# onnxruntime %s\n" % ort.__version__)
        for N, K in shapes:
            cases = [("MatMulNBits", 32) + nbits_model(N, K, 32, rng), ("MatMulNBits", 128) + nbits_model(N, K, 128, rng),
                     ("MatMul", 0) + float_model(N, K, rng)]
            for op, block, model, nbytes in cases:
                for t in threads:
                    sess = sessions(model, nbytes, t)
                    for M in ms:
                        if op == "MatMul" and M == 512 and args.quick:
                            continue
                        min_seconds = 0.05 if args.quick else (0.3 if M < 512 else 0.6)
                        sec = time_case(sess, M, K, min_seconds, 3 if M == 512 else 10, rng)
                        out.write("%s %d %d %d %d %d %.9g\n" % (op, block, M, N, K, t, sec))
                        out.flush()
                        print("ort %s block=%d M=%d N=%d K=%d threads=%d: %.3f ms" % (op, block, M, N, K, t, sec * 1e3),
                              file=sys.stderr)
                    del sess


if __name__ == "__main__":
    main()
