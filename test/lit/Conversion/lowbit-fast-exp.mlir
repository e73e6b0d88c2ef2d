// RUN: lowbit-opt %s --split-input-file --lowbit-fast-exp | FileCheck %s

// f32 exp becomes branch-free arithmetic (clamp, 2^n * polynomial) with no
// call left; a NaN input is selected back, since the approximation would
// convert NaN to an integer.
// CHECK-LABEL: func.func @scalar
// CHECK-SAME: (%[[X:.*]]: f32)
// CHECK-NOT: math.exp
// CHECK: math.fma
// CHECK: arith.fptosi
// CHECK: %[[P:.*]] = arith.mulf
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[X]], %[[X]] : f32
// CHECK: %[[R:.*]] = arith.select %[[NAN]], %[[X]], %[[P]] : f32
// CHECK: return %[[R]]
func.func @scalar(%x: f32) -> f32 {
  %y = math.exp %x : f32
  return %y : f32
}

// -----

// Inside a linalg body (where the pipeline runs it) and on vectors.
// CHECK-LABEL: func.func @in_linalg
// CHECK-NOT: math.exp
// CHECK: linalg.generic
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: linalg.yield
func.func @in_linalg(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.exp %a : f32
    linalg.yield %t : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// CHECK-LABEL: func.func @vector
// CHECK-NOT: math.exp
// CHECK: arith.cmpf uno, %{{.*}}, %{{.*}} : vector<4xf32>
func.func @vector(%x: vector<4xf32>) -> vector<4xf32> {
  %y = math.exp %x : vector<4xf32>
  return %y : vector<4xf32>
}

// -----

// Other types keep libm's exp.
// CHECK-LABEL: func.func @f64
// CHECK: math.exp %{{.*}} : f64
func.func @f64(%x: f64) -> f64 {
  %y = math.exp %x : f64
  return %y : f64
}
