//===- TensorNamesTest.cpp - Weight names to GGUF roles -------------------===//

#include "lowbit/Gguf/TensorNames.h"

#include <gtest/gtest.h>

using lowbit::gguf::ggufNameFor;

TEST(TensorNames, HuggingFaceLlama) {
  EXPECT_EQ(ggufNameFor("model.layers.3.self_attn.v_proj.weight"), "blk.3.attn_v.weight");
  EXPECT_EQ(ggufNameFor("model.layers.12.mlp.down_proj.weight"), "blk.12.ffn_down.weight");
  EXPECT_EQ(ggufNameFor("model.layers.0.mlp.gate_proj.weight"), "blk.0.ffn_gate.weight");
  EXPECT_EQ(ggufNameFor("lm_head.weight"), "output.weight");
  EXPECT_EQ(ggufNameFor("model.embed_tokens.weight"), "token_embd.weight");
}

TEST(TensorNames, HuggingFaceBert) {
  EXPECT_EQ(ggufNameFor("encoder.layer.5.attention.self.query.weight"), "blk.5.attn_q.weight");
  // "attention.output.dense" must win over the plain "output.dense" (the FFN's).
  EXPECT_EQ(ggufNameFor("encoder.layer.5.attention.output.dense.weight"), "blk.5.attn_output.weight");
  EXPECT_EQ(ggufNameFor("encoder.layer.5.output.dense.weight"), "blk.5.ffn_down.weight");
  EXPECT_EQ(ggufNameFor("encoder.layer.5.intermediate.dense.weight"), "blk.5.ffn_up.weight");
}

// torch.onnx.export keeps the module path only in the node's name.
TEST(TensorNames, OnnxNodePaths) {
  EXPECT_EQ(ggufNameFor("/model/model/layers.7/self_attn/k_proj/MatMul"), "blk.7.attn_k.weight");
  EXPECT_EQ(ggufNameFor("/model/lm_head/MatMul"), "output.weight");
}

TEST(TensorNames, UnknownAndGguf) {
  EXPECT_EQ(ggufNameFor("onnx::MatMul_123"), "");
  EXPECT_EQ(ggufNameFor("model.layers.2.self_attn.rotary_emb.inv_freq"), "");
  EXPECT_EQ(ggufNameFor("blk.4.attn_q.weight"), "blk.4.attn_q.weight");
}
