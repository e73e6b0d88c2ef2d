// RUN: %python %S/Inputs/make_model.py Sum > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Three inputs, added pairwise left to right.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: tensor<?x3xf32> {onnx.name = "a"}, %[[B:.*]]: tensor<?x3xf32> {onnx.name = "b"}, %[[C:.*]]: tensor<?x3xf32> {onnx.name = "c"})
// CHECK: %[[AB:.*]] = linalg.generic {{.*}} ins(%[[A]], %[[B]]
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[AB]], %[[C]]
// CHECK: arith.addf
