// RUN: %python %S/Inputs/make_model.py ArgMax > %t.onnx
// RUN: lowbit-compile %t.onnx --emit=mlir | FileCheck %s
// RUN: lowbit-compile %t.onnx --emit=mlir | lowbit-opt --verify-roundtrip > /dev/null

// Greedy decoding's ArgMax over a dynamic vocabulary: one generic carrying
// the best value and its int64 index; the first of equal values wins (ogt).
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf32> {onnx.name = "x"}) -> (tensor<?xi64> {onnx.name = "y"})
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x?xf32>) outs(%{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xi64>)
// CHECK: %[[BETTER:.*]] = arith.cmpf ogt
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: arith.index_cast %[[I]] : index to i64
// CHECK: linalg.yield
// CHECK: return %[[R]]#1 : tensor<?xi64>
