//===- TensorNames.h - Weight names to GGUF tensor roles -------*- C++ -*-===//
//
// llama.cpp's mixes choose a type by a tensor's GGUF name (blk.3.attn_v.weight,
// output.weight, ...). Models that arrive as ONNX carry Hugging Face names
// (model.layers.3.self_attn.v_proj.weight, encoder.layer.3.attention.self.value
// ...); this maps them to the GGUF names of the same roles, so a mix such as
// Q4_K_M applies to an ONNX model by layer role. Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_GGUF_TENSORNAMES_H
#define LOWBIT_GGUF_TENSORNAMES_H

#include <string>
#include <string_view>

namespace lowbit::gguf {

/// The GGUF name of a weight with this (Hugging Face or GGUF) name or ONNX
/// node path (/model/layers.0/mlp/up_proj/MatMul), or an empty string when
/// its role is not known (the mix's default type applies).
std::string ggufNameFor(std::string_view name);

} // namespace lowbit::gguf

#endif // LOWBIT_GGUF_TENSORNAMES_H
