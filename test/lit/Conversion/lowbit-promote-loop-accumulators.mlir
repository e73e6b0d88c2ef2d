// RUN: lowbit-opt %s --split-input-file --lowbit-promote-loop-accumulators | FileCheck %s

// A row sum as convert-linalg-to-loops writes it: the element is loaded
// before the loop, carried in an iter_arg (the add may reassociate) and
// stored after it.
// CHECK-LABEL: func.func @sum
// CHECK-SAME: (%[[X:.*]]: memref<?x?xf32>, %[[Y:.*]]: memref<?xf32>, %[[I:.*]]: index, %[[N:.*]]: index)
// CHECK: %[[INIT:.*]] = memref.load %[[Y]][%[[I]]]
// CHECK: %[[R:.*]] = scf.for %[[K:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK:   %[[A:.*]] = memref.load %[[X]][%[[I]], %[[K]]]
// CHECK:   %[[S:.*]] = arith.addf %[[ACC]], %[[A]] fastmath<reassoc> : f32
// CHECK:   scf.yield %[[S]] : f32
// CHECK: }
// CHECK: memref.store %[[R]], %[[Y]][%[[I]]]
func.func @sum(%x: memref<?x?xf32>, %y: memref<?xf32>, %i: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %k = %c0 to %n step %c1 {
    %a = memref.load %x[%i, %k] : memref<?x?xf32>
    %b = memref.load %y[%i] : memref<?xf32>
    %c = arith.addf %b, %a : f32
    memref.store %c, %y[%i] : memref<?xf32>
  }
  return
}

// -----

// A max keeps its flags (it is exact in any order already).
// CHECK-LABEL: func.func @max
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
func.func @max(%x: memref<?xf32>, %y: memref<f32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %k = %c0 to %n step %c1 {
    %a = memref.load %x[%k] : memref<?xf32>
    %b = memref.load %y[] : memref<f32>
    %c = arith.maximumf %b, %a : f32
    memref.store %c, %y[] : memref<f32>
  }
  return
}

// -----

// Left alone: an index that changes in the loop, a second store, the
// buffer read at other indices too.
// CHECK-LABEL: func.func @not_accumulators
// CHECK-NOT: iter_args
func.func @not_accumulators(%x: memref<?xf32>, %y: memref<?xf32>, %z: memref<?xf32>, %i: index, %j: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %k = %c0 to %n step %c1 {
    %a = memref.load %x[%k] : memref<?xf32>
    %b = memref.load %y[%k] : memref<?xf32>
    %c = arith.addf %b, %a : f32
    memref.store %c, %y[%k] : memref<?xf32>
  }
  scf.for %k = %c0 to %n step %c1 {
    %a = memref.load %x[%k] : memref<?xf32>
    %b = memref.load %y[%i] : memref<?xf32>
    %c = arith.addf %b, %a : f32
    memref.store %c, %y[%i] : memref<?xf32>
    memref.store %c, %z[%k] : memref<?xf32>
  }
  scf.for %k = %c0 to %n step %c1 {
    %a = memref.load %y[%j] : memref<?xf32>
    %b = memref.load %y[%i] : memref<?xf32>
    %c = arith.addf %b, %a : f32
    memref.store %c, %y[%i] : memref<?xf32>
  }
  return
}
