// RUN: lowbit-opt %s --lowbit-math-to-instructions | FileCheck %s

// The math ops that are single instructions become LLVM intrinsics; the
// others (erf here) stay for convert-math-to-libm.
// CHECK-LABEL: func.func @f
// CHECK: llvm.intr.floor
// CHECK: llvm.intr.ceil
// CHECK: llvm.intr.trunc
// CHECK: llvm.intr.roundeven
// CHECK: llvm.intr.fma
// CHECK: llvm.intr.sqrt
// CHECK: llvm.intr.fabs
// CHECK: llvm.intr.copysign
// CHECK: math.erf
// CHECK-NOT: math.floor
func.func @f(%x: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>) {
  %a = math.floor %x : f32
  %b = math.ceil %a : f32
  %c = math.trunc %b : f32
  %d = math.roundeven %c : f32
  %e = math.fma %d, %x, %x : f32
  %f = math.sqrt %v : vector<8xf32>
  %g = math.absf %e : f32
  %h = math.copysign %g, %x : f32
  %i = math.erf %h : f32
  return %i, %f : f32, vector<8xf32>
}
