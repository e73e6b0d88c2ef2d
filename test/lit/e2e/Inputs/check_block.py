"""check_block.py REF.npz OUTDIR: lowbit-run's logits and probs (OUTDIR/*.npy)
against numpy's float64 values of the same graph (make_block.py).

Bound, per logit: 8 * gamma_128 * sum_k |cat_k| |Wout_k|, gamma_n =
n u / (1 - n u), u = 2^-24. gamma_n times the sum of |terms| bounds the
float32 rounding of one dot product of length n in any order (Higham); the
last MatMul has 128 terms and every earlier stage (dot products of at most
128 terms, the norms, softmax, Gelu and the sigmoid gate, all well
conditioned at these magnitudes) adds at most about as much again, relative
to the same scale: 8 covers the chain with margin. Probabilities: 8 *
gamma_128, absolute (they lie in [0, 1]). A lowering mistake (a wrong axis,
mask, transpose, epsilon or Gelu form) moves the outputs by 1e-3 or more,
relative."""
import os
import sys

import numpy as np

U = 2.0 ** -24
gamma = lambda n: n * U / (1 - n * U)  # noqa: E731
ref = np.load(sys.argv[1])
logits = np.load(os.path.join(sys.argv[2], "logits.npy"))
probs = np.load(os.path.join(sys.argv[2], "probs.npy"))
assert logits.dtype == np.float32 and logits.shape == ref["logits"].shape, (logits.dtype, logits.shape)
assert probs.shape == ref["probs"].shape, probs.shape
err_l = np.abs(logits - ref["logits"])
ratio_l = (err_l / (8 * gamma(128) * ref["terms"])).max()
err_p = np.abs(probs - ref["probs"])
ratio_p = err_p.max() / (8 * gamma(128))
ok = ratio_l <= 1 and ratio_p <= 1
print("%s: logits max abs error %.3g (rel %.2e), %.3f of the bound; probs max abs error %.3g, %.3f of the bound"
      % ("ok" if ok else "FAIL", err_l.max(), err_l.max() / np.abs(ref["logits"]).max(), ratio_l, err_p.max(),
         ratio_p))
sys.exit(0 if ok else 1)
