//===- ImatrixTest.cpp - Importance matrix files --------------------------===//

#include "lowbit/Gguf/Imatrix.h"
#include "lowbit/Gguf/Writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

using namespace lowbit;
using namespace lowbit::gguf;

namespace {

ImportanceMatrix sample() {
  ImportanceMatrix m;
  m.entries["blk.0.attn_q.weight"] = {1.f, 2.f, 0.5f};
  m.entries["blk.0.ffn_down.weight"] = {4.f};
  m.dataset = "wiki.train.raw";
  m.chunkCount = 100;
  return m;
}

TEST(Imatrix, LegacyRoundTrip) {
  std::vector<uint8_t> bytes = encodeLegacyImatrix(sample());
  ImportanceMatrix read;
  Status s = parseLegacyImatrix(bytes.data(), bytes.size(), read);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(read.entries, sample().entries);
  EXPECT_EQ(read.dataset, "wiki.train.raw");
  EXPECT_EQ(read.chunkCount, 100);
}

TEST(Imatrix, LegacyValuesAreDividedByTheCallCount) {
  std::vector<uint8_t> b;
  auto i32 = [&](int32_t v) { b.insert(b.end(), reinterpret_cast<uint8_t *>(&v), reinterpret_cast<uint8_t *>(&v) + 4); };
  auto f32 = [&](float v) { b.insert(b.end(), reinterpret_cast<uint8_t *>(&v), reinterpret_cast<uint8_t *>(&v) + 4); };
  i32(1);
  i32(1);
  b.push_back('w');
  i32(4); // ncall
  i32(2);
  f32(8.f);
  f32(2.f);
  ImportanceMatrix read;
  Status s = parseLegacyImatrix(b.data(), b.size(), read);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(*read.find("w"), (std::vector<float>{2.f, 0.5f}));
}

TEST(Imatrix, EveryPrefixOfTheEntriesIsAnError) {
  ImportanceMatrix m = sample();
  m.dataset.clear();
  std::vector<uint8_t> bytes = encodeLegacyImatrix(m);
  size_t entriesEnd = bytes.size() - 8; // the trailer is optional
  ImportanceMatrix read;
  for (size_t length = 0; length < entriesEnd; ++length) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + length);
    EXPECT_TRUE(parseLegacyImatrix(prefix.data(), prefix.size(), read).failed()) << length;
  }
}

TEST(Imatrix, HugeCountsAreErrors) {
  std::vector<uint8_t> b = {0xff, 0xff, 0xff, 0x7f};
  ImportanceMatrix read;
  Status s = parseLegacyImatrix(b.data(), b.size(), read);
  ASSERT_TRUE(s.failed());
  EXPECT_NE(s.message().find("entry count 2147483647"), std::string::npos) << s.message();
}

TEST(Imatrix, GgufForm) {
  Metadata md;
  md.set("general.type", Value::string("imatrix"));
  md.set("imatrix.datasets", Value::stringArray({"calib.txt"}));
  md.set("imatrix.chunk_count", Value::scalar<uint32_t>(7));
  std::vector<TensorInfo> tensors(2);
  tensors[0].name = "blk.0.ffn_down_exps.weight.in_sum2";
  tensors[0].shape = {2, 2};
  tensors[1].name = "blk.0.ffn_down_exps.weight.counts";
  tensors[1].shape = {1, 2};
  const float sums[] = {6.f, 3.f, 5.f, 5.f};
  const float counts[] = {3.f, 0.f};
  std::string path = testing::TempDir() + "/imatrix.gguf";
  Status s = writeGguf(path, md, tensors, [&](size_t i, const TensorInfo &t, std::vector<uint8_t> &bytes) {
    const void *src = i == 0 ? static_cast<const void *>(sums) : counts;
    bytes.resize(t.byteSize);
    std::memcpy(bytes.data(), src, t.byteSize);
    return Status::ok();
  });
  ASSERT_TRUE(s.isOk()) << s.message();
  ImportanceMatrix read;
  s = loadImatrix(path, read);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(*read.find("blk.0.ffn_down_exps.weight"), (std::vector<float>{2.f, 1.f, 1.f, 1.f}));
  EXPECT_EQ(read.dataset, "calib.txt");
  EXPECT_EQ(read.chunkCount, 7);
  std::remove(path.c_str());
}

} // namespace
