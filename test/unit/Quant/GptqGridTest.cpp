//===- GptqGridTest.cpp - GPTQ's per-code view of the block formats -------===//
//
// lib/Quant/GptqGrid.h re-states, for each GGUF format, where a weight's code
// lives in the block and how it decodes. These tests hold it to the real
// codecs: decoding through the grid equals dequantizeRows bit for bit, and
// unpacking then packing the codes gives back the quantizer's bytes.
//
//===----------------------------------------------------------------------===//

#include "GptqGrid.h"

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Half.h"

#include <gtest/gtest.h>

#include <random>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

const FormatKind kKinds[] = {FormatKind::Q4_0, FormatKind::Q4_1, FormatKind::Q5_0,   FormatKind::Q5_1,
                             FormatKind::Q8_0, FormatKind::Q2_K, FormatKind::Q3_K,   FormatKind::Q4_K,
                             FormatKind::Q5_K, FormatKind::Q6_K, FormatKind::IQ4_NL, FormatKind::IQ4_XS,
                             FormatKind::TQ1_0, FormatKind::TQ2_0};

TEST(GptqGrid, DecodesAndRepacksLikeTheCodecs) {
  constexpr int64_t kRows = 8, kLength = 512;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(kRows * kLength);
  for (int64_t i = 0; i < kRows * kLength; ++i)
    x[i] = dist(rng) * (i / kLength == 3 ? 1e-3f : 0.05f);
  std::fill(x.begin() + 5 * kLength, x.begin() + 5 * kLength + 256, 0.f); // a zero super-block
  for (FormatKind kind : kKinds) {
    const Format f = Format::blockFormat(kind);
    detail::Grid g;
    ASSERT_TRUE(detail::makeGrid(f, kLength, false, g).isOk());
    const int64_t bytes = rowBytes(g.type, kLength);
    std::vector<uint8_t> packed(kRows * bytes);
    ASSERT_TRUE(quantizeRows(g.type, x.data(), packed.data(), kRows, kLength).isOk());
    // Random codes under the quantizer's scale fields exercise every level.
    std::vector<uint8_t> random = packed;
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t b = 0; b < kLength / g.blockSize; ++b) {
        uint8_t *block = random.data() + r * bytes + b * g.bytesPerBlock;
        std::vector<uint8_t> codes(g.blockSize);
        detail::unpackBlockCodes(g, block, codes.data());
        const int levels = kind == FormatKind::Q8_0 ? 256 : kind == FormatKind::TQ1_0 || kind == FormatKind::TQ2_0 ? 3
                           : kind == FormatKind::Q2_K                                                   ? 4
                           : kind == FormatKind::Q3_K                                                   ? 8
                           : kind == FormatKind::Q5_0 || kind == FormatKind::Q5_1 || kind == FormatKind::Q5_K ? 32
                           : kind == FormatKind::Q6_K                                                   ? 64
                                                                                                        : 16;
        for (uint8_t &c : codes)
          c = static_cast<uint8_t>(rng() % levels);
        detail::packBlockCodes(g, codes.data(), block);
      }
    for (const std::vector<uint8_t> *bytesOf : {&packed, &random}) {
      std::vector<float> reference(kRows * kLength);
      ASSERT_TRUE(dequantizeRows(g.type, bytesOf->data(), reference.data(), kRows, kLength).isOk());
      for (int64_t r = 0; r < kRows; ++r)
        for (int64_t b = 0; b < kLength / g.blockSize; ++b) {
          const uint8_t *block = bytesOf->data() + r * bytes + b * g.bytesPerBlock;
          std::vector<detail::GridParams> params(g.blockSize / g.runLength);
          std::vector<uint8_t> codes(g.blockSize);
          detail::blockParams(g, x.data() + r * kLength + b * g.blockSize, nullptr, block, params.data());
          detail::unpackBlockCodes(g, block, codes.data());
          for (int64_t i = 0; i < g.blockSize; ++i) {
            const float v = detail::decodeOnGrid(g, params[i / g.runLength], codes[i]);
            const float want = reference[r * kLength + b * g.blockSize + i];
            ASSERT_EQ(floatBits(v), floatBits(want))
                << formatKindName(kind) << " row " << r << " block " << b << " element " << i << ": " << v
                << " vs " << want;
          }
          std::vector<uint8_t> repacked(block, block + g.bytesPerBlock);
          detail::packBlockCodes(g, codes.data(), repacked.data());
          ASSERT_EQ(repacked, std::vector<uint8_t>(block, block + g.bytesPerBlock))
              << formatKindName(kind) << " row " << r << " block " << b;
          // The RTN codes are the grid's encoding of the weights they came from.
          if (bytesOf == &packed)
            for (int64_t i = 0; i < g.blockSize; ++i) {
              const detail::GridParams &p = params[i / g.runLength];
              if (!p.keep)
                ASSERT_EQ(detail::encodeOnGrid(g, p, x[r * kLength + b * g.blockSize + i]), codes[i])
                    << formatKindName(kind) << " row " << r << " block " << b << " element " << i;
            }
        }
    }
  }
}

TEST(GptqGrid, EncodesOutOfRangeWeightsToTheEndCodes) {
  // An error-updated weight may fall far outside its block's range: it must
  // land on the first or last level, never wrap around.
  constexpr int64_t kLength = 256;
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.f, 0.05f);
  std::vector<float> x(kLength);
  for (float &v : x)
    v = dist(rng);
  for (FormatKind kind : kKinds) {
    const Format f = Format::blockFormat(kind);
    detail::Grid g;
    ASSERT_TRUE(detail::makeGrid(f, kLength, false, g).isOk());
    std::vector<uint8_t> packed(rowBytes(g.type, kLength));
    ASSERT_TRUE(quantizeRows(g.type, x.data(), packed.data(), 1, kLength).isOk());
    std::vector<detail::GridParams> params(kLength / g.runLength);
    for (int64_t b = 0; b < kLength / g.blockSize; ++b)
      detail::blockParams(g, x.data() + b * g.blockSize, nullptr, packed.data() + b * g.bytesPerBlock,
                          params.data() + b * (g.blockSize / g.runLength));
    for (const detail::GridParams &p : params) {
      if (p.keep)
        continue;
      float lowest = INFINITY, highest = -INFINITY;
      for (int code = 0; code < 256; ++code) {
        if (detail::encodeOnGrid(g, p, detail::decodeOnGrid(g, p, code)) != code)
          continue; // not a level of this format
        lowest = std::min(lowest, detail::decodeOnGrid(g, p, code));
        highest = std::max(highest, detail::decodeOnGrid(g, p, code));
      }
      for (float far : {-1e6f, -3.f, 3.f, 1e6f}) {
        const float v = detail::decodeOnGrid(g, p, detail::encodeOnGrid(g, p, far));
        EXPECT_EQ(v, far < 0 ? lowest : highest) << formatKindName(kind) << " x = " << far;
      }
    }
  }
}

} // namespace
