// RUN: lowbit-opt %s --split-input-file --lowbit-duplicate-elementwise-producers | FileCheck %s

// Attention's scaled and masked scores, read by softmax's max (through an
// expand_shape adding the reduced unit dimension) and by its exp: each user
// gets its own copy of the two-op producer, the max reads the scores
// directly (its map drops the unit dimension), and a shape query reads the
// init instead.
// CHECK: #[[$DROP:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[S:.*]]: tensor<4x?xf32>, %[[M:.*]]: tensor<4x?xf32>)
// CHECK: %[[E:.*]] = tensor.empty
// CHECK: %[[P1:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[M]] : {{.*}}) outs(%[[E]] :
// CHECK: arith.divf
// CHECK: %[[P2:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[M]] : {{.*}}) outs(%[[E]] :
// CHECK: arith.divf
// CHECK-NOT: tensor.expand_shape
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[$DROP]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P1]] : tensor<4x?xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} ins(%[[P2]], %{{.*}} :
// CHECK: math.exp
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#in3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#out3 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @softmax(%s: tensor<4x?xf32>, %mask: tensor<4x?xf32>) -> (tensor<4x1xf32>, tensor<4x?xf32>) {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %s, %c1 : tensor<4x?xf32>
  %e = tensor.empty(%n) : tensor<4x?xf32>
  %c8 = arith.constant 8.0 : f32
  %scaled = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %mask : tensor<4x?xf32>, tensor<4x?xf32>) outs(%e : tensor<4x?xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.divf %a, %c8 : f32
    %r = arith.addf %d, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x?xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %e1 = tensor.empty() : tensor<4x1xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %k = tensor.dim %scaled, %c1 : tensor<4x?xf32>
  %x3 = tensor.expand_shape %scaled [[0, 1], [2]] output_shape [4, 1, %k] : tensor<4x?xf32> into tensor<4x1x?xf32>
  %max = linalg.generic {indexing_maps = [#in3, #out3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x3 : tensor<4x1x?xf32>) outs(%f : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scaled, %s : tensor<4x?xf32>, tensor<4x?xf32>) outs(%e : tensor<4x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.subf %a, %b : f32
    %x = math.exp %t : f32
    linalg.yield %x : f32
  } -> tensor<4x?xf32>
  return %max, %exp : tensor<4x1xf32>, tensor<4x?xf32>
}

// -----

// Left alone: a producer with math in it (exp is not cheap to recompute),
// and one that a function result also needs (it is stored anyway).
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-1: math.exp
// CHECK-COUNT-1: arith.mulf
// CHECK-NOT: math.exp
func.func @kept(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %exp = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%exp : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %neg = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%sq : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %exp, %sq, %neg : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}
