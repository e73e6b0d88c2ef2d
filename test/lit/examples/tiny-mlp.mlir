// The README's example model parses, verifies and round-trips.
// RUN: lowbit-opt %lowbit_src/examples/tiny-mlp.mlir --verify-roundtrip | FileCheck %s

// CHECK-LABEL: func.func @tiny_mlp
// CHECK: %[[W1:.*]] = lowbit.constant dense_resource<layer1_q8_0> : tensor<544xi8> -> !lowbit.packed<16x32, q8_0>
// CHECK: %[[H:.*]] = lowbit.matmul %{{.*}}, %[[W1]] : tensor<?x32xf32>, !lowbit.packed<16x32, q8_0> -> tensor<?x16xf32>
// CHECK: %[[W2:.*]] = lowbit.constant dense_resource<layer2_int4> : tensor<64xi8> -> !lowbit.packed<8x16, int4>
// CHECK: lowbit.matmul %[[H]], %[[W2]] scales(%{{.*}} : tensor<8x1xf32>)
// CHECK: layer1_q8_0: "0x08000000
