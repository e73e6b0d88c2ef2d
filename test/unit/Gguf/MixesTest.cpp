//===- MixesTest.cpp - llama.cpp's quantization mixes ---------------------===//
//
// The strongest check of the rules: the bits per weight llama.cpp publishes
// for Llama-3.1-8B (GGUF_SPEC.md section 4.3), reproduced from a synthetic
// tensor list with that model's shapes.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Gguf/Mixes.h"
#include "lowbit/Gguf/TypeTable.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

using namespace lowbit;
using namespace lowbit::gguf;
using lowbit::quant::GgmlType;

namespace {

struct LlamaShape {
  int64_t vocab, hidden, ffn, layers, heads, kvHeads;
  bool ropeFreqs;
};

constexpr LlamaShape kLlama31_8B = {128256, 4096, 14336, 32, 32, 8, true};
constexpr LlamaShape kLlama2_7B = {32000, 4096, 11008, 32, 32, 32, false};

TensorInfo f32(std::string name, std::vector<int64_t> shape) {
  TensorInfo t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.type = 0;
  return t;
}

/// The tensors of a Llama model as convert_hf_to_gguf writes them (F32 here;
/// only the names and shapes matter to the rules).
std::vector<TensorInfo> llamaTensors(const LlamaShape &s) {
  int64_t kvDim = s.hidden / s.heads * s.kvHeads;
  std::vector<TensorInfo> t = {f32("token_embd.weight", {s.hidden, s.vocab}),
                               f32("output_norm.weight", {s.hidden}), f32("output.weight", {s.hidden, s.vocab})};
  if (s.ropeFreqs)
    t.push_back(f32("rope_freqs.weight", {s.hidden / s.heads / 2}));
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    t.push_back(f32(p + "attn_norm.weight", {s.hidden}));
    t.push_back(f32(p + "attn_q.weight", {s.hidden, s.hidden}));
    t.push_back(f32(p + "attn_k.weight", {s.hidden, kvDim}));
    t.push_back(f32(p + "attn_v.weight", {s.hidden, kvDim}));
    t.push_back(f32(p + "attn_output.weight", {s.hidden, s.hidden}));
    t.push_back(f32(p + "ffn_norm.weight", {s.hidden}));
    t.push_back(f32(p + "ffn_gate.weight", {s.hidden, s.ffn}));
    t.push_back(f32(p + "ffn_up.weight", {s.hidden, s.ffn}));
    t.push_back(f32(p + "ffn_down.weight", {s.ffn, s.hidden}));
  }
  return t;
}

ModelInfo llamaInfo(const LlamaShape &s) {
  ModelInfo m;
  m.architecture = "llama";
  m.layerCount = s.layers;
  m.headCount = s.heads;
  m.kvHeadCount = s.kvHeads;
  return m;
}

std::vector<TensorPlan> plan(Mix mix, const LlamaShape &s, MixOptions options = {}) {
  std::vector<TensorPlan> p;
  Status st = planMix(mix, llamaInfo(s), llamaTensors(s), options, p);
  EXPECT_TRUE(st.isOk()) << st.message();
  return p;
}

double bitsPerWeight(Mix mix, const LlamaShape &s) {
  std::vector<TensorInfo> tensors = llamaTensors(s);
  double bytes = 0, elements = 0;
  for (const TensorPlan &p : plan(mix, s)) {
    const TensorInfo &t = tensors[p.index];
    bytes += static_cast<double>(*tensorByteSize(*typeGeometry(p.type), t.shape.data(), t.shape.size()));
    elements += static_cast<double>(t.elementCount());
  }
  return bytes * 8 / elements;
}

/// How many tensors whose name contains `role` (or is `role` after a leading
/// '=') got each type.
std::map<std::string, int> typesOf(const std::vector<TensorPlan> &p, const LlamaShape &s, const std::string &role) {
  std::vector<TensorInfo> tensors = llamaTensors(s);
  std::map<std::string, int> counts;
  for (const TensorPlan &e : p)
    if (role[0] == '=' ? tensors[e.index].name == role.substr(1)
                       : tensors[e.index].name.find(role) != std::string::npos)
      ++counts[typeName(e.type)];
  return counts;
}

TEST(Mixes, PublishedLlama31_8BBitsPerWeight) {
  // llama.cpp tools/quantize/README.md; Q3_K_M from the spec's re-implementation.
  const std::pair<Mix, double> published[] = {
      {Mix::Q2_K, 3.1593},   {Mix::Q3_K_S, 3.6429}, {Mix::Q3_K_M, 3.9960}, {Mix::Q3_K_L, 4.2979},
      {Mix::Q4_K_S, 4.6672}, {Mix::Q4_K_M, 4.8944}, {Mix::Q5_K_S, 5.5704}, {Mix::Q5_K_M, 5.7036},
      {Mix::Q6_K, 6.5633},   {Mix::Q8_0, 8.5008},   {Mix::Q2_K_S, 2.9697},
  };
  for (auto [mix, bpw] : published)
    EXPECT_NEAR(bitsPerWeight(mix, kLlama31_8B), bpw, 0.00005) << mixName(mix);
}

TEST(Mixes, ComputedLlama2_7BBitsPerWeight) {
  const std::pair<Mix, double> computed[] = {
      {Mix::Q2_K, 3.0062},   {Mix::Q3_K_S, 3.4994}, {Mix::Q3_K_M, 3.9146}, {Mix::Q3_K_L, 4.2697},
      {Mix::Q4_K_S, 4.5779}, {Mix::Q4_K_M, 4.8442}, {Mix::Q5_K_S, 5.5217}, {Mix::Q5_K_M, 5.6778},
      {Mix::Q6_K, 6.5635},   {Mix::Q8_0, 8.5009},
  };
  for (auto [mix, bpw] : computed)
    EXPECT_NEAR(bitsPerWeight(mix, kLlama2_7B), bpw, 0.00005) << mixName(mix);
}

TEST(Mixes, PerTensorTypesOfTheSpecTable) {
  using Counts = std::map<std::string, int>;
  auto p = plan(Mix::Q4_K_M, kLlama31_8B);
  EXPECT_EQ(typesOf(p, kLlama31_8B, "attn_v"), (Counts{{"Q6_K", 16}, {"Q4_K", 16}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "ffn_down"), (Counts{{"Q6_K", 16}, {"Q4_K", 16}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "=output.weight"), (Counts{{"Q6_K", 1}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "token_embd"), (Counts{{"Q4_K", 1}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "_norm"), (Counts{{"F32", 65}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "rope_freqs"), (Counts{{"F32", 1}}));

  p = plan(Mix::Q3_K_M, kLlama31_8B);
  EXPECT_EQ(typesOf(p, kLlama31_8B, "attn_v"), (Counts{{"Q5_K", 2}, {"Q4_K", 30}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "ffn_down"), (Counts{{"Q5_K", 2}, {"Q4_K", 30}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "attn_output"), (Counts{{"Q4_K", 32}}));

  p = plan(Mix::Q4_K_S, kLlama31_8B);
  EXPECT_EQ(typesOf(p, kLlama31_8B, "attn_v"), (Counts{{"Q5_K", 4}, {"Q4_K", 28}}));
  EXPECT_EQ(typesOf(p, kLlama31_8B, "ffn_down"), (Counts{{"Q5_K", 4}, {"Q4_K", 28}}));

  EXPECT_EQ(typesOf(plan(Mix::Q2_K, kLlama31_8B), kLlama31_8B, "attn_v"), (Counts{{"Q4_K", 32}}));
  EXPECT_EQ(typesOf(plan(Mix::Q2_K, kLlama2_7B), kLlama2_7B, "attn_v"), (Counts{{"Q3_K", 32}}));
}

TEST(Mixes, MoreBitsLayers) {
  // GGUF_SPEC.md 4.1: for 32 layers, these 16 get more bits in Q4_K_M.
  auto p = plan(Mix::Q4_K_M, kLlama31_8B);
  std::vector<TensorInfo> tensors = llamaTensors(kLlama31_8B);
  std::vector<int> sixBit;
  for (const TensorPlan &e : p) {
    const std::string &name = tensors[e.index].name;
    if (name.find("ffn_down") != std::string::npos && e.type == static_cast<uint32_t>(GgmlType::Q6_K))
      sixBit.push_back(std::stoi(name.substr(4)));
  }
  EXPECT_EQ(sixBit, (std::vector<int>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
}

TEST(Mixes, VisitOrderIsNonLayerThenLayerThenName) {
  auto p = plan(Mix::Q4_K_M, kLlama31_8B);
  std::vector<TensorInfo> tensors = llamaTensors(kLlama31_8B);
  std::vector<std::string> names;
  for (size_t i = 0; i < 14; ++i)
    names.push_back(tensors[p[i].index].name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "output.weight", "output_norm.weight", "rope_freqs.weight", "token_embd.weight",
                       "blk.0.attn_k.weight", "blk.0.attn_norm.weight", "blk.0.attn_output.weight",
                       "blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.ffn_down.weight",
                       "blk.0.ffn_gate.weight", "blk.0.ffn_norm.weight", "blk.0.ffn_up.weight",
                       "blk.1.attn_k.weight"}));
  // Layer 10 after layer 9, not after layer 1.
  EXPECT_EQ(tensors[p[4 + 9 * 9].index].name, "blk.9.attn_k.weight");
  EXPECT_EQ(tensors[p[4 + 10 * 9].index].name, "blk.10.attn_k.weight");
}

TEST(Mixes, ShapeFallbacks) {
  ModelInfo m = llamaInfo(kLlama2_7B);
  std::vector<TensorInfo> tensors = {f32("blk.0.ffn_up.weight", {4000, 8}), f32("blk.0.ffn_gate.weight", {100, 8}),
                                     f32("output.weight", {4000, 8}), f32("blk.0.attn_q.weight", {512, 8})};
  auto typeFor = [&](Mix mix, size_t i) {
    std::vector<TensorPlan> p;
    EXPECT_TRUE(planMix(mix, m, tensors, {}, p).isOk());
    for (const TensorPlan &e : p)
      if (e.index == i)
        return typeName(e.type);
    return std::string("none");
  };
  EXPECT_EQ(typeFor(Mix::Q2_K, 0), "Q4_0");
  EXPECT_EQ(typeFor(Mix::Q3_K_S, 0), "Q4_0");
  EXPECT_EQ(typeFor(Mix::Q4_K_S, 0), "Q5_0");
  EXPECT_EQ(typeFor(Mix::Q5_K_S, 0), "Q5_1");
  EXPECT_EQ(typeFor(Mix::Q6_K, 0), "Q8_0");
  EXPECT_EQ(typeFor(Mix::IQ4_XS, 0), "IQ4_NL");
  EXPECT_EQ(typeFor(Mix::TQ1_0, 0), "Q4_0");
  EXPECT_EQ(typeFor(Mix::Q4_K_M, 1), "F16") << "100 is not a multiple of 32 either";
  EXPECT_EQ(typeFor(Mix::Q4_0, 1), "F16");
  EXPECT_EQ(typeFor(Mix::Q4_K_M, 2), "Q8_0") << "output rows not a multiple of 256";
  EXPECT_EQ(typeFor(Mix::Q4_K_M, 3), "Q4_K");
}

TEST(Mixes, OutputAndEmbeddingRules) {
  ModelInfo m = llamaInfo(kLlama2_7B);
  auto types = [&](Mix mix, const std::vector<TensorInfo> &tensors) {
    std::vector<TensorPlan> p;
    EXPECT_TRUE(planMix(mix, m, tensors, {}, p).isOk());
    std::map<std::string, std::string> byName;
    for (const TensorPlan &e : p)
      byName[tensors[e.index].name] = typeName(e.type);
    return byName;
  };
  std::vector<TensorInfo> untied = {f32("token_embd.weight", {512, 10}), f32("output.weight", {512, 10})};
  std::vector<TensorInfo> tied = {f32("token_embd.weight", {512, 10})};
  EXPECT_EQ(types(Mix::Q8_0, untied)["output.weight"], "Q8_0");
  EXPECT_EQ(types(Mix::Q4_0, untied)["output.weight"], "Q6_K");
  EXPECT_EQ(types(Mix::Q4_0, untied)["token_embd.weight"], "Q4_0");
  EXPECT_EQ(types(Mix::Q4_K_M, tied)["token_embd.weight"], "Q6_K") << "a tied embedding is the output";
  EXPECT_EQ(types(Mix::TQ1_0, untied)["token_embd.weight"], "Q4_K");
  EXPECT_EQ(types(Mix::TQ2_0, untied)["output.weight"], "Q6_K");
  EXPECT_EQ(types(Mix::F16, untied)["output.weight"], "F16") << "float mixes apply no rules";
  m.architecture = "falcon";
  EXPECT_EQ(types(Mix::Q4_K_M, untied)["output.weight"], "Q8_0");
}

TEST(Mixes, ExpertRules) {
  ModelInfo m = llamaInfo(kLlama2_7B);
  m.expertCount = 8;
  std::vector<TensorInfo> tensors = {f32("blk.0.attn_v.weight", {512, 512}), f32("blk.0.attn_k.weight", {512, 512}),
                                     f32("blk.0.attn_output.weight", {512, 512}),
                                     f32("blk.0.ffn_gate_inp.weight", {512, 8}),
                                     f32("blk.3.ffn_down_exps.weight", {512, 512, 8})};
  std::vector<TensorPlan> p;
  ASSERT_TRUE(planMix(Mix::Q4_K_M, m, tensors, {}, p).isOk());
  std::map<std::string, std::string> byName;
  for (const TensorPlan &e : p)
    byName[tensors[e.index].name] = typeName(e.type);
  EXPECT_EQ(byName["blk.0.attn_v.weight"], "Q8_0");
  EXPECT_EQ(byName["blk.0.attn_k.weight"], "Q8_0");
  EXPECT_EQ(byName["blk.0.attn_output.weight"], "Q5_K");
  EXPECT_EQ(byName["blk.0.ffn_gate_inp.weight"], "F32") << "routers are not quantized";
  EXPECT_EQ(byName["blk.3.ffn_down_exps.weight"], "Q6_K") << "layer 3 of 32 gets more bits";
}

TEST(Mixes, ImatrixRules) {
  ModelInfo m = llamaInfo(kLlama2_7B);
  std::vector<TensorInfo> tensors = llamaTensors(kLlama2_7B);
  auto ffnDown0 = [&](Mix mix, bool imatrix) {
    std::vector<TensorPlan> p;
    MixOptions o;
    o.haveImatrix = imatrix;
    EXPECT_TRUE(planMix(mix, m, tensors, o, p).isOk());
    for (const TensorPlan &e : p)
      if (tensors[e.index].name == "blk.0.ffn_down.weight")
        return typeName(e.type);
    return std::string();
  };
  EXPECT_EQ(ffnDown0(Mix::Q4_0, false), "Q4_0");
  EXPECT_EQ(ffnDown0(Mix::Q4_0, true), "Q4_1");
  EXPECT_EQ(ffnDown0(Mix::Q5_0, true), "Q5_1");
  EXPECT_EQ(ffnDown0(Mix::IQ4_XS, false), "Q5_K");
  EXPECT_EQ(ffnDown0(Mix::IQ4_XS, true), "IQ4_XS");
}

TEST(Mixes, UserTypesOverrideTheRules) {
  ModelInfo m = llamaInfo(kLlama2_7B);
  std::vector<TensorInfo> tensors = {f32("token_embd.weight", {576, 10}), f32("output.weight", {512, 10}),
                                     f32("blk.0.attn_q.weight", {512, 8})};
  MixOptions o;
  o.outputType = GgmlType::Q4_0;
  o.tokenEmbeddingType = GgmlType::F16;
  o.pure = true;
  std::vector<TensorPlan> p;
  ASSERT_TRUE(planMix(Mix::Q2_K, m, tensors, o, p).isOk());
  std::map<std::string, std::string> byName;
  for (const TensorPlan &e : p)
    byName[tensors[e.index].name] = typeName(e.type);
  EXPECT_EQ(byName["token_embd.weight"], "F16");
  EXPECT_EQ(byName["output.weight"], "Q4_0");
  EXPECT_EQ(byName["blk.0.attn_q.weight"], "Q2_K");
  // A user type gets no fallback: a row it does not fit is an error.
  o.tokenEmbeddingType = GgmlType::Q6_K;
  Status s = planMix(Mix::Q2_K, m, tensors, o, p);
  ASSERT_TRUE(s.failed());
  EXPECT_EQ(s.message(), "tensor 'token_embd.weight': ne[0] = 576 is not a multiple of Q6_K's block size 256");
}

TEST(Mixes, WhatIsQuantized) {
  EXPECT_TRUE(isQuantizable("blk.0.attn_q.weight", 2));
  EXPECT_FALSE(isQuantizable("blk.0.attn_q.bias", 2));
  EXPECT_FALSE(isQuantizable("blk.0.attn_norm.weight", 2));
  EXPECT_FALSE(isQuantizable("blk.0.attn_q.weight", 1));
  EXPECT_FALSE(isQuantizable("output.weight", 2, /*leaveOutputTensor=*/true));
  EXPECT_FALSE(isQuantizable("position_embd.weight", 2));
  EXPECT_FALSE(isQuantizable("blk.1.ssm_conv1d.weight", 2));
}

TEST(Mixes, NamesAndFileTypes) {
  EXPECT_EQ(parseMix("q4_k_m"), Mix::Q4_K_M);
  EXPECT_EQ(parseMix("Q4_K"), std::nullopt);
  EXPECT_EQ(fileTypeOf(Mix::Q4_K_M), 15u);
  EXPECT_EQ(fileTypeOf(Mix::Q8_0), 7u);
  EXPECT_EQ(fileTypeOf(Mix::IQ4_XS), 30u);
  EXPECT_EQ(fileTypeOf(Mix::TQ2_0), 37u);
  for (Mix mix : allMixes())
    EXPECT_EQ(parseMix(mixName(mix)), mix);
  EXPECT_EQ(defaultTypeOf(Mix::Q3_K_L), GgmlType::Q3_K);
  EXPECT_EQ(fileTypeOf(Mix::Q2_K_S), 21u);
  EXPECT_TRUE(needsImatrix(Mix::Q2_K_S, GgmlType::Q2_K, "blk.0.attn_q.weight"));
  EXPECT_FALSE(needsImatrix(Mix::Q2_K_S, GgmlType::Q2_K, "token_embd.weight"));
  EXPECT_FALSE(needsImatrix(Mix::Q2_K_S, GgmlType::Q4_K, "blk.0.attn_v.weight"));
  EXPECT_FALSE(needsImatrix(Mix::Q2_K, GgmlType::Q2_K, "blk.0.attn_q.weight"));
}

TEST(Mixes, ModelInfoFromMetadata) {
  Metadata md;
  md.set("general.architecture", Value::string("llama"));
  md.set("llama.block_count", Value::scalar<uint32_t>(32));
  md.set("llama.attention.head_count", Value::scalar<uint64_t>(32));
  md.set("llama.attention.head_count_kv", Value::array<int32_t>({8, 8}));
  ModelInfo m;
  ASSERT_TRUE(modelInfoFromMetadata(md, m).isOk());
  EXPECT_EQ(m.layerCount, 32);
  EXPECT_EQ(m.gqaRatio(), 4);
  EXPECT_EQ(m.expertCount, 0);
  EXPECT_TRUE(modelInfoFromMetadata(Metadata(), m).failed());
}

} // namespace
