#!/usr/bin/env bash
# lowbit's main job on the example model the repository carries
# (examples/tiny-llama): compile it as float and at q4_k_m, run both on the
# same tokens, and print their outputs side by side with the size saved.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/bin"
work="$root/build/example"
mkdir -p "$work"

/usr/bin/python3 "$root/examples/tiny-llama/make_model.py" "$work/tiny-llama.onnx"
/usr/bin/python3 -c "import numpy as np; np.save('$work/input_ids.npy', np.array([[1, 7, 42, 300, 511]], dtype=np.int64))"

"$bin/lowbit-compile" "$work/tiny-llama.onnx" -o "$work/tiny-llama-f32.lbm"
"$bin/lowbit-compile" "$work/tiny-llama.onnx" --quant q4_k_m -o "$work/tiny-llama-q4_k_m.lbm"
for variant in f32 q4_k_m; do
  mkdir -p "$work/out-$variant"
  "$bin/lowbit-run" "$work/tiny-llama-$variant.lbm" --input input_ids="$work/input_ids.npy" \
    --output-dir "$work/out-$variant"
done

/usr/bin/python3 - "$work" <<'PY'
import os, sys
import numpy as np
work = sys.argv[1]
f32 = np.load(f"{work}/out-f32/logits.npy")
q4 = np.load(f"{work}/out-q4_k_m/logits.npy")
print("\nlogits of the last token, first 6 of 512:")
print("  float  ", np.array2string(f32[0, -1, :6], precision=4))
print("  q4_k_m ", np.array2string(q4[0, -1, :6], precision=4))
rel = np.linalg.norm(q4 - f32) / np.linalg.norm(f32)
agree = np.mean(f32.argmax(-1) == q4.argmax(-1))
size = {v: os.path.getsize(f"{work}/tiny-llama-{v}.lbm") for v in ("f32", "q4_k_m")}
print(f"relative error {rel:.4f}, top-1 agreement {agree:.0%}")
print(f"artifact {size['f32'] / 1e6:.2f} MB -> {size['q4_k_m'] / 1e6:.2f} MB "
      f"({size['f32'] / size['q4_k_m']:.1f}x smaller)")
PY
