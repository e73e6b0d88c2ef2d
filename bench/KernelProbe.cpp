//===- KernelProbe.cpp - One matmul kernel, hot or cold, for profiling ----===//
//
// A small driver for the decode kernels: it times `calls` calls of
// kernels::matmul on one format and shape, either on one weight copy small
// enough to stay in cache ("hot": the kernel's own speed, compute-bound) or
// rotating over copies of 256 MiB ("cold": DRAM), single-threaded, and prints
// ns per call and cycles-free figures per 128 weights. Run it under
// `valgrind --tool=callgrind --toggle-collect='*rowsKernel*'` with the AVX2
// family (LOWBIT_MATMUL_KERNELS=avx2; valgrind 3.19 does not execute
// AVX-512 or AVX-VNNI) to count instructions per 128 weights.
//
//   KernelProbe FORMAT [N=256] [K=4096] [M=1] [calls=200] [hot|cold] [median|min]
//               [interleaved|rows]
//
// FORMAT: a block format name (q4_0, q6_k, ...) or int4_gG / int8_ch. The
// weights lie as the CPU artifact holds them (interleaved by 4, in huge
// pages where the system has them; LOWBIT_HUGE_PAGES=0: not), or with
// "rows" row after row.
//
//===----------------------------------------------------------------------===//

#include "HugePages.h"
#include "kernels/Matmul.h"

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Uniform.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace lowbit;
using quant::Format;
using quant::Granularity;

namespace {

struct Weights {
  std::vector<uint8_t> codes;
  std::vector<float> scales, mins;
  std::vector<int32_t> zeroPoints;
};

bool parseFormat(const std::string &name, Format &f) {
  if (name.rfind("int4_g", 0) == 0) {
    f = Format::integer(4, Granularity::Group, std::atoi(name.c_str() + 6));
    return true;
  }
  if (name == "int8_ch") {
    f = Format::integer(8, Granularity::Channel);
    return true;
  }
  const auto kind = quant::parseFormatKind(name);
  if (!kind || !quant::isBlockFormat(*kind))
    return false;
  f = Format::blockFormat(*kind);
  return true;
}

Weights makeWeights(const Format &f, int64_t N, int64_t K) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<float> w(N * K);
  for (float &v : w)
    v = normal(rng);
  Weights out;
  if (quant::isBlockFormat(f.kind)) {
    out.codes.resize(N * quant::packedRowBytes(f, K));
    if (!quant::quantizeRows(*quant::ggmlTypeOf(f.kind), w.data(), out.codes.data(), N, K).isOk())
      std::abort();
  } else {
    quant::UniformTensor t;
    if (!quant::quantizeUniform(f, w.data(), N, K, quant::UniformOptions{}, nullptr, t).isOk())
      std::abort();
    out.codes = t.codes;
    out.scales = t.scales;
    out.mins = t.mins;
    out.zeroPoints = t.zeroPoints;
  }
  const std::vector<uint8_t> rows = out.codes;
  quant::layOutRows(f, quant::packedRowBytes(f, K), N, rows.data(), out.codes.data());
  return out;
}

} // namespace

int main(int argc, char **argv) {
  Format f;
  if (argc < 2 || !parseFormat(argv[1], f)) {
    std::fprintf(stderr, "usage: %s FORMAT [N] [K] [M] [calls] [hot|cold] [median|min] [interleaved|rows]\n", argv[0]);
    return 2;
  }
  if (!(argc > 8 && std::strcmp(argv[8], "rows") == 0) && quant::interleaveUnitBytes(f))
    f.layout = quant::Layout::Interleaved4;
  const int64_t N = argc > 2 ? std::atoll(argv[2]) : 256, K = argc > 3 ? std::atoll(argv[3]) : 4096;
  const int64_t M = argc > 4 ? std::atoll(argv[4]) : 1, calls = argc > 5 ? std::atoll(argv[5]) : 200;
  const bool cold = argc > 6 && std::strcmp(argv[6], "cold") == 0;
  const Weights w = makeWeights(f, N, K);
  // Cold: enough copies for 256 MiB, so each call reads DRAM.
  const int64_t bytes = int64_t(w.codes.size()), copies = cold ? std::max<int64_t>(1, (256 << 20) / bytes) : 1;
  // Each copy with its own side arrays, so they come from DRAM as well.
  std::vector<Weights> copy(static_cast<size_t>(copies), w);
  // The codes in huge pages, as the runtime holds an artifact's weights.
  const size_t stride = (w.codes.size() + 63) / 64 * 64;
  runtime::HugePageBuffer arena;
  if (runtime::HugePageBuffer::available())
    arena = runtime::HugePageBuffer(stride * copy.size());
  auto codesOf = [&](int64_t c) { return arena.empty() ? copy[c].codes.data() : arena.data() + c * stride; };
  for (size_t c = 0; c < copy.size() && !arena.empty(); ++c)
    std::memcpy(arena.data() + c * stride, copy[c].codes.data(), copy[c].codes.size());
  std::vector<float> x(M * K), y(M * N);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (float &v : x)
    v = normal(rng);
  const uint64_t word = quant::encodeFormat(f);
  auto data = [](const auto &v) { return v.empty() ? nullptr : v.data(); };
  std::vector<double> times;
  for (int64_t c = 0; c < calls; ++c) {
    const auto t0 = std::chrono::steady_clock::now();
    const Weights &v = copy[c % copies];
    if (runtime::kernels::matmul(nullptr, word, x.data(), codesOf(c % copies), data(v.scales), data(v.zeroPoints),
                                 data(v.mins), nullptr, nullptr, y.data(), M, N, K) != 0)
      return 1;
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  // The median, or with "min" the fastest call (robust to a busy machine
  // for hot runs, which have no DRAM variation to average).
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  const double t = argc > 7 && std::strcmp(argv[7], "min") == 0 ? *std::min_element(times.begin(), times.end())
                                                                 : times[times.size() / 2];
  std::printf("%s %s N=%lld K=%lld M=%lld: %.1f us/call, %.2f ns per 128 weights, %.1f GB/s, y[0]=%g\n", argv[1],
              cold ? "cold" : "hot", (long long)N, (long long)K, (long long)M, t * 1e6, t * 1e9 / (double(N) * K / 128),
              double(bytes + (w.scales.size() + w.mins.size() + w.zeroPoints.size()) * 4) / t * 1e-9, double(y[0]));
  return 0;
}
