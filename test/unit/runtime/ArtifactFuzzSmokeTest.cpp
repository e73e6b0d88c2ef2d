//===- ArtifactFuzzSmokeTest.cpp - The loader's fuzz target, in CTest -----===//
//
// Runs test/fuzz/artifact_loader_fuzzer.cpp's entry point over a fixed,
// seeded set of mutations of a valid artifact: field-sized overwrites with
// boundary values, random byte changes, insertions and deletions, weighted
// to the header, section table and manifest. The target aborts on anything
// the loader must not do; here it simply has to come back every time.
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"

#include "lowbit/Target/ArtifactWriter.h"
#include "lowbit/runtime.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

std::vector<uint8_t> seed() {
  static const float w[4] = {1, 2, 3, 4};
  static const uint8_t q[37] = {};
  std::vector<uint8_t> host = {0x7f, 'E', 'L', 'F'};
  host.resize(100, 0x90);
  lowbit::artifact::ArtifactContents c;
  c.targetTriple = "x86_64-unknown-linux-gnu";
  c.cpu = "znver4";
  c.entrySymbol = "main_graph";
  c.inputs = {{"tokens", LOWBIT_I64, {1, -1}}, {"mask", LOWBIT_BOOL, {}}};
  c.outputs = {{"logits", LOWBIT_F32, {1, -1, 8}}};
  c.weights = {{{"w", LOWBIT_F32, {2, 2}}, w, sizeof w}, {{"q", LOWBIT_I8, {37}}, q, sizeof q}};
  c.hostCode = host.data();
  c.hostCodeSize = host.size();
  std::vector<uint8_t> out;
  EXPECT_TRUE(lowbit::artifact::serializeArtifact(c, out).isOk());
  return out;
}

TEST(ArtifactLoaderFuzz, MutatedCorpus) {
  const std::vector<uint8_t> base = seed();
  ASSERT_EQ(LLVMFuzzerTestOneInput(base.data(), base.size()), 0);
  uint64_t manifestSize;
  std::memcpy(&manifestSize, &base[64 + 16], 8);
  const size_t structured = 4096 + manifestSize; // header, table, padding, manifest
  const uint64_t boundaries[] = {0, 1, 2, 3, 7, 8, 63, 64, 65, 4095, 4096, 4097, 0x7fffffff, 0x80000000u,
                                 0xffffffffu, 0x100000000ull, base.size() - 1, base.size(), base.size() + 1,
                                 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, ~0ull - 4095};
  std::mt19937_64 rng(20261127);
  int accepted = 0;
  constexpr int kInputs = 30000;
  for (int i = 0; i < kInputs; ++i) {
    std::vector<uint8_t> b = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      // Nine in ten edits land in the structured part.
      const size_t limit = rng() % 10 ? std::min(structured, b.size()) : b.size();
      if (limit == 0)
        break;
      const size_t at = rng() % limit;
      switch (rng() % 6) {
      case 0: { // a boundary value over a 4- or 8-byte field
        const uint64_t v = boundaries[rng() % (sizeof boundaries / sizeof boundaries[0])];
        const size_t width = rng() % 2 ? 4 : 8, pos = at & ~size_t(3);
        if (pos + width <= b.size())
          std::memcpy(&b[pos], &v, width);
        break;
      }
      case 1:
        b[at] = static_cast<uint8_t>(rng());
        break;
      case 2:
        b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 3:
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng()));
        break;
      case 4:
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
        break;
      default:
        b.resize(at); // truncate
        break;
      }
    }
    ASSERT_EQ(LLVMFuzzerTestOneInput(b.data(), b.size()), 0);
    lowbit::runtime::ParsedArtifact parsed;
    accepted += lowbit::runtime::parseArtifact(b.data(), b.size(), parsed).isOk();
  }
  std::printf("[ measure  ] %d of %d mutated artifacts still load\n", accepted, kInputs);
  EXPECT_LT(accepted, kInputs / 2);
}

} // namespace
