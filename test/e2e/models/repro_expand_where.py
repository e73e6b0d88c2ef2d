#!/usr/bin/env python3
"""Minimal reproducer (docs/REAL-MODELS.md, "Known problems" 1): torch.onnx's export of
`t.expand(batch, -1)` makes the target shape Where(Equal(s, -1), ones, s) over a shape vector
s = [Shape(x)[0], -1]. With a dynamic batch, lowbit's importer does not fold Equal/Where over
shape vectors, so Expand's shape is unknown at import time.

    python3 repro_expand_where.py OUT.onnx
    lowbit-compile OUT.onnx --emit=mlir -o -                      # the error
    lowbit-compile OUT.onnx --emit=mlir --input-shape x=3x4 -o -  # imports

Expected result: y[b, :] = [0, 1, 2, 3] for every row b of x (ONNX Runtime agrees).
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def main() -> None:
    c = lambda n, v: nh.from_array(np.array(v, dtype=np.int64), n)  # noqa: E731
    nodes = [
        h.make_node("Shape", ["x"], ["sx"]),
        h.make_node("Gather", ["sx", "zero"], ["b"], axis=0),
        h.make_node("Unsqueeze", ["b", "ax0"], ["b1"]),
        h.make_node("Concat", ["b1", "minus1"], ["s"], axis=0),  # [batch, -1]
        h.make_node("Shape", ["s"], ["ss"]),
        h.make_node("ConstantOfShape", ["ss"], ["ones"],
                    value=nh.from_array(np.array([1], np.int64))),
        h.make_node("Mul", ["ones", "m1"], ["neg"]),  # [-1, -1]
        h.make_node("Equal", ["s", "neg"], ["eq"]),
        h.make_node("Where", ["eq", "ones", "s"], ["shape"]),  # [batch, 1]
        h.make_node("Expand", ["row", "shape"], ["y"]),  # [batch, 4]
    ]
    g = h.make_graph(nodes, "expand_where",
                     [h.make_tensor_value_info("x", T.FLOAT, ["batch", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["batch", 4])],
                     [c("zero", 0), c("ax0", [0]), c("minus1", [-1]), c("m1", -1),
                      nh.from_array(np.arange(4, dtype=np.float32)[None], "row")])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, sys.argv[1] if len(sys.argv) > 1 else "expand_where.onnx")


if __name__ == "__main__":
    main()
