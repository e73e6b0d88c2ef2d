// RUN: lowbit-opt %s --split-input-file --lowbit-quantize-weights="format=q8_0" | FileCheck %s --check-prefix=Q8
// RUN: lowbit-opt %s --split-input-file --lowbit-quantize-weights="format=int8" | FileCheck %s --check-prefix=INT8
// RUN: lowbit-opt %s --split-input-file --lowbit-quantize-weights="format=q8_0 exclude=.*" | FileCheck %s --check-prefix=EXCLUDED
// RUN: lowbit-opt %s --split-input-file --lowbit-quantize-weights="format=q4_k" | FileCheck %s --check-prefix=UNFIT
// RUN: lowbit-opt %s --split-input-file --lowbit-quantize-weights="format=q8_0 measure-error=true" | FileCheck %s --check-prefix=ERROR
// RUN: lowbit-opt %s --split-input-file --lowbit-quantize-weights="format={int4, group = 64}" | FileCheck %s --check-prefix=RAGGED

// A matmul x[?, 32] * W[32, 1] whose weights lie exactly on the q8_0 grid:
// W[k] = q_k / 4 with q = 0, 1, ..., 30, 127, so the block's scale is
// max|W| / 127 = 0.25 (fp16 0x3400) and the codes are q itself. The packed
// bytes are therefore known exactly: 00 34 (the scale, little-endian), then
// 00 01 02 ... 1E 7F.

// Q8-LABEL: func.func @matmul
// Q8-SAME: (%[[X:.*]]: tensor<?x32xf32>)
// Q8: %[[W:.*]] = lowbit.constant dense_resource<w.packed> : tensor<34xi8> -> !lowbit.packed<1x32, q8_0>
// Q8: %[[Y:.*]] = lowbit.matmul %[[X]], %[[W]] : tensor<?x32xf32>, !lowbit.packed<1x32, q8_0> -> tensor<?x1xf32>
// Q8: return %[[Y]]
// Q8: w.packed: "0x400000000034000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E7F"

// int8 per channel: one scale, max|W| / 127 = 0.25, and codes q + 128.
// INT8-LABEL: func.func @matmul
// INT8: %[[S:.*]] = arith.constant dense<2.500000e-01> : tensor<1x1xf32>
// INT8: lowbit.matmul %{{.*}}, %{{.*}} scales(%[[S]] : tensor<1x1xf32>) : tensor<?x32xf32>, !lowbit.packed<1x32, int8> -> tensor<?x1xf32>
// INT8: w.packed: "0x40000000808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9EFF"

// measure-error: these weights are on the q8_0 grid, so they decode exactly.
// ERROR-LABEL: func.func @matmul
// ERROR: lowbit.matmul %{{.*}}, %{{.*}} {lowbit.relative_error = 0.000000e+00 : f64}

// EXCLUDED-LABEL: func.func @matmul
// EXCLUDED-NOT: lowbit.matmul
// EXCLUDED: linalg.generic

// A 32-wide row does not fill a 256-weight q4_k block: the weight stays f32.
// UNFIT-LABEL: func.func @matmul
// UNFIT-NOT: lowbit.matmul
// UNFIT: linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @matmul(%x: tensor<?x32xf32>) -> tensor<?x1xf32> {
  %w = arith.constant dense_resource<w> : tensor<32x1xf32>
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x32xf32>
  %empty = tensor.empty(%rows) : tensor<?x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x1xf32>) -> tensor<?x1xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x32xf32>, tensor<32x1xf32>) outs(%init : tensor<?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32>
  return %y : tensor<?x1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x04000000000000000000803E0000003F0000403F0000803F0000A03F0000C03F0000E03F0000004000001040000020400000304000004040000050400000604000007040000080400000884000009040000098400000A0400000A8400000B0400000B8400000C0400000C8400000D0400000D8400000E0400000E8400000F0400000FE41"
    }
  }
#-}

// -----

// The transposed form (Gemm with transB = 1: W stored [N, K]) and a batch
// dimension on the activations; a weight that is not a constant is left alone.
// Q8-LABEL: func.func @transposed
// Q8: lowbit.matmul %{{.*}}, %{{.*}} : tensor<2x?x32xf32>, !lowbit.packed<1x32, q8_0> -> tensor<2x?x1xf32>
// measure-error: W = 0.5 everywhere has code 127 and the scale 0.5 / 127
// rounded to fp16, 0x1C08 = 0.003936767578125, so every weight decodes to
// 127 * 0.003936767578125 = 0.499969482421875: relative error 2^-14.
// ERROR-LABEL: func.func @transposed
// ERROR: lowbit.matmul %{{.*}}, %{{.*}} {lowbit.relative_error = 6.103515625E-5 : f64}
// Q8-LABEL: func.func @not_constant
// Q8-NOT: lowbit.matmul
#xt = affine_map<(b, m, n, k) -> (b, m, k)>
#wt = affine_map<(b, m, n, k) -> (n, k)>
#yt = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @transposed(%x: tensor<2x?x32xf32>, %init: tensor<2x?x1xf32>) -> tensor<2x?x1xf32> {
  %w = arith.constant dense<0.5> : tensor<1x32xf32>
  %zero = arith.constant 0.0 : f32
  %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<2x?x1xf32>) -> tensor<2x?x1xf32>
  %y = linalg.generic {indexing_maps = [#xt, #wt, #yt], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x?x32xf32>, tensor<1x32xf32>) outs(%filled : tensor<2x?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x?x1xf32>
  return %y : tensor<2x?x1xf32>
}
func.func @not_constant(%x: tensor<2x?x32xf32>, %w: tensor<1x32xf32>, %init: tensor<2x?x1xf32>) -> tensor<2x?x1xf32> {
  %zero = arith.constant 0.0 : f32
  %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<2x?x1xf32>) -> tensor<2x?x1xf32>
  %y = linalg.generic {indexing_maps = [#xt, #wt, #yt], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x?x32xf32>, tensor<1x32xf32>) outs(%filled : tensor<2x?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x?x1xf32>
  return %y : tensor<2x?x1xf32>
}

// -----

// K = 96 at group 64 (as SmolLM2's K = 576 at group 128): one group of 64,
// one of 32. Group 0 holds (c - 8) / 2 for c = k mod 16, so its scale is
// 4 / 8 = 0.5 and its codes c (bytes 0x10 0x32 ... 0xFE, four times); group
// 1 holds (c - 8) / 4 for c = 15 - i mod 16: scale 0.25, bytes 0xEF 0xCD ...
// 0x01 twice. The row is packed as 128 codes (64 bytes): the last 16 bytes
// are the zero padding codes.
// Q8-LABEL: func.func @short_last_group
// RAGGED-LABEL: func.func @short_last_group
// RAGGED: lowbit.constant {{.*}} : tensor<64xi8> -> !lowbit.packed<1x96, int4, group = 64>
// RAGGED: %[[S:.*]] = arith.constant dense<{{\[\[}}5.000000e-01, 2.500000e-01]]> : tensor<1x2xf32>
// RAGGED: lowbit.matmul %{{.*}}, %{{.*}} scales(%[[S]] : tensor<1x2xf32>) : tensor<2x?x96xf32>, !lowbit.packed<1x96, int4, group = 64> -> tensor<2x?x1xf32>
// RAGGED: "0x400000001032547698BADCFE1032547698BADCFE1032547698BADCFE1032547698BADCFEEFCDAB8967452301EFCDAB896745230100000000000000000000000000000000"
#xr = affine_map<(b, m, n, k) -> (b, m, k)>
#wr = affine_map<(b, m, n, k) -> (n, k)>
#yr = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @short_last_group(%x: tensor<2x?x96xf32>, %init: tensor<2x?x1xf32>) -> tensor<2x?x1xf32> {
  %w = arith.constant dense<[[-4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 1.75, 1.5, 1.25, 1.0, 0.75, 0.5, 0.25, 0.0, -0.25, -0.5, -0.75, -1.0, -1.25, -1.5, -1.75, -2.0, 1.75, 1.5, 1.25, 1.0, 0.75, 0.5, 0.25, 0.0, -0.25, -0.5, -0.75, -1.0, -1.25, -1.5, -1.75, -2.0]]> : tensor<1x96xf32>
  %zero = arith.constant 0.0 : f32
  %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<2x?x1xf32>) -> tensor<2x?x1xf32>
  %y = linalg.generic {indexing_maps = [#xr, #wr, #yr], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x?x96xf32>, tensor<1x96xf32>) outs(%filled : tensor<2x?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x?x1xf32>
  return %y : tensor<2x?x1xf32>
}
