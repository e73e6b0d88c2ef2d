//===- TensorNames.cpp - Weight names to GGUF tensor roles ----------------===//

#include "lowbit/Gguf/TensorNames.h"

#include <array>
#include <cctype>
#include <utility>

namespace lowbit::gguf {
namespace {

/// Roles inside a layer: a distinctive part of the Hugging Face name (Llama
/// family first, then BERT) and the GGUF role. Order matters: the first
/// match wins, so "attention.output.dense" precedes the plain "output.dense".
constexpr std::array<std::pair<std::string_view, std::string_view>, 13> kLayerRoles = {{
    {"self_attn.q_proj", "attn_q"},
    {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},
    {"self_attn.o_proj", "attn_output"},
    {"mlp.gate_proj", "ffn_gate"},
    {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
    {"attention.self.query", "attn_q"},
    {"attention.self.key", "attn_k"},
    {"attention.self.value", "attn_v"},
    {"attention.output.dense", "attn_output"},
    {"intermediate.dense", "ffn_up"},
    {"output.dense", "ffn_down"},
}};

/// The layer number after "layers." or "layer." (or "blk."), or -1.
long layerNumber(std::string_view name) {
  for (std::string_view marker : {"layers.", "layer.", "blk."}) {
    size_t at = name.find(marker);
    if (at == std::string_view::npos)
      continue;
    size_t digits = at + marker.size(), end = digits;
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end])))
      ++end;
    if (end > digits)
      return std::stol(std::string(name.substr(digits, end - digits)));
  }
  return -1;
}

bool contains(std::string_view name, std::string_view part) { return name.find(part) != std::string_view::npos; }

} // namespace

std::string ggufNameFor(std::string_view path) {
  if (path.substr(0, 4) == "blk." || path == "output.weight" || path == "token_embd.weight")
    return std::string(path);
  // ONNX node names spell module paths with slashes (/model/layers.0/mlp/up_proj/MatMul).
  std::string dotted(path);
  for (char &c : dotted)
    if (c == '/')
      c = '.';
  std::string_view name = dotted;
  if (contains(name, "lm_head"))
    return "output.weight";
  if (contains(name, "embed_tokens") || contains(name, "word_embeddings"))
    return "token_embd.weight";
  long layer = layerNumber(name);
  if (layer < 0)
    return "";
  for (auto [part, role] : kLayerRoles)
    if (contains(name, part))
      return "blk." + std::to_string(layer) + "." + std::string(role) + ".weight";
  return "";
}

} // namespace lowbit::gguf
