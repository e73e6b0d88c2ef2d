//===- MatmulBench.cpp - The fused quantized matmul against DRAM and ORT ---===//
//
// Times lowbit's matmul kernel (y = x W^T, the runtime's lowbit_matmul_fn,
// with one family of the tuned kernels of runtime/src/kernels/x86: the
// fastest this CPU has, or each of --kernels avx512,avxvnni,avx2) per format,
// shape N x K, activation rows M and threads, and prints per case
//   - the median time of one call,
//   - GB/s of packed weights (side arrays included) read per second,
//   - GFLOP/s (2 M N K per call),
//   - decode (M = 1): the fraction of this machine's read bandwidth measured
//     in the same run, call by call: before each kernel call, a STREAM-style
//     read-only sum of another copy of the same weights, on the same pool
//     and workgroups, prefetching 0, 1, 4, 8 or 16 KiB ahead in turn (the kernels
//     prefetch); the best distance's median is the ceiling. (A read of a
//     separate buffer before each format, the earlier method, is still
//     printed at the start; the host's bandwidth moved by 2x within minutes,
//     which paired calls follow and a measurement seconds apart did not);
//   - prefill: the fraction of the int8 dot-product peak (VPDPBUSD
//     throughput measured in the same run, see below);
//   - the speedup over ONNX Runtime on the same shape and threads, read from
//     bench/ort_matmul.py's output (--ort FILE): MatMulNBits 4-bit block 32 /
//     128 against lowbit's int4 group 32 / 128, float MatMul against q8_0;
//   - the speedup over lowbit's portable kernel (decode only).
// Weights rotate over copies as large as the bandwidth buffer, so decode
// reads come from DRAM, not from cache.
//
// Run it with bench/run-matmul-bench.sh (builds the ORT side's venv and runs
// both); alone: build/bench/MatmulBench [--quick] [--ort FILE]
// [--threads 1,2] [--formats q4_0,q8_0] [--m 1,16,512] [--shapes 4096x4096]
// [--layout rows|interleaved] (the weights' row layout; default: the
// artifact's, interleaved).
//
// Int8 peak. One VPDPBUSD on a 512-bit register does 64 multiply-adds (128
// int8 ops). The peak is (VPDPBUSD per cycle) x 128 x clock x cores. Zen 5
// (this machine: AMD family 26) executes 512-bit vector ops natively on two
// multiply pipes, i.e. 2 VPDPBUSD zmm per cycle; the clock under load is not
// what /proc/cpuinfo reports in a VM, so the bench measures the product
// directly: 16 independent VPDPBUSD chains (more than latency x throughput)
// per thread, timed in thread CPU time (the core's rate while the thread
// runs, whatever else shares the machine), and prints it next to the nominal
// figure (2 x 128 x the cpuinfo MHz). Prefill efficiency is likewise counted
// per CPU-second the process got (process CPU time; pool threads spinning
// between workgroups count against it) over the one-thread peak, so it does
// not depend on how much of a shared machine the run got; the "cpu" column
// says how much that was.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "HugePages.h"
#include "kernels/Matmul.h"
#include "kernels/x86/X86Matmul.h"

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Uniform.h"

#include <algorithm>
#include <iterator>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace lowbit;
using namespace lowbit::runtime;
using quant::Format;
using quant::FormatKind;
using quant::Granularity;
using quant::Offset;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

/// CPU seconds this process has used (all threads).
double processCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

std::string readFile(const char *path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t llcBytes() {
  std::string s = readFile("/sys/devices/system/cpu/cpu0/cache/index3/size");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  if (s.empty())
    return 32 << 20;
  int64_t v = std::atoll(s.c_str());
  const char unit = s.back();
  if (unit == 'K')
    v <<= 10;
  else if (unit == 'M')
    v <<= 20;
  else if (unit == 'G')
    v <<= 30;
  return v > 0 ? v : 32 << 20;
}

std::string cpuinfoField(const char *key) {
  std::istringstream in(readFile("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? "" : line.substr(colon + 2);
    }
  return "";
}

std::string loadAverage() {
  std::string s = readFile("/proc/loadavg");
  return s.substr(0, s.find(' ', s.find(' ', s.find(' ') + 1) + 1));
}

//===----------------------------------------------------------------------===//
// Machine ceilings
//===----------------------------------------------------------------------===//

#if defined(__x86_64__)
/// Prefetches the 256 bytes `ahead` bytes past p (nothing for ahead = 0).
inline void prefetchAhead(const float *p, int64_t ahead) {
  if (ahead == 0)
    return;
  const char *c = reinterpret_cast<const char *>(p) + ahead;
  for (int line = 0; line < 4; ++line)
    _mm_prefetch(c + 64 * line, _MM_HINT_T0);
}

__attribute__((target("avx512f"))) float sumAvx512(const float *p, int64_t n, int64_t ahead) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  for (int64_t i = 0; i + 64 <= n; i += 64) {
    prefetchAhead(p + i, ahead);
    a = _mm512_add_ps(a, _mm512_load_ps(p + i));
    b = _mm512_add_ps(b, _mm512_load_ps(p + i + 16));
    c = _mm512_add_ps(c, _mm512_load_ps(p + i + 32));
    d = _mm512_add_ps(d, _mm512_load_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
}

/// VPDPBUSD zmm per second on one thread: 16 independent chains.
__attribute__((target("avx512f,avx512vnni"))) double dpbusdPerSecond(int64_t iterations) {
  __m512i acc[16];
  for (int i = 0; i < 16; ++i)
    acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  // Thread CPU time, not wall time: the rate of the core while this thread
  // runs on it, whatever else the machine is doing.
  timespec t0, t1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 16; ++i)
      acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]));
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  const double t = double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec);
  __m512i s = acc[0];
  for (int i = 1; i < 16; ++i)
    s = _mm512_add_epi32(s, acc[i]);
  volatile int sink = _mm512_reduce_add_epi32(s);
  (void)sink;
  return 16.0 * iterations / t;
}

/// The 256-bit kernels' dot step per second on one thread, 12 independent
/// chains: VPDPBUSD ymm (AVX-VNNI), or VPMADDUBSW + VPMADDWD + VPADDD
/// (AVX2; compiled without AVX-VNNI, which could fuse the last two). Either
/// is 32 multiply-adds.
#define LOWBIT_DOT256_BODY(STEP)                                                                                      \
  __m256i acc[12];                                                                                                    \
  for (int i = 0; i < 12; ++i)                                                                                        \
    acc[i] = _mm256_set1_epi32(i);                                                                                    \
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);                        \
  (void)ones;                                                                                                         \
  timespec t0, t1;                                                                                                    \
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);                                                                        \
  for (int64_t it = 0; it < iterations; ++it) {                                                                       \
    for (int i = 0; i < 12; ++i)                                                                                      \
      acc[i] = STEP;                                                                                                  \
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]));                                   \
  }                                                                                                                   \
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);                                                                        \
  const double t = double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec);                            \
  __m256i s = acc[0];                                                                                                 \
  for (int i = 1; i < 12; ++i)                                                                                        \
    s = _mm256_add_epi32(s, acc[i]);                                                                                  \
  volatile int sink = _mm256_extract_epi32(s, 0);                                                                     \
  (void)sink;                                                                                                         \
  return 12.0 * iterations / t;

__attribute__((target("avx2,avxvnni"))) double dpbusdYmmPerSecond(int64_t iterations) {
  LOWBIT_DOT256_BODY(_mm256_dpbusd_avx_epi32(acc[i], a, b))
}

/// Six chains of VPMADDUBSW + VPMADDWD + VPADDD whose inputs the compiler
/// must treat as new each iteration (else it hoists the invariant products).
__attribute__((target("avx2"))) double maddubsPerSecond(int64_t iterations) {
  __m256i acc[6], b[6];
  for (int i = 0; i < 6; ++i) {
    acc[i] = _mm256_set1_epi32(i);
    b[i] = _mm256_set1_epi8(static_cast<char>(i - 3));
  }
  const __m256i a = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  timespec t0, t1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  for (int64_t it = 0; it < iterations; ++it) {
    __asm__ volatile("" : "+v"(b[0]), "+v"(b[1]), "+v"(b[2]), "+v"(b[3]), "+v"(b[4]), "+v"(b[5]));
    for (int i = 0; i < 6; ++i)
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b[i]), ones));
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  const double t = double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec);
  __m256i s = acc[0];
  for (int i = 1; i < 6; ++i)
    s = _mm256_add_epi32(s, acc[i]);
  volatile int sink = _mm256_extract_epi32(s, 0);
  (void)sink;
  return 6.0 * iterations / t;
}
#undef LOWBIT_DOT256_BODY

__attribute__((target("avx2"))) float sumAvx2(const float *p, int64_t n, int64_t ahead) {
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  for (int64_t i = 0; i + 32 <= n; i += 32) {
    if (i % 64 == 0)
      prefetchAhead(p + i, ahead);
    a = _mm256_add_ps(a, _mm256_load_ps(p + i));
    b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
    c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
    d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
  }
  alignas(32) float v[8];
  _mm256_store_ps(v, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
  return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif

/// Sum of the floats in [p, p + n): AVX-512 where the CPU has it, else AVX2.
float sumFloats(const float *p, int64_t n, int64_t ahead) {
#if defined(__x86_64__)
  return kernels::x86::hasAvx512Vnni() ? sumAvx512(p, n, ahead) : sumAvx2(p, n, ahead);
#else
  float s = 0;
  for (int64_t i = 0; i < n; ++i)
    s += p[i];
  return s;
#endif
}

/// Best of 5 read-only sums, prefetching `ahead` bytes ahead (0: none).
double readBandwidth(const float *buffer, int64_t floats, int threads, int64_t ahead) {
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<std::thread> pool;
    std::atomic<float> sink{0};
    const int64_t per = floats / threads / 64 * 64;
    const auto t0 = Clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        sink.store(sumFloats(buffer + t * per, per, ahead), std::memory_order_relaxed);
      });
    for (std::thread &th : pool)
      th.join();
    best = std::max(best, double(per) * threads * sizeof(float) / seconds(t0, Clock::now()));
  }
  return best;
}

/// Best of 5 STREAM-style read-only sums over `bytes`, `threads` threads, for
/// each of three software prefetch distances (none, 1 KiB, 4 KiB ahead): the
/// decode kernels prefetch, and on this project's VM a plain sum read 20-30%
/// less than they did, which made the ceiling too low (decode "above" it).
double readBandwidth(const float *buffer, int64_t floats, int threads) {
  double best = 0;
  for (int64_t ahead : {0, 1024, 4096})
    best = std::max(best, readBandwidth(buffer, floats, threads, ahead));
  return best;
}

using kernels::x86::Isa;

const char *isaLabel(Isa isa) {
  return isa == Isa::Avx512Vnni ? "avx512" : isa == Isa::AvxVnni ? "avxvnni" : "avx2";
}

/// The int8 dot-product peak of a kernel family (ops per second, 2 per
/// multiply-add), `threads` threads, best of 3.
double int8Peak(int threads, Isa isa = Isa::Avx512Vnni) {
#if defined(__x86_64__)
  if (!kernels::x86::hasIsa(isa))
    return 0;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<std::thread> pool;
    std::vector<double> rates(threads);
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        rates[t] = isa == Isa::Avx512Vnni ? 128.0 * dpbusdPerSecond(8'000'000) // 64 multiply-adds
                   : isa == Isa::AvxVnni  ? 64.0 * dpbusdYmmPerSecond(8'000'000)
                                          : 64.0 * maddubsPerSecond(8'000'000);
      });
    for (std::thread &th : pool)
      th.join();
    double total = 0;
    for (double r : rates)
      total += r;
    best = std::max(best, total);
  }
  return best;
#else
  (void)threads;
  (void)isa;
  return 0;
#endif
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

struct Weights {
  std::vector<uint8_t> codes;
  std::vector<float> scales, mins;
  std::vector<int32_t> zeroPoints;
  /// Where the kernels read the codes: a copy in huge pages, as the runtime
  /// holds an artifact's weights (HugePages.h), else `codes`. (The side
  /// arrays, a few % of the bytes, stay in ordinary pages.)
  const uint8_t *packed = nullptr;
  const uint8_t *codesData() const { return packed ? packed : codes.data(); }
  int64_t bytes() const {
    return int64_t(codes.size() + (scales.size() + mins.size()) * sizeof(float) + zeroPoints.size() * 4);
  }
};

/// N rows of K weights in format f: 64 distinct quantized rows, repeated.
Weights makeWeights(const Format &f, int64_t N, int64_t K, std::mt19937 &rng) {
  constexpr int64_t kDistinct = 64;
  const int64_t R = std::min(N, kDistinct);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<float> w(R * K);
  for (float &v : w)
    v = normal(rng);
  Weights out;
  const int64_t rowBytes = quant::packedRowBytes(f, K), groups = quant::groupsPerRow(f, K);
  std::vector<uint8_t> codes;
  quant::UniformTensor t;
  if (quant::isBlockFormat(f.kind)) {
    codes.resize(R * rowBytes);
    if (!quant::quantizeRows(*quant::ggmlTypeOf(f.kind), w.data(), codes.data(), R, K).isOk())
      std::abort();
  } else {
    quant::UniformOptions options;
    options.clipSteps = 1;
    if (!quant::quantizeUniform(f, w.data(), R, K, options, nullptr, t).isOk())
      std::abort();
    codes = t.codes;
  }
  std::vector<uint8_t> rows(N * rowBytes);
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(rows.data() + n * rowBytes, codes.data() + (n % R) * rowBytes, rowBytes);
  out.codes.resize(N * rowBytes);
  quant::layOutRows(f, rowBytes, N, rows.data(), out.codes.data()); // as the artifact holds them
  auto tile = [&](const auto &src, auto &dst) {
    if (src.empty())
      return;
    if (f.granularity == Granularity::Tensor) {
      dst = src;
      return;
    }
    dst.resize(N * groups);
    for (int64_t n = 0; n < N; ++n)
      std::copy(src.begin() + (n % R) * groups, src.begin() + (n % R + 1) * groups, dst.begin() + n * groups);
  };
  tile(t.scales, out.scales);
  tile(t.mins, out.mins);
  tile(t.zeroPoints, out.zeroPoints);
  return out;
}

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

struct Options {
  bool quick = false;
  std::vector<int> threads{1, 2};
  std::vector<int64_t> ms{1, 16, 512};
  std::vector<std::pair<int64_t, int64_t>> shapes{{4096, 4096}, {11008, 4096}, {4096, 11008}};
  std::vector<std::string> formats;
  std::string ortFile;
  bool portable = true;
  std::vector<Isa> families; ///< empty: the fastest this CPU has
  /// The weights' row layout: the CPU artifact's (interleaved where the
  /// format allows) unless --layout rows.
  quant::Layout layout = quant::Layout::Interleaved4;
};

struct NamedFormat {
  std::string label;
  Format format;
};

std::vector<NamedFormat> allFormats() {
  std::vector<NamedFormat> v;
  for (const char *name : {"q8_0", "q4_0", "q4_k", "q6_k", "q4_1", "q5_0", "q5_1", "iq4_nl", "q5_k", "q3_k", "q2_k", "tq2_0", "iq4_xs", "tq1_0"})
    v.push_back({name, Format::blockFormat(*quant::parseFormatKind(name))});
  v.push_back({"int4_g32", Format::integer(4, Granularity::Group, 32)});
  v.push_back({"int4_g128", Format::integer(4, Granularity::Group, 128)});
  v.push_back({"int8_ch", Format::integer(8, Granularity::Channel)});
  return v;
}

/// (op, block, M, N, K, threads) -> seconds, from ort_matmul.py.
using OrtTimes = std::map<std::tuple<std::string, int, int64_t, int64_t, int64_t, int>, double>;

OrtTimes readOrt(const std::string &path) {
  OrtTimes times;
  if (path.empty())
    return times;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream s(line);
    std::string op;
    int block, threads;
    int64_t M, N, K;
    double sec;
    if (s >> op >> block >> M >> N >> K >> threads >> sec)
      times[{op, block, M, N, K, threads}] = sec;
  }
  return times;
}

/// The paired read of a decode case: one weight copy's arrays (codes and
/// side arrays), each cut into `groups` slices as a decode call cuts its
/// rows, read by the same pool.
struct PairedRead {
  const Weights *w = nullptr;
  int64_t groups = 1, ahead = 0;
  std::atomic<float> sink{0};

  /// What a read covers of slice g of the n bytes at data: whole 256-byte
  /// steps from its first 64-byte boundary (the ragged ends, under 320
  /// bytes a slice, are left out of the time and the count alike).
  std::pair<const float *, int64_t> slice(const void *data, int64_t n, int64_t g) const {
    const int64_t per = (n + groups - 1) / groups, b = std::min(n, g * per), e = std::min(n, b + per);
    const uintptr_t at = reinterpret_cast<uintptr_t>(data);
    const uintptr_t lo = (at + b + 63) & ~uintptr_t(63), hi = at + e;
    return {reinterpret_cast<const float *>(lo), hi > lo ? int64_t(hi - lo) / 256 * 256 : 0};
  }
  template <class Fn> void forEachSlice(int64_t g, Fn fn) const {
    fn(slice(w->codesData(), int64_t(w->codes.size()), g));
    fn(slice(w->scales.data(), int64_t(w->scales.size() * 4), g));
    fn(slice(w->mins.data(), int64_t(w->mins.size() * 4), g));
    fn(slice(w->zeroPoints.data(), int64_t(w->zeroPoints.size() * 4), g));
  }
  /// Bytes one read covers.
  int64_t bytes() const {
    int64_t total = 0;
    for (int64_t g = 0; g < groups; ++g)
      forEachSlice(g, [&](std::pair<const float *, int64_t> s) { total += s.second; });
    return total;
  }
  static void run(void *self, int64_t g) {
    PairedRead &r = *static_cast<PairedRead *>(self);
    r.forEachSlice(g, [&](std::pair<const float *, int64_t> s) {
      if (s.second > 0)
        r.sink.store(sumFloats(s.first, s.second / 4, r.ahead), std::memory_order_relaxed);
    });
  }
};

/// Median seconds per call, rotating over the weight copies. With
/// `pairedBandwidth` (decode), each call is preceded by a read-only sum of
/// another copy's bytes, split over the same pool in as many workgroups as
/// the call, with software prefetch 0, 1, 4, 8 or 16 KiB ahead in turn: the read
/// bandwidth of the same moment, threads and access granularity (the best
/// of the distances' median GB/s), so a change in what the VM's host
/// gives (it moved by 2x within minutes on this project's machine) moves
/// both sides of the ratio.
double timeCalls(const lowbit_dispatch_context *ctx, const Format &f, const std::vector<Weights> &copies,
                 const float *x, float *y, int64_t M, int64_t N, int64_t K, double minSeconds, int minCalls,
                 double *cpuShare = nullptr, double *pairedBandwidth = nullptr) {
  const uint64_t word = quant::encodeFormat(f);
  auto call = [&](const Weights &w) {
    auto data = [](const auto &v) { return v.empty() ? nullptr : v.data(); };
    if (kernels::matmul(ctx, word, x, w.codesData(), data(w.scales), data(w.zeroPoints), data(w.mins), nullptr,
                        nullptr, y, M, N, K) != 0)
      std::abort();
  };
  call(copies[0]);
  std::vector<double> times;
  // The kernels' decode prefetches 8 KiB ahead in one row's stream
  // (kStreamAhead) and 16 KiB in an interleaved tile's (kTileAhead).
  constexpr int64_t kAheads[] = {0, 1024, 4096, 8192, 16384};
  constexpr size_t kDistances = std::size(kAheads);
  std::vector<double> readTimes[kDistances];
  PairedRead reader;
  const int64_t workers = ctx && ctx->parallel_for ? std::max<int64_t>(1, ctx->num_workers) : 1;
  reader.groups = workers > 1 ? 4 * workers : 1; // as kernels::matmul splits a decode call
  const auto start = Clock::now();
  const double cpu0 = processCpuSeconds();
  for (size_t i = 0; (int(i) < minCalls || seconds(start, Clock::now()) < minSeconds) && i < 5000; ++i) {
    if (pairedBandwidth) {
      // Half the rotation away: neither this call's copy nor a recent one.
      reader.w = &copies[(i + copies.size() / 2) % copies.size()];
      reader.ahead = kAheads[i % kDistances];
      const auto r0 = Clock::now();
      if (reader.groups == 1)
        PairedRead::run(&reader, 0);
      else
        ctx->parallel_for(ctx->pool, reader.groups, PairedRead::run, &reader);
      readTimes[i % kDistances].push_back(seconds(r0, Clock::now()));
    }
    const auto t0 = Clock::now();
    call(copies[i % copies.size()]);
    times.push_back(seconds(t0, Clock::now()));
  }
  if (cpuShare) {
    const double cpu = processCpuSeconds() - cpu0;
    cpuShare[0] = cpu / seconds(start, Clock::now()) / std::max<uint32_t>(1, ctx ? ctx->num_workers : 1);
    cpuShare[1] = cpu / double(times.size()); // CPU seconds per call
  }
  if (pairedBandwidth) {
    const int64_t readBytes = reader.bytes();
    *pairedBandwidth = 0;
    for (std::vector<double> &r : readTimes)
      if (!r.empty()) {
        std::nth_element(r.begin(), r.begin() + r.size() / 2, r.end());
        *pairedBandwidth = std::max(*pairedBandwidth, double(readBytes) / r[r.size() / 2]);
      }
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
      o.ms = {1, 16};
      o.shapes = {{4096, 4096}};
    } else if (a == "--ort") {
      o.ortFile = next();
    } else if (a == "--threads") {
      o.threads.clear();
      for (const std::string &t : split(next()))
        o.threads.push_back(std::atoi(t.c_str()));
    } else if (a == "--m") {
      o.ms.clear();
      for (const std::string &t : split(next()))
        o.ms.push_back(std::atoll(t.c_str()));
    } else if (a == "--shapes") { // NxK,NxK
      o.shapes.clear();
      for (const std::string &t : split(next()))
        o.shapes.push_back({std::atoll(t.c_str()), std::atoll(t.c_str() + t.find('x') + 1)});
    } else if (a == "--formats") {
      o.formats = split(next());
    } else if (a == "--layout") { // rows, interleaved
      const std::string l = next();
      if (l != "rows" && l != "interleaved") {
        std::fprintf(stderr, "--layout: %s is not rows or interleaved\n", l.c_str());
        return 2;
      }
      o.layout = l == "rows" ? quant::Layout::Rows : quant::Layout::Interleaved4;
    } else if (a == "--no-portable") {
      o.portable = false;
    } else if (a == "--kernels") { // avx512,avxvnni,avx2
      for (const std::string &k : split(next())) {
        if (k != "avx512" && k != "avxvnni" && k != "avx2") {
          std::fprintf(stderr, "--kernels: %s is not avx512, avxvnni or avx2\n", k.c_str());
          return 2;
        }
        o.families.push_back(k == "avx512" ? Isa::Avx512Vnni : k == "avxvnni" ? Isa::AvxVnni : Isa::Avx2);
      }
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--ort FILE] [--threads 1,2] [--m 1,16,512] [--shapes NxK,..] [--formats a,b] "
                           "[--kernels avx512,avxvnni,avx2] [--layout rows|interleaved] [--no-portable]\n",
                   argv[0]);
      return 2;
    }
  }

  const int64_t llc = llcBytes();
  std::printf("# lowbit MatmulBench%s\n", o.quick ? " (--quick)" : "");
  std::printf("cpu: %s, %u CPUs, LLC %lld MiB, cpuinfo %s MHz\n", cpuinfoField("model name").c_str(),
              std::thread::hardware_concurrency(), static_cast<long long>(llc >> 20), cpuinfoField("cpu MHz").c_str());
  std::printf("load average at start: %s\n", loadAverage().c_str());
  std::printf("kernel families on this CPU:%s%s%s\n", kernels::x86::hasIsa(Isa::Avx512Vnni) ? " avx512" : "",
              kernels::x86::hasIsa(Isa::AvxVnni) ? " avxvnni" : "", kernels::x86::hasIsa(Isa::Avx2) ? " avx2" : "");
  if (o.families.empty())
    for (Isa isa : {Isa::Avx512Vnni, Isa::AvxVnni, Isa::Avx2})
      if (kernels::x86::hasIsa(isa)) {
        o.families.push_back(isa);
        break;
      }
  for (Isa isa : o.families)
    if (!kernels::x86::hasIsa(isa)) {
      std::fprintf(stderr, "this CPU lacks the %s kernels\n", isaLabel(isa));
      return 2;
    }

  // Machine ceilings, measured again before each format and shape (the
  // machine is shared: each row is compared with the ceilings measured under
  // the load of its moment), and the best seen over the run.
  std::map<int, double> bandwidth, peak, bestBandwidth, bestPeak, bestPaired;
  const int64_t floats = std::max<int64_t>(8 * llc, 256 << 20) / 4;
  float *buffer = static_cast<float *>(std::aligned_alloc(64, floats * 4));
  for (int64_t i = 0; i < floats; ++i)
    buffer[i] = 1.f;
  auto measureCeilings = [&](bool print) {
    for (int t : o.threads) {
      bandwidth[t] = readBandwidth(buffer, floats, t);
      peak[t] = int8Peak(t);
      bestBandwidth[t] = std::max(bestBandwidth[t], bandwidth[t]);
      bestPeak[t] = std::max(bestPeak[t], peak[t]);
      if (print)
        std::printf("threads %d: read bandwidth %.1f GB/s (best of 5, %lld MiB); int8 peak %.0f GOP/s measured "
                    "(nominal 2 x 128 x %s MHz x %d = %.0f)\n",
                    t, bandwidth[t] / 1e9, static_cast<long long>(floats * 4 >> 20), peak[t] / 1e9,
                    cpuinfoField("cpu MHz").c_str(), t,
                    256.0 * std::atof(cpuinfoField("cpu MHz").c_str()) * 1e6 * t / 1e9);
    }
  };
  measureCeilings(true);
  for (Isa isa : o.families)
    if (isa != Isa::Avx512Vnni)
      std::printf("%s: int8 dot peak %.0f GOP/s on 1 thread (%s, 32 multiply-adds each)\n", isaLabel(isa),
                  int8Peak(1, isa) / 1e9, isa == Isa::AvxVnni ? "VPDPBUSD ymm" : "VPMADDUBSW + VPMADDWD + VPADDD ymm");
  double peak1 = 0; // per-core int8 peak, per CPU-second of one thread
  const OrtTimes ort = readOrt(o.ortFile);
  std::fflush(stdout);

  std::vector<NamedFormat> formats;
  for (const NamedFormat &f : allFormats())
    if (o.formats.empty() || std::find(o.formats.begin(), o.formats.end(), f.label) != o.formats.end()) {
      formats.push_back(f);
      if (quant::interleaveUnitBytes(f.format))
        formats.back().format.layout = o.layout;
    }
  std::printf("weight rows: %s\n", o.layout == quant::Layout::Rows ? "row after row (--layout rows)"
                                                                    : "interleaved by 4, as the CPU artifact holds them");

  std::map<int, std::unique_ptr<Stream>> streams;
  std::unique_ptr<Device> device = createCpuDevice();
  for (int t : o.threads)
    if (!device->createStream(t, streams[t]).isOk())
      return 1;

  // The pool's fixed cost: a parallel_for of 8 empty workgroups (what a
  // decode call on 2 threads issues), median over 2000 calls.
  for (int t : o.threads) {
    const lowbit_dispatch_context *ctx = streams[t]->dispatchContext();
    std::vector<double> times;
    for (int i = 0; i < 2000; ++i) {
      const auto t0 = Clock::now();
      ctx->parallel_for(ctx->pool, 4 * t, [](void *, int64_t) {}, nullptr);
      times.push_back(seconds(t0, Clock::now()));
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    std::printf("threads %d: parallel_for of %d empty workgroups: %.2f us (median)\n", t, 4 * t,
                times[times.size() / 2] * 1e6);
  }

  std::mt19937 rng(1);
  std::printf("\n%-10s %-7s %5s %5s %5s %2s %10s %8s %8s %7s %7s %7s %6s %8s %8s\n", "format", "kernel", "N", "K",
              "M", "T", "time_us", "GB/s", "GFLOP/s", "ceil", "%bw", "%peak", "cpu", "x_ort", "x_port");
  for (auto [N, K] : o.shapes) {
    for (const NamedFormat &nf : formats) {
     for (Isa isa : o.families) {
      kernels::MatmulKernel kernel;
      if (!kernels::x86::isaKernel(isa, nf.format, kernel)) {
        std::printf("%-10s %-7s %5lld %5lld  (no kernel of this family)\n", nf.label.c_str(), isaLabel(isa),
                    (long long)N, (long long)K);
        continue;
      }
      const kernels::x86::KernelChoice choice = isa == Isa::Avx512Vnni ? kernels::x86::KernelChoice::Avx512Vnni
                                                : isa == Isa::AvxVnni  ? kernels::x86::KernelChoice::AvxVnni
                                                                       : kernels::x86::KernelChoice::Avx2;
      kernels::x86::setKernelChoice(choice);
      measureCeilings(false);
      peak1 = int8Peak(1, isa);
      const Weights first = makeWeights(nf.format, N, K, rng);
      const int64_t bytes = first.bytes();
      // As many copies as the bandwidth buffer is large (8x the LLC, at least
      // 256 MiB): the LLC's replacement is not strict LRU, and on a VM the two
      // vCPUs may sit on two dies with an LLC each, so 2x the reported LLC
      // left a part of the weights in cache (decode "above" DRAM bandwidth).
      const int64_t rotation = std::max<int64_t>(8 * llc, int64_t(256) << 20);
      const int64_t count = std::max<int64_t>(2, (rotation + bytes - 1) / bytes);
      std::vector<Weights> copies(count, first);
      const size_t stride = (first.codes.size() + 63) / 64 * 64;
      HugePageBuffer arena;
      if (HugePageBuffer::available())
        arena = HugePageBuffer(stride * copies.size());
      for (size_t i = 0; i < copies.size() && !arena.empty(); ++i) {
        std::memcpy(arena.data() + i * stride, copies[i].codes.data(), copies[i].codes.size());
        copies[i].packed = arena.data() + i * stride;
      }
      for (int t : o.threads) {
        const lowbit_dispatch_context *ctx = streams[t]->dispatchContext();
        for (int64_t M : o.ms) {
          std::vector<float> x(M * K), y(M * N);
          std::normal_distribution<float> normal;
          for (float &v : x)
            v = normal(rng);
          const double minSeconds = o.quick ? 0.05 : (M == 1 ? 0.25 : 0.3);
          double cpuInfo[2] = {0, 0}, paired = 0;
          const double sec = timeCalls(ctx, nf.format, copies, x.data(), y.data(), M, N, K, minSeconds,
                                       M >= 512 ? 2 : 5, cpuInfo, M == 1 ? &paired : nullptr);
          const double cpu = cpuInfo[0];
          const double gbs = bytes / sec / 1e9, gflops = 2.0 * M * N * K / sec / 1e9;
          char bw[16] = "-", pk[16] = "-", xo[16] = "-", xp[16] = "-", ceil[16];
          if (M == 1) {
            bestPaired[t] = std::max(bestPaired[t], paired);
            std::snprintf(bw, sizeof bw, "%.0f%%", 100.0 * bytes / sec / paired);
            std::snprintf(ceil, sizeof ceil, "%.1f", paired / 1e9);
          } else {
            // Compute-bound: ops per CPU-second the process got, against
            // the per-core peak (itself per CPU-second of one thread).
            if (peak1 > 0 && cpuInfo[1] > 0)
              std::snprintf(pk, sizeof pk, "%.1f%%", 100.0 * 2.0 * M * N * K / cpuInfo[1] / peak1);
            std::snprintf(ceil, sizeof ceil, "%.0f", peak1 / 1e9);
          }
          const Format &f = nf.format;
          std::tuple<std::string, int, int64_t, int64_t, int64_t, int> key{"", 0, M, N, K, t};
          if (f.kind == FormatKind::Int && f.bits == 4 && f.granularity == Granularity::Group)
            key = {"MatMulNBits", int(f.groupSize), M, N, K, t};
          else if (f.kind == FormatKind::Q8_0)
            key = {"MatMul", 0, M, N, K, t};
          if (auto it = ort.find(key); it != ort.end())
            std::snprintf(xo, sizeof xo, "%.2f", it->second / sec);
          if (o.portable && M == 1) {
            kernels::x86::setKernelChoice(kernels::x86::KernelChoice::Portable);
            const double slow = timeCalls(ctx, nf.format, copies, x.data(), y.data(), M, N, K, 0, 1);
            kernels::x86::setKernelChoice(choice);
            std::snprintf(xp, sizeof xp, "%.1f", slow / sec);
          }
          std::printf("%-10s %-7s %5lld %5lld %5lld %2d %10.1f %8.1f %8.1f %7s %7s %7s %5.0f%% %8s %8s\n",
                      nf.label.c_str(), isaLabel(isa), (long long)N, (long long)K, (long long)M, t, sec * 1e6, gbs,
                      gflops, ceil, bw, pk, 100.0 * cpu, xo, xp);
          std::fflush(stdout);
        }
      }
     }
    }
  }
  std::free(buffer);
  std::printf("\nload average at end: %s\n", loadAverage().c_str());
  for (int t : o.threads)
    std::printf("best ceilings seen, %d thread(s): read bandwidth %.1f GB/s (paired reads of decode cases: %.1f), "
                "int8 peak %.0f GOP/s\n",
                t, bestBandwidth[t] / 1e9, bestPaired[t] / 1e9, bestPeak[t] / 1e9);
  std::printf("x_ort: ONNX Runtime's median time / lowbit's (MatMulNBits 4-bit block 32/128 for int4_g32/g128, "
              "float MatMul for q8_0); x_port: lowbit's portable kernel / tuned. %%bw (decode): of the paired read's "
              "bandwidth (ceil, GB/s: a read-only sum of another copy of the same weights on the same pool and "
              "workgroups, interleaved call by call with the kernel's calls, best of 5 prefetch distances); %%peak (prefill): 2MNK per CPU-second the process used, over the kernel family's one-thread int8 peak "
              "(ceil, GOP/s: VPDPBUSD zmm for avx512, ymm for avxvnni, VPMADDUBSW+VPMADDWD ymm for avx2, "
              "measured just before the format's cases); cpu: CPU time the process got / (wall time x threads) during the timed calls.\n");
  return 0;
}
