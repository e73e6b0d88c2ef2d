// Bad models give an error that names what is wrong and where, and a
// non-zero exit.

// RUN: %python %S/Inputs/make_model.py UnsupportedOp > %t.unsupported.onnx
// RUN: not lowbit-compile %t.unsupported.onnx 2>&1 | FileCheck %s --check-prefix=UNKNOWN-OP
// UNKNOWN-OP: error: node 'mystery' (Foo, domain 'com.example', opset 1): unsupported op

// RUN: %python %S/Inputs/make_model.py MissingInput > %t.missing.onnx
// RUN: not lowbit-compile %t.missing.onnx 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: node 'add' (Add, domain 'ai.onnx', opset 17): input 'nowhere' is not produced by an earlier node, an initializer or a graph input

// RUN: %python %S/Inputs/make_model.py ShortInitializer > %t.short.onnx
// RUN: not lowbit-compile %t.short.onnx 2>&1 | FileCheck %s --check-prefix=SHORT
// SHORT: error: tensor 'w' has 20 bytes of data, but its shape 2x3 of FLOAT needs 24

// RUN: %python %S/Inputs/make_model.py MissingExternalData > %t.external.onnx
// RUN: not lowbit-compile %t.external.onnx 2>&1 | FileCheck %s --check-prefix=EXTERNAL
// EXTERNAL: error: initializer 'w': cannot read external data file '{{.*}}weights.bin': No such file or directory

// RUN: %python %S/Inputs/make_model.py BadBroadcast > %t.broadcast.onnx
// RUN: not lowbit-compile %t.broadcast.onnx 2>&1 | FileCheck %s --check-prefix=BROADCAST
// BROADCAST: error: node 'add' (Add, domain 'ai.onnx', opset 17): input shapes 2x3 and 4 do not broadcast

// RUN: printf 'not a protobuf' > %t.garbage.onnx
// RUN: not lowbit-compile %t.garbage.onnx 2>&1 | FileCheck %s --check-prefix=GARBAGE
// GARBAGE: error: is not a valid ONNX model: the protobuf does not parse

// RUN: not lowbit-compile %t.does-not-exist.onnx 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: cannot read ONNX model: No such file or directory

// RUN: %python %S/Inputs/make_model.py MatMul > %t.matmul.onnx
// RUN: not lowbit-compile %t.matmul.onnx --input-shape x=2x3 2>&1 | FileCheck %s --check-prefix=SHAPE-RANK
// SHAPE-RANK: error: --input-shape gives input 'x' rank 2, but the model says rank 3
// RUN: not lowbit-compile %t.matmul.onnx --input-shape x=2x3x5 2>&1 | FileCheck %s --check-prefix=SHAPE-FIXED
// SHAPE-FIXED: error: --input-shape sets dimension 2 of input 'x' to 5, but the model fixes it to 4
// RUN: not lowbit-compile %t.matmul.onnx --input-shape y=2 2>&1 | FileCheck %s --check-prefix=SHAPE-NAME
// SHAPE-NAME: error: --input-shape names 'y', which is not an input of the model
// RUN: not lowbit-compile %t.matmul.onnx --input-shape x 2>&1 | FileCheck %s --check-prefix=SHAPE-SYNTAX
// SHAPE-SYNTAX: error: --input-shape expects NAME=DxD..., got 'x'

// Op-specific checks.

// RUN: %python %S/Inputs/make_model.py EinsumBadLabel > %t.einsum.onnx
// RUN: not lowbit-compile %t.einsum.onnx 2>&1 | FileCheck %s --check-prefix=EINSUM
// EINSUM: error: node 'einsum' (Einsum, domain 'ai.onnx', opset 17): equation 'ij,jk->iz': output label 'z' appears in no input

// RUN: %python %S/Inputs/make_model.py MatMulNBitsGIdx > %t.gidx.onnx
// RUN: not lowbit-compile %t.gidx.onnx 2>&1 | FileCheck %s --check-prefix=GIDX
// GIDX: error: node 'matmulnbits' (MatMulNBits, domain 'com.microsoft', opset 1): g_idx (act-order group indices) is not supported

// RUN: %python %S/Inputs/make_model.py ReshapeTwoInferred > %t.reshape.onnx
// RUN: not lowbit-compile %t.reshape.onnx 2>&1 | FileCheck %s --check-prefix=RESHAPE
// RESHAPE: error: node 'reshape' (Reshape, domain 'ai.onnx', opset 17): shape -1x-1 has more than one -1

// RUN: %python %S/Inputs/make_model.py QuantizeLinearInt4 --opset 21 > %t.int4.onnx
// RUN: not lowbit-compile %t.int4.onnx 2>&1 | FileCheck %s --check-prefix=INT4
// INT4: error: node 'quantize' (QuantizeLinear, domain 'ai.onnx', opset 21): y has element type INT4; lowbit supports INT8, UINT8, INT16 and UINT16 here (INT4, UINT4 and the float8 types are not supported)
