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
