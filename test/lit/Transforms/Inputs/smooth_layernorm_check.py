#!/usr/bin/env python3
"""Checks that lowbit-smooth's fold into a LayerNorm with a bias keeps the
float model.

    smooth_layernorm_check.py BEFORE.mlir AFTER.mlir K

BEFORE is gptq_case.py --layernorm (y = (x * 2 + 0.5) W, W the blob `w`,
[K, N]); AFTER is lowbit-smooth with exclude=w, so W' = diag(s) W stays
float and the norm reads the blobs `w.smooth_norm` (2 / s) and
`w.smooth_norm_bias` (0.5 / s). Compares y for random x. Relative bound
1e-5: a few fp32 roundings per product on O(1) values, against O(1) errors
if beta were left unscaled (0.5 (1 - 1/s) per channel).
"""
import re
import sys

import numpy as np


def blob(text: str, name: str) -> np.ndarray:
    m = re.search(r'(?<![\w.])' + re.escape(name) + r': "0x04000000([0-9A-F]*)"', text)
    if not m:
        raise SystemExit(f"smooth_layernorm_check.py: no blob '{name}'")
    return np.frombuffer(bytes.fromhex(m.group(1)), dtype="<f4").astype(np.float64)


def main() -> int:
    before, after, k = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3])
    x = np.random.default_rng(5).standard_normal((8, k))
    y0 = (x * 2.0 + 0.5) @ blob(before, "w").reshape(k, -1)
    gamma, beta = blob(after, "w.smooth_norm"), blob(after, "w.smooth_norm_bias")
    if np.allclose(beta, 0.5):
        print("smooth_layernorm_check.py: beta unchanged (not folded)")
        return 1
    y1 = (x * gamma + beta) @ blob(after, "w").reshape(k, -1)
    err = np.abs(y1 - y0).max() / np.abs(y0).max()
    print(f"max |y_after - y_before| / max |y| = {err:.3g} (bound 1e-5)")
    return 0 if err <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
