// RUN: %python %S/Inputs/make_model.py Split > %t.Split.onnx
// RUN: lowbit-compile %t.Split.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.Split.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py SplitNumOutputs --opset 18 > %t.SplitNumOutputs.onnx
// RUN: lowbit-compile %t.SplitNumOutputs.onnx | FileCheck %s --check-prefix=NUM
// RUN: lowbit-compile %t.SplitNumOutputs.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py SplitEqual > %t.SplitEqual.onnx
// RUN: lowbit-compile %t.SplitEqual.onnx | FileCheck %s --check-prefix=EQUAL
// RUN: lowbit-compile %t.SplitEqual.onnx | lowbit-opt --verify-roundtrip > /dev/null

// Sizes from the split input: two views of the input.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x6xf32> {onnx.name = "x"}) -> (tensor<?x2xf32> {onnx.name = "a"}, tensor<?x4xf32> {onnx.name = "b"})
// CHECK: %[[A:.*]] = tensor.extract_slice %[[X]][0, 0] [%{{.*}}, 2] [1, 1] : tensor<?x6xf32> to tensor<?x2xf32>
// CHECK: %[[B:.*]] = tensor.extract_slice %[[X]][0, 2] [%{{.*}}, 4] [1, 1] : tensor<?x6xf32> to tensor<?x4xf32>
// CHECK: return %[[A]], %[[B]]

// Opset 18's num_outputs = 3 over 7 rows: 3, 3 and the remaining 1.
// NUM-LABEL: func.func @main
// NUM: tensor.extract_slice %{{.*}}[0, 0] [3, %{{.*}}] [1, 1] : tensor<7x?xf32> to tensor<3x?xf32>
// NUM: tensor.extract_slice %{{.*}}[3, 0] [3, %{{.*}}] [1, 1] : tensor<7x?xf32> to tensor<3x?xf32>
// NUM: tensor.extract_slice %{{.*}}[6, 0] [1, %{{.*}}] [1, 1] : tensor<7x?xf32> to tensor<1x?xf32>

// Equal halves of a dynamic dimension.
// EQUAL-LABEL: func.func @main
// EQUAL: %[[HALF:.*]] = arith.divsi %{{.*}}, %c2 : index
// EQUAL: tensor.extract_slice %{{.*}}[0, 0] [2, %[[HALF]]] [1, 1]
// EQUAL: tensor.extract_slice %{{.*}}[0, %[[HALF]]] [2, %[[HALF]]] [1, 1]
