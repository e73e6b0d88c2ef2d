//===- Mixes.h - llama.cpp's quantization mixes ----------------*- C++ -*-===//
//
// A "mix" (llama.cpp's llama_ftype, e.g. Q4_K_M) picks a ggml type for every
// tensor of a model from the tensor's role (its name), its layer, its shape
// and a few model facts (layer count, grouped-query ratio, expert count),
// following llama.cpp's per-tensor rules (GGUF_SPEC.md section 4). The rules
// are reproduced, not the code: the unit tests check them against llama.cpp's
// published bits per weight for Llama-3.1-8B.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_GGUF_MIXES_H
#define LOWBIT_GGUF_MIXES_H

#include "lowbit/Gguf/Metadata.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Status.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::gguf {

/// The mixes lowbit writes; each value is the llama_ftype stored in
/// general.file_type (section 1.8).
enum class Mix : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 7,
  Q5_0 = 8,
  Q5_1 = 9,
  Q2_K = 10,
  Q3_K_S = 11,
  Q3_K_M = 12,
  Q3_K_L = 13,
  Q4_K_S = 14,
  Q4_K_M = 15,
  Q5_K_S = 16,
  Q5_K_M = 17,
  Q6_K = 18,
  Q2_K_S = 21, ///< Q2_K needing an importance matrix (llama.cpp refuses it without)
  IQ4_NL = 25,
  IQ4_XS = 30,
  BF16 = 32,
  TQ1_0 = 36,
  TQ2_0 = 37,
};

/// Every mix, in llama_ftype order.
const std::vector<Mix> &allMixes();
/// "Q4_K_M"; the name llama-quantize accepts.
std::string_view mixName(Mix mix);
/// Looks a mix up by name, case-insensitively.
std::optional<Mix> parseMix(std::string_view name);
/// The type most tensors get (llama_ftype_get_default_type).
quant::GgmlType defaultTypeOf(Mix mix);
/// The general.file_type value.
inline uint32_t fileTypeOf(Mix mix) { return static_cast<uint32_t>(mix); }
/// Whether a tensor given this type by this mix must have importance data:
/// llama.cpp refuses Q2_K_S's Q2_K tensors (token_embd excepted) without it.
bool needsImatrix(Mix mix, quant::GgmlType type, const std::string &tensorName);

/// The model facts the rules look at.
struct ModelInfo {
  std::string architecture;
  int64_t layerCount = 0;
  int64_t headCount = 0;
  int64_t kvHeadCount = 0;
  int64_t expertCount = 0;

  /// n_head / n_head_kv (1 when unknown).
  int64_t gqaRatio() const { return headCount > 0 && kvHeadCount > 0 ? headCount / kvHeadCount : 1; }
  bool isFalcon() const { return architecture == "falcon"; }
  /// llama.cpp's LLM_TYPE_70B for the llama architecture: 80 layers with
  /// grouped-query attention (80 layers without it is the 65B model).
  bool isLlama70B() const { return architecture == "llama" && layerCount == 80 && gqaRatio() > 1; }
};

/// Reads general.architecture and <arch>.block_count, .attention.head_count,
/// .attention.head_count_kv, .expert_count (each UINT32, UINT64 or another
/// integer type; a per-layer array contributes its first element).
Status modelInfoFromMetadata(const Metadata &metadata, ModelInfo &info);

struct MixOptions {
  bool haveImatrix = false;       ///< some rules differ with an importance matrix
  bool leaveOutputTensor = false; ///< llama-quantize --leave-output-tensor
  bool pure = false;              ///< llama-quantize --pure: the default type everywhere
  /// llama-quantize --output-tensor-type / --token-embedding-type: the type of
  /// output.weight / token_embd.weight, replacing whatever the rules chose.
  std::optional<quant::GgmlType> outputType;
  std::optional<quant::GgmlType> tokenEmbeddingType;
};

/// One tensor's decision.
struct TensorPlan {
  size_t index = 0;      ///< into the input tensor list
  uint32_t type = 0;     ///< the ggml type id to write
  bool quantize = false; ///< type differs from the input's: (de)quantize it
  bool fellBack = false; ///< the rules' type did not fit ne[0]; a fallback was used
};

/// Decides every tensor's type. The plan lists the tensors in the order
/// llama-quantize visits and writes them: tensors outside blk.N first, then
/// by layer number, each group by name.
Status planMix(Mix mix, const ModelInfo &model, const std::vector<TensorInfo> &tensors, const MixOptions &options,
               std::vector<TensorPlan> &plan);

/// Whether llama-quantize quantizes a tensor of this name and rank at all
/// (weights of rank >= 2 that are not norms, routers, position embeddings,
/// or the small 2-D tensors of Mamba and RWKV).
bool isQuantizable(const std::string &name, size_t nDims, bool leaveOutputTensor = false);

} // namespace lowbit::gguf

#endif // LOWBIT_GGUF_MIXES_H
