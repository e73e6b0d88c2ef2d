// RUN: %python %S/Inputs/make_model.py Slice > %t.Slice.onnx
// RUN: lowbit-compile %t.Slice.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.Slice.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py SliceReverse > %t.SliceReverse.onnx
// RUN: lowbit-compile %t.SliceReverse.onnx | FileCheck %s --check-prefix=REVERSE
// RUN: lowbit-compile %t.SliceReverse.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py SliceDynamic > %t.SliceDynamic.onnx
// RUN: lowbit-compile %t.SliceDynamic.onnx | FileCheck %s --check-prefix=DYNAMIC
// RUN: lowbit-compile %t.SliceDynamic.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py ShapeSlice > %t.ShapeSlice.onnx
// RUN: lowbit-compile %t.ShapeSlice.onnx | FileCheck %s --check-prefix=SHAPE
// RUN: lowbit-compile %t.ShapeSlice.onnx | lowbit-opt --verify-roundtrip > /dev/null

// Positive steps are one tensor.extract_slice (a view): INT64_MAX clamps to
// the end, axis -1 counts from the back, the batch stays dynamic.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x10x8xf32> {onnx.name = "x"})
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK: tensor.extract_slice %[[X]][0, 2, 0] [%[[B]], 8, 4] [1, 1, 2] : tensor<?x10x8xf32> to tensor<?x8x4xf32>

// A negative step reads x[:, 5 - j]: starts -1 wraps to 5, ends below
// -dim clamp to -1, so all 6 columns come out reversed.
// REVERSE-LABEL: func.func @main
// REVERSE-SAME: -> (tensor<?x6xf32> {onnx.name = "y"})
// REVERSE: %[[C5:.*]] = arith.constant 5 : index
// REVERSE: linalg.generic
// REVERSE: %[[I:.*]] = linalg.index 0 : index
// REVERSE: %[[J:.*]] = linalg.index 1 : index
// REVERSE: %[[K:.*]] = arith.subi %[[C5]], %[[J]] : index
// REVERSE: tensor.extract %{{.*}}[%[[I]], %[[K]]] : tensor<?x6xf32>

// x[:, 1:-1] over a dynamic dimension: the bounds are computed at run time.
// DYNAMIC-LABEL: func.func @main
// DYNAMIC-SAME: (%[[X:.*]]: tensor<2x?xf32> {onnx.name = "x"}) -> (tensor<2x?xf32> {onnx.name = "y"})
// DYNAMIC: %[[N:.*]] = tensor.dim %[[X]], %c1
// DYNAMIC: %[[END:.*]] = arith.addi %[[N]], %c-1
// DYNAMIC: tensor.extract_slice %[[X]][0, %{{.*}}] [2, %{{.*}}] [1, 1] : tensor<2x?xf32> to tensor<2x?xf32>

// Shape -> Slice -> Concat -> Reshape folds: the slice of the tracked
// shape keeps [batch, seq] dynamic and nothing else is left.
// SHAPE-LABEL: func.func @main
// SHAPE-SAME: -> (tensor<?x?x2x4xf32> {onnx.name = "y"})
// SHAPE-NOT: tensor.from_elements
// SHAPE-NOT: extract_slice
// SHAPE: tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [%{{.*}}, %{{.*}}, 2, 4] : tensor<?x?x8xf32> into tensor<?x?x2x4xf32>
