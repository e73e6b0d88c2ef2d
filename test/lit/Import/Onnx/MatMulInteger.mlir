// RUN: %python %S/Inputs/make_model.py MatMulInteger > %t.MatMulInteger.onnx
// RUN: lowbit-compile %t.MatMulInteger.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.MatMulInteger.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py QLinearMatMul > %t.QLinearMatMul.onnx
// RUN: lowbit-compile %t.QLinearMatMul.onnx | FileCheck %s --check-prefix=QLINEAR
// RUN: lowbit-compile %t.QLinearMatMul.onnx | lowbit-opt --verify-roundtrip > /dev/null

// uint8 activations minus a scalar zero point, int8 weights minus one zero
// point per column, both widened to i32, then an i32 contraction.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x3xi32> {onnx.name = "y"})
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x4xi8>, tensor<i8>) outs(%{{.*}} : tensor<?x4xi32>)
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: %[[B:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x3xi8>, tensor<3xi8>) outs(%{{.*}} : tensor<4x3xi32>)
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: linalg.generic {{.*}} ins(%[[A]], %[[B]] : tensor<?x4xi32>, tensor<4x3xi32>) outs(%{{.*}} : tensor<?x3xi32>)
// CHECK: arith.muli
// CHECK-NEXT: arith.addi

// QLinearMatMul: the same i32 product, rescaled by a_scale * b_scale /
// y_scale and quantized with y's zero point.
// QLINEAR-LABEL: func.func @main
// QLINEAR-SAME: -> (tensor<?x3xi8> {onnx.name = "y"})
// QLINEAR: %[[ACC:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x3xi32>)
// QLINEAR: linalg.generic {{.*}} ins(%[[ACC]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x3xi32>, tensor<f32>, tensor<3xf32>, tensor<f32>, tensor<i8>) outs(%{{.*}} : tensor<?x3xi8>)
// QLINEAR: arith.sitofp %{{.*}} : i32 to f32
// QLINEAR: math.roundeven
// QLINEAR: arith.fptoui %{{.*}} : f32 to i8
