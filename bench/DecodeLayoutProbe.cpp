//===- DecodeLayoutProbe.cpp - Would another weight layout read faster? ---===//
//
// The issue asked for compile-time layout changes of the packed weights
// where they make decode faster: rows interleaved so that a pass of the
// 4-row decode reads one sequential stream, or the scales split from the
// quants so that every load is aligned. Before the artifact changed (it
// now interleaves rows, docs/FORMATS.md "Row layouts"), this probe measured
// what each layout lets the memory deliver: it reads a
// q4_0-sized matrix (N = 11008, K = 4096: 72 bytes per 128 weights, 64 of
// quants and 8 of scales) from DRAM with the decode kernel's loads and
// prefetches and no arithmetic, rotating over copies of 512 MiB, on 1 or 2
// persistent threads splitting the rows, and prints the median GB/s of
//
//   sequential   a plain read of the same bytes, prefetching 1 KiB ahead
//   current      rows laid out row after row (the artifact's layout
//                until session 5, `--weight-layout=rows` now): 4 row
//                streams, each group's 72 bytes as two unaligned 64-byte
//                loads, the next pass's rows prefetched at the same
//                position (X86Matmul.cpp's dotRowsOne on rows)
//   split        quants (64-byte aligned) and scales in separate arrays,
//                still 4 row streams each
//   interleaved  split, and the 4 rows of a pass interleaved group by
//                group: one quant stream and one scale stream per thread,
//                no / 1 KiB / 2 KiB software prefetch (the artifact's
//                Interleaved4 keeps scales and quants together: one stream)
//
//   DecodeLayoutProbe [threads=1] [repeats=2]
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kRows = 11008, kGroups = 32; // K = 4096: 32 groups of 128
constexpr int64_t kGroupBytes = 72, kQuantBytes = 64, kScaleBytes = 8;
constexpr int64_t kRowBytes = kGroups * kGroupBytes;

inline void prefetch(const char *p) { _mm_prefetch(p, _MM_HINT_T0); }

__attribute__((target("avx512f"))) int64_t sequential(const char *w, int64_t r0, int64_t r1) {
  __m512i a = _mm512_setzero_si512(), b = a;
  for (const char *p = w + r0 * kRowBytes; p + 256 <= w + r1 * kRowBytes; p += 256) {
    for (int l = 0; l < 4; ++l)
      prefetch(p + 1024 + 64 * l);
    a = _mm512_add_epi32(a, _mm512_loadu_si512(p));
    b = _mm512_add_epi32(b, _mm512_loadu_si512(p + 64));
    a = _mm512_add_epi32(a, _mm512_loadu_si512(p + 128));
    b = _mm512_add_epi32(b, _mm512_loadu_si512(p + 192));
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
}

__attribute__((target("avx512f"))) int64_t current(const char *w, int64_t r0, int64_t r1) {
  __m512i a = _mm512_setzero_si512(), b = a;
  for (int64_t r = r0; r + 4 <= r1; r += 4) {
    const char *p = w + r * kRowBytes, *next = p + 4 * kRowBytes;
    for (int64_t g = 0; g < kGroups; ++g) {
      for (int j = 0; j < 4; ++j) {
        prefetch(next + j * kRowBytes + g * kGroupBytes);
        prefetch(next + j * kRowBytes + g * kGroupBytes + 64);
      }
      for (int j = 0; j < 4; ++j) {
        const char *s = p + j * kRowBytes + g * kGroupBytes;
        a = _mm512_add_epi32(a, _mm512_loadu_si512(s));
        b = _mm512_add_epi32(b, _mm512_loadu_si512(s + kGroupBytes - 64));
      }
    }
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
}

__attribute__((target("avx512f"))) int64_t split(const char *quants, const char *scales, int64_t r0, int64_t r1) {
  constexpr int64_t kQ = kGroups * kQuantBytes, kS = kGroups * kScaleBytes;
  __m512i a = _mm512_setzero_si512(), b = a;
  for (int64_t r = r0; r + 4 <= r1; r += 4) {
    const char *q = quants + r * kQ, *s = scales + r * kS;
    for (int64_t g = 0; g < kGroups; ++g) {
      for (int j = 0; j < 4; ++j)
        prefetch(q + (4 + j) * kQ + g * kQuantBytes);
      if (g % 8 == 0)
        for (int j = 0; j < 4; ++j)
          prefetch(s + (4 + j) * kS + g * kScaleBytes);
      for (int j = 0; j < 4; ++j) {
        a = _mm512_add_epi32(a, _mm512_load_si512(q + j * kQ + g * kQuantBytes));
        b = _mm512_add_epi32(
            b, _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(s + j * kS + g * kScaleBytes))));
      }
    }
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
}

__attribute__((target("avx512f"))) int64_t interleaved(const char *quants, const char *scales, int64_t r0, int64_t r1,
                                                      int64_t ahead) {
  __m512i a = _mm512_setzero_si512(), b = a;
  const char *q = quants + r0 * kGroups * kQuantBytes, *s = scales + r0 * kGroups * kScaleBytes;
  for (int64_t i = 0; i < (r1 - r0) / 4 * kGroups; ++i, q += 4 * kQuantBytes, s += 4 * kScaleBytes) {
    if (ahead) {
      for (int l = 0; l < 4; ++l)
        prefetch(q + ahead + 64 * l);
      if (i % 2 == 0)
        prefetch(s + ahead / 8);
    }
    for (int j = 0; j < 4; ++j) {
      a = _mm512_add_epi32(a, _mm512_load_si512(q + kQuantBytes * j));
      b = _mm512_add_epi32(b, _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(s + kScaleBytes * j))));
    }
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
}

/// Median seconds of `calls` reads of fn(matrix, first row, end row), the
/// rows split over `threads` persistent threads, rotating over copies.
template <class Fn> double medianSeconds(const char *buffer, int64_t copies, int threads, Fn fn) {
  constexpr int kCalls = 300;
  const int64_t matrix = kRows * kRowBytes, share = kRows / threads / 4 * 4;
  std::atomic<int> generation{0}, done{0};
  std::atomic<int64_t> sink{0};
  auto part = [&](int call, int t) {
    sink += fn(buffer + (call % copies) * matrix, t * share, t + 1 == threads ? kRows : (t + 1) * share);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int call = 1; call <= kCalls; ++call) {
        while (generation.load() < call) {
        }
        part(call, t);
        ++done;
      }
    });
  std::vector<double> times;
  for (int call = 1; call <= kCalls; ++call) {
    const auto t0 = Clock::now();
    generation.store(call);
    part(call, 0);
    while (done.load() < call * (threads - 1)) {
    }
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  for (std::thread &t : pool)
    t.join();
  std::nth_element(times.begin(), times.begin() + kCalls / 2, times.end());
  return times[kCalls / 2];
}

} // namespace

int main(int argc, char **argv) {
  if (!__builtin_cpu_supports("avx512f")) {
    std::printf("DecodeLayoutProbe needs AVX-512 (it models the AVX-512 decode kernel)\n");
    return 0;
  }
  const int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
  const int64_t matrix = kRows * kRowBytes, copies = (int64_t(512) << 20) / matrix + 1;
  char *buffer = static_cast<char *>(std::aligned_alloc(4096, matrix * copies));
  std::memset(buffer, 1, matrix * copies);
  // A copy's split layouts: quants first (64-byte aligned), then scales.
  const int64_t scaleOffset = kRows * kGroups * kQuantBytes;
  auto gbs = [&](double seconds) { return double(matrix) / seconds / 1e9; };
  std::printf("q4_0-sized %lld x 4096 matrix (%.1f MB), %d thread(s), median of 300 reads, GB/s:\n",
              (long long)kRows, matrix / 1e6, threads);
  std::printf("%10s %10s %10s %12s %12s %12s\n", "sequential", "current", "split", "interleaved", "+pf 1 KiB",
              "+pf 2 KiB");
  for (int r = 0; r < repeats; ++r) {
    const double seq = medianSeconds(buffer, copies, threads, sequential);
    const double cur = medianSeconds(buffer, copies, threads, current);
    const double spl = medianSeconds(buffer, copies, threads, [&](const char *m, int64_t a, int64_t b) {
      return split(m, m + scaleOffset, a, b);
    });
    double inter[3];
    const int64_t aheads[3] = {0, 1024, 2048};
    for (int i = 0; i < 3; ++i)
      inter[i] = medianSeconds(buffer, copies, threads, [&](const char *m, int64_t a, int64_t b) {
        return interleaved(m, m + scaleOffset, a, b, aheads[i]);
      });
    std::printf("%10.1f %10.1f %10.1f %12.1f %12.1f %12.1f\n", gbs(seq), gbs(cur), gbs(spl), gbs(inter[0]),
                gbs(inter[1]), gbs(inter[2]));
  }
  std::free(buffer);
  return 0;
}
#else
int main() {
  std::printf("DecodeLayoutProbe models the x86 AVX-512 decode kernel\n");
  return 0;
}
#endif
