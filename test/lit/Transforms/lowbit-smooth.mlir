// lowbit-smooth on a random [64, 16] weight read through a norm's x * gamma
// (gamma = 1) with one salient input channel (calibration max |x_0| = 90,
// the others 3). SmoothQuant's scales (alpha 0.5) go into a new gamma blob
// and the weight's columns, then the matmul is W8A8 (int8, a8). The
// numerics (s_j by hand, the fold) are lib/Quant's unit tests; here the
// report's range of s shows the salient channel's larger scale:
// s_j = sqrt(max|x_j| / max|W[:, j]|), max|W[:, j]| ~ 2 for N(0, 1) x 16.
// RUN: %python %S/Inputs/gptq_case.py 16 64 --norm > %t.norm.mlir
// RUN: %python %S/Inputs/gptq_case.py 16 64 > %t.plain.mlir
// RUN: %python %S/Inputs/calib_stats.py %t.salient w:w:64:salient --no-gram
// RUN: lowbit-opt %t.norm.mlir --lowbit-smooth="calib-stats=%t.salient report=true" 2>%t.report | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.report
// alpha = 0 divides by max|W[:, j]| only: the salient channel is not singled out.
// RUN: lowbit-opt %t.norm.mlir --lowbit-smooth="calib-stats=%t.salient report=true alpha=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ALPHA0
// An input that no norm makes is quantized unsmoothed.
// RUN: lowbit-opt %t.plain.mlir --lowbit-smooth="calib-stats=%t.salient report=true" 2>&1 | FileCheck %s --check-prefix=PLAIN
// Excluded weights stay float (and the norm still folds: W' x' = W x).
// RUN: lowbit-opt %t.norm.mlir --lowbit-smooth="calib-stats=%t.salient exclude=w" | FileCheck %s --check-prefix=EXCLUDED
// A LayerNorm with a bias (x * gamma + beta, gamma = 2, beta = 0.5, as
// MiniLM's): 1/s goes into gamma and beta; with the weight left float the
// model is unchanged up to fp32 rounding (smooth_layernorm_check.py, 1e-5).
// RUN: %python %S/Inputs/gptq_case.py 16 64 --layernorm > %t.ln.mlir
// RUN: lowbit-opt %t.ln.mlir --lowbit-smooth="calib-stats=%t.salient report=true" 2>&1 | FileCheck %s --check-prefix=LAYERNORM
// RUN: lowbit-opt %t.ln.mlir --lowbit-smooth="calib-stats=%t.salient exclude=w" -o %t.ln.out.mlir
// RUN: %python %S/Inputs/smooth_layernorm_check.py %t.ln.mlir %t.ln.out.mlir 64

// CHECK-LABEL: func.func @random
// CHECK: %[[G:.*]] = arith.constant dense_resource<w.smooth_norm> : tensor<64xf32>
// CHECK: %[[X:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[G]] : tensor<?x64xf32>, tensor<64xf32>)
// CHECK: %[[W:.*]] = lowbit.constant dense_resource<w.packed> : tensor<1024xi8> -> !lowbit.packed<16x64, int8, a8>
// CHECK: lowbit.matmul %[[X]], %[[W]] scales(%{{.*}} : tensor<16x1xf32>) : tensor<?x64xf32>, !lowbit.packed<16x64, int8, a8> -> tensor<?x16xf32>
// REPORT: [group 1/1] w (+0): smoothed, alpha 0.50, s in [{{0\.[0-9]+|1\.[0-9]+}}, {{[4-9]\.[0-9]+}}]
// REPORT: [1/1] w: 16x64 f32 -> int8, a8
// ALPHA0: [group 1/1] w (+0): smoothed, alpha 0.00, s in [{{0\.[0-9]+}}, {{[0-2]\.[0-9]+}}]
// PLAIN: [group 1/1] w: not smoothed (its input is not a norm's gamma multiply)
// PLAIN: [1/1] w: 16x64 f32 -> int8, a8
// PLAIN: lowbit.matmul %{{.*}} : tensor<?x64xf32>, !lowbit.packed<16x64, int8, a8>
// EXCLUDED: dense_resource<w.smooth_norm>
// EXCLUDED-NOT: lowbit.matmul
// LAYERNORM: [group 1/1] w (+0): smoothed, alpha 0.50
// LAYERNORM: [1/1] w: 16x64 f32 -> int8, a8
// LAYERNORM: %[[G:.*]] = arith.constant dense_resource<w.smooth_norm> : tensor<64xf32>
// LAYERNORM: %[[B:.*]] = arith.constant dense_resource<w.smooth_norm_bias> : tensor<64xf32>
// LAYERNORM: linalg.generic {{.*}} ins(%{{.*}}, %[[G]], %[[B]] : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>)
// LAYERNORM: lowbit.matmul
