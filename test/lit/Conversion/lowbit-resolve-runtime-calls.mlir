// RUN: lowbit-opt %s --split-input-file --lowbit-resolve-runtime-calls --verify-diagnostics | FileCheck %s

// The kernel's address is the pointer at byte 24 of the dispatch context
// (after abi_version, num_workers, pool and parallel_for; runtime/include/lowbit/abi.h).
// CHECK-LABEL: llvm.func internal @lowbit_rt_matmul
// CHECK-SAME: (%[[CTX:.*]]: i64, %[[A1:.*]]: i64, %[[A2:.*]]: i64)
// CHECK: %[[P:.*]] = llvm.inttoptr %[[CTX]] : i64 to !llvm.ptr
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %[[P]][24] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: %[[KERNEL:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[R:.*]] = llvm.call %[[KERNEL]](%[[CTX]], %[[A1]], %[[A2]]) : !llvm.ptr, (i64, i64, i64) -> i32
// CHECK: llvm.return %[[R]] : i32
llvm.func @lowbit_rt_matmul(i64, i64, i64) -> i32

// The float matmul's pointer follows it, at byte 32 (ABI version 2).
// CHECK-LABEL: llvm.func internal @lowbit_rt_matmul_f32
// CHECK: llvm.getelementptr %{{.*}}[32] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.call
llvm.func @lowbit_rt_matmul_f32(i64, i64, i64, i64, i64) -> i32

// Other declarations are left alone.
// CHECK-LABEL: llvm.func @malloc(i64) -> !llvm.ptr
llvm.func @malloc(i64) -> !llvm.ptr

// -----

// expected-error @below {{no runtime kernel is called 'lowbit_rt_conv'}}
llvm.func @lowbit_rt_conv(i64) -> i32

// -----

// A parallel launcher (lowbit-outline-parallel-loops) gets a body: nothing
// to do for an empty space; the chunk count from the work (32768 per chunk),
// the iteration count and 4 per worker (num_workers at byte 4 of the
// context); the arguments go into a struct on the launcher's stack; one
// chunk calls the thunk that unpacks them directly, more go through
// parallel_for (byte 16, the pool at byte 8). The body has one caller, the
// thunk.
// CHECK-LABEL: llvm.func internal @__lowbit_parallel_launch_0_thunk
// CHECK-SAME: (%[[ARGS:.*]]: !llvm.ptr, %[[G:.*]]: i64)
// CHECK: %[[PACKED:.*]] = llvm.load %[[ARGS]] : !llvm.ptr -> !llvm.struct<(i64, i64, ptr, f32)>
// CHECK: %[[GROUPS:.*]] = llvm.extractvalue %[[PACKED]][0]
// CHECK: %[[N:.*]] = llvm.extractvalue %[[PACKED]][1]
// CHECK: %[[P:.*]] = llvm.extractvalue %[[PACKED]][2]
// CHECK: %[[S:.*]] = llvm.extractvalue %[[PACKED]][3]
// CHECK: llvm.call @__lowbit_parallel_body_0(%[[G]], %[[GROUPS]], %[[N]], %[[P]], %[[S]])
// CHECK-LABEL: llvm.func internal @__lowbit_parallel_launch_0
// CHECK-SAME: (%[[CTX:.*]]: i64, %[[WORK:.*]]: i64, %[[TOTAL:.*]]: i64, %[[AN:.*]]: i64, %[[AP:.*]]: !llvm.ptr, %[[AS:.*]]: f32)
// CHECK: %[[SLOT:.*]] = llvm.alloca
// CHECK: llvm.icmp "eq" %[[TOTAL]]
// CHECK: llvm.getelementptr %{{.*}}[4] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.udiv %[[WORK]], %{{.*}} : i64
// CHECK: llvm.intr.umin(%{{.*}}, %[[TOTAL]])
// CHECK: llvm.insertvalue %[[AN]]
// CHECK: llvm.insertvalue %[[AP]]
// CHECK: llvm.insertvalue %[[AS]]
// CHECK: llvm.store %{{.*}}, %[[SLOT]]
// CHECK: llvm.call @__lowbit_parallel_launch_0_thunk(%[[SLOT]], %{{.*}})
// CHECK-NOT: @__lowbit_parallel_body_0
// CHECK: %[[POOL:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[PFOR:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[THUNK:.*]] = llvm.mlir.addressof @__lowbit_parallel_launch_0_thunk
// CHECK: llvm.call %[[PFOR]](%[[POOL]], %{{.*}}, %[[THUNK]], %[[SLOT]])
// CHECK-NOT: lowbit.parallel_body
llvm.func @__lowbit_parallel_body_0(%g: i64, %groups: i64, %n: i64, %p: !llvm.ptr, %s: f32) {
  llvm.return
}
llvm.func @__lowbit_parallel_launch_0(i64, i64, i64, i64, !llvm.ptr, f32) attributes {lowbit.parallel_body = "__lowbit_parallel_body_0"}

// -----

// expected-error @below {{parallel launcher '__lowbit_parallel_launch_1' has no matching body 'missing'}}
llvm.func @__lowbit_parallel_launch_1(i64, i64, i64) attributes {lowbit.parallel_body = "missing"}

// -----

// In the entry function, malloc and free go through the context's alloc
// (byte 40) and dealloc (byte 48); elsewhere they stay.
// CHECK-LABEL: llvm.func @main
// CHECK-SAME: (%[[CTX:.*]]: i64, %[[N:.*]]: i64)
// CHECK: %[[P:.*]] = llvm.call @lowbit_rt_alloc(%[[CTX]], %[[N]]) : (i64, i64) -> !llvm.ptr
// CHECK: llvm.call @lowbit_rt_dealloc(%[[CTX]], %[[P]]) : (i64, !llvm.ptr) -> ()
// CHECK-LABEL: llvm.func @other
// CHECK: llvm.call @malloc
// CHECK: llvm.call @free
// CHECK-LABEL: llvm.func internal @lowbit_rt_alloc
// CHECK: llvm.getelementptr %{{.*}}[40]
// CHECK-LABEL: llvm.func internal @lowbit_rt_dealloc
// CHECK: llvm.getelementptr %{{.*}}[48]
llvm.func @malloc(i64) -> !llvm.ptr
llvm.func @free(!llvm.ptr)
llvm.func @main(%ctx: i64, %n: i64) {
  %p = llvm.call @malloc(%n) : (i64) -> !llvm.ptr
  llvm.call @free(%p) : (!llvm.ptr) -> ()
  llvm.return
}
llvm.func @other(%n: i64) {
  %p = llvm.call @malloc(%n) : (i64) -> !llvm.ptr
  llvm.call @free(%p) : (!llvm.ptr) -> ()
  llvm.return
}
