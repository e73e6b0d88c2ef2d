// lowbit-outlier-split's errors name the option, the file or the weight.
// RUN: not lowbit-opt %s --lowbit-outlier-split 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: lowbit-outlier-split: needs calibration statistics (calib-stats=FILE)
// RUN: %python %S/Inputs/calib_stats.py %t.k32 w:w:32:identity --no-gram
// RUN: not lowbit-opt %s --lowbit-outlier-split="calib-stats=%t.k32 threshold=0" 2>&1 | FileCheck %s --check-prefix=THRESHOLD
// THRESHOLD: error: lowbit-outlier-split: threshold must be positive, got 0
// RUN: %python %S/Inputs/calib_stats.py %t.truncated w:w:32:identity --no-gram --truncate 5
// RUN: not lowbit-opt %s --lowbit-outlier-split="calib-stats=%t.truncated" 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: error: lowbit-outlier-split: '{{.*}}': truncated or corrupt
// A weight the statistics lack (or with another K) is an error on its matmul.
// RUN: %python %S/Inputs/calib_stats.py %t.other other:other:32:identity --no-gram
// RUN: lowbit-opt %s --lowbit-outlier-split="calib-stats=%t.other" -verify-diagnostics -o /dev/null
// RUN: %python %S/Inputs/calib_stats.py %t.k64 w:w:64:identity --no-gram
// RUN: lowbit-opt %s --lowbit-outlier-split="calib-stats=%t.k64" -verify-diagnostics -o /dev/null
// RUN: lowbit-opt %s --lowbit-outlier-split="calib-stats=%t.k32" -o /dev/null

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
#v = affine_map<(m, k) -> (m, k)>
#g = affine_map<(m, k) -> (k)>
func.func @random(%input: tensor<?x32xf32>) -> tensor<?x1xf32> {
  %w = arith.constant dense_resource<w> : tensor<32x1xf32>
  %gamma = arith.constant dense<1.0> : tensor<32xf32>
  %c0n = arith.constant 0 : index
  %n = tensor.dim %input, %c0n : tensor<?x32xf32>
  %e = tensor.empty(%n) : tensor<?x32xf32>
  %x = linalg.generic {indexing_maps = [#v, #g, #v], iterator_types = ["parallel", "parallel"]}
      ins(%input, %gamma : tensor<?x32xf32>, tensor<32xf32>) outs(%e : tensor<?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<?x32xf32>
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x32xf32>
  %empty = tensor.empty(%rows) : tensor<?x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x1xf32>) -> tensor<?x1xf32>
  // expected-error @+1 {{lowbit-outlier-split: no statistics with K = 32 for weight 'w'}}
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
      w: "0x040000006CBF003E7F4607BEBDF2233FDFD5D63DA12109BFFD22B93E79E9A63FE673723FFE2734BF55F9A1BFEA8E1FBF6E45293D4ECD14C0EC0A60BE037A9FBFE0753BBF8F540BBF18F2A1BE3DC1D23E1471853F979E03BE46E8AE3F334A2ABF21F9B33ED249673F8589C03DF8553EBF32F66BBF0A5BEABED57A613E2B3B81BF1F3256BE"
    }
  }
#-}
