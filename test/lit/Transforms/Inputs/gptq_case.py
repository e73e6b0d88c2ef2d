#!/usr/bin/env python3
"""A random weight matmul for lowbit-gptq's lit test, as MLIR on stdout.

    gptq_case.py N K > model.mlir   (x[?, K] * W[K, N], W ~ N(0, 1), seed 0)
    gptq_case.py N K --norm > model.mlir   (the same after x * gamma, gamma = 1: lowbit-awq)
    gptq_case.py N K --layernorm > model.mlir   (after x * gamma + beta, gamma = 2, beta = 0.5:
                                            LayerNorm's scale and bias)
    gptq_case.py N K --mlp > model.mlir    (x = g * (u W_up), W_up [16, K] the weight `up`:
                                            down_proj's input, for lowbit-awq's fold into up)
    gptq_case.py --check BOUND < report   (every GPTQ loss <= BOUND * RTN's)

--check reads lowbit-gptq's report lines ("rtn loss A -> gptq loss B") and
fails unless each B <= BOUND * A and there is at least one line.
"""
import re
import sys

import numpy as np

MODEL = """#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
#v = affine_map<(m, k) -> (m, k)>
#g = affine_map<(m, k) -> (k)>
func.func @random(%input: tensor<?x{K}xf32>) -> tensor<?x{N}xf32> {{
  %w = arith.constant dense_resource<w> : tensor<{K}x{N}xf32>
{NORM}
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x{K}xf32>
  %empty = tensor.empty(%rows) : tensor<?x{N}xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x{N}xf32>) -> tensor<?x{N}xf32>
  %y = linalg.generic {{indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%x, %w : tensor<?x{K}xf32>, tensor<{K}x{N}xf32>) outs(%init : tensor<?x{N}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<?x{N}xf32>
  return %y : tensor<?x{N}xf32>
}}
{{-#
  dialect_resources: {{
    builtin: {{
      w: "0x04000000{HEX}"
    }}
  }}
#-}}
"""


def check(bound: float) -> int:
    pairs = [(float(a), float(b)) for a, b in re.findall(r"rtn loss (\S+) -> gptq loss (\S+)", sys.stdin.read())]
    if not pairs:
        print("gptq_case.py: no report lines", file=sys.stderr)
        return 1
    for a, b in pairs:
        print(f"rtn {a:g} gptq {b:g} ratio {b / a:.3f} (bound {bound})")
        if not b <= bound * a:
            return 1
    return 0


NORM = """  %gamma = arith.constant dense<1.0> : tensor<{K}xf32>
  %c0n = arith.constant 0 : index
  %n = tensor.dim %input, %c0n : tensor<?x{K}xf32>
  %e = tensor.empty(%n) : tensor<?x{K}xf32>
  %x = linalg.generic {{indexing_maps = [#v, #g, #v], iterator_types = ["parallel", "parallel"]}}
      ins(%input, %gamma : tensor<?x{K}xf32>, tensor<{K}xf32>) outs(%e : tensor<?x{K}xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  }} -> tensor<?x{K}xf32>
"""


MLP = """  %up = arith.constant dense_resource<up> : tensor<16x{K}xf32>
  %zu = arith.constant 0.0 : f32
  %c0u = arith.constant 0 : index
  %nu = tensor.dim %input, %c0u : tensor<?x{K}xf32>
  %eu = tensor.empty(%nu) : tensor<?x{K}xf32>
  %iu = linalg.fill ins(%zu : f32) outs(%eu : tensor<?x{K}xf32>) -> tensor<?x{K}xf32>
  %upx = linalg.generic {{indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%u, %up : tensor<?x16xf32>, tensor<16x{K}xf32>) outs(%iu : tensor<?x{K}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<?x{K}xf32>
  %x = linalg.generic {{indexing_maps = [#v, #v, #v], iterator_types = ["parallel", "parallel"]}}
      ins(%input, %upx : tensor<?x{K}xf32>, tensor<?x{K}xf32>) outs(%eu : tensor<?x{K}xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  }} -> tensor<?x{K}xf32>
"""

LAYERNORM = """  %gamma = arith.constant dense<2.0> : tensor<{K}xf32>
  %beta = arith.constant dense<0.5> : tensor<{K}xf32>
  %c0n = arith.constant 0 : index
  %n = tensor.dim %input, %c0n : tensor<?x{K}xf32>
  %e = tensor.empty(%n) : tensor<?x{K}xf32>
  %x = linalg.generic {{indexing_maps = [#v, #g, #g, #v], iterator_types = ["parallel", "parallel"]}}
      ins(%input, %gamma, %beta : tensor<?x{K}xf32>, tensor<{K}xf32>, tensor<{K}xf32>) outs(%e : tensor<?x{K}xf32>) {{
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %p, %c : f32
    linalg.yield %q : f32
  }} -> tensor<?x{K}xf32>
"""


def main() -> int:
    if sys.argv[1] == "--check":
        return check(float(sys.argv[2]))
    n, k = int(sys.argv[1]), int(sys.argv[2])
    w = np.random.default_rng(0).standard_normal((k, n)).astype("<f4")
    norm = NORM.format(K=k) if "--norm" in sys.argv else LAYERNORM.format(K=k) if "--layernorm" in sys.argv else "  %x = tensor.cast %input : tensor<?x{K}xf32> to tensor<?x{K}xf32>\n".format(K=k)
    model = MODEL.format(N=n, K=k, HEX=w.tobytes().hex().upper(), NORM=norm)
    if "--mlp" in sys.argv:
        up = np.random.default_rng(1).standard_normal((16, k)).astype("<f4")
        model = model.replace("(%input: tensor<?x{}xf32>)".format(k), "(%input: tensor<?x{}xf32>, %u: tensor<?x16xf32>)".format(k))
        model = model.replace(norm, MLP.format(K=k))
        model = model.replace('      w: "0x04000000', '      up: "0x04000000{}",\n      w: "0x04000000'.format(up.tobytes().hex().upper()))
    sys.stdout.write(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
