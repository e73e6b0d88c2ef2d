//===- Half.h - fp16 and bf16 conversions ----------------------*- C++ -*-===//
//
// IEEE binary16 and bfloat16 conversions that round to nearest, ties to even,
// and keep subnormals, exactly as ggml's GGML_FP32_TO_FP16 (F16C or its
// software fallback) and ggml_compute_fp32_to_bf16 do (GGUF_SPEC.md 1.1, 3.0).
// Header-only so that dequantization loops inline them.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_HALF_H
#define LOWBIT_QUANT_HALF_H

#include <cstdint>
#include <cstring>

namespace lowbit::quant {

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// float -> binary16, round to nearest even. Overflow gives +-Inf; NaN stays
/// a quiet NaN with the top mantissa bits kept.
inline uint16_t fp32ToFp16(float f) {
  const uint32_t x = floatBits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude > 0x7f800000u) // NaN
    return sign | 0x7e00u | static_cast<uint16_t>((magnitude >> 13) & 0x3ffu);
  // 65520 (0x477ff000) is the midpoint between 65504, the largest half, and
  // 65536; ties go to the even neighbour, which is 65536, i.e. Inf.
  if (magnitude >= 0x477ff000u)
    return sign | 0x7c00u;
  if (magnitude >= 0x38800000u) { // a normal half: >= 2^-14
    // Rebias the exponent (127 -> 15) and round 23 mantissa bits to 10; a
    // carry out of the mantissa correctly bumps the exponent.
    const uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
    return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
  }
  // Subnormal half (or zero): adding 0.5f, whose ulp is 2^-24 (the half
  // subnormal step), makes the FPU round |f| to a multiple of 2^-24, ties to even.
  const float shifted = bitsToFloat(magnitude) + 0.5f;
  return sign | static_cast<uint16_t>(floatBits(shifted) - floatBits(0.5f));
}

/// binary16 -> float, exact. Written with selects rather than branches so
/// that loops over many halves vectorize.
inline float fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  const uint32_t normal = ((exponent + 112u) << 23) | (mantissa << 13);
  // Inf, or NaN made quiet as F16C's vcvtph2ps does.
  const uint32_t special = 0x7f800000u | (mantissa << 13) | (mantissa ? 0x00400000u : 0u);
  // Zero or subnormal: mantissa * 2^-24, exact in fp32.
  const uint32_t subnormal = floatBits(static_cast<float>(mantissa) * 5.9604644775390625e-8f);
  return bitsToFloat(sign | (exponent == 0 ? subnormal : exponent == 0x1f ? special : normal));
}

/// float -> bfloat16, round to nearest even; NaN is kept quiet.
inline uint16_t fp32ToBf16(float f) {
  const uint32_t x = floatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((x >> 16) | 64u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline float bf16ToFp32(uint16_t h) { return bitsToFloat(static_cast<uint32_t>(h) << 16); }

/// Little-endian loads and stores of the fp16/fp32 fields inside blocks.
inline uint16_t loadU16(const uint8_t *p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline void storeU16(uint8_t *p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline float loadHalf(const uint8_t *p) { return fp16ToFp32(loadU16(p)); }
inline void storeHalf(uint8_t *p, float f) { storeU16(p, fp32ToFp16(f)); }

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_HALF_H
