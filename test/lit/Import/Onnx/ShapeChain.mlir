// RUN: %python %S/Inputs/make_model.py ShapeChain > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s --check-prefix=DYNAMIC
// RUN: lowbit-compile %t.onnx --emit=mlir --input-shape x=2x3x4 | FileCheck %s --check-prefix=STATIC

// Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as torch.onnx emits for
// x.view(x.size(0), -1): the batch size stays dynamic and the -1 resolves
// to a static 12, so no shape arithmetic is left.
// DYNAMIC-LABEL: func.func @main
// DYNAMIC-SAME: (%[[X:.*]]: tensor<?x3x4xf32> {onnx.name = "x"}) -> (tensor<?x12xf32> {onnx.name = "y"})
// DYNAMIC-NEXT: %[[R:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0], [1, 2]] : tensor<?x3x4xf32> into tensor<?x12xf32>
// DYNAMIC-NEXT: return %[[R]]

// With the batch fixed, everything is static.
// STATIC-LABEL: func.func @main
// STATIC-SAME: tensor<2x3x4xf32>
// STATIC-SAME: -> (tensor<2x12xf32>
