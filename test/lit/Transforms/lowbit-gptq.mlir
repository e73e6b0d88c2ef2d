// RUN: %python %S/Inputs/calib_stats.py %t.identity w:w:32:identity
// RUN: lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.identity" | FileCheck %s --check-prefix=Q8
// RUN: lowbit-opt %s --lowbit-gptq="format=int8 calib-stats=%t.identity act-order=false" | FileCheck %s --check-prefix=INT8
// RUN: lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.identity report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
//
// Correlated inputs (X^T X / rows = 0.9^|i-j|) and random N(0, 1) weights
// [64, 16]: GPTQ's proxy loss tr((W - Q) H (W - Q)^T) must be at most half of
// round-to-nearest's. Measured 0.20-0.27 for int4 per channel, int4 g32,
// q4_0, int3 and q8_0; error feedback that did nothing would give 1.
// RUN: %python %S/Inputs/gptq_case.py 16 64 > %t.random.mlir
// RUN: %python %S/Inputs/calib_stats.py %t.correlated w:w:64:correlated
// RUN: lowbit-opt %t.random.mlir --lowbit-gptq="format=q4_0 calib-stats=%t.correlated report=true" -o /dev/null 2>&1 | %python %S/Inputs/gptq_case.py --check 0.5
// RUN: lowbit-opt %t.random.mlir --lowbit-gptq="format={int4, group = 32} calib-stats=%t.correlated report=true" -o /dev/null 2>&1 | %python %S/Inputs/gptq_case.py --check 0.5
// RUN: lowbit-opt %t.random.mlir --lowbit-gptq="format=int3 calib-stats=%t.correlated report=true act-order=false block-size=16" -o /dev/null 2>&1 | %python %S/Inputs/gptq_case.py --check 0.5

// With H proportional to I there is no error feedback, so GPTQ's codes are
// round-to-nearest's: the same bytes as lowbit-quantize-weights'
// (lowbit-quantize-weights.mlir), for weights on the q8_0 grid
// W[k] = q_k / 4, q = 0, 1, ..., 30, 127: scale 0.25 (fp16 0x3400), codes q.
// Q8-LABEL: func.func @matmul
// Q8-SAME: (%[[X:.*]]: tensor<?x32xf32>)
// Q8: %[[W:.*]] = lowbit.constant dense_resource<w.packed> : tensor<34xi8> -> !lowbit.packed<1x32, q8_0>
// Q8: %[[Y:.*]] = lowbit.matmul %[[X]], %[[W]] : tensor<?x32xf32>, !lowbit.packed<1x32, q8_0> -> tensor<?x1xf32>
// Q8: return %[[Y]]
// Q8: w.packed: "0x400000000034000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E7F"

// int8 per channel: the RTN scale max|W| / 127 = 0.25 and codes q + 128.
// INT8-LABEL: func.func @matmul
// INT8: %[[S:.*]] = arith.constant dense<2.500000e-01> : tensor<1x1xf32>
// INT8: lowbit.matmul %{{.*}}, %{{.*}} scales(%[[S]] : tensor<1x1xf32>) : tensor<?x32xf32>, !lowbit.packed<1x32, int8> -> tensor<?x1xf32>
// INT8: w.packed: "0x40000000808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9EFF"

// On the grid both losses are 0.
// REPORT: [1/1] w: 1x32 q8_0: rtn loss 0 -> gptq loss 0
// REPORT: lowbit-gptq: 1 weights in
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
