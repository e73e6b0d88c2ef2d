// RUN: lowbit-opt %s --split-input-file --lowbit-outline-parallel-loops --verify-diagnostics | FileCheck %s

// A 2-D elementwise loop: the entry calls the launcher with the context,
// the work (iterations x ops per iteration: load, mulf, store and the loop
// itself) and the iteration count, then the counts, the buffers and the
// scalar the body uses. The body takes chunk g of G: the rows of the
// linearized space that [g * total / G, (g + 1) * total / G) touches, and
// in each row a contiguous run of the innermost dimension.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[CTX:.*]]: i64, %[[X:.*]]: memref<?x?xf32>, %[[Y:.*]]: memref<?x?xf32>, %[[S:.*]]: f32)
// CHECK: %[[N:.*]] = memref.dim %[[X]], %{{.*}}
// CHECK: %[[M:.*]] = memref.dim %[[X]], %{{.*}}
// CHECK: %[[TOTAL:.*]] = arith.muli %[[N]], %[[M]] : index
// CHECK: %[[WORK:.*]] = arith.muli %[[TOTAL]], %{{.*}} : index
// CHECK: call @__lowbit_parallel_launch_0(%[[CTX]], %[[WORK]], %[[TOTAL]], %[[N]], %[[M]], %[[X]], %[[S]], %[[Y]])
// CHECK-NOT: scf.parallel
// CHECK: return

// CHECK-LABEL: func.func private @__lowbit_parallel_body_0
// CHECK-SAME: (%[[G:.*]]: index, %[[GROUPS:.*]]: index, %[[BN:.*]]: index, %[[BM:.*]]: index, %[[BX:.*]]: memref<?x?xf32>, %[[BS:.*]]: f32, %[[BY:.*]]: memref<?x?xf32>)
// CHECK: %[[T:.*]] = arith.muli %[[BN]], %[[BM]]
// CHECK: %[[BEGIN:.*]] = arith.divui %{{.*}}, %[[GROUPS]]
// CHECK: %[[END:.*]] = arith.divui %{{.*}}, %[[GROUPS]]
// CHECK: %[[R0:.*]] = arith.divui %[[BEGIN]], %[[BM]]
// CHECK: %[[R1:.*]] = arith.ceildivui %[[END]], %[[BM]]
// CHECK: scf.for %[[ROW:.*]] = %[[R0]] to %[[R1]]
// CHECK: %[[FROM:.*]] = arith.maxsi
// CHECK: %[[TO:.*]] = arith.minsi %{{.*}}, %[[BM]]
// CHECK: scf.for %[[COL:.*]] = %[[FROM]] to %[[TO]]
// CHECK: memref.load %[[BX]]
// CHECK: arith.mulf %{{.*}}, %[[BS]]
// CHECK: memref.store %{{.*}}, %[[BY]]

// CHECK-LABEL: func.func private @__lowbit_parallel_launch_0
// CHECK-SAME: (i64, index, index, index, index, memref<?x?xf32>, f32, memref<?x?xf32>)
// CHECK-SAME: attributes {lowbit.parallel_body = "__lowbit_parallel_body_0"}
func.func @main(%ctx: i64, %x: memref<?x?xf32>, %y: memref<?x?xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %x, %c0 : memref<?x?xf32>
  %m = memref.dim %x, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %m) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x?xf32>
    %w = arith.mulf %v, %s : f32
    memref.store %w, %y[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

// A row reduction: the inner loop's trips (known outside) multiply the
// work, 8 x (64 x (4 + 1) + 1) = 2568, folded; static bounds stay
// constants in the body. Loops with reductions and loops nested in other
// loops stay where they are.
// CHECK-LABEL: func.func @main
// CHECK: %[[WORK:.*]] = arith.constant 2568 : index
// CHECK: call @__lowbit_parallel_launch_0(%{{.*}}, %[[WORK]], 
// CHECK: scf.parallel
// CHECK: scf.reduce(
// CHECK: scf.for
// CHECK: scf.parallel
// CHECK-LABEL: func.func private @__lowbit_parallel_body_0
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: arith.addf
func.func @main(%ctx: i64, %x: memref<8x64xf32>, %y: memref<8xf32>, %z: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %a = memref.load %x[%i, %k] : memref<8x64xf32>
      %b = memref.load %y[%i] : memref<8xf32>
      %c = arith.addf %a, %b : f32
      memref.store %c, %y[%i] : memref<8xf32>
    }
    scf.reduce
  }
  %sum = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %a = memref.load %y[%i] : memref<8xf32>
    scf.reduce(%a : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  scf.for %t = %c0 to %c8 step %c1 {
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      memref.store %sum, %z[%i] : memref<8xf32>
      scf.reduce
    }
  }
  return %sum : f32
}

// -----

// A unit dimension (a reduction's kept dimension) stays out of the
// linearization: the rows are over the first dimension, the runs over the
// third, and the unit dimension's index is its lower bound.
// CHECK-LABEL: func.func private @__lowbit_parallel_body_0
// CHECK-SAME: (%{{.*}}: index, %{{.*}}: index, %[[N:.*]]: index, %[[M:.*]]: index, %{{.*}}: f32, %[[X:.*]]: memref<?x1x?xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK: arith.muli %[[N]], %[[M]]
// CHECK: scf.for %[[ROW:.*]] =
// CHECK: scf.for %[[COL:.*]] =
// CHECK: memref.store %{{.*}}, %[[X]][%{{.*}}, %[[C0]], %{{.*}}]
func.func @main(%ctx: i64, %x: memref<?x1x?xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = memref.dim %x, %c0 : memref<?x1x?xf32>
  %m = memref.dim %x, %c2 : memref<?x1x?xf32>
  scf.parallel (%i, %u, %j) = (%c0, %c0, %c0) to (%n, %c1, %m) step (%c1, %c1, %c1) {
    memref.store %v, %x[%i, %u, %j] : memref<?x1x?xf32>
    scf.reduce
  }
  return
}

// -----

// expected-error @below {{lowbit-outline-parallel-loops: no entry function 'main' taking the dispatch context (an i64) first}}
module {
  func.func @main(%x: memref<4xf32>) {
    return
  }
}
