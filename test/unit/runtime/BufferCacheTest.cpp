//===- BufferCacheTest.cpp - The context's alloc and dealloc --------------===//

#include "BufferCache.h"
#include "Device.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

using namespace lowbit::runtime;

namespace {

TEST(BufferCache, ReusesLargeBlocksOfTheSameSize) {
  BufferCache cache;
  void *a = cache.allocate(1 << 20);
  ASSERT_NE(a, nullptr);
  std::memset(a, 1, 1 << 20); // the whole block is usable
  cache.release(a);
  EXPECT_EQ(cache.idleBytes(), uint64_t(1) << 20);
  // The same size, rounded to 4 KiB, gets the same block back.
  void *b = cache.allocate((1 << 20) - 100);
  EXPECT_EQ(b, a);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.idleBytes(), 0u);
  // Another size does not.
  void *c = cache.allocate(3 << 20);
  EXPECT_NE(c, a);
  cache.release(b);
  cache.release(c);
  EXPECT_EQ(cache.idleBytes(), uint64_t(4) << 20);
  cache.trim();
  EXPECT_EQ(cache.idleBytes(), 0u);
}

TEST(BufferCache, SmallBlocksAndForeignBlocksGoToFree) {
  BufferCache cache;
  void *small = cache.allocate(100);
  ASSERT_NE(small, nullptr);
  cache.release(small);
  EXPECT_EQ(cache.idleBytes(), 0u);
  // A block from plain malloc is freed, not kept.
  void *foreign = std::malloc(1 << 20);
  cache.release(foreign);
  EXPECT_EQ(cache.idleBytes(), 0u);
  cache.release(nullptr);
  // A block from the cache may leave through free() (the session's outputs).
  void *out = cache.allocate(1 << 20);
  std::free(out);
  EXPECT_EQ(cache.idleBytes(), 0u);
}

TEST(BufferCache, KeepsAtMostItsLimit) {
  BufferCache cache(3 << 20);
  std::vector<void *> blocks;
  for (int i = 0; i < 5; ++i)
    blocks.push_back(cache.allocate(1 << 20));
  for (void *b : blocks)
    cache.release(b);
  EXPECT_EQ(cache.idleBytes(), uint64_t(3) << 20);
}

TEST(BufferCache, ChangingShapesDoNotPileUp) {
  // An encoder's batches of different widths: each "run" asks for three
  // blocks of a new size. Keeping every size would hold 3 x 64 KiB x (1 +
  // ... + 20) = 40 MiB idle; the cache keeps at most twice the most it ever
  // handed out at once (here 3 x 20 x 64 KiB), freeing the stalest sizes.
  BufferCache cache;
  uint64_t peak = 0;
  for (uint64_t width = 1; width <= 20; ++width) {
    const uint64_t bytes = width * BufferCache::kMinBytes;
    void *blocks[3];
    for (void *&b : blocks)
      b = cache.allocate(bytes);
    peak = std::max(peak, 3 * bytes);
    for (void *b : blocks)
      cache.release(b);
    EXPECT_LE(cache.idleBytes(), 2 * peak) << "width " << width;
    // The newest size stays for the next run of the same shape.
    const uint64_t hits = cache.hits();
    void *again = cache.allocate(bytes);
    EXPECT_EQ(cache.hits(), hits + 1) << "width " << width;
    cache.release(again);
  }
}

TEST(BufferCache, ConcurrentUse) {
  BufferCache cache;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 200; ++i) {
        void *b = cache.allocate((64 << 10) * (1 + (i + t) % 3));
        ASSERT_NE(b, nullptr);
        static_cast<char *>(b)[0] = 1;
        cache.release(b);
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_GT(cache.hits(), 0u);
}

TEST(BufferCache, TheContextCarriesIt) {
  std::unique_ptr<Device> device = createCpuDevice();
  std::unique_ptr<Stream> stream;
  ASSERT_TRUE(device->createStream(2, stream).isOk());
  const lowbit_dispatch_context *ctx = stream->dispatchContext();
  ASSERT_NE(ctx->alloc, nullptr);
  ASSERT_NE(ctx->dealloc, nullptr);
  void *a = ctx->alloc(ctx, 1 << 20);
  ASSERT_NE(a, nullptr);
  ctx->dealloc(ctx, a);
  EXPECT_EQ(ctx->alloc(ctx, 1 << 20), a);
  ctx->dealloc(ctx, a);
  ctx->dealloc(ctx, nullptr);
}

} // namespace
