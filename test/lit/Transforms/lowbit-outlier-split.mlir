// lowbit-outlier-split on a random [64, 16] weight whose input has one
// outlier channel in the calibration statistics (max |x_0| = 90, the others
// 3): channel 0 is gathered into a float matmul over W[:, 0], which
// accumulates into the W8A8 matmul of x with channel 0 zeroed (so the
// per-token scales ignore it). The split's numerics are lib/Quant's
// (outlierSplitMatmul); lowbit-compile's w8a8.test runs the result.
// RUN: %python %S/Inputs/gptq_case.py 16 64 > %t.mlir
// RUN: %python %S/Inputs/calib_stats.py %t.salient w:w:64:salient --no-gram
// RUN: lowbit-opt %t.mlir --lowbit-outlier-split="calib-stats=%t.salient report=true" 2>%t.report | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.report
// Above every channel's maximum: no outliers, only the W8A8 matmul.
// RUN: lowbit-opt %t.mlir --lowbit-outlier-split="calib-stats=%t.salient threshold=100 report=true" 2>&1 | FileCheck %s --check-prefix=NONE
// Below every channel's maximum: all 64 in float.
// RUN: lowbit-opt %t.mlir --lowbit-outlier-split="calib-stats=%t.salient threshold=1 report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ALL
// RUN: lowbit-opt %t.mlir --lowbit-outlier-split="calib-stats=%t.salient exclude=w report=true" 2>&1 | FileCheck %s --check-prefix=EXCLUDED
// The float part is exactly W's outlier columns, in both weight layouts
// ([K, N] as MatMul has it, [N, K] as Gemm with transB).
// RUN: lowbit-opt %t.mlir --lowbit-outlier-split="calib-stats=%t.salient" -o %t.out.mlir
// RUN: %python %S/Inputs/check_outlier_split.py %t.mlir %t.out.mlir 16 64 | FileCheck %s --check-prefix=BLOBS
// RUN: sed -e 's/(m, n, k) -> (k, n)/(m, n, k) -> (n, k)/' -e 's/tensor<64x16xf32>/tensor<16x64xf32>/g' %t.mlir > %t.transposed.mlir
// RUN: lowbit-opt %t.transposed.mlir --lowbit-outlier-split="calib-stats=%t.salient" -o %t.transposed.out.mlir
// RUN: %python %S/Inputs/check_outlier_split.py %t.transposed.mlir %t.transposed.out.mlir 16 64 --transposed | FileCheck %s --check-prefix=BLOBS
// BLOBS: outliers [0] ok

// CHECK-LABEL: func.func @random
// CHECK-SAME: (%[[IN:.*]]: tensor<?x64xf32>)
// CHECK: %[[IDX:.*]] = arith.constant dense_resource<w.outlier_channels> : tensor<1xi64>
// CHECK: %[[XO:.*]] = linalg.generic {{.*}} ins(%[[IDX]] : tensor<1xi64>) outs(%{{.*}} : tensor<?x1xf32>)
// CHECK: tensor.extract
// CHECK: %[[WO:.*]] = arith.constant dense_resource<w.outlier_weight> : tensor<1x16xf32>
// CHECK: %[[MASK:.*]] = arith.constant dense_resource<w.regular_mask> : tensor<64xf32>
// CHECK: %[[XR:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[MASK]] : tensor<?x64xf32>, tensor<64xf32>)
// CHECK: arith.mulf
// CHECK: %[[YI:.*]] = lowbit.matmul %[[XR]], %{{.*}} : tensor<?x64xf32>, !lowbit.packed<16x64, int8, a8> -> tensor<?x16xf32>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[XO]], %[[WO]] : tensor<?x1xf32>, tensor<1x16xf32>) outs(%[[YI]] : tensor<?x16xf32>)
// CHECK: return %[[Y]]
// REPORT: [1/1] w: 16x64 -> int8, a8 + 1 float channel
// NONE: [1/1] w: 16x64 -> int8, a8 + 0 float channels
// NONE-NOT: outlier
// NONE: lowbit.matmul
// NONE-NOT: linalg.generic
// ALL: [1/1] w: 16x64 -> int8, a8 + 64 float channels
// EXCLUDED: [1/1] w: stays f32 (excluded)
// EXCLUDED-NOT: lowbit.matmul
