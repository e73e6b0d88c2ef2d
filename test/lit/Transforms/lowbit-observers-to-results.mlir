// RUN: lowbit-opt %s --split-input-file --lowbit-observers-to-results | FileCheck %s
// RUN: lowbit-opt %s --split-input-file --lowbit-observers-to-results="entry=other" --verify-diagnostics -o /dev/null

// Each observed tensor becomes one more result of the entry function, in
// program order, named observe:KEY; the observes are gone and their users
// read the tensor itself. The original result keeps its name.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>) -> (tensor<?x8xf32> {onnx.name = "logits"}, tensor<?x8xf32> {onnx.name = "observe:a"}, tensor<?x8xf32> {onnx.name = "observe:b"})
// CHECK-NOT: lowbit.observe
// CHECK: %[[Y:.*]] = arith.mulf %[[X]], %[[X]]
// CHECK: %[[Z:.*]] = arith.addf %[[Y]], %[[Y]]
// CHECK: return %[[Z]], %[[X]], %[[Y]] : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
func.func @main(%x: tensor<?x8xf32>) -> (tensor<?x8xf32> {onnx.name = "logits"}) {
  // expected-error @below {{only observes in the body of the entry function 'other' can become its results}}
  %ox = lowbit.observe %x key "a" : tensor<?x8xf32>
  %y = arith.mulf %ox, %ox : tensor<?x8xf32>
  %oy = lowbit.observe %y key "b" : tensor<?x8xf32>
  %z = arith.addf %oy, %oy : tensor<?x8xf32>
  return %z : tensor<?x8xf32>
}

// -----

// No observe: nothing changes.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> tensor<4xf32>
// CHECK-NEXT: return
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
