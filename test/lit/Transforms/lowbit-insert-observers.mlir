// RUN: lowbit-opt %s --split-input-file --lowbit-insert-observers | FileCheck %s

// q and k read the same activation: one observer, keyed by the first weight
// and listing both; o reads another value and gets its own. The addf, not a
// weight matmul, keeps reading %x itself, and the matmul on a non-constant
// weight is not observed.
// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x32xf32>, %[[H:[^:]*]]: tensor<?x32xf32>, %[[WD:[^:]*]]: tensor<1x32xf32>
// CHECK-DAG: %[[OX:.*]] = lowbit.observe %[[X]] key "q.weight" {lowbit.weights = ["q.weight", "k.weight"]} : tensor<?x32xf32>
// CHECK-DAG: %[[OH:.*]] = lowbit.observe %[[H]] key "o.weight" {lowbit.weights = ["o.weight"]} : tensor<?x32xf32>
// CHECK-NOT: lowbit.observe
// CHECK: linalg.generic {{.*}} ins(%[[OX]], %{{.*}} : tensor<?x32xf32>, tensor<1x32xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[OX]], %{{.*}} : tensor<?x32xf32>, tensor<1x32xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[OH]], %{{.*}} : tensor<?x32xf32>, tensor<1x32xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[WD]] : tensor<?x32xf32>, tensor<1x32xf32>)
// CHECK: arith.addf %[[X]], %[[X]]
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @attention(%x: tensor<?x32xf32>, %h: tensor<?x32xf32>, %wd: tensor<1x32xf32>, %init: tensor<?x1xf32>)
    -> (tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x32xf32>) {
  %wq = arith.constant dense<0.5> : tensor<1x32xf32>
  %wk = arith.constant dense<0.25> : tensor<1x32xf32>
  %wo = arith.constant dense<0.125> : tensor<1x32xf32>
  %zero = arith.constant 0.0 : f32
  %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<?x1xf32>) -> tensor<?x1xf32>
  %q = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wq : tensor<?x32xf32>, tensor<1x32xf32>) outs(%filled : tensor<?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32> loc("q")
  %k = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wk : tensor<?x32xf32>, tensor<1x32xf32>) outs(%filled : tensor<?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32> loc("k")
  %o = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %wo : tensor<?x32xf32>, tensor<1x32xf32>) outs(%filled : tensor<?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32> loc("o")
  %d = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wd : tensor<?x32xf32>, tensor<1x32xf32>) outs(%filled : tensor<?x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32> loc("dynamic")
  %twice = arith.addf %x, %x : tensor<?x32xf32>
  return %q, %k, %o, %d, %twice : tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x32xf32>
}

// -----

// An activation computed in the body: the observer goes right after it.
// CHECK-LABEL: func.func @computed
// CHECK: %[[R:.*]] = arith.mulf
// CHECK-NEXT: %[[O:.*]] = lowbit.observe %[[R]] key "w.weight"
// CHECK: linalg.generic {{.*}} ins(%[[O]],
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @computed(%x: tensor<4x32xf32>) -> tensor<4x1xf32> {
  %w = arith.constant dense<0.5> : tensor<32x1xf32>
  %zero = arith.constant 0.0 : f32
  %r = arith.mulf %x, %x : tensor<4x32xf32>
  %empty = tensor.empty() : tensor<4x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x1xf32>) -> tensor<4x1xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%r, %w : tensor<4x32xf32>, tensor<32x1xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x1xf32> loc("w")
  return %y : tensor<4x1xf32>
}
