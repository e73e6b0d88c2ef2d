"""Checks lowbit-run's outputs of the add model: y = x + w, total = sum(y)."""
import sys

import numpy as np

x = np.load(sys.argv[1])
out = sys.argv[2]
y = np.load(out + "/y.npy")
total = np.load(out + "/total.npy")
w = np.array([0.5, -1.0, 2.0, 100.0], dtype=np.float32)
assert y.dtype == np.float32 and y.shape == x.shape, (y.dtype, y.shape)
assert np.array_equal(y, x + w), (y, x + w)
assert total.shape == () and total.dtype == np.float32, (total.shape, total.dtype)
assert np.isclose(total, (x + w).sum(), rtol=1e-5), (total, (x + w).sum())
print("outputs ok", y.shape)
