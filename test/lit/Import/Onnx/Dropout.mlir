// RUN: %python %S/Inputs/make_model.py Dropout > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Inference: the input passes through; the mask is all true.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x4xf32> {onnx.name = "y"}, tensor<?x4xi1> {onnx.name = "mask"})
// CHECK: %[[M:.*]] = linalg.fill ins(%true : i1) outs(%{{.*}} : tensor<?x4xi1>)
// CHECK: return %[[X]], %[[M]]
