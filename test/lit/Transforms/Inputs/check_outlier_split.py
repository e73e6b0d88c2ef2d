#!/usr/bin/env python3
"""Checks lowbit-outlier-split's float part against the input weight.

    check_outlier_split.py IN.mlir OUT.mlir N K [--transposed]

Reads the blobs back from the MLIR text: the weight `w` of IN ([K, N], or
[N, K] with --transposed), and `w.outlier_channels`, `w.outlier_weight`
(the same layout, |O| in place of K) and `w.regular_mask` of OUT. The outlier
weight must be exactly W's outlier columns and the mask 0 exactly on them.
"""
import re
import sys

import numpy as np


def blob(text: str, name: str, dtype) -> np.ndarray:
    hexdata = re.search(r"\b" + re.escape(name) + r': "0x([0-9A-Fa-f]+)"', text).group(1)
    return np.frombuffer(bytes.fromhex(hexdata)[4:], dtype)  # 4 bytes: the alignment


def main() -> int:
    src, out = open(sys.argv[1]).read(), open(sys.argv[2]).read()
    n, k, transposed = int(sys.argv[3]), int(sys.argv[4]), "--transposed" in sys.argv
    w = blob(src, "w", np.float32).reshape((n, k) if transposed else (k, n))
    rows = w if transposed else w.T  # [N, K]
    channels = blob(out, "w.outlier_channels", np.int64)
    part = blob(out, "w.outlier_weight", np.float32).reshape((n, -1) if transposed else (-1, n))
    part = part if transposed else part.T  # [N, |O|]
    mask = blob(out, "w.regular_mask", np.float32)
    ok = np.array_equal(part, rows[:, channels]) and np.array_equal(np.flatnonzero(mask == 0), channels)
    print("outliers", channels.tolist(), "ok" if ok else "WRONG")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
