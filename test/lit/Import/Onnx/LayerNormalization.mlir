// RUN: %python %S/Inputs/make_model.py LayerNormalization > %t.LayerNormalization.onnx
// RUN: lowbit-compile %t.LayerNormalization.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.LayerNormalization.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py LayerNormalizationF16 > %t.LayerNormalizationF16.onnx
// RUN: lowbit-compile %t.LayerNormalizationF16.onnx | FileCheck %s --check-prefix=F16
// RUN: lowbit-compile %t.LayerNormalizationF16.onnx | lowbit-opt --verify-roundtrip > /dev/null

// Mean and variance over the last axis (two reductions, kept as ?x?x1),
// 1/sqrt(var + epsilon), then scale and bias; batch and sequence stay dynamic.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32> {onnx.name = "x"}) -> (tensor<?x?x8xf32> {onnx.name = "y"})
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK-DAG: %[[COUNT:.*]] = arith.constant 8.000000e+00 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%[[X]] : tensor<?x?x8xf32>) outs({{.*}} : tensor<?x?xf32>)
// CHECK: arith.divf %{{.*}}, %[[COUNT]] : f32
// CHECK: arith.subf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.addf %{{.*}}, %[[EPS]] : f32
// CHECK-NEXT: math.rsqrt
// CHECK: ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%{{.*}} : tensor<?x?x8xf32>)
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf
// CHECK: return %{{.*}} : tensor<?x?x8xf32>

// f16 with axis 1: widened to f32 (stash_type 1), normalized over [3, 4],
// narrowed back before the scale; Mean and InvStdDev are f32 2x1x1.
// F16-LABEL: func.func @main
// F16-SAME: -> (tensor<2x3x4xf16> {onnx.name = "y"}, tensor<2x1x1xf32> {onnx.name = "mean"}, tensor<2x1x1xf32> {onnx.name = "inv"})
// F16-DAG: arith.constant 1.200000e+01 : f32
// F16: arith.extf %{{.*}} : f16 to f32
// F16: iterator_types = ["parallel", "reduction", "reduction"]
// F16: math.rsqrt
// F16: arith.truncf %{{.*}} : f32 to f16
// F16: return %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x3x4xf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>
