"""check_matmulnbits.py MODEL.onnx X.npy Y.npy: lowbit-run's output of a
com.microsoft MatMulNBits model against numpy, from the contrib op's
definition (ONNX Runtime's ContribOperators.md): B [N, K/block, block*bits/8]
uint8 with the low nibble first; W[n, k] = (q - zp) * scale, zp 4-bit packed
low nibble first per row (2^(bits-1) when absent, or float, one per block);
y = a @ W^T + bias. Within float32 rounding: gamma_(K+2) times the sum of
|terms| (Higham), which covers any summation order and the decode's one
rounding per weight."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load(sys.argv[1])
node = model.graph.node[0]
attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
K, N, bits, block = attrs["K"], attrs["N"], attrs["bits"], attrs["block_size"]
assert bits == 4
inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
inputs = list(node.input) + [""] * 6
b = inits[inputs[1]].reshape(N, -1)
q = np.stack([b & 15, b >> 4], axis=-1).reshape(N, K).astype(np.float64)
scales = inits[inputs[2]].reshape(N, K // block).astype(np.float64)
zp_name = inputs[3]
if not zp_name:
    zp = np.full((N, K // block), 8.0)
elif inits[zp_name].dtype == np.uint8:
    z = inits[zp_name].reshape(N, -1)
    zp = np.stack([z & 15, z >> 4], axis=-1).reshape(N, -1)[:, :K // block].astype(np.float64)
else:
    zp = inits[zp_name].reshape(N, K // block).astype(np.float64)
w = (q - np.repeat(zp, block, axis=1)) * np.repeat(scales, block, axis=1)
bias = inits[inputs[5]].astype(np.float64) if inputs[5] else np.zeros(N)
x = np.load(sys.argv[2]).astype(np.float64)
y = np.load(sys.argv[3])
ref = x @ w.T + bias
u = 2.0 ** -24
bound = (K + 2) * u / (1 - (K + 2) * u) * (np.abs(x) @ np.abs(w.T) + np.abs(bias))
assert y.shape == ref.shape, (y.shape, ref.shape)
err = np.abs(y - ref)
ratio = (err / bound).max()
print("%s: max abs error %.3g, %.3f of the rounding bound" % ("ok" if ratio <= 1 else "FAIL", err.max(), ratio))
sys.exit(0 if ratio <= 1 else 1)
