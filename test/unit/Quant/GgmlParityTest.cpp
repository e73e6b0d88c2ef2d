//===- GgmlParityTest.cpp - Byte-for-byte against llama.cpp's ggml --------===//
//
// Compares every quantizer and dequantizer with ggml's own, called through
// the compiled libggml-base.so that scripts/setup.sh builds for the e2e tests
// (llama-cpp-python, ggml-base at the x86-64 baseline as in llama.cpp's
// release builds). The library is found through $LOWBIT_GGML_BASE, else in
// the setup's venv ($LOWBIT_CACHE or ~/.cache/lowbit); without it the test
// is skipped. Only ggml's public C entry points are used: ggml_quantize_chunk
// (what llama-quantize calls), quantize_row_<type>_ref and
// dequantize_row_<type>.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quant/BlockQuant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <glob.h>
#include <random>
#include <string>
#include <vector>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

using QuantizeChunkFn = size_t (*)(int, const float *, void *, int64_t, int64_t, int64_t, const float *);
using QuantizeRefFn = void (*)(const float *, void *, int64_t);
using DequantizeFn = void (*)(const void *, float *, int64_t);

std::string findGgmlBase() {
  if (const char *path = std::getenv("LOWBIT_GGML_BASE"))
    return path;
  const char *cache = std::getenv("LOWBIT_CACHE");
  const char *home = std::getenv("HOME");
  const std::string root = cache ? cache : std::string(home ? home : "") + "/.cache/lowbit";
  const std::string pattern = root + "/venv/lib/python3*/site-packages/llama_cpp/lib/libggml-base.so";
  glob_t found;
  std::string path;
  if (glob(pattern.c_str(), 0, nullptr, &found) == 0 && found.gl_pathc > 0)
    path = found.gl_pathv[0];
  globfree(&found);
  return path;
}

void *ggmlBase() {
  static void *handle = [] {
    const std::string path = findGgmlBase();
    return path.empty() ? nullptr : dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  }();
  return handle;
}

struct Type {
  GgmlType type;
  const char *ggmlName; ///< as in ggml's function names
};
const Type kTypes[] = {
    {GgmlType::Q4_0, "q4_0"},   {GgmlType::Q4_1, "q4_1"},     {GgmlType::Q5_0, "q5_0"},   {GgmlType::Q5_1, "q5_1"},
    {GgmlType::Q8_0, "q8_0"},   {GgmlType::Q8_1, "q8_1"},     {GgmlType::Q2_K, "q2_K"},   {GgmlType::Q3_K, "q3_K"},
    {GgmlType::Q4_K, "q4_K"},   {GgmlType::Q5_K, "q5_K"},     {GgmlType::Q6_K, "q6_K"},   {GgmlType::Q8_K, "q8_K"},
    {GgmlType::IQ4_NL, "iq4_nl"}, {GgmlType::IQ4_XS, "iq4_xs"}, {GgmlType::TQ1_0, "tq1_0"}, {GgmlType::TQ2_0, "tq2_0"},
    {GgmlType::F16, "f16"},     {GgmlType::BF16, "bf16"},
};

/// Weights of several shapes: Gaussian, outliers, all positive, heavy tails,
/// sparse with zero blocks, constant blocks, tiny and large magnitudes,
/// ternary, small integers (many exact ties).
std::vector<float> weights(int shape, int64_t count, std::mt19937 &rng) {
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::student_t_distribution<float> heavy(2.f);
  std::vector<float> x(count);
  for (int64_t i = 0; i < count; ++i) {
    float v = gauss(rng);
    switch (shape) {
    case 1: v *= rng() % 50 == 0 ? 20.f : 1.f; break;
    case 2: v = std::fabs(v) + 0.1f; break;
    case 3: v = heavy(rng); break;
    case 4: v = rng() % 4 == 0 && (i / 256) % 5 != 0 ? v : 0.f; break;
    case 5: v = (i / 32) % 3 == 0 ? 0.5f : (i / 32) % 3 == 1 ? -1.25f : v; break;
    case 6: v *= 1e-6f; break;
    case 7: v *= 1000.f; break;
    case 8: v = static_cast<float>(static_cast<int>(rng() % 3) - 1) * 0.7f; break;
    case 9: v = static_cast<float>(static_cast<int>(rng() % 17) - 8); break;
    default: v *= 0.02f; break;
    }
    x[i] = v;
  }
  return x;
}

/// Blocks whose bytes differ; IQ4_NL's reference quantizer leaves the codes of
/// an all-zero block (scale 0) to whatever its buffer held, so those blocks
/// are compared by scale only (docs/FORMATS.md).
int64_t differingBlocks(GgmlType type, const std::vector<uint8_t> &ours, const std::vector<uint8_t> &theirs,
                        bool reference) {
  const int64_t bytes = ggmlTypeInfo(type).bytesPerBlock;
  int64_t differing = 0;
  for (size_t at = 0; at < ours.size(); at += bytes) {
    const bool zeroScale = type == GgmlType::IQ4_NL && reference && !std::memcmp(&ours[at], "\0\0", 2) &&
                           !std::memcmp(&theirs[at], "\0\0", 2);
    if (!zeroScale && std::memcmp(&ours[at], &theirs[at], bytes))
      ++differing;
  }
  return differing;
}

TEST(GgmlParity, QuantizersMatchByteForByte) {
#ifdef LOWBIT_QUANT_FMA_CONTRACT
  GTEST_SKIP() << "an FMA build matches FMA builds of llama.cpp, not this x86-64 library";
#endif
  void *lib = ggmlBase();
  if (!lib)
    GTEST_SKIP() << "no libggml-base.so (set LOWBIT_GGML_BASE or run scripts/setup.sh)";
  auto quantizeChunk = reinterpret_cast<QuantizeChunkFn>(dlsym(lib, "ggml_quantize_chunk"));
  ASSERT_NE(quantizeChunk, nullptr);
  std::mt19937 rng(2024);
  const int64_t rows = 8;
  // 2048: whole pairs of super-blocks and chunks of 16 blocks; 768: an odd
  // super-block and a partial chunk, which take the one-at-a-time paths.
  for (int64_t n : {2048, 768})
  for (int shape = 0; shape < 10; ++shape) {
    const std::vector<float> x = weights(shape, rows * n, rng);
    std::vector<float> importance(n);
    for (float &v : importance) // mean squared activations, some columns never used
      v = rng() % 10 == 0 ? 0.f : static_cast<float>(rng() % 1000) / 100.f + 1e-3f;
    for (const Type &t : kTypes) {
      const bool activation = t.type == GgmlType::Q8_1 || t.type == GgmlType::Q8_K;
      const bool plain = t.type == GgmlType::F16 || t.type == GgmlType::BF16;
      const int64_t rowSize = rowBytes(t.type, n);
      std::vector<uint8_t> ours(rowSize * rows), theirs(rowSize * rows);
      // llama-quantize's path, without and with importance (ggml has no
      // quantize_chunk for the activation formats).
      for (const float *w : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
        if (activation)
          break;
        ASSERT_TRUE(quantizeRows(t.type, x.data(), ours.data(), rows, n, w).isOk());
        quantizeChunk(static_cast<int>(t.type), x.data(), theirs.data(), 0, rows, n, w);
        EXPECT_EQ(differingBlocks(t.type, ours, theirs, false), 0)
            << t.ggmlName << " shape " << shape << " n " << n << (w ? " with importance" : "");
      }
      if (plain)
        continue;
      // The `_ref` quantizers (what test-quantize-fns measures).
      auto reference = reinterpret_cast<QuantizeRefFn>(
          dlsym(lib, ("quantize_row_" + std::string(t.ggmlName) + "_ref").c_str()));
      ASSERT_NE(reference, nullptr) << t.ggmlName;
      ASSERT_TRUE(quantizeRowsReference(t.type, x.data(), ours.data(), rows, n).isOk());
      for (int64_t r = 0; r < rows; ++r)
        reference(x.data() + r * n, theirs.data() + r * rowSize, n);
      EXPECT_EQ(differingBlocks(t.type, ours, theirs, true), 0) << t.ggmlName << " _ref, shape " << shape;
      // Decoding ggml's bytes gives ggml's floats, bit for bit.
      if (t.type == GgmlType::Q8_1)
        continue; // ggml has no dequantize_row_q8_1
      auto dequantize = reinterpret_cast<DequantizeFn>(
          dlsym(lib, ("dequantize_row_" + std::string(t.ggmlName)).c_str()));
      ASSERT_NE(dequantize, nullptr) << t.ggmlName;
      std::vector<float> a(rows * n), b(rows * n);
      ASSERT_TRUE(dequantizeRows(t.type, theirs.data(), a.data(), rows, n).isOk());
      for (int64_t r = 0; r < rows; ++r)
        dequantize(theirs.data() + r * rowSize, b.data() + r * n, n);
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << t.ggmlName << " dequantize";
    }
  }
}

TEST(GgmlParity, DequantizersMatchOnArbitraryBytes) {
  // Random bytes reach every code and scale, including Inf/NaN scales.
  void *lib = ggmlBase();
  if (!lib)
    GTEST_SKIP() << "no libggml-base.so (set LOWBIT_GGML_BASE or run scripts/setup.sh)";
  std::mt19937 rng(7);
  const int64_t rows = 4, n = 1024;
  for (const Type &t : kTypes) {
    if (t.type == GgmlType::Q8_1 || t.type == GgmlType::F16 || t.type == GgmlType::BF16)
      continue;
    auto dequantize = reinterpret_cast<DequantizeFn>(
        dlsym(lib, ("dequantize_row_" + std::string(t.ggmlName)).c_str()));
    ASSERT_NE(dequantize, nullptr) << t.ggmlName;
    const int64_t rowSize = rowBytes(t.type, n);
    std::vector<uint8_t> bytes(rowSize * rows);
    for (uint8_t &byte : bytes)
      byte = static_cast<uint8_t>(rng());
    std::vector<float> a(rows * n), b(rows * n);
    ASSERT_TRUE(dequantizeRows(t.type, bytes.data(), a.data(), rows, n).isOk());
    for (int64_t r = 0; r < rows; ++r)
      dequantize(bytes.data() + r * rowSize, b.data() + r * n, n);
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << t.ggmlName;
  }
}

} // namespace
