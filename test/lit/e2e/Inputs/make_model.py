"""make_model.py DIR [--hf-names]: writes DIR/mlp.onnx, a two-layer MLP
    h3 = relu(x @ W1 + b1),  y = h3 @ W2,   x [batch, 256], W1 [256, 256], W2 [256, 32]
with outputs y and h3 (so each layer can be checked on its own input)
(K = 256 for both matmuls, so every block format fits, the 256-weight
K-quant super-blocks included), its float weights (DIR/weights.npz) and an
input DIR/x.npy of 5 rows. Gaussian weights and inputs, fixed seed.
--hf-names names the weights as a Hugging Face Llama layer's up and down
projections, so that llama.cpp mixes (q4_k_m, ...) find their roles."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
hf = sys.argv[2:] == ["--hf-names"]
name1 = "model.layers.0.mlp.up_proj.weight" if hf else "W1"
name2 = "model.layers.0.mlp.down_proj.weight" if hf else "W2"
rng = np.random.default_rng(2026)
w1 = rng.standard_normal((256, 256)).astype(np.float32)
b1 = rng.standard_normal(256).astype(np.float32)
w2 = rng.standard_normal((256, 32)).astype(np.float32)
nodes = [
    helper.make_node("MatMul", ["x", name1], ["h"]),
    helper.make_node("Add", ["h", "b1"], ["h2"]),
    helper.make_node("Relu", ["h2"], ["h3"]),
    helper.make_node("MatMul", ["h3", name2], ["y"]),
]
graph = helper.make_graph(
    nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 256])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 32]),
     helper.make_tensor_value_info("h3", TensorProto.FLOAT, ["batch", 256])],
    [numpy_helper.from_array(w1, name1), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(w2, name2)])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(out, "mlp.onnx"))
np.savez(os.path.join(out, "weights.npz"), W1=w1, b1=b1, W2=w2)
np.save(os.path.join(out, "x.npy"), rng.standard_normal((5, 256)).astype(np.float32))
# 9 rows: the tuned x86 kernels' prefill path (M >= 8).
np.save(os.path.join(out, "x9.npy"), rng.standard_normal((9, 256)).astype(np.float32))
