#!/usr/bin/env python3
"""Reproducer (docs/REAL-MODELS.md, "Known problems"): the llama.cpp-style mixes
(--quant q4_k_m, ...) pick each weight's type from its Hugging Face name, but
torch.onnx.export names the transposed Linear weights `onnx::MatMul_<n>`; the module path
survives only in the MatMul node's name. Writes two one-MatMul models that differ only in
those names:

    python3 repro_mix_names.py DIR
    lowbit-compile DIR/hf_name.onnx --quant q4_k_m -v --emit=quantized -o /dev/null     # -> q4_k
    lowbit-compile DIR/torch_name.onnx --quant q4_k_m -v --emit=quantized -o /dev/null  # stays f32
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def save(path: Path, weight_name: str, node_name: str) -> None:
    w = nh.from_array(np.random.RandomState(0).randn(512, 256).astype(np.float32), weight_name)
    g = h.make_graph([h.make_node("MatMul", ["x", weight_name], ["y"], name=node_name)], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, [1, 512])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 256])], [w])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    # what a hand-written or optimum-style graph may carry
    save(out / "hf_name.onnx", "model.layers.0.self_attn.q_proj.weight", "MatMul_0")
    # what torch.onnx.export (torch 1.13, do_constant_folding) writes for nn.Linear
    save(out / "torch_name.onnx", "onnx::MatMul_123", "/model/model/layers.0/self_attn/q_proj/MatMul")
