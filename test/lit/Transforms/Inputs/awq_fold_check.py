#!/usr/bin/env python3
"""Checks that lowbit-awq's fold into a previous linear keeps the float model.

    awq_fold_check.py BEFORE.mlir AFTER.mlir K

Reads the blobs `up` ([16, K]) and `w` ([K, N]) of the model gptq_case.py
--mlp writes, before and after lowbit-awq with clip=false, and compares
y = (g * (u W_up)) W for random u, g: the pass multiplies W's rows by s and
divides W_up's columns (the previous linear's output rows) by s, which
changes y only by float rounding. Relative bound 1e-5: a handful of fp32
roundings per product on O(1) values, against O(1) errors if s is applied
on one side only or to the wrong channels.
"""
import re
import sys

import numpy as np


def blob(text: str, name: str) -> np.ndarray:
    m = re.search(r'\b' + name + r': "0x04000000([0-9A-F]*)"', text)
    if not m:
        raise SystemExit(f"awq_fold_check.py: no blob '{name}'")
    return np.frombuffer(bytes.fromhex(m.group(1)), dtype="<f4").astype(np.float64)


def main() -> int:
    before, after, k = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3])
    rng = np.random.default_rng(5)
    u, g = rng.standard_normal((8, 16)), rng.standard_normal((8, k))

    def forward(text: str) -> np.ndarray:
        up, w = blob(text, "up").reshape(16, k), blob(text, "w").reshape(k, -1)
        return (g * (u @ up)) @ w

    y0, y1 = forward(before), forward(after)
    if np.array_equal(blob(before, "up"), blob(after, "up")):
        print("awq_fold_check.py: W_up unchanged (no fold)")
        return 1
    err = np.abs(y1 - y0).max() / np.abs(y0).max()
    print(f"max |y_after - y_before| / max |y| = {err:.3g} (bound 1e-5)")
    return 0 if err <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
