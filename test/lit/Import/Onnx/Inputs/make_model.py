#!/usr/bin/env python3
"""Writes a small ONNX model, named on the command line, to stdout.

The lit tests of the ONNX importer build their inputs with this script rather
than committing binary .onnx files. Uses only the onnx package (Debian's
python3-onnx 1.12 is enough: models are built with onnx.helper, never checked
against its opset list, so opsets up to 21 can be declared).

    make_model.py NAME [--opset N] > model.onnx
"""
import argparse
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64
B = TensorProto.BOOL

MODELS = {}


def model(fn):
    MODELS[fn.__name__] = fn
    return fn


def value(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def graph(nodes, inputs, outputs, initializers=()):
    return helper.make_graph(nodes, "g", inputs, outputs, list(initializers))


def binary(op, a_shape, b_shape, out_shape, elem=F, out_elem=None):
    return graph([helper.make_node(op, ["a", "b"], ["y"], name=op.lower())],
                 [value("a", elem, a_shape), value("b", elem, b_shape)],
                 [value("y", out_elem or elem, out_shape)])


def unary(op, shape=("batch", 4), elem=F, out_elem=None, **attrs):
    return graph([helper.make_node(op, ["x"], ["y"], name=op.lower(), **attrs)],
                 [value("x", elem, shape)], [value("y", out_elem or elem, shape)])


for _op in ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"]:
    MODELS[_op] = (lambda op: lambda: binary(op, ["batch", 3, 4], [4], ["batch", 3, 4]))(_op)
for _op in ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"]:
    MODELS[_op] = (lambda op: lambda: binary(op, [2, 3], [2, 1], [2, 3], out_elem=B))(_op)
for _op in ["And", "Or"]:
    MODELS[_op] = (lambda op: lambda: binary(op, [2, 3], [3], [2, 3], elem=B))(_op)
for _op in ["Neg", "Abs", "Exp", "Log", "Sin", "Cos", "Tanh", "Erf", "Sigmoid", "Relu",
            "Sqrt", "Reciprocal", "Identity", "Softmax", "LogSoftmax"]:
    MODELS[_op] = (lambda op: lambda: unary(op))(_op)
MODELS["Not"] = lambda: unary("Not", elem=B)
MODELS["IsNaN"] = lambda: unary("IsNaN", out_elem=B)
MODELS["Gelu"] = lambda: unary("Gelu", approximate="tanh")
MODELS["Cast"] = lambda: unary("Cast", elem=TensorProto.UINT8, out_elem=F, to=F)


@model
def Where():
    return graph([helper.make_node("Where", ["c", "a", "b"], ["y"], name="where")],
                 [value("c", B, [2, 3]), value("a", F, [2, 3]), value("b", F, [3])],
                 [value("y", F, [2, 3])])


@model
def MatMul():
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    return graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
                 [value("x", F, ["batch", "seq", 4])], [value("y", F, ["batch", "seq", 3])],
                 [const("w", w)])


@model
def Gemm():
    w = np.ones((3, 4), dtype=np.float32)
    return graph([helper.make_node("Gemm", ["x", "w", "c"], ["y"], name="gemm", transB=1, alpha=2.0)],
                 [value("x", F, [2, 4]), value("c", F, [3])], [value("y", F, [2, 3])], [const("w", w)])


@model
def Reshape():
    return graph([helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
                 [value("x", F, ["batch", 3, 4])], [value("y", F, ["batch", 12])],
                 [const("s", np.array([0, -1], dtype=np.int64))])


@model
def ShapeChain():
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exporters emit."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["b"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["b", "axes"], ["b1"], name="unsqueeze"),
        helper.make_node("Concat", ["b1", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape"),
    ]
    return graph(nodes, [value("x", F, ["batch", 3, 4])], [value("y", F, ["batch", 12])],
                 [const("zero", np.array(0, dtype=np.int64)), const("axes", np.array([0], dtype=np.int64)),
                  const("minus1", np.array([-1], dtype=np.int64))])


@model
def Transpose():
    return unary_shaped("Transpose", [2, 3, 4], [4, 2, 3], perm=[2, 0, 1])


def unary_shaped(op, in_shape, out_shape, elem=F, **attrs):
    return graph([helper.make_node(op, ["x"], ["y"], name=op.lower(), **attrs)],
                 [value("x", elem, in_shape)], [value("y", elem, out_shape)])


@model
def Unsqueeze():
    return graph([helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="unsqueeze")],
                 [value("x", F, ["batch", 4])], [value("y", F, ["batch", 1, 4, 1])],
                 [const("axes", np.array([1, -1], dtype=np.int64))])


@model
def Squeeze():
    return graph([helper.make_node("Squeeze", ["x", "axes"], ["y"], name="squeeze")],
                 [value("x", F, ["batch", 1, 4])], [value("y", F, ["batch", 4])],
                 [const("axes", np.array([1], dtype=np.int64))])


@model
def Flatten():
    return unary_shaped("Flatten", [2, 3, 4], [2, 12], axis=1)


@model
def Shape():
    return graph([helper.make_node("Shape", ["x"], ["y"], name="shape", start=1)],
                 [value("x", F, ["batch", 3, 4])], [value("y", I64, [2])])


@model
def Size():
    return graph([helper.make_node("Size", ["x"], ["y"], name="size")],
                 [value("x", F, ["batch", 3])], [value("y", I64, [])])


@model
def Concat():
    return graph([helper.make_node("Concat", ["a", "b"], ["y"], name="concat", axis=-1)],
                 [value("a", F, ["batch", 2]), value("b", F, ["batch", 3])], [value("y", F, ["batch", 5])])


@model
def Gather():
    table = np.arange(20, dtype=np.float32).reshape(5, 4)
    return graph([helper.make_node("Gather", ["table", "ids"], ["y"], name="gather", axis=0)],
                 [value("ids", I64, ["batch", "seq"])], [value("y", F, ["batch", "seq", 4])],
                 [const("table", table)])


@model
def Constant():
    return graph([helper.make_node("Constant", [], ["c"], name="constant",
                                   value=const("v", np.array([1.5, -2.0], dtype=np.float32))),
                  helper.make_node("Add", ["x", "c"], ["y"], name="add")],
                 [value("x", F, [2])], [value("y", F, [2])])


@model
def ReduceMean():
    return graph([helper.make_node("ReduceMean", ["x"], ["y"], name="reducemean", axes=[-1], keepdims=1)],
                 [value("x", F, ["batch", 4])], [value("y", F, ["batch", 1])])


@model
def ReduceSum():
    return graph([helper.make_node("ReduceSum", ["x", "axes"], ["y"], name="reducesum", keepdims=0)],
                 [value("x", F, ["batch", 3, 4])], [value("y", F, ["batch", 4])],
                 [const("axes", np.array([1], dtype=np.int64))])


@model
def ReduceMax():
    return graph([helper.make_node("ReduceMax", ["x"], ["y"], name="reducemax", keepdims=0)],
                 [value("x", F, [3, 4])], [value("y", F, [])])


@model
def ReduceMin():
    return graph([helper.make_node("ReduceMin", ["x"], ["y"], name="reducemin", axes=[0], keepdims=1)],
                 [value("x", F, [3, 4])], [value("y", F, [1, 4])])


@model
def UnsupportedOp():
    return graph([helper.make_node("Foo", ["x"], ["y"], name="mystery", domain="com.example")],
                 [value("x", F, [2])], [value("y", F, [2])])


@model
def MissingInput():
    return graph([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")],
                 [value("x", F, [2])], [value("y", F, [2])])


@model
def ShortInitializer():
    t = const("w", np.zeros((2, 3), dtype=np.float32))
    t.raw_data = t.raw_data[:-4]
    return graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
                 [value("x", F, [1, 2])], [value("y", F, [1, 3])], [t])


@model
def MissingExternalData():
    t = TensorProto()
    t.name, t.data_type = "w", F
    t.dims.extend([2, 3])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", "weights.bin"), ("offset", "0"), ("length", "24")]:
        entry = t.external_data.add()
        entry.key, entry.value = k, v
    return graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
                 [value("x", F, [1, 2])], [value("y", F, [1, 3])], [t])


@model
def BadBroadcast():
    return binary("Add", [2, 3], [4], [2, 3])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(MODELS))
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    g = MODELS[args.name]()
    opsets = [helper.make_opsetid("", args.opset)]
    if any(n.domain == "com.microsoft" for n in g.node):
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    if any(n.domain == "com.example" for n in g.node):
        opsets.append(helper.make_opsetid("com.example", 1))
    m = helper.make_model(g, opset_imports=opsets, producer_name="lowbit-tests")
    m.ir_version = 8
    sys.stdout.buffer.write(m.SerializeToString())


if __name__ == "__main__":
    main()
