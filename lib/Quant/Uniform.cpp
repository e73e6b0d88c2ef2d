//===- Uniform.cpp - Round-to-nearest integer and ternary codes -----------===//
//
// Scale choice: for each group, a few clipping candidates (the range shrunk
// by 0%, 3%, ... 30% by default) are rounded to the scale type, the codes are
// chosen by round-to-nearest, and the candidate with the least
// importance-weighted squared error is kept (ties: the wider range). Shrinking
// the range trades clipping error on a few outliers for finer steps on all
// the other weights; the search keeps it only when that pays off. Ternary
// groups search multiples of the mean magnitude instead (BitNet b1.58's
// absmean scale is one candidate).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quant/Uniform.h"
#include "lowbit/Quant/Half.h"
#include "lowbit/Quant/Parallel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace lowbit::quant {
namespace {

/// A run of one group's weights inside one row: per-tensor groups have one
/// per row, the others exactly one.
struct Segment {
  const float *x;
  int64_t count;
  int64_t column; ///< column of x[0], to index the importance weights
};

/// How a group's codes map to values; `lo`/`hi` bound the codes.
struct GroupParams {
  float scale = 0;
  int32_t zeroPoint = 0; ///< the code of 0: 2^(bits-1) symmetric, z asymmetric, 1 ternary
  float min = 0;         ///< Offset::Min only
};

struct Levels {
  int lo, hi; ///< code range [lo, hi]
  bool useMin;
};

Levels levelsOf(const Format &f) {
  if (f.kind == FormatKind::Ternary)
    return {0, 2, false};
  return {0, (1 << f.bits) - 1, f.offset == Offset::Min};
}

unsigned codeBits(const Format &f) { return f.kind == FormatKind::Ternary ? 2 : f.bits; }

/// Fast round-to-nearest-even of a value already clamped to [-2^22, 2^22].
inline float roundClamped(float v) {
  const float magic = 12582912.f; // 1.5 * 2^23
  return (v + magic) - magic;
}

inline uint8_t encode(float x, const GroupParams &p, const Levels &l, float inverseScale) {
  float v = l.useMin ? (x - p.min) * inverseScale : x * inverseScale + p.zeroPoint;
  v = std::min(std::max(v, static_cast<float>(l.lo)), static_cast<float>(l.hi));
  return static_cast<uint8_t>(roundClamped(v));
}

inline float decode(uint8_t q, const GroupParams &p, bool useMin) {
  return useMin ? p.scale * q + p.min : p.scale * (static_cast<int32_t>(q) - p.zeroPoint);
}

std::string formatFloat(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

float inverseOf(float scale) { return scale != 0 ? 1.f / scale : 0.f; }

double weightedError(const std::vector<Segment> &group, const float *importance, const GroupParams &p,
                     const Levels &l) {
  const float inverse = inverseOf(p.scale);
  double total = 0;
  for (const Segment &s : group) {
    float sum = 0; // per segment in float so the loop vectorizes
    for (int64_t i = 0; i < s.count; ++i) {
      const float diff = s.x[i] - decode(encode(s.x[i], p, l, inverse), p, l.useMin);
      sum += (importance ? importance[s.column + i] : 1.f) * diff * diff;
    }
    total += sum;
  }
  return total;
}

struct GroupStats {
  float min = 0, max = 0, amax = 0, extreme = 0; ///< extreme: signed value of largest magnitude
  double absSum = 0;
  int64_t count = 0;
};

GroupStats statsOf(const std::vector<Segment> &group) {
  GroupStats st;
  st.min = st.max = group.front().x[0];
  for (const Segment &s : group) {
    for (int64_t i = 0; i < s.count; ++i) {
      const float v = s.x[i];
      st.min = std::min(st.min, v);
      st.max = std::max(st.max, v);
      st.absSum += std::fabs(v);
      if (std::fabs(v) > st.amax) {
        st.amax = std::fabs(v);
        st.extreme = v;
      }
    }
    st.count += s.count;
  }
  return st;
}

/// The parameters of clipping candidate k, before rounding the scale.
/// `noClip` (symmetric only) divides by half - 1 whatever the extreme's sign,
/// so that no weight clips: the alternative when the negative extreme's
/// scale would clip a large positive weight at (half - 1) steps.
GroupParams candidate(const Format &f, const GroupStats &st, const UniformOptions &o, int k,
                      bool noClip = false) {
  GroupParams p;
  const float shrink = 1.f - o.clipStep * k;
  if (f.kind == FormatKind::Ternary) {
    // Multiples 0.6, 0.7, ... of the mean magnitude, 1.0 (absmean) among them;
    // a single step means absmean alone.
    const float absMean = static_cast<float>(st.absSum / st.count);
    p.scale = o.clipSteps > 1 ? absMean * (0.6f + 0.1f * k) : absMean;
    p.zeroPoint = 1;
    return p;
  }
  const int top = (1 << f.bits) - 1;
  const int half = 1 << (f.bits - 1);
  switch (f.offset) {
  case Offset::None:
    // The extreme maps to the end of the code range on its side: -half
    // below zero, half - 1 above (as Q4_0 does with its signed max).
    p.scale = shrink * st.amax / (st.extreme < 0 && !noClip ? half : half - 1);
    p.zeroPoint = half;
    break;
  case Offset::ZeroPoint: {
    // The range always contains 0, so that 0 is exactly representable.
    const float lo = std::min(st.min, 0.f) * shrink, hi = std::max(st.max, 0.f) * shrink;
    p.scale = (hi - lo) / top;
    break;
  }
  case Offset::Min: {
    const float mid = 0.5f * (st.min + st.max), radius = 0.5f * (st.max - st.min) * shrink;
    p.scale = 2 * radius / top;
    p.min = mid - radius;
    break;
  }
  }
  return p;
}

/// Rounds the scale (and min) to the storage type and derives the zero point
/// from the rounded scale.
GroupParams finalize(const Format &f, const GroupStats &st, GroupParams p, const UniformOptions &o, int k) {
  p.scale = roundToScaleType(p.scale, o.scaleType);
  p.min = roundToScaleType(p.min, o.scaleType);
  if (f.kind == FormatKind::Int && f.offset == Offset::ZeroPoint) {
    const float lo = std::min(st.min, 0.f) * (1.f - o.clipStep * k);
    const int top = (1 << f.bits) - 1;
    p.zeroPoint = p.scale != 0 ? std::clamp(static_cast<int32_t>(std::nearbyint(-lo / p.scale)), 0, top) : 0;
  }
  return p;
}

Status fitGroup(const Format &f, const std::vector<Segment> &group, const float *importance,
                const UniformOptions &o, GroupParams &best) {
  const GroupStats st = statsOf(group);
  const Levels levels = levelsOf(f);
  // Symmetric int formats with a negative extreme also try the scale that
  // keeps the positive side unclipped (only when searching at all).
  const bool twoScales = f.kind == FormatKind::Int && f.offset == Offset::None && st.extreme < 0 && o.clipSteps > 1;
  double bestError = INFINITY;
  for (int k = 0; k < o.clipSteps; ++k) {
    for (int variant = 0; variant < (twoScales ? 2 : 1); ++variant) {
      const GroupParams raw = candidate(f, st, o, k, variant == 1);
      const GroupParams p = finalize(f, st, raw, o, k);
      if (!std::isfinite(p.scale) || !std::isfinite(p.min))
        return Status::error("scale " + formatFloat(raw.scale) + " overflows the scale type (largest weight " +
                             "magnitude " + formatFloat(st.amax) + ")");
      const double error = weightedError(group, importance, p, levels);
      if (error < bestError) {
        bestError = error;
        best = p;
      }
    }
  }
  return Status::ok();
}

void encodeSegment(const Segment &s, const GroupParams &p, const Levels &l, uint8_t *codes) {
  const float inverse = inverseOf(p.scale);
  for (int64_t i = 0; i < s.count; ++i)
    codes[i] = encode(s.x[i], p, l, inverse);
}

Status checkInput(const float *x, int64_t n, const char *what, int64_t rowLength) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i)
    bad |= static_cast<uint32_t>((floatBits(x[i]) & 0x7f800000u) == 0x7f800000u);
  if (!bad)
    return Status::ok();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      return Status::error(std::string("quantize int: ") + what + " row " + std::to_string(i / rowLength) +
                           ", column " + std::to_string(i % rowLength) + " is " +
                           (std::isnan(x[i]) ? "NaN" : "Inf"));
  return Status::ok();
}

Status checkShape(const Format &f, int64_t rows, int64_t rowLength) {
  if (f.kind != FormatKind::Int && f.kind != FormatKind::Ternary)
    return Status::error("uniform quantization handles int and ternary formats, not " + toString(f));
  if (std::string why = checkFormat(f); !why.empty())
    return Status::error(why);
  if (std::string why = checkRowLength(f, rowLength); !why.empty())
    return Status::error(why);
  if (rows <= 0)
    return Status::error("uniform quantization needs at least one row, got " + std::to_string(rows));
  return Status::ok();
}

} // namespace

float roundToScaleType(float value, ScaleType type) {
  switch (type) {
  case ScaleType::F16:
    return fp16ToFp32(fp32ToFp16(value));
  case ScaleType::BF16:
    return bf16ToFp32(fp32ToBf16(value));
  default:
    return value;
  }
}

void packCodes(const uint8_t *codes, int64_t count, unsigned bits, uint8_t *dst) {
  const int64_t bytes = (count * bits + 7) / 8;
  if (bits == 8) {
    std::copy(codes, codes + count, dst);
    return;
  }
  std::fill(dst, dst + bytes, 0);
  if (bits == 4 || bits == 2) {
    const unsigned perByte = 8 / bits;
    for (int64_t i = 0; i < count; ++i)
      dst[i / perByte] |= static_cast<uint8_t>(codes[i] << (bits * (i % perByte)));
    return;
  }
  uint64_t buffer = 0; // bits not yet written, lowest first
  unsigned held = 0;
  uint8_t *out = dst;
  for (int64_t i = 0; i < count; ++i) {
    buffer |= static_cast<uint64_t>(codes[i]) << held;
    held += bits;
    while (held >= 8) {
      *out++ = static_cast<uint8_t>(buffer);
      buffer >>= 8;
      held -= 8;
    }
  }
  if (held)
    *out = static_cast<uint8_t>(buffer);
}

void unpackCodes(const uint8_t *src, int64_t count, unsigned bits, uint8_t *codes) {
  const unsigned mask = (1u << bits) - 1;
  if (bits == 8 || bits == 4 || bits == 2) {
    const unsigned perByte = 8 / bits;
    for (int64_t i = 0; i < count; ++i)
      codes[i] = static_cast<uint8_t>((src[i / perByte] >> (bits * (i % perByte))) & mask);
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    const int64_t bit = i * bits;
    // Two bytes always cover a code of at most 8 bits; the second may lie
    // past the row when the code ends in the last byte.
    unsigned word = src[bit / 8];
    if ((bit % 8) + bits > 8)
      word |= static_cast<unsigned>(src[bit / 8 + 1]) << 8;
    codes[i] = static_cast<uint8_t>((word >> (bit % 8)) & mask);
  }
}

Status quantizeUniform(const Format &f, const float *src, int64_t rows, int64_t rowLength,
                       const UniformOptions &options, const float *importance, UniformTensor &out) {
  if (Status s = checkShape(f, rows, rowLength); s.failed())
    return s;
  if (options.clipSteps < 1 || options.clipStep < 0 || options.clipStep * (options.clipSteps - 1) >= 1)
    return Status::error("uniform quantization: clipSteps (" + std::to_string(options.clipSteps) +
                         ") must be at least 1 and clipStep * (clipSteps - 1) below 1, got clipStep " +
                         formatFloat(options.clipStep));
  if (Status s = checkInput(src, rows * rowLength, "input", rowLength); s.failed())
    return s;
  if (importance) {
    if (Status s = checkInput(importance, rowLength, "importance", rowLength); s.failed())
      return s;
    for (int64_t j = 0; j < rowLength; ++j)
      if (importance[j] < 0)
        return Status::error("quantize int: importance column " + std::to_string(j) + " is negative");
  }
  const bool perTensor = f.granularity == Granularity::Tensor;
  const int64_t groups = perTensor ? 1 : groupsPerRow(f, rowLength);
  // Every group but a short last one (paddedRowLength) has this length.
  const int64_t groupLength = f.granularity == Granularity::Group ? f.groupSize : rowLength;
  const int64_t sideEntries = perTensor ? 1 : rows * groups;
  const Levels levels = levelsOf(f);
  out.scales.assign(sideEntries, 0.f);
  out.zeroPoints.assign(f.offset == Offset::ZeroPoint ? sideEntries : 0, 0);
  out.mins.assign(f.offset == Offset::Min ? sideEntries : 0, 0.f);
  std::vector<uint8_t> codes(rows * rowLength);
  auto store = [&](int64_t entry, const GroupParams &p) {
    out.scales[entry] = p.scale;
    if (!out.zeroPoints.empty())
      out.zeroPoints[entry] = p.zeroPoint;
    if (!out.mins.empty())
      out.mins[entry] = p.min;
  };
  if (perTensor) {
    std::vector<Segment> group;
    for (int64_t r = 0; r < rows; ++r)
      group.push_back({src + r * rowLength, rowLength, 0});
    GroupParams p;
    if (Status s = fitGroup(f, group, importance, options, p); s.failed())
      return s.context("quantize " + toString(f) + ": the tensor");
    store(0, p);
    for (int64_t r = 0; r < rows; ++r)
      encodeSegment(group[r], p, levels, codes.data() + r * rowLength);
  } else {
    Status s = parallelFor(rows, options.threads, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t g = 0; g < groups; ++g) {
          const int64_t k0 = g * groupLength, length = std::min(groupLength, rowLength - k0);
          const std::vector<Segment> group = {{src + r * rowLength + k0, length, k0}};
          GroupParams p;
          if (Status fit = fitGroup(f, group, importance, options, p); fit.failed())
            return fit.context("quantize " + toString(f) + ": row " + std::to_string(r) + ", columns " +
                               std::to_string(k0) + ".." + std::to_string(k0 + length - 1));
          store(r * groups + g, p);
          encodeSegment(group[0], p, levels, codes.data() + r * rowLength + g * groupLength);
        }
      }
      return Status::ok();
    });
    if (s.failed())
      return s;
  }
  const int64_t bytes = packedRowBytes(f, rowLength);
  out.codes.assign(rows * bytes, 0);
  for (int64_t r = 0; r < rows; ++r)
    packCodes(codes.data() + r * rowLength, rowLength, codeBits(f), out.codes.data() + r * bytes);
  return Status::ok();
}

Status dequantizeUniform(const Format &f, const UniformTensor &t, int64_t rows, int64_t rowLength, float *dst) {
  if (Status s = checkShape(f, rows, rowLength); s.failed())
    return s;
  const bool perTensor = f.granularity == Granularity::Tensor;
  const int64_t groups = perTensor ? 1 : groupsPerRow(f, rowLength);
  const int64_t groupLength = f.granularity == Granularity::Group ? f.groupSize : rowLength;
  const size_t sideEntries = perTensor ? 1 : rows * groups;
  const int64_t bytes = packedRowBytes(f, rowLength);
  if (t.codes.size() != static_cast<size_t>(rows * bytes) || t.scales.size() != sideEntries ||
      (f.offset == Offset::ZeroPoint && t.zeroPoints.size() != sideEntries) ||
      (f.offset == Offset::Min && t.mins.size() != sideEntries))
    return Status::error("dequantize " + toString(f) + ": the codes or side arrays do not match " +
                         std::to_string(rows) + " rows of " + std::to_string(rowLength));
  const Levels levels = levelsOf(f);
  std::vector<uint8_t> codes(rowLength);
  for (int64_t r = 0; r < rows; ++r) {
    unpackCodes(t.codes.data() + r * bytes, rowLength, codeBits(f), codes.data());
    for (int64_t g = 0; g < groups; ++g) {
      const size_t entry = perTensor ? 0 : r * groups + g;
      GroupParams p;
      p.scale = t.scales[entry];
      p.zeroPoint = f.kind == FormatKind::Ternary ? 1
                    : f.offset == Offset::ZeroPoint ? t.zeroPoints[entry]
                                                    : (f.offset == Offset::None ? 1 << (f.bits - 1) : 0);
      p.min = f.offset == Offset::Min ? t.mins[entry] : 0.f;
      float *y = dst + r * rowLength + g * groupLength;
      const uint8_t *q = codes.data() + g * groupLength;
      for (int64_t i = 0, n = std::min(groupLength, rowLength - g * groupLength); i < n; ++i)
        y[i] = decode(q[i], p, levels.useMin);
    }
  }
  return Status::ok();
}

} // namespace lowbit::quant
