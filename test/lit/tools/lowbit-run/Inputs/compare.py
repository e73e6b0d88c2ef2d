"""compare.py REF.npy OUT.npy TOLERANCE: the largest difference, relative to
the reference's largest magnitude, must be at most TOLERANCE."""
import sys

import numpy as np

ref, out, tolerance = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
assert out.shape == ref.shape and out.dtype == ref.dtype, (out.shape, out.dtype, ref.shape, ref.dtype)
error = float(np.abs(out - ref).max() / np.abs(ref).max())
print("relative error", "ok" if error <= tolerance else "TOO LARGE", error)
