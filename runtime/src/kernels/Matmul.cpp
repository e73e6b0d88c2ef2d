//===- Matmul.cpp - The fused quantized matmul kernel ---------------------===//
//
// Portable row kernels, one per family of formats:
//   - GGUF block formats: each block is decoded by lib/Quant's
//     dequantizeRows (bit for bit as ggml) into a stack buffer;
//   - int and ternary: codes are unpacked LSB-first (docs/FORMATS.md) a
//     group chunk at a time and scaled exactly as dequantizeUniform does;
//   - codebook: each code vector is the sum over codebooks of the entries
//     its codes select, times the row's scale.
// Each decoded chunk is then dotted with the matching slice of every
// activation row. Correct first; selectMatmulKernel is where faster kernels
// for a format and an instruction set plug in.
//
//===----------------------------------------------------------------------===//

#include "kernels/Matmul.h"
#include "kernels/KernelError.h"
#include "kernels/MatmulW8A8.h"
#include "kernels/x86/X86Matmul.h"

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Uniform.h"

#include <algorithm>
#include <vector>

namespace lowbit::runtime::kernels {

using quant::Format;
using quant::FormatKind;
using quant::Granularity;
using quant::Offset;

namespace {

int32_t failWith(const lowbit_dispatch_context *ctx, const std::string &message) {
  reportKernelError(ctx, "matmul: " + message);
  return 1;
}

/// Weights decoded at a time: the largest GGUF block, and the chunk the
/// other formats decode a group in.
constexpr int64_t kChunk = 256;

/// sum_i a[i] * b[i], in eight interleaved partial sums so the loop
/// vectorizes without reassociating floats behind the compiler's back.
inline float dot(const float *a, const float *b, int64_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j)
      s[j] += a[i + j] * b[i + j];
  for (; i < n; ++i)
    s[i & 7] += a[i] * b[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/// acc[m] += chunk . x[m, k0 : k0 + n] for every activation row.
inline void accumulate(const MatmulArgs &a, const float *chunk, int64_t k0, int64_t n, float *acc) {
  for (int64_t m = 0; m < a.M; ++m)
    acc[m] += dot(chunk, a.x + m * a.K + k0, n);
}

inline void store(const MatmulArgs &a, int64_t n, const float *acc) {
  const float b = a.bias ? a.bias[n] : 0.f;
  for (int64_t m = 0; m < a.M; ++m)
    a.y[m * a.N + n] = acc[m] + b;
}

/// `count` codes of `bits` (<= 8) bits starting at bit `bitOffset` of `src`,
/// LSB-first as quant::packCodes writes them.
void unpackAt(const uint8_t *src, int64_t bitOffset, int64_t count, unsigned bits, uint8_t *codes) {
  if (bitOffset % 8 == 0) {
    quant::unpackCodes(src + bitOffset / 8, count, bits, codes);
    return;
  }
  const unsigned mask = (1u << bits) - 1;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t bit = bitOffset + i * bits;
    unsigned word = src[bit / 8];
    if ((bit % 8) + bits > 8)
      word |= static_cast<unsigned>(src[bit / 8 + 1]) << 8;
    codes[i] = static_cast<uint8_t>((word >> (bit % 8)) & mask);
  }
}

/// One code of `bits` (<= 16) bits at bit `bit` of `src`, reading only the
/// bytes the code occupies.
inline uint32_t codeAt(const uint8_t *src, int64_t bit, unsigned bits) {
  const uint8_t *p = src + bit / 8;
  const unsigned shift = static_cast<unsigned>(bit % 8);
  uint32_t word = p[0];
  if (shift + bits > 8)
    word |= uint32_t(p[1]) << 8;
  if (shift + bits > 16)
    word |= uint32_t(p[2]) << 16;
  return (word >> shift) & ((1u << bits) - 1);
}

/// Row n's packed bytes in one piece: in place outside interleaved tiles,
/// else gathered into `buffer`.
const uint8_t *contiguousRow(const MatmulArgs &a, int64_t n, std::vector<uint8_t> &buffer) {
  if (n >= a.tiling.tiledRows)
    return a.w + n * a.rowBytes;
  buffer.resize(static_cast<size_t>(a.rowBytes));
  quant::gatherRow(a.tiling, a.w, n, buffer.data());
  return buffer.data();
}

void blockRows(const MatmulArgs &a, int64_t n0, int64_t n1, float *acc) {
  const quant::GgmlType type = *quant::ggmlTypeOf(a.format.kind);
  const quant::BlockGeometry geometry = *quant::blockGeometry(a.format.kind);
  const int64_t blockSize = geometry.blockSize, blocks = a.K / blockSize;
  float chunk[kChunk];
  std::vector<uint8_t> gathered;
  for (int64_t n = n0; n < n1; ++n) {
    std::fill(acc, acc + a.M, 0.f);
    const uint8_t *row = contiguousRow(a, n, gathered);
    for (int64_t b = 0; b < blocks; ++b) {
      // Cannot fail: the type decodes and blockSize is its block size.
      (void)quant::dequantizeRows(type, row + b * geometry.bytesPerBlock, chunk, 1, blockSize);
      accumulate(a, chunk, b * blockSize, blockSize, acc);
    }
    store(a, n, acc);
  }
}

void uniformRows(const MatmulArgs &a, int64_t n0, int64_t n1, float *acc) {
  const Format &f = a.format;
  const bool ternary = f.kind == FormatKind::Ternary;
  const unsigned bits = ternary ? 2 : f.bits;
  const bool perTensor = f.granularity == Granularity::Tensor;
  const int64_t groups = f.granularity == Granularity::Group ? a.K / f.groupSize : 1;
  const int64_t groupLength = a.K / groups;
  const bool useMin = !ternary && f.offset == Offset::Min;
  uint8_t codes[kChunk];
  float chunk[kChunk];
  std::vector<uint8_t> gathered;
  for (int64_t n = n0; n < n1; ++n) {
    std::fill(acc, acc + a.M, 0.f);
    const uint8_t *row = contiguousRow(a, n, gathered);
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t entry = perTensor ? 0 : n * a.groupsPerRow + g;
      const float scale = a.scales[entry];
      // The same expressions as dequantizeUniform, so each weight decodes to
      // the same float.
      const int32_t zeroPoint = ternary                          ? 1
                                : f.offset == Offset::ZeroPoint ? a.zeroPoints[entry]
                                : f.offset == Offset::None      ? 1 << (bits - 1)
                                                                : 0;
      const float min = useMin ? a.mins[entry] : 0.f;
      for (int64_t k0 = g * groupLength, end = k0 + groupLength; k0 < end; k0 += kChunk) {
        const int64_t length = std::min(kChunk, end - k0);
        unpackAt(row, k0 * bits, length, bits, codes);
        if (useMin)
          for (int64_t i = 0; i < length; ++i)
            chunk[i] = scale * codes[i] + min;
        else
          for (int64_t i = 0; i < length; ++i)
            chunk[i] = scale * (static_cast<int32_t>(codes[i]) - zeroPoint);
        accumulate(a, chunk, k0, length, acc);
      }
    }
    store(a, n, acc);
  }
}

void codebookRows(const MatmulArgs &a, int64_t n0, int64_t n1, float *acc) {
  const Format &f = a.format;
  const int64_t C = f.codebooks, V = f.groupSize, vectors = a.K / V;
  const int64_t entries = int64_t(1) << f.bits;
  int64_t offsets[8]; // codebooks[c][code_c] as an index into `codebooks`
  float chunk[kChunk];
  for (int64_t n = n0; n < n1; ++n) {
    std::fill(acc, acc + a.M, 0.f);
    const uint8_t *row = a.w + n * a.rowBytes;
    const float scale = a.scales ? a.scales[n * a.groupsPerRow] : 1.f;
    for (int64_t g = 0; g < vectors; ++g) {
      for (int64_t c = 0; c < C; ++c)
        offsets[c] = (c * entries + codeAt(row, (g * C + c) * f.bits, f.bits)) * V;
      for (int64_t i0 = 0; i0 < V; i0 += kChunk) {
        const int64_t length = std::min(kChunk, V - i0);
        for (int64_t i = 0; i < length; ++i) {
          float sum = 0;
          for (int64_t c = 0; c < C; ++c)
            sum += a.codebooks[offsets[c] + i0 + i];
          chunk[i] = scale * sum;
        }
        accumulate(a, chunk, g * V + i0, length, acc);
      }
    }
    store(a, n, acc);
  }
}

struct Job {
  MatmulArgs args;
  MatmulRowsFn rows;
  int64_t rowsPerGroup;
};

void runGroup(void *arg, int64_t group) {
  const Job &job = *static_cast<const Job *>(arg);
  const MatmulArgs &a = job.args;
  const int64_t n0 = group * job.rowsPerGroup, n1 = std::min(a.N, n0 + job.rowsPerGroup);
  if (a.M <= kChunk) {
    float scratch[kChunk];
    job.rows(a, n0, n1, scratch);
  } else {
    std::vector<float> scratch(static_cast<size_t>(a.M));
    job.rows(a, n0, n1, scratch.data());
  }
}

} // namespace

MatmulKernel selectMatmulKernel(const Format &format) { return selectMatmulKernel(format, x86::KernelChoice::Best); }

MatmulKernel selectMatmulKernel(const Format &format, x86::KernelChoice limit) {
  // W8A8 rounds the activations per token: its own kernels (MatmulW8A8.h).
  if (format.activations == quant::Activations::Int8PerToken)
    return w8a8::selectKernel(format, limit);
  // Tuned kernels go first (each checks the CPU); the portable ones cover the
  // rest.
  if (MatmulKernel fast; x86::selectKernel(format, fast, limit))
    return fast;
  if (quant::isBlockFormat(format.kind))
    return {"generic-block", blockRows};
  if (format.kind == FormatKind::Codebook)
    return {"generic-codebook", codebookRows};
  return {"generic-uniform", uniformRows};
}

namespace {
int32_t matmulImpl(const lowbit_dispatch_context *ctx, uint64_t formatWord, const float *x, const void *w,
                   const float *scales, const int32_t *zeroPoints, const float *mins, const float *codebooks,
                   const float *bias, float *y, int64_t M, int64_t N, int64_t K, x86::KernelChoice limit);

template <x86::KernelChoice Limit>
int32_t matmulLimited(const lowbit_dispatch_context *ctx, uint64_t formatWord, const float *x, const void *w,
                      const float *scales, const int32_t *zeroPoints, const float *mins, const float *codebooks,
                      const float *bias, float *y, int64_t M, int64_t N, int64_t K) {
  return matmulImpl(ctx, formatWord, x, w, scales, zeroPoints, mins, codebooks, bias, y, M, N, K, Limit);
}
} // namespace

int32_t matmul(const lowbit_dispatch_context *ctx, uint64_t formatWord, const float *x, const void *w,
               const float *scales, const int32_t *zeroPoints, const float *mins, const float *codebooks,
               const float *bias, float *y, int64_t M, int64_t N, int64_t K) {
  return matmulImpl(ctx, formatWord, x, w, scales, zeroPoints, mins, codebooks, bias, y, M, N, K,
                    x86::KernelChoice::Best);
}

lowbit_matmul_fn matmulWithin(x86::KernelChoice limit) {
  using C = x86::KernelChoice;
  switch (limit) {
  case C::Best:
    return matmul;
  case C::Avx512Vnni:
    return matmulLimited<C::Avx512Vnni>;
  case C::AvxVnni:
    return matmulLimited<C::AvxVnni>;
  case C::Avx2:
    return matmulLimited<C::Avx2>;
  case C::Portable:
    return matmulLimited<C::Portable>;
  }
  return matmul;
}

namespace {
int32_t matmulImpl(const lowbit_dispatch_context *ctx, uint64_t formatWord, const float *x, const void *w,
                   const float *scales, const int32_t *zeroPoints, const float *mins, const float *codebooks,
                   const float *bias, float *y, int64_t M, int64_t N, int64_t K, x86::KernelChoice limit) {
  std::optional<Format> format = quant::decodeFormat(formatWord);
  if (!format)
    return failWith(ctx, "format word " + std::to_string(formatWord) + " is not a valid format");
  if (M < 0 || N < 0 || K < 0)
    return failWith(ctx, "negative shape M=" + std::to_string(M) + " N=" + std::to_string(N) +
                    " K=" + std::to_string(K));
  if (M == 0 || N == 0)
    return 0;
  if (!y || (K && !x))
    return failWith(ctx, "x or y is null");
  if (K == 0) { // an empty sum: y is the bias
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n)
        y[m * N + n] = bias ? bias[n] : 0.f;
    return 0;
  }
  if (std::string why = quant::checkRowLength(*format, K); !why.empty())
    return failWith(ctx, quant::toString(*format) + ": " + why);
  const bool needsScales = format->kind == FormatKind::Int || format->kind == FormatKind::Ternary;
  if (!w)
    return failWith(ctx, "the packed weight is null");
  if (needsScales && !scales)
    return failWith(ctx, quant::toString(*format) + " needs scales");
  if (format->kind == FormatKind::Int && format->offset == Offset::ZeroPoint && !zeroPoints)
    return failWith(ctx, quant::toString(*format) + " needs zero points");
  if (format->kind == FormatKind::Int && format->offset == Offset::Min && !mins)
    return failWith(ctx, quant::toString(*format) + " needs mins");
  if (format->kind == FormatKind::Codebook && !codebooks)
    return failWith(ctx, quant::toString(*format) + " needs codebooks");

  const MatmulKernel kernel = selectMatmulKernel(*format, limit);
  // A short last group: the rows are packed padded to whole groups
  // (quant::paddedRowLength), so every kernel runs on the padded K against
  // activations padded with zeros, which the padding codes multiply.
  std::vector<float> paddedX;
  if (const int64_t padded = quant::paddedRowLength(*format, K); padded != K) {
    paddedX.assign(static_cast<size_t>(M * padded), 0.f);
    for (int64_t m = 0; m < M; ++m)
      std::copy(x + m * K, x + (m + 1) * K, paddedX.begin() + m * padded);
    x = paddedX.data();
    K = padded;
  }
  const int64_t rowBytes = quant::packedRowBytes(*format, K);
  Job job{MatmulArgs{*format, x, static_cast<const uint8_t *>(w), scales, zeroPoints, mins, codebooks, bias, y, M, N,
                     K, rowBytes, quant::groupsPerRow(*format, K), nullptr, quant::rowTiling(*format, rowBytes, N)},
          kernel.rows, N};
  std::vector<uint8_t> prepared;
  if (kernel.prepare) {
    prepared.resize(static_cast<size_t>(kernel.preparedBytes(job.args)) + 64);
    void *buffer = prepared.data() + (-reinterpret_cast<uintptr_t>(prepared.data()) & 63);
    kernel.prepare(ctx, job.args, buffer);
    job.args.prepared = buffer;
  }
  // A few workgroups per worker balance uneven progress; tiny problems are
  // not worth waking anyone for.
  const int64_t workers = ctx && ctx->parallel_for ? std::max<int64_t>(1, ctx->num_workers) : 1;
  const double work = double(M) * double(N) * double(K);
  int64_t groups = 1;
  if (workers > 1 && work >= 65536.0)
    groups = std::min<int64_t>(N, workers * 4);
  // Whole 4-row tiles per workgroup, so an interleaved tile is one stream.
  job.rowsPerGroup = (N + groups - 1) / groups;
  if (job.rowsPerGroup < N)
    job.rowsPerGroup = std::min(N, (job.rowsPerGroup + quant::kInterleavedRows - 1) / quant::kInterleavedRows *
                                       quant::kInterleavedRows);
  groups = (N + job.rowsPerGroup - 1) / job.rowsPerGroup;
  if (groups == 1)
    runGroup(&job, 0);
  else
    ctx->parallel_for(ctx->pool, groups, runGroup, &job);
  return 0;
}
} // namespace

} // namespace lowbit::runtime::kernels
