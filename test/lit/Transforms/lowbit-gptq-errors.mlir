// Bad calibration statistics: an error naming the weight or the file, never a crash.
// RUN: %python %S/Inputs/calib_stats.py %t.other other:other:32:identity
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.other" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: lowbit-gptq: the calibration statistics have no input for weight 'w'
// RUN: %python %S/Inputs/calib_stats.py %t.k64 w:w:64:identity
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.k64" 2>&1 | FileCheck %s --check-prefix=KMISMATCH
// KMISMATCH: error: lowbit-gptq: weight 'w' has K = 32 but its calibrated input 'w' has 64 channels
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.does-not-exist" 2>&1 | FileCheck %s --check-prefix=UNREADABLE
// UNREADABLE: error: lowbit-gptq: cannot read calibration statistics '{{.*}}does-not-exist': No such file or directory
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0" 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: lowbit-gptq: needs calibration statistics with X^T X (calib-stats=FILE)
// RUN: %python %S/Inputs/calib_stats.py %t.nogram w:w:32:identity --no-gram
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.nogram" 2>&1 | FileCheck %s --check-prefix=NOGRAM
// NOGRAM: error: lowbit-gptq: '{{.*}}' has no X^T X (it was saved for the importance matrix only); calibrate again with --method gptq or awq
// RUN: %python %S/Inputs/calib_stats.py %t.truncated w:w:32:identity --truncate 5
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.truncated" 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: error: lowbit-gptq: '{{.*}}': truncated or corrupt: observer 0 ('w') X^T X needs 2112 bytes, 2107 left
// RUN: %python %S/Inputs/calib_stats.py %t.v2 w:w:32:identity --version 2
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%t.v2" 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: error: lowbit-gptq: '{{.*}}': statistics file version 2, this lowbit reads version 1
// RUN: not lowbit-opt %s --lowbit-gptq="format=q8_0 calib-stats=%s" 2>&1 | FileCheck %s --check-prefix=NOTSTATS
// NOTSTATS: error: lowbit-gptq: '{{.*}}' is not a lowbit calibration statistics file (no LBCALIB1 header)
//
// lowbit-quantize-weights reads the same files for the importance (no X^T X needed).
// RUN: not lowbit-opt %s --lowbit-quantize-weights="format=q8_0 calib-stats=%t.other" 2>&1 | FileCheck %s --check-prefix=QW-MISSING
// QW-MISSING: error: lowbit-quantize-weights: the calibration statistics have no input for weight 'w'
// RUN: not lowbit-opt %s --lowbit-quantize-weights="format=q8_0 calib-stats=%t.k64" 2>&1 | FileCheck %s --check-prefix=QW-KMISMATCH
// QW-KMISMATCH: error: lowbit-quantize-weights: weight 'w' has K = 32 but its calibrated input 'w' has 64 channels
// RUN: lowbit-opt %s --lowbit-quantize-weights="format=q8_0 calib-stats=%t.nogram report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=QW-IMPORTANCE
// QW-IMPORTANCE: [1/1] w: 1x32 f32 -> q8_0 (8.50 bits per weight, importance from calibration)
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
