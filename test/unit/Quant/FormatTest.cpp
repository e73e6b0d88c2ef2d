//===- FormatTest.cpp - Format descriptions and their text form ----------===//

#include "lowbit/Quant/Format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace lowbit::quant;

namespace {

Format parse(std::string_view text) {
  std::string error;
  std::optional<Format> f = parseFormat(text, error);
  EXPECT_TRUE(f) << text << ": " << error;
  return f.value_or(Format{});
}

std::string parseError(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parseFormat(text, error)) << text << " parsed";
  return error;
}

// Bytes per block and bits per weight from GGUF_SPEC.md section 2.0.
TEST(Format, BlockGeometryMatchesGgml) {
  struct Row { const char *name; uint32_t block, bytes; double bpw; };
  const Row rows[] = {
      {"q4_0", 32, 18, 4.5},     {"q4_1", 32, 20, 5.0},      {"q5_0", 32, 22, 5.5},
      {"q5_1", 32, 24, 6.0},     {"q8_0", 32, 34, 8.5},      {"q2_k", 256, 84, 2.625},
      {"q3_k", 256, 110, 3.4375}, {"q4_k", 256, 144, 4.5},   {"q5_k", 256, 176, 5.5},
      {"q6_k", 256, 210, 6.5625}, {"iq4_nl", 32, 18, 4.5},   {"iq4_xs", 256, 136, 4.25},
      {"tq1_0", 256, 54, 1.6875}, {"tq2_0", 256, 66, 2.0625},
  };
  for (const Row &row : rows) {
    Format f = parse(row.name);
    ASSERT_TRUE(isBlockFormat(f.kind)) << row.name;
    EXPECT_EQ(blockGeometry(f.kind)->blockSize, row.block) << row.name;
    EXPECT_EQ(blockGeometry(f.kind)->bytesPerBlock, row.bytes) << row.name;
    EXPECT_DOUBLE_EQ(bitsPerWeight(f, 4 * row.block), row.bpw) << row.name;
    EXPECT_EQ(packedRowBytes(f, 4 * row.block), 4 * row.bytes) << row.name;
    EXPECT_EQ(toString(f), row.name);
  }
}

TEST(Format, TextFormRoundTrips) {
  for (const char *text :
       {"int4", "int8, per_tensor", "int4, group = 128", "int3, group = 64, asym",
        "int2, group = 16, min", "codebook, codebooks = 2, bits = 8, group = 8", "ternary",
        "ternary, per_channel", "ternary, group = 64"})
    EXPECT_EQ(toString(parse(text)), text);
}

TEST(Format, Defaults) {
  EXPECT_EQ(parse("int4"), Format::integer(4, Granularity::Channel));
  EXPECT_EQ(parse("ternary").granularity, Granularity::Tensor);
  EXPECT_EQ(parse("int8,per_channel"), parse("int8"));
}

TEST(Format, PackedRowBytes) {
  EXPECT_EQ(packedRowBytes(parse("int4, group = 32"), 128), 64);
  EXPECT_EQ(packedRowBytes(parse("int3"), 128), 48);
  EXPECT_EQ(packedRowBytes(parse("int3"), 5), 2); // 15 bits round up to a byte
  EXPECT_EQ(packedRowBytes(parse("codebook, codebooks = 2, bits = 8, group = 8"), 64), 16);
  EXPECT_EQ(packedRowBytes(parse("ternary"), 10), 3);
  EXPECT_EQ(groupsPerRow(parse("int4, group = 32"), 128), 4);
  EXPECT_EQ(groupsPerRow(parse("int4"), 128), 1);
}

TEST(Format, RejectsBadText) {
  EXPECT_EQ(parseError("int9"), "int formats have 2 to 8 bits, got 9");
  EXPECT_EQ(parseError("int1"), "int formats have 2 to 8 bits, got 1");
  EXPECT_EQ(parseError("q7_k"), "unknown format 'q7_k'");
  EXPECT_EQ(parseError("int4, group"), "format option 'group' needs a value: group = N");
  EXPECT_EQ(parseError("int4, group = x"),
            "format option 'group' needs a non-negative integer, got 'x'");
  EXPECT_EQ(parseError("int4, group = 0"), "int4 needs a positive group size, got 0");
  EXPECT_EQ(parseError("int4, asym = 1"), "format option 'asym' takes no value");
  EXPECT_EQ(parseError("int4, round"),
            "unknown format option 'round' (expected group, bits, codebooks, asym, min, "
            "per_tensor, per_channel or a8)");
  EXPECT_EQ(parseError("q4_k, group = 32"),
            "q4_k is a GGUF block format and takes no options (got 'group')");
  EXPECT_EQ(parseError("ternary, asym"), "ternary is symmetric: it takes no 'asym' or 'min'");
  EXPECT_EQ(parseError("codebook, bits = 8, group = 8"),
            "codebook needs 1 to 8 codebooks, got 0");
  EXPECT_EQ(parseError("codebook, codebooks = 1, bits = 17, group = 8"),
            "codebook codes have 1 to 16 bits, got 17");
}

// Checks the text form cannot reach: a Format built in C++ is checked too.
TEST(Format, RejectsInconsistentStructs) {
  EXPECT_EQ(checkFormat(Format::integer(4, Granularity::Channel, 32)),
            "int4 has a group size but is not per-group");
  EXPECT_EQ(checkFormat(Format{FormatKind::Q4_0, 4, Granularity::Group, 0, Offset::None, 0}),
            "q4_0 is a GGUF block format: its block size, bits and scales are fixed by the format "
            "and take no options");
  EXPECT_EQ(checkRowLength(Format::integer(4), 0), "rows must have at least one weight, got 0");
}

TEST(Format, EncodesAsOneWord) {
  for (const char *text : {"q4_k", "int4, group = 128, asym", "int8, per_tensor", "int2, group = 16, min",
                           "codebook, codebooks = 2, bits = 8, group = 8", "ternary, per_channel"}) {
    Format f = parse(text);
    std::optional<Format> back = decodeFormat(encodeFormat(f));
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, f) << text;
  }
  EXPECT_FALSE(decodeFormat(0xff));                 // no such kind
  EXPECT_FALSE(decodeFormat(uint64_t(9) << 8));     // int9
}

TEST(Format, RowLengthMustFitBlocks) {
  EXPECT_EQ(checkRowLength(parse("q4_0"), 100),
            "the reduction dimension (100) is not a multiple of the q4_0 block size (32)");
  EXPECT_EQ(checkRowLength(parse("codebook, codebooks = 1, bits = 8, group = 8"), 4),
            "the reduction dimension (4) is not a multiple of the code vector length (8)");
  EXPECT_EQ(checkRowLength(parse("q6_k"), 512), "");
  EXPECT_EQ(checkRowLength(parse("int4"), 7), "");
}

TEST(Format, IntAndTernaryGroupsMayEndShort) {
  // SmolLM2's K = 576 at group 128: four groups of 128 and one of 64, packed
  // as 640 codes (the padding codes zero).
  const Format g128 = parse("int4, group = 128");
  EXPECT_EQ(checkRowLength(g128, 576), "");
  EXPECT_EQ(groupsPerRow(g128, 576), 5);
  EXPECT_EQ(paddedRowLength(g128, 576), 640);
  EXPECT_EQ(packedRowBytes(g128, 576), 320);
  EXPECT_DOUBLE_EQ(bitsPerWeight(g128, 576), 640.0 * 4 / 576);
  // Groups not byte-aligned: 3 x 24 codes of 3 bits = 27 bytes for K = 50.
  const Format int3 = parse("int3, group = 24, asym");
  EXPECT_EQ(checkRowLength(int3, 50), "");
  EXPECT_EQ(groupsPerRow(int3, 50), 3);
  EXPECT_EQ(paddedRowLength(int3, 50), 72);
  EXPECT_EQ(packedRowBytes(int3, 50), 27);
  EXPECT_EQ(paddedRowLength(parse("ternary, group = 32"), 40), 64);
  // A multiple of the group, per-channel rows and block formats are as before.
  EXPECT_EQ(paddedRowLength(g128, 512), 512);
  EXPECT_EQ(packedRowBytes(g128, 512), 256);
  EXPECT_EQ(paddedRowLength(parse("int4"), 7), 7);
  EXPECT_EQ(packedRowBytes(parse("int4"), 7), 4);
  EXPECT_EQ(paddedRowLength(parse("q4_0"), 64), 64);
  EXPECT_EQ(packedRowBytes(parse("q4_0"), 64), 36);
}

} // namespace

Format interleaved(const char *text) {
  Format f = parse(text);
  f.layout = Layout::Interleaved4;
  return f;
}

TEST(Format, InterleavedLayoutEncodesAndChecks) {
  for (const char *text : {"q4_0", "q6_k", "int4, group = 128", "int8"}) {
    const Format f = interleaved(text);
    EXPECT_EQ(checkFormat(f), "") << text;
    EXPECT_EQ(decodeFormat(encodeFormat(f)), f) << text;
    EXPECT_NE(encodeFormat(f), encodeFormat(parse(text))) << text;
  }
  EXPECT_EQ(toString(interleaved("q4_0")), "q4_0, rows interleaved by 4");
  EXPECT_EQ(checkFormat(interleaved("ternary")), "ternary cannot have its rows interleaved");
  EXPECT_EQ(checkFormat(interleaved("int8, a8")), "int8, a8 cannot have its rows interleaved");
  EXPECT_FALSE(decodeFormat(uint64_t(3) << 30)); // no such layout
  // The unit: 128 weights, or one 256-weight block.
  EXPECT_EQ(interleaveUnitBytes(parse("q4_0")), 72);
  EXPECT_EQ(interleaveUnitBytes(parse("q8_0")), 136);
  EXPECT_EQ(interleaveUnitBytes(parse("q4_k")), 144);
  EXPECT_EQ(interleaveUnitBytes(parse("int4, group = 32")), 64);
  EXPECT_EQ(interleaveUnitBytes(parse("codebook, codebooks = 1, bits = 8, group = 8")), 0);
}

// Every byte of every row lands once, and gatherRow gives each row back: for
// whole and partial last units, and row counts with and without a ragged
// last tile.
TEST(Format, InterleavedRowsRoundTrip) {
  for (const char *text : {"q4_0", "q4_k", "int4, group = 32", "int3"}) {
    for (int64_t K : {128, 256 + 32 * 3, 1024}) {
      const Format f = interleaved(text);
      if (!checkRowLength(f, K).empty())
        continue;
      const int64_t rowBytes = packedRowBytes(f, K);
      for (int64_t N : {4, 7, 13}) {
        std::vector<uint8_t> rows(N * rowBytes), out(N * rowBytes, 0), back(rowBytes);
        for (size_t i = 0; i < rows.size(); ++i)
          rows[i] = static_cast<uint8_t>(i * 7 + i / 251);
        layOutRows(f, rowBytes, N, rows.data(), out.data());
        std::vector<uint8_t> sorted = out, expected = rows;
        std::sort(sorted.begin(), sorted.end());
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(sorted, expected) << text << " K=" << K << " N=" << N;
        for (int64_t n = 0; n < N; ++n) {
          gatherRow(rowTiling(f, rowBytes, N), out.data(), n, back.data());
          EXPECT_TRUE(std::equal(back.begin(), back.end(), rows.begin() + n * rowBytes))
              << text << " K=" << K << " N=" << N << " n=" << n;
        }
        if (N >= 4 && K == 1024) { // units of a tile alternate row by row
          const int64_t unit = interleaveUnitBytes(f);
          EXPECT_TRUE(std::equal(out.begin() + unit, out.begin() + 2 * unit, rows.begin() + rowBytes)) << text;
        }
      }
    }
  }
}
