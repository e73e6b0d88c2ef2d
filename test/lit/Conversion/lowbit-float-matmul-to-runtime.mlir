// RUN: lowbit-opt %s --split-input-file --lowbit-float-matmul-to-runtime --verify-diagnostics --canonicalize | FileCheck %s

// A float weight shared by every token: B [K, N] row-major; M is the
// sequence dimension (innermost of A's row dimensions), the batch dimension
// stays a batch dimension here with B's stride 0 (the kernel folds it into
// M). The descriptor is M, N, K, A's m and k strides, B's k and n, C's m
// and n, the flags (0: C is overwritten, the init was a fill with 0), the
// batch rank (1), then six batch sizes and six strides each for A, B, C.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[CTX:.*]]: i64 {lowbit.context}, %[[X:.*]]: tensor<?x?x64xf32>, %[[W:.*]]: tensor<64x32xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[B0:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK: %[[S:.*]] = tensor.dim %[[X]], %[[C1]]
// CHECK: %[[A:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<?x?x64xf32> to memref<?x?x64xf32, strided<[?, ?, ?], offset: ?>>
// CHECK: %[[B:.*]] = bufferization.to_buffer %[[W]] read_only : tensor<64x32xf32> to memref<64x32xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x32xf32>
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}:3, %[[SA:.*]]:3 = memref.extract_strided_metadata %[[A]]
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}:2, %[[SB:.*]]:2 = memref.extract_strided_metadata %[[B]]
// The C strides of the fresh row-major result fold to constants but the first.
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}:3, %[[SC:.*]]:3 = memref.extract_strided_metadata %[[OUT]]
// CHECK-NOT: memref.copy
// CHECK: call @__lowbit_matmul_f32_3_2_3(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %[[S]], %[[C32]], %[[C64]], %[[SA]]#1, %[[SA]]#2, %[[SB]]#0, %[[SB]]#1, %[[C32]], %[[C1]], %[[C0]], %[[C1]], %[[B0]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[SA]]#0, %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[SC]]#0, %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]])
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[Y]]

// The wrapper stores the 35 words and passes the operands' addresses.
// CHECK-LABEL: func.func private @lowbit_rt_matmul_f32(i64, i64, i64, i64, i64) -> i32
// CHECK-LABEL: func.func private @__lowbit_matmul_f32_3_2_3
// CHECK: memref.alloca() : memref<35xi64>
// CHECK-COUNT-35: memref.store
// CHECK-COUNT-3: memref.extract_aligned_pointer_as_index
// CHECK: call @lowbit_rt_matmul_f32
#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#y = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @main(%ctx: i64 {lowbit.context}, %x: tensor<?x?x64xf32>, %w: tensor<64x32xf32>) -> tensor<?x?x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%d0, %d1) : tensor<?x?x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x64xf32>, tensor<64x32xf32>) outs(%f : tensor<?x?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// Attention scores with grouped-query heads, as the importer writes them:
// K [b, 2, s, 16] is expanded, repeated over the 3 heads of its group,
// collapsed to 6 heads and transposed. None of that is copied: B is K
// itself, and the heads dimension splits into (kv head, head in group),
// so the batch dimensions are b, kv head (A's stride 3 * its head stride),
// head in group (B's stride 0). M is the query position, N the key
// position, K the head dimension (B's stride along it: K's innermost).
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[CTX:.*]]: i64 {lowbit.context}, %[[Q:.*]]: tensor<?x6x?x16xf32>, %[[K:.*]]: tensor<?x2x?x16xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.transpose
// CHECK: %[[A:.*]] = bufferization.to_buffer %[[Q]] read_only : tensor<?x6x?x16xf32> to memref<?x6x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK: %[[B:.*]] = bufferization.to_buffer %[[K]] read_only : tensor<?x2x?x16xf32> to memref<?x2x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}:4, %[[SA:.*]]:4 = memref.extract_strided_metadata %[[A]]
// CHECK: %[[SA1X3:.*]] = arith.muli %[[SA]]#1, %[[C3]]
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}:4, %[[SB:.*]]:4 = memref.extract_strided_metadata %[[B]]
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}:4, %[[SC:.*]]:4 = memref.extract_strided_metadata %[[OUT:.*]] :
// CHECK: %[[SC1X3:.*]] = arith.muli %[[SC]]#1, %[[C3]]
// CHECK: call @__lowbit_matmul_f32_4_4_4(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C16]], %[[SA]]#2, %[[SA]]#3, %[[SB]]#3, %[[SB]]#2, %[[SC]]#2, %[[C1]], %[[C0]], %[[C3]],
// CHECK-SAME: %{{.*}}, %[[C2]], %[[C3]], %[[C1]], %[[C1]], %[[C1]],
// CHECK-SAME: %[[SA]]#0, %[[SA1X3]], %[[SA]]#1, %[[C0]], %[[C0]], %[[C0]],
// CHECK-SAME: %[[SB]]#0, %[[SB]]#1, %[[C0]], %[[C0]], %[[C0]], %[[C0]],
// CHECK-SAME: %[[SC]]#0, %[[SC1X3]], %[[SC]]#1, %[[C0]], %[[C0]], %[[C0]])
#bcast_in = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#q = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#kt = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#s = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
func.func @main(%ctx: i64 {lowbit.context}, %q: tensor<?x6x?x16xf32>, %k: tensor<?x2x?x16xf32>) -> tensor<?x6x?x?xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %k, %c0 : tensor<?x2x?x16xf32>
  %s = tensor.dim %k, %c2 : tensor<?x2x?x16xf32>
  %sq = tensor.dim %q, %c2 : tensor<?x6x?x16xf32>
  %k5 = tensor.expand_shape %k [[0], [1, 2], [3], [4]] output_shape [%b, 2, 1, %s, 16] : tensor<?x2x?x16xf32> into tensor<?x2x1x?x16xf32>
  %e5 = tensor.empty(%b, %s) : tensor<?x2x3x?x16xf32>
  %rep = linalg.generic {indexing_maps = [#bcast_in, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%k5 : tensor<?x2x1x?x16xf32>) outs(%e5 : tensor<?x2x3x?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x2x3x?x16xf32>
  %k6 = tensor.collapse_shape %rep [[0], [1, 2], [3], [4]] : tensor<?x2x3x?x16xf32> into tensor<?x6x?x16xf32>
  %et = tensor.empty(%b, %s) : tensor<?x6x16x?xf32>
  %kt = linalg.transpose ins(%k6 : tensor<?x6x?x16xf32>) outs(%et : tensor<?x6x16x?xf32>) permutation = [0, 1, 3, 2]
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%b, %sq, %s) : tensor<?x6x?x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x6x?x?xf32>) -> tensor<?x6x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#q, #kt, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kt : tensor<?x6x?x16xf32>, tensor<?x6x16x?xf32>) outs(%f : tensor<?x6x?x?xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %m = arith.mulf %a, %bb : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<?x6x?x?xf32>
  return %scores : tensor<?x6x?x?xf32>
}

// -----

// A named matmul accumulating into an init that is not a fill with 0: the
// init is copied into the result and the kernel adds to it (flags 1).
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[CTX:.*]]: i64 {lowbit.context}, %[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<8x5xf32>, %[[INIT:.*]]: tensor<4x5xf32>)
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<4x5xf32>
// CHECK: %[[I:.*]] = bufferization.to_buffer %[[INIT]] read_only
// CHECK: memref.copy %[[I]], %[[OUT]]
// CHECK: call @__lowbit_matmul_f32_2_2_2(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ONE:.*]], %[[ZERO:.*]],
// CHECK-NOT: linalg.matmul
func.func @main(%ctx: i64 {lowbit.context}, %x: tensor<4x8xf32>, %w: tensor<8x5xf32>, %init: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x5xf32>) outs(%init : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

// Not contractions the kernel runs: an integer matmul, a body with more
// than a multiply-add, two reduction dimensions. They stay linalg.
// CHECK-LABEL: func.func @main
// CHECK-NOT: call
// CHECK: linalg.matmul
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-NOT: call
func.func @main(%ctx: i64 {lowbit.context}, %x: tensor<4x8xi32>, %w: tensor<8x5xi32>, %init: tensor<4x5xi32>,
                %a: tensor<4x8xf32>, %b: tensor<8x5xf32>, %c: tensor<4x5xf32>, %t: tensor<4x2x8xf32>) -> (tensor<4x5xi32>, tensor<4x5xf32>, tensor<4x5xf32>) {
  %y = linalg.matmul ins(%x, %w : tensor<4x8xi32>, tensor<8x5xi32>) outs(%init : tensor<4x5xi32>) -> tensor<4x5xi32>
  %z = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<8x5xf32>) outs(%c : tensor<4x5xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %r = arith.addf %o, %m : f32
    %s = arith.maximumf %r, %o : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  %u = linalg.generic {indexing_maps = [affine_map<(m, n, k, l) -> (m, l, k)>, affine_map<(m, n, k, l) -> (k, n)>, affine_map<(m, n, k, l) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%t, %b : tensor<4x2x8xf32>, tensor<8x5xf32>) outs(%c : tensor<4x5xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x5xf32>
  return %y, %z, %u : tensor<4x5xi32>, tensor<4x5xf32>, tensor<4x5xf32>
}

// -----

// expected-error @below {{lowbit-float-matmul-to-runtime: no entry function 'main' with the dispatch context (run lowbit-lower-to-runtime first)}}
module {
  func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
