// RUN: %python %S/Inputs/make_model.py QuantizeLinear > %t.QuantizeLinear.onnx
// RUN: lowbit-compile %t.QuantizeLinear.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.QuantizeLinear.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py QuantizeLinearPerAxis > %t.QuantizeLinearPerAxis.onnx
// RUN: lowbit-compile %t.QuantizeLinearPerAxis.onnx | FileCheck %s --check-prefix=AXIS
// RUN: lowbit-compile %t.QuantizeLinearPerAxis.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py QuantizeLinearBlocked --opset 21 > %t.QuantizeLinearBlocked.onnx
// RUN: lowbit-compile %t.QuantizeLinearBlocked.onnx | FileCheck %s --check-prefix=BLOCK
// RUN: lowbit-compile %t.QuantizeLinearBlocked.onnx | lowbit-opt --verify-roundtrip > /dev/null

// Per tensor to uint8: round half to even, add the zero point, saturate to
// [0, 255]; the result is signless i8 holding unsigned codes.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x4xi8> {onnx.name = "y"})
// CHECK-DAG: %[[HI:.*]] = arith.constant 2.550000e+02 : f32
// CHECK-DAG: %[[LO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: linalg.generic
// CHECK-SAME: tensor<?x4xf32>, tensor<f32>, tensor<i8>
// CHECK: %[[Q:.*]] = arith.divf
// CHECK: %[[R:.*]] = math.roundeven %[[Q]] : f32
// CHECK: %[[Z:.*]] = arith.uitofp %{{.*}} : i8 to f32
// CHECK: %[[S:.*]] = arith.addf %[[R]], %[[Z]] : f32
// CHECK: %[[C1:.*]] = arith.maximumf %[[S]], %[[LO]] : f32
// CHECK: %[[C2:.*]] = arith.minimumf %[[C1]], %[[HI]] : f32
// CHECK: arith.fptoui %[[C2]] : f32 to i8

// Per axis 1 to int8: the scale and zero point are indexed by d1.
// AXIS-DAG: #[[$PARAM:.*]] = affine_map<(d0, d1) -> (d1)>
// AXIS-LABEL: func.func @main
// AXIS-DAG: arith.constant -1.280000e+02
// AXIS: linalg.generic {indexing_maps = [#{{.*}}, #[[$PARAM]], #[[$PARAM]], #{{.*}}]
// AXIS-SAME: tensor<?x4xf32>, tensor<4xf32>, tensor<4xi8>
// AXIS: arith.fptosi %{{.*}} : f32 to i8

// Opset 21 blocked: one scale per block of 4 along axis 1.
// BLOCK-DAG: #[[$BLOCK:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 4)>
// BLOCK-LABEL: func.func @main
// BLOCK: linalg.generic {indexing_maps = [#{{.*}}, #[[$BLOCK]], #[[$BLOCK]], #{{.*}}]
// BLOCK-SAME: tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xi8>
