// RUN: %python %S/Inputs/make_model.py DynamicQuantizeLinear > %t.onnx
// RUN: lowbit-compile %t.onnx | FileCheck %s
// RUN: lowbit-compile %t.onnx | lowbit-opt --verify-roundtrip > /dev/null

// uint8 with scale = (max(x, 0) - min(x, 0)) / 255 and zero point
// saturate(round(-min / scale)); the reductions start at 0.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<?x4xi8> {onnx.name = "y"}, tensor<f32> {onnx.name = "s"}, tensor<i8> {onnx.name = "z"})
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.maximumf
// CHECK: %[[MIN:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.minimumf
// CHECK: %[[SCALE:.*]] = linalg.generic {{.*}} ins(%[[MAX]], %[[MIN]] : tensor<f32>, tensor<f32>)
// CHECK: %[[ZP:.*]] = linalg.generic {{.*}} ins(%[[MIN]], %[[SCALE]] : tensor<f32>, tensor<f32>) outs(%{{.*}} : tensor<i8>)
// CHECK: math.roundeven
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[SCALE]], %[[ZP]] : tensor<?x4xf32>, tensor<f32>, tensor<i8>)
// CHECK: return %[[Y]], %[[SCALE]], %[[ZP]]
