"""check_w8a8.py DIR OUT X: lowbit's W8A8 output of make_model.py's MLP
(DIR/weights.npz, input X, outputs OUT/h3.npy and OUT/y.npy) against a numpy
model written from the definitions, bit for bit:

  weights (lib/Quant/OutlierSplit.h, no outliers): per output row
    c_w = max |W[r, :]|, Wq = rint(127 W / c_w) (ties to even, computed as
    (127 * w) / c_w in float32), s_w = c_w / 127;
  activations (runtime/src/kernels/MatmulW8A8.h): per row a = max |x|,
    q = rint(x * (127 / a)) clamped to [-127, 127], s_x = a / 127;
  y = float32(sum q * Wq, exact in int64) * (s_x * s_w).

Layer 1 is checked from X (then + b1 and relu, both exact in float32),
layer 2 from lowbit's own h3, so a difference names its layer. Every step is
one IEEE float32 operation in both, so the bound is 0: any difference means
the compiler or a kernel computes something else."""
import sys

import numpy as np

f32 = np.float32


def quantize_weight(w):  # w [K, N] as ONNX MatMul holds it -> codes [N, K], scales [N]
    rows = w.T.astype(f32)
    cw = np.abs(rows).max(axis=1).astype(f32)
    wq = np.rint((f32(127) * rows) / cw[:, None]).clip(-127, 127).astype(np.int64)
    return wq, (cw / f32(127)).astype(f32)


def w8a8(x, w):
    wq, sw = quantize_weight(w)
    a = np.abs(x).max(axis=1).astype(f32)
    q = np.rint(x * (f32(127) / a)[:, None]).clip(-127, 127).astype(np.int64)
    acc = q @ wq.T  # exact: |acc| <= 127 * 127 * K
    return (acc.astype(f32) * ((a / f32(127))[:, None] * sw[None, :])).astype(f32)


def main() -> int:
    weights = np.load(f"{sys.argv[1]}/weights.npz")
    out, x = sys.argv[2], np.load(sys.argv[3])
    h3, y = np.load(f"{out}/h3.npy"), np.load(f"{out}/y.npy")
    want_h3 = np.maximum(w8a8(x, weights["W1"]) + weights["b1"], f32(0))
    want_y = w8a8(h3, weights["W2"])
    ok = True
    for name, got, want in (("layer 1", h3, want_h3), ("layer 2", y, want_y)):
        same = np.array_equal(got.view(np.uint32), want.view(np.uint32))
        ok &= same
        print(f"{name}: {'exact' if same else 'DIFFERENT'}"
              + ("" if same else f" ({int((got != want).sum())} of {got.size}, max {np.abs(got - want).max():.3g})"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
