//===- ThreadPoolTest.cpp - The CPU device's workers ----------------------===//
//
// Coverage of parallel_for (every workgroup once, nesting, back-to-back
// jobs) and, printed rather than asserted, what an empty dispatch costs.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "ThreadPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

using namespace lowbit::runtime;

namespace {

struct Counts {
  std::vector<std::atomic<int>> hits;
  explicit Counts(size_t n) : hits(n) {}
};

void count(void *arg, int64_t g) { static_cast<Counts *>(arg)->hits[g].fetch_add(1); }

TEST(ThreadPool, EveryWorkgroupOnce) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 7, 64, 1000}) {
      for (int repeat = 0; repeat < 20; ++repeat) {
        Counts c(static_cast<size_t>(n));
        pool.parallelFor(n, count, &c);
        for (int64_t g = 0; g < n; ++g)
          ASSERT_EQ(c.hits[g].load(), 1) << threads << " threads, " << n << " groups, group " << g;
      }
    }
  }
}

struct Nested {
  ThreadPool *pool;
  Counts *inner;
};

void outer(void *arg, int64_t g) {
  Nested *n = static_cast<Nested *>(arg);
  // A parallel_for from inside a workgroup runs inline on this thread.
  struct Inner {
    Counts *c;
    int64_t base;
  } inner{n->inner, g * 10};
  n->pool->parallelFor(
      10, [](void *a, int64_t i) { count(static_cast<Inner *>(a)->c, static_cast<Inner *>(a)->base + i); }, &inner);
}

TEST(ThreadPool, NestedRunsInline) {
  ThreadPool pool(4);
  Counts c(100);
  Nested n{&pool, &c};
  pool.parallelFor(10, outer, &n);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(c.hits[i].load(), 1) << i;
}

TEST(ThreadPool, WorkIsShared) {
  // With slow workgroups, more than one thread takes part.
  ThreadPool pool(4);
  std::vector<std::atomic<std::thread::id>> who(64);
  struct Arg {
    std::vector<std::atomic<std::thread::id>> *who;
  } arg{&who};
  pool.parallelFor(
      64,
      [](void *a, int64_t g) {
        (*static_cast<Arg *>(a)->who)[g] = std::this_thread::get_id();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      },
      &arg);
  std::vector<std::thread::id> ids;
  for (auto &id : who)
    ids.push_back(id.load());
  std::sort(ids.begin(), ids.end());
  EXPECT_GT(std::unique(ids.begin(), ids.end()) - ids.begin(), 1);
}

TEST(ThreadPool, SleepsAndWakes) {
  ThreadPool pool(3);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // workers go to sleep
    Counts c(50);
    pool.parallelFor(50, count, &c);
    for (int i = 0; i < 50; ++i)
      ASSERT_EQ(c.hits[i].load(), 1);
  }
}

TEST(ThreadPool, DeviceDispatch) {
  std::unique_ptr<Device> device = createCpuDevice();
  std::unique_ptr<Stream> stream;
  ASSERT_TRUE(device->createStream(3, stream).isOk());
  EXPECT_EQ(stream->dispatchContext()->num_workers, 3u);
  EXPECT_EQ(stream->dispatchContext()->abi_version, uint32_t(LOWBIT_ABI_VERSION));
  DeviceBuffer buffer;
  ASSERT_TRUE(device->allocate(64, buffer).isOk());
  const char text[] = "lowbit";
  ASSERT_TRUE(stream->copyToDevice(buffer, 8, text, sizeof text).isOk());
  EXPECT_TRUE(stream->copyToDevice(buffer, 60, text, sizeof text).failed());
  char back[sizeof text] = {};
  ASSERT_TRUE(stream->copyFromDevice(back, buffer, 8, sizeof text).isOk());
  EXPECT_STREQ(back, text);
  Counts c(2 * 3 * 4);
  Kernel kernel{reinterpret_cast<void *>(&count)};
  ASSERT_TRUE(stream->dispatch(kernel, Grid{2, 3, 4}, &c).isOk());
  ASSERT_TRUE(stream->synchronize().isOk());
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(c.hits[i].load(), 1);
  device->release(buffer);
}

void noop(void *, int64_t) {}

/// Each workgroup waits until all have started, so every thread must take
/// one: a full fork-join.
struct Barrier {
  std::atomic<int64_t> started{0};
  int64_t count = 0;
};
void meet(void *arg, int64_t) {
  Barrier *b = static_cast<Barrier *>(arg);
  b->started.fetch_add(1);
  for (int spins = 0; b->started.load() < b->count;)
    if (++spins > 1000)
      std::this_thread::yield(); // a shared machine: let the others in

}

/// Median seconds per call of `body`, over `reps` calls.
template <typename Body> double medianSeconds(int reps, Body body) {
  std::vector<double> t(static_cast<size_t>(reps));
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    body();
    t[static_cast<size_t>(i)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  return t[static_cast<size_t>(reps / 2)];
}

// Not a timed pass/fail test: it prints what a dispatch of empty workgroups
// costs, one per thread, back to back (as a model run issues them) and after
// the workers have gone to sleep.
TEST(ThreadPool, NoOpDispatchCost) {
  const unsigned cpus = ThreadPool::availableCpus();
  std::vector<unsigned> counts = {2u, 4u};
  if (cpus != 2 && cpus != 4)
    counts.push_back(cpus);
  for (unsigned threads : counts) {
    ThreadPool pool(threads);
    for (int i = 0; i < 1000; ++i) // warm up
      pool.parallelFor(threads, noop, nullptr);
    const double hot = medianSeconds(20000, [&] { pool.parallelFor(threads, noop, nullptr); });
    const double many = medianSeconds(2000, [&] { pool.parallelFor(1000, noop, nullptr); });
    // (Only with a CPU per thread: spinning workgroups on shared CPUs wait
    // for the scheduler, not for the pool.)
    const double forkJoin = threads > cpus ? NAN : medianSeconds(500, [&] {
      Barrier b;
      b.count = threads;
      pool.parallelFor(threads, meet, &b);
    });
    std::vector<double> wake;
    for (int i = 0; i < 21; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5)); // the workers go to sleep
      const double t = medianSeconds(1, [&] { pool.parallelFor(threads, noop, nullptr); });
      wake.push_back(t);
    }
    std::nth_element(wake.begin(), wake.begin() + 10, wake.end());
    const double cold = wake[10];
    std::printf("[ measure  ] no-op parallel_for, %u threads (%u CPUs available): %.2f us back to back; "
                "%.2f us with every thread taking one; %.2f us for 1000 empty workgroups; %.1f us when the workers "
                "were asleep\n",
                threads, cpus, hot * 1e6, forkJoin * 1e6, many * 1e6, cold * 1e6);
  }
  SUCCEED();
}

} // namespace
