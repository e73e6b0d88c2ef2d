//===- PackedWeights.h - Random packed weights for kernel tests -*- C++ -*-===//
//
// Random weights packed in any format, with the reference decode every
// matmul kernel is compared with (lib/Quant's dequantizers; codebooks are
// decoded here from docs/FORMATS.md's packing rule, independently).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TEST_PACKEDWEIGHTS_H
#define LOWBIT_TEST_PACKEDWEIGHTS_H

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Uniform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace lowbit::test {

/// A packed weight with its side arrays and its reference decode.
struct Packed {
  std::vector<uint8_t> codes;
  std::vector<float> scales, mins, codebooks;
  std::vector<int32_t> zeroPoints;
  std::vector<float> dequantized; ///< N x K
};

/// Bit `i` of the row's LSB-first bit string, one bit at a time: an
/// independent reading of docs/FORMATS.md's packing rule.
inline uint32_t readCode(const uint8_t *row, int64_t firstBit, unsigned bits) {
  uint32_t code = 0;
  for (unsigned b = 0; b < bits; ++b) {
    const int64_t bit = firstBit + b;
    code |= uint32_t((row[bit / 8] >> (bit % 8)) & 1) << b;
  }
  return code;
}

inline Packed pack(const quant::Format &f, int64_t N, int64_t K, std::mt19937 &rng) {
  std::normal_distribution<float> normal;
  std::vector<float> w(N * K);
  for (float &v : w)
    v = normal(rng);
  Packed p;
  p.dequantized.resize(N * K);
  if (quant::isBlockFormat(f.kind)) {
    const quant::GgmlType type = *quant::ggmlTypeOf(f.kind);
    p.codes.resize(N * quant::packedRowBytes(f, K));
    lowbit::Status s = quant::quantizeRows(type, w.data(), p.codes.data(), N, K);
    EXPECT_TRUE(s.isOk()) << s.message();
    s = quant::dequantizeRows(type, p.codes.data(), p.dequantized.data(), N, K);
    EXPECT_TRUE(s.isOk()) << s.message();
  } else if (f.kind == quant::FormatKind::Codebook) {
    const int64_t rowBytes = quant::packedRowBytes(f, K), entries = int64_t(1) << f.bits;
    p.codes.resize(N * rowBytes);
    for (uint8_t &b : p.codes)
      b = static_cast<uint8_t>(rng());
    p.codebooks.resize(f.codebooks * entries * f.groupSize);
    for (float &v : p.codebooks)
      v = normal(rng);
    p.scales.resize(N);
    for (float &v : p.scales)
      v = 0.5f + std::fabs(normal(rng));
    const int64_t C = f.codebooks, V = f.groupSize;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < K / V; ++g)
        for (int64_t i = 0; i < V; ++i) {
          float sum = 0;
          for (int64_t c = 0; c < C; ++c) {
            const uint32_t code = readCode(p.codes.data() + n * rowBytes, (g * C + c) * f.bits, f.bits);
            sum += p.codebooks[(c * entries + code) * V + i];
          }
          p.dequantized[n * K + g * V + i] = p.scales[n] * sum;
        }
  } else {
    quant::UniformTensor t;
    quant::UniformOptions options;
    options.clipSteps = 3;
    lowbit::Status s = quant::quantizeUniform(f, w.data(), N, K, options, nullptr, t);
    EXPECT_TRUE(s.isOk()) << s.message();
    s = quant::dequantizeUniform(f, t, N, K, p.dequantized.data());
    EXPECT_TRUE(s.isOk()) << s.message();
    p.codes = t.codes;
    p.scales = t.scales;
    p.mins = t.mins;
    p.zeroPoints = t.zeroPoints;
  }
  return p;
}

/// The bound of kernels/x86/X86Matmul.h on what rounding one activation row
/// x[0, K) to int8 per 32-block (d = max|x_b| / 127, |x - d q| <= d / 2)
/// moves its dot product with the weight row w[0, K):
///   sum_b (max_{k in b} |x_k| / 254) * sum_{k in b} |w_k|,
/// where w is the part of each weight the kernel multiplies with the
/// rounded activations (codeParts below; the weight itself for formats
/// without mins or zero points).
inline double int8ActivationBound(const float *x, const float *w, int64_t K) {
  double bound = 0;
  for (int64_t k0 = 0; k0 < K; k0 += 32) {
    double amax = 0, wsum = 0;
    for (int64_t k = k0; k < std::min(K, k0 + 32); ++k) {
      amax = std::max(amax, double(std::fabs(x[k])));
      wsum += std::fabs(w[k]);
    }
    bound += amax / 254.0 * wsum;
  }
  return bound;
}

/// |the part of each weight (N x K) that the tuned x86 kernels multiply with
/// the int8 activations|: they apply a format's min or zero point against
/// the exact sum of x, so only w - that term carries the activation
/// rounding. That part can exceed |w| (a weight near its block's min), so
/// the bound must use it. Covers every family: the AVX-512 kernels take
/// int codes q as s q, the AVX2 ones int8 codes as s (q - 128).
inline std::vector<float> codeParts(const quant::Format &f, const Packed &p, int64_t N, int64_t K) {
  std::vector<float> parts(p.dequantized.size());
  for (size_t i = 0; i < parts.size(); ++i)
    parts[i] = std::fabs(p.dequantized[i]);
  if (f.kind == quant::FormatKind::Int && f.offset != quant::Offset::None) {
    const int64_t rowBytes = quant::packedRowBytes(f, K), groups = quant::groupsPerRow(f, K);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t e = f.granularity == quant::Granularity::Tensor  ? 0
                          : f.granularity == quant::Granularity::Group ? n * groups + k / f.groupSize
                                                                        : n;
        const float s = std::fabs(p.scales[e]);
        const float q = float(readCode(p.codes.data() + n * rowBytes, k * f.bits, f.bits));
        float &part = parts[n * K + k];
        part = std::max(part, s * q);
        if (f.bits == 8)
          part = std::max(part, s * std::fabs(q - 128.f));
      }
    return parts;
  }
  // Block formats with mins: the min term is what a block decodes to with
  // its codes (and fifth bits) zeroed.
  int64_t codesFrom = 0;
  switch (f.kind) {
  case quant::FormatKind::Q4_1:
  case quant::FormatKind::Q5_1:
    codesFrom = 4;
    break;
  case quant::FormatKind::Q4_K:
  case quant::FormatKind::Q5_K:
    codesFrom = 16;
    break;
  default:
    return parts;
  }
  const quant::GgmlType type = *quant::ggmlTypeOf(f.kind);
  const quant::BlockGeometry g = *quant::blockGeometry(f.kind);
  std::vector<uint8_t> block(static_cast<size_t>(g.bytesPerBlock));
  std::vector<float> minTerm(static_cast<size_t>(g.blockSize));
  for (int64_t b = 0; b < N * (K / g.blockSize); ++b) {
    const uint8_t *src = p.codes.data() + b * g.bytesPerBlock;
    std::copy(src, src + g.bytesPerBlock, block.begin());
    std::fill(block.begin() + codesFrom, block.end(), 0);
    EXPECT_TRUE(quant::dequantizeRows(type, block.data(), minTerm.data(), 1, g.blockSize).isOk());
    for (int64_t i = 0; i < g.blockSize; ++i) {
      float &part = parts[b * g.blockSize + i];
      part = std::max(part, std::fabs(p.dequantized[b * g.blockSize + i] - minTerm[i]));
    }
  }
  return parts;
}

} // namespace lowbit::test

#endif // LOWBIT_TEST_PACKEDWEIGHTS_H
