//===- Parallel.h - Split a range of rows over threads ---------*- C++ -*-===//
//
// A minimal parallel-for over std::thread for the numerics library: contiguous
// chunks, one per thread, the calling thread taking the first. Each row is
// processed exactly as in a serial loop, so the results are bit-identical.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_PARALLEL_H
#define LOWBIT_QUANT_PARALLEL_H

#include "lowbit/Quant/Status.h"

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace lowbit::quant {

/// How many threads to use for `count` items: `requested` (0 = one per
/// hardware thread), never more than the items, never less than one.
inline int resolveThreadCount(int requested, int64_t count) {
  int64_t threads = requested > 0 ? requested : static_cast<int64_t>(std::thread::hardware_concurrency());
  threads = std::min<int64_t>(std::max<int64_t>(threads, 1), std::max<int64_t>(count, 1));
  return static_cast<int>(threads);
}

/// Runs `body(begin, end)` (returning Status) over [0, count) in contiguous
/// chunks on up to `threads` threads. Returns the failure of the earliest
/// chunk that failed, or ok.
template <typename Body>
Status parallelFor(int64_t count, int threads, Body body) {
  const int n = resolveThreadCount(threads, count);
  if (n == 1)
    return body(int64_t(0), count);
  std::vector<Status> results(n, Status::ok());
  std::vector<std::thread> workers;
  workers.reserve(n - 1);
  auto chunkBegin = [&](int i) { return count * i / n; };
  for (int i = 1; i < n; ++i)
    workers.emplace_back([&, i] { results[i] = body(chunkBegin(i), chunkBegin(i + 1)); });
  results[0] = body(int64_t(0), chunkBegin(1));
  for (std::thread &worker : workers)
    worker.join();
  for (Status &result : results)
    if (result.failed())
      return std::move(result);
  return Status::ok();
}

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_PARALLEL_H
