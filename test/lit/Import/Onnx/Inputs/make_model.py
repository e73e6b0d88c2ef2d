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
for _op in ["Floor", "Ceil", "Round", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
            "Softplus", "Softsign", "Sign", "HardSwish", "Elu", "Selu", "ThresholdedRelu"]:
    MODELS[_op] = (lambda op: lambda: unary(op))(_op)
MODELS["LeakyRelu"] = lambda: unary("LeakyRelu", alpha=0.1)
MODELS["HardSigmoid"] = lambda: unary("HardSigmoid", alpha=0.25, beta=0.5)
MODELS["IsInf"] = lambda: unary("IsInf", out_elem=B, detect_negative=0)
MODELS["Xor"] = lambda: binary("Xor", [2, 3], [3], [2, 3], elem=B)
MODELS["Mod"] = lambda: binary("Mod", ["batch", 3], [3], ["batch", 3], elem=TensorProto.INT32)
MODELS["Sum"] = lambda: graph([helper.make_node("Sum", ["a", "b", "c"], ["y"], name="sum")],
                              [value(n, F, ["batch", 3]) for n in "abc"], [value("y", F, ["batch", 3])])
MODELS["Mean"] = lambda: graph([helper.make_node("Mean", ["a", "b"], ["y"], name="mean")],
                               [value("a", F, ["batch", 3]), value("b", F, [3])], [value("y", F, ["batch", 3])])
MODELS["Clip"] = lambda: graph([helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")],
                               [value("x", F, ["batch", 4])], [value("y", F, ["batch", 4])],
                               [const("lo", np.array(0, dtype=np.float32)), const("hi", np.array(6, dtype=np.float32))])
MODELS["Dropout"] = lambda: graph([helper.make_node("Dropout", ["x"], ["y", "mask"], name="dropout")],
                                  [value("x", F, ["batch", 4])], [value("y", F, ["batch", 4]), value("mask", B, ["batch", 4])])
MODELS["CastLike"] = lambda: graph([helper.make_node("CastLike", ["x", "like"], ["y"], name="castlike")],
                                   [value("x", I64, ["batch", 4]), value("like", TensorProto.FLOAT16, [1])],
                                   [value("y", TensorProto.FLOAT16, ["batch", 4])])
for _op in ["ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]:
    MODELS[_op] = (lambda op: lambda: graph(
        [helper.make_node(op, ["x", "axes"], ["y"], name=op.lower(), keepdims=0)],
        [value("x", F, ["batch", 3, 4])], [value("y", F, ["batch", 4])],
        [const("axes", np.array([1], dtype=np.int64))]))(_op)
MODELS["ArgMax"] = lambda: graph([helper.make_node("ArgMax", ["x"], ["y"], name="argmax", axis=-1, keepdims=0)],
                                 [value("x", F, ["batch", "vocab"])], [value("y", I64, ["batch"])])
MODELS["ArgMin"] = lambda: graph([helper.make_node("ArgMin", ["x"], ["y"], name="argmin", axis=0,
                                                   select_last_index=1)],
                                 [value("x", TensorProto.UINT8, [3, 4])], [value("y", I64, [1, 4])])
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


# --- Transformer graphs ------------------------------------------------------

INT64_MAX = np.iinfo(np.int64).max
U8 = TensorProto.UINT8
I8 = TensorProto.INT8
I32 = TensorProto.INT32


def i64(values):
    return np.array(values, dtype=np.int64)


@model
def LayerNormalization():
    return graph([helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["y"], name="layernorm",
                                   axis=-1, epsilon=1e-6)],
                 [value("x", F, ["batch", "seq", 8])], [value("y", F, ["batch", "seq", 8])],
                 [const("scale", np.ones(8, dtype=np.float32)), const("bias", np.zeros(8, dtype=np.float32))])


@model
def LayerNormalizationF16():
    """f16 input: normalized in f32 (stash_type 1), with the Mean and InvStdDev outputs."""
    H = TensorProto.FLOAT16
    return graph([helper.make_node("LayerNormalization", ["x", "scale"], ["y", "mean", "inv"], name="layernorm",
                                   axis=1)],
                 [value("x", H, [2, 3, 4])], [value("y", H, [2, 3, 4]), value("mean", F, [2, 1, 1]),
                                              value("inv", F, [2, 1, 1])],
                 [const("scale", np.ones((3, 4), dtype=np.float16))])


@model
def Slice():
    """Two axes: from 2 to the end (INT64_MAX clamps), and every other column."""
    return graph([helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="slice")],
                 [value("x", F, ["batch", 10, 8])], [value("y", F, ["batch", 8, 4])],
                 [const("starts", i64([2, 0])), const("ends", i64([INT64_MAX, 8])),
                  const("axes", i64([1, -1])), const("steps", i64([1, 2]))])


@model
def SliceReverse():
    """A negative step walks backwards: x[:, ::-1] and negative starts."""
    return graph([helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="slice")],
                 [value("x", F, ["batch", 6])], [value("y", F, ["batch", 6])],
                 [const("starts", i64([-1])), const("ends", i64([-INT64_MAX])),
                  const("axes", i64([1])), const("steps", i64([-1]))])


@model
def SliceDynamic():
    """Slicing a dynamic dimension: x[:, 1:-1]."""
    return graph([helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["y"], name="slice")],
                 [value("x", F, [2, "seq"])], [value("y", F, [2, "seq_minus_2"])],
                 [const("starts", i64([1])), const("ends", i64([-1])), const("axes", i64([1]))])


@model
def ShapeSlice():
    """Shape -> Slice -> Concat -> Reshape: splitting heads, as BERT exports do."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Slice", ["s", "zero", "two"], ["bs"], name="slice"),
        helper.make_node("Concat", ["bs", "heads"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape"),
    ]
    return graph(nodes, [value("x", F, ["batch", "seq", 8])], [value("y", F, ["batch", "seq", 2, 4])],
                 [const("zero", i64([0])), const("two", i64([2])), const("heads", i64([2, 4]))])


@model
def Split():
    return graph([helper.make_node("Split", ["x", "split"], ["a", "b"], name="split", axis=1)],
                 [value("x", F, ["batch", 6])], [value("a", F, ["batch", 2]), value("b", F, ["batch", 4])],
                 [const("split", i64([2, 4]))])


@model
def SplitNumOutputs():
    """Opset 18's num_outputs: parts of ceil(7 / 3) = 3, the last one smaller."""
    return graph([helper.make_node("Split", ["x"], ["a", "b", "c"], name="split", axis=0, num_outputs=3)],
                 [value("x", F, [7, "n"])], [value("a", F, [3, "n"]), value("b", F, [3, "n"]), value("c", F, [1, "n"])])


@model
def SplitEqual():
    """No sizes: equal parts of a dynamic dimension."""
    return graph([helper.make_node("Split", ["x"], ["a", "b"], name="split", axis=-1)],
                 [value("x", F, [2, "n"])], [value("a", F, [2, "half"]), value("b", F, [2, "half"])])


@model
def GatherElements():
    return graph([helper.make_node("GatherElements", ["x", "i"], ["y"], name="gatherelements", axis=1)],
                 [value("x", F, ["batch", 4]), value("i", I64, ["batch", 2])], [value("y", F, ["batch", 2])])


@model
def ScatterND():
    return graph([helper.make_node("ScatterND", ["x", "i", "u"], ["y"], name="scatternd")],
                 [value("x", F, [4, 4]), value("i", I64, [2, 1]), value("u", F, [2, 4])],
                 [value("y", F, [4, 4])])


@model
def ScatterNDAdd():
    """Opset 16's reduction: the updates are added."""
    return graph([helper.make_node("ScatterND", ["x", "i", "u"], ["y"], name="scatternd", reduction="add")],
                 [value("x", I64, [4, 4]), value("i", I64, [2, 1]), value("u", I64, [2, 4])],
                 [value("y", I64, [4, 4])])


@model
def ScatterElements():
    return graph([helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], name="scatterelements", axis=1)],
                 [value("x", F, ["batch", 5]), value("i", I64, ["batch", 2]), value("u", F, ["batch", 2])],
                 [value("y", F, ["batch", 5])])


@model
def GatherND():
    """batch_dims = 1: each batch row picks its own [k] entries."""
    return graph([helper.make_node("GatherND", ["x", "i"], ["y"], name="gathernd", batch_dims=1)],
                 [value("x", F, ["batch", 4, 3]), value("i", I64, ["batch", 2, 1])], [value("y", F, ["batch", 2, 3])])


@model
def Tile():
    return graph([helper.make_node("Tile", ["x", "r"], ["y"], name="tile")],
                 [value("x", F, ["batch", 3])], [value("y", F, ["batch2", 6])], [const("r", i64([2, 2]))])


@model
def ConstantOfShape():
    """A mask as big as a dynamic input: Shape -> ConstantOfShape."""
    return graph([helper.make_node("Shape", ["x"], ["s"], name="shape"),
                  helper.make_node("ConstantOfShape", ["s"], ["y"], name="constantofshape",
                                   value=helper.make_tensor("v", I64, [1], [1]))],
                 [value("x", F, ["batch", 4])], [value("y", I64, ["batch", 4])])


@model
def ConstantOfShapeStatic():
    return graph([helper.make_node("ConstantOfShape", ["s"], ["y"], name="constantofshape")],
                 [], [value("y", F, [2, 3])], [const("s", i64([2, 3]))])


@model
def Expand():
    """Broadcast [3, 1] to a known [2, 3, 4]."""
    return graph([helper.make_node("Expand", ["x", "s"], ["y"], name="expand")],
                 [value("x", F, [3, 1])], [value("y", F, [2, 3, 4])], [const("s", i64([2, 3, 4]))])


@model
def ExpandDynamic():
    """Broadcast an attention mask row to the shape of a dynamic input."""
    return graph([helper.make_node("Shape", ["ref"], ["s"], name="shape"),
                  helper.make_node("Expand", ["x", "s"], ["y"], name="expand")],
                 [value("x", F, [1, 4]), value("ref", F, ["batch", 4])], [value("y", F, ["batch", 4])])


@model
def Range():
    """Position ids: Range(0, seq_len, 1) with seq_len from a dynamic shape."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "one"], ["n"], name="gather", axis=0),
        helper.make_node("Range", ["zero", "n", "step"], ["y"], name="range"),
    ]
    return graph(nodes, [value("x", F, ["batch", "seq"])], [value("y", I64, ["seq"])],
                 [const("one", np.array(1, dtype=np.int64)), const("zero", np.array(0, dtype=np.int64)),
                  const("step", np.array(1, dtype=np.int64))])


@model
def RangeConstant():
    return graph([helper.make_node("Range", ["a", "b", "c"], ["y"], name="range")],
                 [], [value("y", F, [4])],
                 [const("a", np.array(1, dtype=np.float32)), const("b", np.array(3, dtype=np.float32)),
                  const("c", np.array(0.5, dtype=np.float32))])


@model
def Trilu():
    """A causal mask: the lower triangle, k = 0."""
    return graph([helper.make_node("Trilu", ["x", "k"], ["y"], name="trilu", upper=0)],
                 [value("x", F, ["batch", "seq", "seq"])], [value("y", F, ["batch", "seq", "seq"])],
                 [const("k", np.array(0, dtype=np.int64))])


@model
def WhereMask():
    """Where(mask, scores, -inf) with a bool mask that broadcasts."""
    return graph([helper.make_node("Where", ["m", "x", "ninf"], ["y"], name="where")],
                 [value("m", B, [1, 1, "seq", "seq"]), value("x", F, ["batch", 2, "seq", "seq"])],
                 [value("y", F, ["batch", 2, "seq", "seq"])],
                 [const("ninf", np.array(-np.inf, dtype=np.float32))])


@model
def CumSum():
    return graph([helper.make_node("CumSum", ["x", "axis"], ["y"], name="cumsum", exclusive=1, reverse=1)],
                 [value("x", F, ["batch", 5])], [value("y", F, ["batch", 5])],
                 [const("axis", np.array(1, dtype=np.int32))])


def einsum(equation, shapes, out_shape):
    names = ["a", "b", "c"][:len(shapes)]
    return graph([helper.make_node("Einsum", names, ["y"], name="einsum", equation=equation)],
                 [value(n, F, s) for n, s in zip(names, shapes)], [value("y", F, out_shape)])


MODELS["EinsumBatchMatmul"] = lambda: einsum("bij,bjk->bik", [["b", 2, 3], ["b", 3, 4]], ["b", 2, 4])
MODELS["EinsumAttention"] = lambda: einsum("bhqd,bhkd->bhqk", [["b", 2, "q", 8], ["b", 2, "k", 8]],
                                           ["b", 2, "q", "k"])
MODELS["EinsumEllipsis"] = lambda: einsum("...ij,...jk->...ik", [["b", 5, 2, 3], [3, 4]], ["b", 5, 2, 4])
MODELS["EinsumBadLabel"] = lambda: einsum("ij,jk->iz", [[2, 3], [3, 4]], [2, 4])


# --- Pre-quantized graphs ----------------------------------------------------

@model
def QuantizeLinear():
    return graph([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="quantize")],
                 [value("x", F, ["batch", 4])], [value("y", U8, ["batch", 4])],
                 [const("s", np.array(0.5, dtype=np.float32)), const("z", np.array(128, dtype=np.uint8))])


@model
def QuantizeLinearPerAxis():
    return graph([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="quantize", axis=1)],
                 [value("x", F, ["batch", 4])], [value("y", I8, ["batch", 4])],
                 [const("s", np.array([0.5, 1, 2, 4], dtype=np.float32)), const("z", np.zeros(4, dtype=np.int8))])


@model
def QuantizeLinearBlocked():
    """Opset 21: one scale per block of 4 along axis 1."""
    return graph([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="quantize", axis=1, block_size=4)],
                 [value("x", F, [4, 8])], [value("y", I8, [4, 8])],
                 [const("s", np.ones((4, 2), dtype=np.float32)), const("z", np.zeros((4, 2), dtype=np.int8))])


@model
def DequantizeLinear():
    """A QDQ weight: int8 constant, per-output-channel scales, into MatMul."""
    w = (np.arange(12, dtype=np.int64).reshape(4, 3) - 6).astype(np.int8)
    return graph([helper.make_node("DequantizeLinear", ["w", "s"], ["wf"], name="dequantize", axis=1),
                  helper.make_node("MatMul", ["x", "wf"], ["y"], name="matmul")],
                 [value("x", F, ["batch", 4])], [value("y", F, ["batch", 3])],
                 [const("w", w), const("s", np.array([0.1, 0.2, 0.3], dtype=np.float32))])


@model
def QuantizeLinearInt4():
    return graph([helper.make_node("QuantizeLinear", ["x", "s"], ["y"], name="quantize", output_dtype=22)],
                 [value("x", F, [4])], [value("y", 22, [4])], [const("s", np.array(0.5, dtype=np.float32))])


@model
def DynamicQuantizeLinear():
    return graph([helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"], name="dynamicquantize")],
                 [value("x", F, ["batch", 4])],
                 [value("y", U8, ["batch", 4]), value("s", F, []), value("z", U8, [])])


@model
def MatMulInteger():
    return graph([helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"], name="matmulinteger")],
                 [value("a", U8, ["batch", 4])], [value("y", I32, ["batch", 3])],
                 [const("b", np.ones((4, 3), dtype=np.int8)), const("az", np.array(128, dtype=np.uint8)),
                  const("bz", np.array([0, 1, 2], dtype=np.int8))])


@model
def QLinearMatMul():
    f = lambda v: np.array(v, dtype=np.float32)
    return graph([helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"],
                                   name="qlinearmatmul")],
                 [value("a", U8, ["batch", 4])], [value("y", U8, ["batch", 3])],
                 [const("as", f(0.1)), const("az", np.array(128, dtype=np.uint8)),
                  const("b", np.ones((4, 3), dtype=np.uint8)), const("bs", f([0.1, 0.2, 0.3])),
                  const("bz", np.array(0, dtype=np.uint8)), const("ys", f(0.05)),
                  const("yz", np.array(10, dtype=np.uint8))])


def matmul_nbits(zero_points=None, bias=False, g_idx=False, k=64, n=8, block=32, bits=4):
    rng = np.random.default_rng(0)
    blocks = k // block
    b = rng.integers(0, 256, size=(n, blocks, block * bits // 8), dtype=np.uint8)
    scales = rng.random(n * blocks, dtype=np.float32)
    inputs = ["a", "b", "scales"]
    inits = [const("b", b), const("scales", scales)]
    if zero_points is not None:
        inputs.append("zp")
        inits.append(const("zp", zero_points))
    if g_idx:
        inputs += [""] if zero_points is None else []
        inputs.append("g_idx")
        inits.append(const("g_idx", np.arange(k, dtype=np.int32) // block))
    if bias:
        inputs += [""] * (5 - len(inputs))
        inputs.append("bias")
        inits.append(const("bias", np.ones(n, dtype=np.float32)))
    node = helper.make_node("MatMulNBits", inputs, ["y"], name="matmulnbits", domain="com.microsoft",
                            K=k, N=n, bits=bits, block_size=block)
    return graph([node], [value("a", F, ["batch", "seq", k])], [value("y", F, ["batch", "seq", n])], inits)


MODELS["MatMulNBits"] = lambda: matmul_nbits()
# Zero points of 4 bits, two blocks per row packed into one byte: low nibble first.
MODELS["MatMulNBitsAsym"] = lambda: matmul_nbits(
    zero_points=np.array([0x31, 0x08, 0xff, 0x00, 0x12, 0x34, 0x56, 0x78], dtype=np.uint8), bias=True)
MODELS["MatMulNBitsFloatZeroPoints"] = lambda: matmul_nbits(zero_points=np.full(16, 8.5, dtype=np.float32))
MODELS["MatMulNBitsGIdx"] = lambda: matmul_nbits(g_idx=True)
MODELS["MatMulNBits8"] = lambda: matmul_nbits(bits=8)
MODELS["MatMulNBits2"] = lambda: matmul_nbits(bits=2, zero_points=np.arange(8, dtype=np.uint8) % 4)


@model
def TransposeScalar():
    """Found by the fuzzer: a rank-0 Transpose is the identity."""
    return unary_shaped("Transpose", [], [])


@model
def ReshapeTwoInferred():
    return graph([helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
                 [value("x", F, [2, 3, 4])], [value("y", F, [2, 12])], [const("s", i64([-1, -1]))])


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
