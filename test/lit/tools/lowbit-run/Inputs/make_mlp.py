"""Writes a small ONNX MLP, an input and numpy's float output into a folder:
y = relu(x @ W1 + b1) @ W2, x [3, 256], W1 [256, 64], W2 [64, 16]."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(0)
w1 = rng.standard_normal((256, 64)).astype(np.float32)
b1 = rng.standard_normal(64).astype(np.float32)
w2 = rng.standard_normal((64, 16)).astype(np.float32)
nodes = [
    helper.make_node("MatMul", ["x", "W1"], ["h"]),
    helper.make_node("Add", ["h", "b1"], ["h2"]),
    helper.make_node("Relu", ["h2"], ["h3"]),
    helper.make_node("MatMul", ["h3", "W2"], ["y"]),
]
graph = helper.make_graph(
    nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 256])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 16])],
    [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(w2, "W2")])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(out, "mlp.onnx"))
x = rng.standard_normal((3, 256)).astype(np.float32)
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "ref.npy"), np.maximum(x @ w1 + b1, 0) @ w2)
