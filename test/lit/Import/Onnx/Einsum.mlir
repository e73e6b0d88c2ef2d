// RUN: %python %S/Inputs/make_model.py EinsumBatchMatmul > %t.EinsumBatchMatmul.onnx
// RUN: lowbit-compile %t.EinsumBatchMatmul.onnx | FileCheck %s --check-prefix=CHECK
// RUN: lowbit-compile %t.EinsumBatchMatmul.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py EinsumAttention > %t.EinsumAttention.onnx
// RUN: lowbit-compile %t.EinsumAttention.onnx | FileCheck %s --check-prefix=ATTN
// RUN: lowbit-compile %t.EinsumAttention.onnx | lowbit-opt --verify-roundtrip > /dev/null
// RUN: %python %S/Inputs/make_model.py EinsumEllipsis > %t.EinsumEllipsis.onnx
// RUN: lowbit-compile %t.EinsumEllipsis.onnx | FileCheck %s --check-prefix=ELLIPSIS
// RUN: lowbit-compile %t.EinsumEllipsis.onnx | lowbit-opt --verify-roundtrip > /dev/null

// "bij,bjk->bik": loops b, i, k parallel, j a reduction.
// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[$Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @main
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #[[$Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x2x3xf32>, tensor<?x3x4xf32>) outs(%{{.*}} : tensor<?x2x4xf32>)
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf

// "bhqd,bhkd->bhqk": attention scores, q and k both dynamic.
// ATTN-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// ATTN-DAG: #[[$K:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// ATTN-DAG: #[[$S:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// ATTN-LABEL: func.func @main
// ATTN: linalg.generic {indexing_maps = [#[[$Q]], #[[$K]], #[[$S]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// ATTN-SAME: outs(%{{.*}} : tensor<?x2x?x?xf32>)

// "...ij,...jk->...ik" with a 2-D right operand: "..." broadcasts.
// ELLIPSIS-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// ELLIPSIS-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d4, d3)>
// ELLIPSIS-LABEL: func.func @main
// ELLIPSIS: linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #{{.*}}]
// ELLIPSIS-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x5x2x3xf32>, tensor<3x4xf32>) outs(%{{.*}} : tensor<?x5x2x4xf32>)
