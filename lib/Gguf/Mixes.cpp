//===- Mixes.cpp - llama.cpp's quantization mixes -------------------------===//
//
// Written from GGUF_SPEC.md section 4's prose. The rules are organised by
// tensor role; within a role they apply in the order the spec lists them.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Gguf/Mixes.h"

#include "lowbit/Gguf/TypeTable.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

namespace lowbit::gguf {

using quant::GgmlType;

namespace {

struct MixEntry {
  Mix mix;
  std::string_view name;
  GgmlType defaultType;
};

constexpr std::array<MixEntry, 22> kMixes = {{
    {Mix::F32, "F32", GgmlType::F32},          {Mix::F16, "F16", GgmlType::F16},
    {Mix::Q4_0, "Q4_0", GgmlType::Q4_0},       {Mix::Q4_1, "Q4_1", GgmlType::Q4_1},
    {Mix::Q8_0, "Q8_0", GgmlType::Q8_0},       {Mix::Q5_0, "Q5_0", GgmlType::Q5_0},
    {Mix::Q5_1, "Q5_1", GgmlType::Q5_1},       {Mix::Q2_K, "Q2_K", GgmlType::Q2_K},
    {Mix::Q3_K_S, "Q3_K_S", GgmlType::Q3_K},   {Mix::Q3_K_M, "Q3_K_M", GgmlType::Q3_K},
    {Mix::Q3_K_L, "Q3_K_L", GgmlType::Q3_K},   {Mix::Q4_K_S, "Q4_K_S", GgmlType::Q4_K},
    {Mix::Q4_K_M, "Q4_K_M", GgmlType::Q4_K},   {Mix::Q5_K_S, "Q5_K_S", GgmlType::Q5_K},
    {Mix::Q5_K_M, "Q5_K_M", GgmlType::Q5_K},   {Mix::Q6_K, "Q6_K", GgmlType::Q6_K},
    {Mix::IQ4_NL, "IQ4_NL", GgmlType::IQ4_NL}, {Mix::IQ4_XS, "IQ4_XS", GgmlType::IQ4_XS},
    {Mix::BF16, "BF16", GgmlType::BF16},       {Mix::TQ1_0, "TQ1_0", GgmlType::TQ1_0},
    {Mix::TQ2_0, "TQ2_0", GgmlType::TQ2_0},     {Mix::Q2_K_S, "Q2_K_S", GgmlType::Q2_K},
}};

const MixEntry &entryOf(Mix mix) {
  for (const MixEntry &e : kMixes)
    if (e.mix == mix)
      return e;
  return kMixes[0]; // unreachable for a valid Mix
}

bool contains(const std::string &s, std::string_view part) { return s.find(part) != std::string::npos; }

bool endsWith(const std::string &s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The N of a "blk.N." prefix, or -1 for tensors outside the layers.
int64_t layerOf(const std::string &name) {
  if (name.compare(0, 4, "blk.") != 0)
    return -1;
  char *end = nullptr;
  long long layer = std::strtoll(name.c_str() + 4, &end, 10);
  if (end == name.c_str() + 4 || *end != '.' || layer < 0)
    return -1;
  return layer;
}

/// The rank ggml reports: trailing size-1 dimensions do not count.
size_t effectiveRank(const std::vector<int64_t> &shape) {
  size_t rank = shape.size();
  while (rank > 1 && shape[rank - 1] == 1)
    --rank;
  return rank;
}

/// llama.cpp's use_more_bits: the first and last eighth of the layers, and
/// every third layer in between, get more bits.
bool moreBits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

enum class Role { Output, TokenEmbedding, AttnV, AttnK, AttnQ, AttnOutput, AttnQkv, FfnDown, Other };

Role roleOf(const std::string &name, bool hasOutput) {
  if (name == "output.weight" || (!hasOutput && name == "token_embd.weight"))
    return Role::Output;
  if (name == "token_embd.weight")
    return Role::TokenEmbedding;
  if (contains(name, "attn_v.weight"))
    return Role::AttnV;
  if (contains(name, "attn_k.weight"))
    return Role::AttnK;
  if (contains(name, "attn_q.weight"))
    return Role::AttnQ;
  if (contains(name, "attn_output.weight"))
    return Role::AttnOutput;
  if (contains(name, "attn_qkv.weight"))
    return Role::AttnQkv;
  if (contains(name, "ffn_down"))
    return Role::FfnDown;
  return Role::Other;
}

uint32_t blockSizeOf(GgmlType t) { return quant::ggmlTypeInfo(t).blockSize; }

/// The running state llama.cpp keeps while it visits the tensors in order.
struct Counters {
  int64_t attentionV = 0;     ///< attn_v tensors seen so far
  int64_t attentionVTotal = 0;
  int64_t ffnDown = 0;        ///< ffn_down tensors seen so far
};

class Rules {
public:
  Rules(Mix mix, const ModelInfo &model, const MixOptions &options)
      : mix_(mix), model_(model), options_(options), default_(defaultTypeOf(mix)) {}

  GgmlType choose(const std::string &name, const std::vector<int64_t> &shape, bool hasOutput, Counters &counters) const {
    switch (roleOf(name, hasOutput)) {
    case Role::Output:
      return output(shape);
    case Role::TokenEmbedding:
      return tokenEmbedding();
    case Role::AttnV:
      return attentionV(counters.attentionV++, counters.attentionVTotal);
    case Role::AttnK:
      return model_.expertCount == 8 ? GgmlType::Q8_0 : default_;
    case Role::AttnOutput:
      return attentionOutput();
    case Role::AttnQkv:
      return attentionQkv();
    case Role::FfnDown:
      return ffnDown(name, counters.ffnDown++);
    case Role::AttnQ:
    case Role::Other:
      return default_;
    }
    return default_;
  }

private:
  bool is(Mix m) const { return mix_ == m; }

  // Q6_K for the output projection (and a tied token embedding), Q8_0 when
  // a row does not hold whole 256-blocks or for Falcon; a Q8_0 mix stays Q8_0.
  GgmlType output(const std::vector<int64_t> &shape) const {
    int64_t ne0 = shape.empty() ? 1 : shape[0];
    if (model_.isFalcon() || ne0 % 256 != 0)
      return GgmlType::Q8_0;
    return default_ == GgmlType::Q8_0 ? GgmlType::Q8_0 : GgmlType::Q6_K;
  }

  GgmlType tokenEmbedding() const {
    if (is(Mix::TQ1_0) || is(Mix::TQ2_0))
      return GgmlType::Q4_K;
    return default_;
  }

  GgmlType attentionV(int64_t i, int64_t n) const {
    GgmlType t = default_;
    int64_t gqa = model_.gqaRatio();
    if (is(Mix::Q2_K))
      t = gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
    else if (is(Mix::Q2_K_S) && gqa >= 4)
      t = GgmlType::Q4_K;
    else if (is(Mix::Q3_K_M))
      t = i < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
    else if (is(Mix::Q3_K_L))
      t = GgmlType::Q5_K;
    else if ((is(Mix::IQ4_NL) || is(Mix::IQ4_XS)) && gqa >= 4)
      t = GgmlType::Q5_K;
    else if ((is(Mix::Q4_K_M) || is(Mix::Q5_K_M)) && moreBits(i, n))
      t = GgmlType::Q6_K;
    else if (is(Mix::Q4_K_S) && i < 4)
      t = GgmlType::Q5_K;
    // Llama-2-70B's 8 query heads share each V head: attn_v is 8x smaller
    // than attn_q, so more bits cost almost nothing.
    if (model_.isLlama70B() && (t == GgmlType::Q3_K || t == GgmlType::Q4_K))
      t = GgmlType::Q5_K;
    if (model_.expertCount == 8)
      t = GgmlType::Q8_0;
    return t;
  }

  GgmlType attentionOutput() const {
    if (model_.isFalcon())
      return is(Mix::Q3_K_L) ? GgmlType::Q4_K : default_;
    if (model_.expertCount == 8) {
      bool bump = is(Mix::Q2_K) || is(Mix::Q3_K_S) || is(Mix::Q3_K_M) || is(Mix::Q4_K_S) || is(Mix::Q4_K_M) ||
                  is(Mix::IQ4_NL) || is(Mix::IQ4_XS);
      return bump ? GgmlType::Q5_K : default_;
    }
    if (is(Mix::Q2_K))
      return GgmlType::Q3_K;
    if (is(Mix::Q3_K_M))
      return GgmlType::Q4_K;
    if (is(Mix::Q3_K_L))
      return GgmlType::Q5_K;
    return default_;
  }

  GgmlType attentionQkv() const {
    if (is(Mix::Q3_K_M) || is(Mix::Q3_K_L))
      return GgmlType::Q4_K;
    if (is(Mix::Q4_K_M))
      return GgmlType::Q5_K;
    if (is(Mix::Q5_K_M))
      return GgmlType::Q6_K;
    return default_;
  }

  // Dense models count ffn_down tensors in visiting order; MoE models take
  // the layer from the name, since each layer has several ffn_down tensors.
  GgmlType ffnDown(const std::string &name, int64_t counter) const {
    int64_t n = model_.layerCount;
    int64_t i = counter;
    if (model_.expertCount > 1 && layerOf(name) >= 0)
      i = layerOf(name);
    bool falcon = model_.isFalcon();
    if (is(Mix::Q2_K))
      return GgmlType::Q3_K;
    if (is(Mix::Q2_K_S) && i < n / 8)
      return GgmlType::Q4_K;
    if (is(Mix::Q3_K_M)) {
      if (i < n / 16)
        return GgmlType::Q5_K;
      return !falcon || moreBits(i, n) ? GgmlType::Q4_K : GgmlType::Q3_K;
    }
    if (is(Mix::Q3_K_L))
      return falcon ? GgmlType::Q4_K : GgmlType::Q5_K;
    if (is(Mix::Q4_K_M)) {
      if (falcon)
        return i < n / 16 ? GgmlType::Q6_K : moreBits(i, n) ? GgmlType::Q5_K : GgmlType::Q4_K;
      return moreBits(i, n) ? GgmlType::Q6_K : default_;
    }
    if (is(Mix::Q5_K_M) && moreBits(i, n))
      return GgmlType::Q6_K;
    if (is(Mix::Q4_K_S) && !falcon && i < n / 8)
      return GgmlType::Q5_K;
    // An imatrix alone does not tame the first ffn_down layers in Q4_0/Q5_0.
    if (options_.haveImatrix && i < n / 8 && is(Mix::Q4_0))
      return GgmlType::Q4_1;
    if (options_.haveImatrix && i < n / 8 && is(Mix::Q5_0))
      return GgmlType::Q5_1;
    if (!options_.haveImatrix && i < n / 8 && (is(Mix::IQ4_NL) || is(Mix::IQ4_XS)))
      return GgmlType::Q5_K;
    return default_;
  }

  Mix mix_;
  const ModelInfo &model_;
  const MixOptions &options_;
  GgmlType default_;
};

/// ggml's substitute when ne[0] does not hold whole blocks of the chosen
/// type: a 32-block type of similar size, else F16.
GgmlType fitToRow(GgmlType chosen, int64_t ne0, bool &fellBack) {
  fellBack = false;
  if (ne0 % blockSizeOf(chosen) == 0)
    return chosen;
  fellBack = true;
  GgmlType fallback = GgmlType::F16;
  switch (chosen) {
  case GgmlType::Q2_K:
  case GgmlType::Q3_K:
  case GgmlType::TQ1_0:
  case GgmlType::TQ2_0:
    fallback = GgmlType::Q4_0;
    break;
  case GgmlType::Q4_K:
    fallback = GgmlType::Q5_0;
    break;
  case GgmlType::Q5_K:
    fallback = GgmlType::Q5_1;
    break;
  case GgmlType::Q6_K:
    fallback = GgmlType::Q8_0;
    break;
  case GgmlType::IQ4_XS:
    fallback = GgmlType::IQ4_NL;
    break;
  default:
    break;
  }
  return ne0 % blockSizeOf(fallback) == 0 ? fallback : GgmlType::F16;
}

/// Visiting order: non-layer tensors first, then by layer, then by name.
std::vector<size_t> visitOrder(const std::vector<TensorInfo> &tensors) {
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  // Names are unique (the reader checks it), so this order is total.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int64_t la = layerOf(tensors[a].name), lb = layerOf(tensors[b].name);
    if (la != lb)
      return la < lb;
    return tensors[a].name < tensors[b].name;
  });
  return order;
}

/// Reads an integer key that may also be a per-layer array (first element).
std::optional<int64_t> integerKey(const Metadata &metadata, const std::string &key) {
  const Value *v = metadata.find(key);
  if (!v)
    return std::nullopt;
  if (!v->isArray()) {
    std::optional<uint64_t> u = v->asUnsigned();
    return u ? std::optional<int64_t>(static_cast<int64_t>(*u)) : std::nullopt;
  }
  if (v->count() == 0)
    return std::nullopt;
  if (auto e = v->element<uint32_t>(0))
    return *e;
  if (auto e = v->element<int32_t>(0))
    return *e;
  if (auto e = v->element<uint64_t>(0))
    return static_cast<int64_t>(*e);
  if (auto e = v->element<int64_t>(0))
    return *e;
  return std::nullopt;
}

} // namespace

const std::vector<Mix> &allMixes() {
  static const std::vector<Mix> mixes = [] {
    std::vector<Mix> v;
    for (const MixEntry &e : kMixes)
      v.push_back(e.mix);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return mixes;
}

std::string_view mixName(Mix mix) { return entryOf(mix).name; }

GgmlType defaultTypeOf(Mix mix) { return entryOf(mix).defaultType; }

std::optional<Mix> parseMix(std::string_view name) {
  for (const MixEntry &e : kMixes) {
    if (e.name.size() != name.size())
      continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(name[i])) == e.name[i];
    if (same)
      return e.mix;
  }
  return std::nullopt;
}

bool needsImatrix(Mix mix, GgmlType type, const std::string &tensorName) {
  return mix == Mix::Q2_K_S && type == GgmlType::Q2_K && tensorName != "token_embd.weight";
}

Status modelInfoFromMetadata(const Metadata &metadata, ModelInfo &info) {
  std::optional<std::string> arch = metadata.getString("general.architecture");
  if (!arch)
    return Status::error("metadata has no string key 'general.architecture'");
  info = ModelInfo();
  info.architecture = *arch;
  info.layerCount = integerKey(metadata, *arch + ".block_count").value_or(0);
  info.headCount = integerKey(metadata, *arch + ".attention.head_count").value_or(0);
  info.kvHeadCount = integerKey(metadata, *arch + ".attention.head_count_kv").value_or(info.headCount);
  info.expertCount = integerKey(metadata, *arch + ".expert_count").value_or(0);
  return Status::ok();
}

bool isQuantizable(const std::string &name, size_t nDims, bool leaveOutputTensor) {
  if (!endsWith(name, "weight") || nDims < 2)
    return false;
  if (leaveOutputTensor && name == "output.weight")
    return false;
  // Norms, MoE routers, tiny per-layer tensors and embeddings that llama.cpp
  // keeps in their input type.
  static constexpr std::array<std::string_view, 23> kKept = {
      "_norm.weight",          "ffn_gate_inp.weight",      "altup",
      "laurel",                "per_layer_model_proj",     "ssm_conv1d.weight",
      "shortconv.conv.weight", "time_mix_first.weight",    "time_mix_w0.weight",
      "time_mix_w1.weight",    "time_mix_w2.weight",       "time_mix_v0.weight",
      "time_mix_v1.weight",    "time_mix_v2.weight",       "time_mix_a0.weight",
      "time_mix_a1.weight",    "time_mix_a2.weight",       "time_mix_g1.weight",
      "time_mix_g2.weight",    "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
      "time_mix_lerp_fused.weight", "attn_rel_b.weight",
  };
  for (std::string_view kept : kKept)
    if (contains(name, kept))
      return false;
  return name != "position_embd.weight" && name != "token_types.weight";
}

Status planMix(Mix mix, const ModelInfo &modelIn, const std::vector<TensorInfo> &tensors, const MixOptions &options,
               std::vector<TensorPlan> &plan) {
  // Without <arch>.block_count the layer rules would treat every layer as
  // "more bits"; count the blk.N prefixes instead.
  ModelInfo model = modelIn;
  if (model.layerCount <= 0)
    for (const TensorInfo &t : tensors)
      model.layerCount = std::max(model.layerCount, layerOf(t.name) + 1);
  Counters counters;
  bool hasOutput = false;
  for (const TensorInfo &t : tensors) {
    if (contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight") ||
        contains(t.name, "attn_kv_b.weight"))
      ++counters.attentionVTotal;
    hasOutput |= t.name == "output.weight";
  }

  Rules rules(mix, model, options);
  GgmlType defaultType = defaultTypeOf(mix);
  bool defaultIsQuantized = quant::ggmlTypeInfo(defaultType).blockSize > 1;
  plan.clear();
  for (size_t index : visitOrder(tensors)) {
    const TensorInfo &t = tensors[index];
    TensorPlan p;
    p.index = index;
    p.type = t.type;
    if (isQuantizable(t.name, effectiveRank(t.shape), options.leaveOutputTensor)) {
      GgmlType chosen = defaultType;
      if (!options.pure && defaultIsQuantized)
        chosen = rules.choose(t.name, t.shape, hasOutput, counters);
      chosen = fitToRow(chosen, t.dim(0), p.fellBack);
      // The user's types win over the rules and get no fallback.
      if (options.tokenEmbeddingType && t.name == "token_embd.weight")
        chosen = *options.tokenEmbeddingType;
      if (options.outputType && t.name == "output.weight")
        chosen = *options.outputType;
      if (t.dim(0) % blockSizeOf(chosen) != 0)
        return Status::error("tensor '" + t.name + "': ne[0] = " + std::to_string(t.dim(0)) + " is not a multiple of " +
                             std::string(quant::ggmlTypeInfo(chosen).name) + "'s block size " +
                             std::to_string(blockSizeOf(chosen)));
      p.type = static_cast<uint32_t>(chosen);
    }
    p.quantize = p.type != t.type;
    plan.push_back(p);
  }
  return Status::ok();
}

} // namespace lowbit::gguf
