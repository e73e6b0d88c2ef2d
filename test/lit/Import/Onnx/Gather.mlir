// RUN: %python %S/Inputs/make_model.py Gather > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// An embedding lookup: [?, ?] ids into a [5, 4] table; negative ids wrap.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[IDS:.*]]: tensor<?x?xi64> {onnx.name = "ids"}) -> (tensor<?x?x4xf32> {onnx.name = "y"})
// CHECK-DAG: %[[T:.*]] = arith.constant dense<{{.*}}> : tensor<5x4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[IDS]] : tensor<?x?xi64>) outs(%{{.*}} : tensor<?x?x4xf32>)
// CHECK: %[[ROW:.*]] = arith.select
// CHECK: tensor.extract %[[T]][%[[ROW]], %{{.*}}] : tensor<5x4xf32>
