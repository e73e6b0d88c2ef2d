#!/usr/bin/env python3
"""ONNX node conformance for lowbit's importer.

Runs over the node tests that Debian's libonnx-testdata ships
(/usr/share/libonnx-testdata/data/node/*/model.onnx). A test whose ops are all
in `lowbit-compile --list-ops` and whose opset is one lowbit imports (13..21)
is imported with lowbit-compile; the others are skipped, and the ops that
caused the skips are counted.

By default it checks import only. With --execute (and --lowbit-run), each
imported test is also compiled for the CPU (lowbit-compile -o MODEL.lbm), run
on its input_N.pb with lowbit-run and compared with output_N.pb; execution
results are reported, and fail the run only with --strict-execute.

    /usr/bin/python3 run_conformance.py --lowbit-compile build/bin/lowbit-compile [--data DIR] [-v]
        [--execute --lowbit-run build/bin/lowbit-run [--strict-execute]]

Exits 1 when a supported test fails to import, 0 otherwise (skips are fine).
Needs Debian's python3-onnx and numpy only.
"""
import argparse
import collections
import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import sys

import onnx
from onnx import numpy_helper

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
MIN_OPSET, MAX_OPSET = 13, 21


def supported_ops(lowbit_compile):
    out = subprocess.run([lowbit_compile, "--list-ops"], check=True, capture_output=True, text=True).stdout
    return set(line.strip() for line in out.splitlines() if line.strip())


def domain_of(domain):
    return "" if domain in ("", "ai.onnx") else domain


def node_ops(graph):
    """Every (domain, op) in the graph, subgraphs included."""
    ops = []
    for node in graph.node:
        ops.append((domain_of(node.domain), node.op_type))
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                ops += node_ops(attr.g)
            for g in attr.graphs:
                ops += node_ops(g)
    return ops


# Operands that lowbit compiles against known values (an AOT compiler needs
# the shapes and axes they give): (op, input index). Where a node test feeds
# one from a graph input, the driver freezes that input to its test value (an
# initializer), as an exporter would have, and says so.
SHAPE_OPERANDS = {
    "Reshape": {1}, "Expand": {1}, "Slice": {1, 2, 3, 4}, "Split": {1}, "Squeeze": {1},
    "Unsqueeze": {1}, "ReduceSum": {1}, "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1},
    "ReduceProd": {1}, "ReduceL1": {1}, "ReduceL2": {1}, "ReduceLogSum": {1}, "ReduceLogSumExp": {1},
    "ReduceSumSquare": {1},
    "CumSum": {1}, "ConstantOfShape": {0}, "Tile": {1},
}

NOT_TENSOR_TYPES = {onnx.TensorProto.STRING, onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128}


def unsupported_types(model):
    """Why the graph's interface or a Cast needs types lowbit has no tensors for."""
    reasons = set()
    for value_info in list(model.graph.input) + list(model.graph.output):
        if not value_info.type.HasField("tensor_type"):
            reasons.add("non-tensor graph values (sequence, optional, map)")
        elif value_info.type.tensor_type.elem_type in NOT_TENSOR_TYPES:
            reasons.add("%s tensors" % onnx.TensorProto.DataType.Name(value_info.type.tensor_type.elem_type))
    for node in model.graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i in NOT_TENSOR_TYPES:
                reasons.add("%s tensors" % onnx.TensorProto.DataType.Name(attr.i))
    return sorted(reasons)


def freeze_shape_inputs(test_dir, model):
    """Turns graph inputs used as shape operands into initializers holding the
    test's values. Returns the names frozen."""
    wanted = set()
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if i in SHAPE_OPERANDS.get(node.op_type, ()) and name:
                wanted.add(name)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    frozen = []
    for n, value_info in enumerate(inputs):
        if value_info.name not in wanted:
            continue
        path = os.path.join(test_dir, "test_data_set_0", "input_%d.pb" % n)
        if not os.path.exists(path):
            continue
        tensor = onnx.TensorProto()
        with open(path, "rb") as f:
            tensor.ParseFromString(f.read())
        tensor.name = value_info.name
        model.graph.initializer.append(tensor)
        frozen.append(value_info.name)
    for name in frozen:
        for i, value_info in enumerate(model.graph.input):
            if value_info.name == name:
                del model.graph.input[i]
                break
    return frozen


def input_shapes(test_dir, model):
    """--input-shape flags for graph inputs with a dimension that is not fixed,
    taken from the test's first data set."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    flags = []
    data_set = os.path.join(test_dir, "test_data_set_0")
    for n, value_info in enumerate(inputs):
        if not value_info.type.HasField("tensor_type"):
            continue
        dims = value_info.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            continue
        path = os.path.join(data_set, "input_%d.pb" % n)
        if not os.path.exists(path):
            continue
        tensor = onnx.TensorProto()
        with open(path, "rb") as f:
            tensor.ParseFromString(f.read())
        shape = "x".join(str(d) for d in tensor.dims)
        if shape and len(tensor.dims) == len(dims):
            flags.append("--input-shape=%s=%s" % (value_info.name, shape))
    return flags


def classify(test_dir, supported, work):
    """Returns (None, (model path, flags, frozen inputs)) for a test to import,
    or (skip reasons, None)."""
    model = onnx.load(os.path.join(test_dir, "model.onnx"), load_external_data=False)
    opsets = {domain_of(o.domain): o.version for o in model.opset_import}
    reasons = unsupported_types(model)
    version = opsets.get("")
    if version is not None and not MIN_OPSET <= version <= MAX_OPSET:
        reasons.append("opset %d (lowbit imports %d..%d)" % (version, MIN_OPSET, MAX_OPSET))
    initial = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
            mode = initial.get(node.input[2])
            if mode is None or mode.any():
                reasons.append("Dropout in training mode (lowbit compiles for inference)")
    for domain, op in sorted(set(node_ops(model.graph))):
        if "%s:%s" % (domain, op) not in supported:
            reasons.append(op if not domain else "%s:%s" % (domain, op))
    if reasons:
        return reasons, None
    flags = input_shapes(test_dir, model)
    frozen = freeze_shape_inputs(test_dir, model)
    path = os.path.join(test_dir, "model.onnx")
    if frozen:
        path = os.path.join(work, os.path.basename(test_dir) + ".onnx")
        onnx.save(model, path)
        flags = [f for f in flags if f.split("=")[1] not in frozen]
    return None, (path, flags, frozen)


def run_import(lowbit_compile, model_path, flags):
    cmd = [lowbit_compile, model_path, "-o", os.devnull] + flags
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "timed out after 60 s"
    if proc.returncode == 0:
        return None
    if proc.returncode < 0:
        return "crashed with signal %d" % -proc.returncode
    lines = [l for l in proc.stderr.splitlines() if "error" in l] or proc.stderr.splitlines() or ["exit %d" % proc.returncode]
    return lines[0]


def safe_name(name):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def load_pb(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def run_execute(lowbit_compile, lowbit_run, test_dir, model_path, flags, frozen, work):
    """Compiles and runs one test; returns None when every output matches,
    else what went wrong (one line)."""
    import numpy as np
    name = os.path.basename(test_dir)
    folder = os.path.join(work, name + ".run")
    os.makedirs(folder, exist_ok=True)
    artifact = os.path.join(folder, "model.lbm")
    proc = subprocess.run([lowbit_compile, model_path, "-o", artifact] + flags, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.splitlines() if "error" in l] or proc.stderr.splitlines() or ["?"]
        return "compile: " + lines[0]
    model = onnx.load(os.path.join(test_dir, "model.onnx"), load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    data = os.path.join(test_dir, "test_data_set_0")
    cmd = [lowbit_run, artifact, "--output-dir", folder, "--threads", "1"]
    declared = {i.name: i for i in model.graph.input}
    for n, input_name in enumerate(inputs):
        if input_name in frozen:
            continue
        array = load_pb(os.path.join(data, "input_%d.pb" % n))
        if array.dtype.kind == "U" or array.dtype.kind == "O":
            return "n/a: string input"
        if declared[input_name].type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16:
            return "n/a: a .npy file cannot hold bf16"
        # lowbit's integers are signless: unsigned data goes in as the same bits.
        if array.dtype.kind == "u":
            array = array.view({1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}[array.dtype.itemsize])
        # Some tests store a scalar as [1] (or the reverse): use the declared shape.
        dims = declared[input_name].type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shape = tuple(d.dim_value for d in dims)
            if shape != array.shape and int(np.prod(shape)) == array.size:
                array = array.reshape(shape)
        path = os.path.join(folder, "in%d.npy" % n)
        np.save(path, np.require(array, requirements="C"))  # ascontiguousarray would make a scalar 1-D
        cmd += ["--input", "%s=%s" % (input_name, path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        lines = proc.stderr.splitlines() or ["exit %d" % proc.returncode]
        return "run: " + lines[0]
    for n, output in enumerate(model.graph.output):
        if output.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16:
            return "n/a: a .npy file cannot hold bf16"
        want = load_pb(os.path.join(data, "output_%d.pb" % n))
        path = os.path.join(folder, safe_name(output.name) + ".npy")
        if not os.path.exists(path):
            return "run: no output %s" % output.name
        got = np.load(path)
        if got.shape != want.shape and got.size == want.size and got.size == 1:
            got = got.reshape(want.shape)
        if want.dtype.kind == "u":
            got = got.view(want.dtype) if got.dtype.itemsize == want.dtype.itemsize else got
        if got.shape != want.shape:
            return "output %s has shape %s, expected %s" % (output.name, got.shape, want.shape)
        if want.dtype.kind == "f":
            ok = np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-3, atol=1e-4, equal_nan=True)
        else:
            ok = np.array_equal(got.astype(want.dtype), want)
        if not ok:
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            return "output %s differs (max |diff| %.3g)" % (output.name, np.nanmax(diff) if diff.size else 0)
    shutil.rmtree(folder, ignore_errors=True)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lowbit-compile", required=True)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--work", default=None,
                        help="folder for models with frozen shape inputs (default: a temporary one)")
    parser.add_argument("--execute", action="store_true",
                        help="also compile each imported test for the CPU, run it and compare its outputs")
    parser.add_argument("--lowbit-run", default=None, help="lowbit-run, for --execute")
    parser.add_argument("--strict-execute", action="store_true", help="fail on execution mismatches too")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every skipped test and why")
    args = parser.parse_args()

    if not os.path.isdir(args.data):
        print("no ONNX node tests at %s (install libonnx-testdata)" % args.data)
        return 77
    supported = supported_ops(args.lowbit_compile)
    tests = sorted(d for d in os.listdir(args.data) if os.path.exists(os.path.join(args.data, d, "model.onnx")))

    if args.execute:
        print("ONNX node conformance: import, then CPU execution (lowbit-compile -o .lbm, lowbit-run) "
              "compared with output_N.pb")
    else:
        print("ONNX node conformance: import only (--execute also runs each test on the CPU and compares "
              "its outputs)")
    work = args.work or tempfile.mkdtemp(prefix="lowbit-onnx-conformance-")
    os.makedirs(work, exist_ok=True)
    skipped, to_run, frozen_tests = {}, [], 0
    skip_causes = collections.Counter()
    for name in tests:
        reasons, plan = classify(os.path.join(args.data, name), supported, work)
        if reasons:
            skipped[name] = reasons
            skip_causes.update(reasons)
        else:
            to_run.append((name, plan))
            frozen_tests += bool(plan[2])

    failures = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_import, args.lowbit_compile, plan[0], plan[1]): name for name, plan in to_run}
        for future in concurrent.futures.as_completed(futures):
            error = future.result()
            if error:
                failures[futures[future]] = error

    mismatches = {}
    if args.execute:
        if not args.lowbit_run:
            parser.error("--execute needs --lowbit-run")
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(run_execute, args.lowbit_compile, args.lowbit_run, os.path.join(args.data, name),
                                   plan[0], plan[1], plan[2], work): name
                       for name, plan in to_run if name not in failures}
            for future in concurrent.futures.as_completed(futures):
                try:
                    error = future.result()
                except Exception as e:  # a timeout or unreadable output
                    error = "driver: %s" % str(e).splitlines()[0]
                if error:
                    mismatches[futures[future]] = error

    passed = len(to_run) - len(failures)
    print("%d passed, %d failed, %d skipped (of %d tests in %s)" % (passed, len(failures), len(skipped),
                                                                   len(tests), args.data))
    print("(%d of the imported tests feed shapes or axes from graph inputs; those inputs were frozen "
          "to the test's values, as lowbit compiles ahead of time)" % frozen_tests)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\nFailures (supported ops that did not import):")
        for name in sorted(failures):
            print("  %s: %s" % (name, failures[name]))
    if args.execute:
        executed = len(to_run) - len(failures)
        not_runnable = {k: v for k, v in mismatches.items() if v.startswith("n/a") or "cannot hold bf16" in v}
        for k in not_runnable:
            del mismatches[k]
        print("\nExecution (CPU): %d matched, %d did not, %d could not be fed (of %d imported)"
              % (executed - len(mismatches) - len(not_runnable), len(mismatches), len(not_runnable), executed))
        for name in sorted(mismatches):
            print("  %s: %s" % (name, mismatches[name]))
        for name in sorted(not_runnable):
            print("  %s: %s" % (name, not_runnable[name]))
    print("\nSkips, by cause (a test may have several):")
    for cause, count in sorted(skip_causes.items(), key=lambda kv: (-kv[1], kv[0])):
        print("  %4d  %s" % (count, cause))
    if args.verbose:
        print("\nSkipped tests:")
        for name in sorted(skipped):
            print("  %s: %s" % (name, ", ".join(skipped[name])))
    return 1 if failures or (args.strict_execute and mismatches) else 0


if __name__ == "__main__":
    sys.exit(main())
