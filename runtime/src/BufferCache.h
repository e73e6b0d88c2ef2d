//===- BufferCache.h - Blocks for compiled code's buffers -------*- C++ -*-===//
//
// The alloc/dealloc of lowbit_dispatch_context. Compiled code allocates
// every intermediate buffer of a model with malloc and frees it when it
// dies; a large block from malloc is a fresh mmap, so every run of a model
// faulted in (and zeroed) all its activations again: 250k page faults, a
// fifth of a 512-token SmolLM2 forward pass. This cache keeps the blocks
// of at least kMinBytes that compiled code releases and hands them out
// again for the same size, rounded to 4 KiB (a model's buffers have the
// same sizes from one run, and one layer, to the next). Blocks are plain
// malloc blocks, so a block may leave through free() (the session frees
// its outputs so) and dealloc takes blocks from plain malloc.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_BUFFERCACHE_H
#define LOWBIT_RUNTIME_BUFFERCACHE_H

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lowbit::runtime {

class BufferCache {
public:
  /// Smaller blocks go straight to malloc and free: they come from malloc's
  /// arenas, not fresh pages.
  static constexpr uint64_t kMinBytes = 64 * 1024;

  /// `limit`: at most this many bytes are kept idle, and never more than
  /// twice the most bytes that were ever handed out at once (one run's
  /// worth, with room for a second shape). Beyond that the sizes asked for
  /// least recently are freed first: with changing shapes (an encoder's
  /// batches of different widths) the idle blocks of the old sizes would
  /// otherwise stay until the limit, one limit per session.
  explicit BufferCache(uint64_t limit = uint64_t(4) << 30) : limit_(limit) {}
  ~BufferCache();
  BufferCache(const BufferCache &) = delete;
  BufferCache &operator=(const BufferCache &) = delete;

  /// A malloc block of at least `bytes`, or null when out of memory.
  void *allocate(uint64_t bytes);
  /// Takes back a block from allocate (kept for reuse) or from malloc
  /// (freed); null is ignored.
  void release(void *block);
  /// Frees every idle block.
  void trim();

  uint64_t idleBytes() const;
  uint64_t hits() const;

private:
  mutable std::mutex mutex_;
  uint64_t limit_;
  uint64_t idleBytes_ = 0;
  uint64_t liveBytes_ = 0, peakLiveBytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t clock_ = 0; // counts allocate and release calls of large blocks
  struct Bucket {
    std::vector<void *> blocks;
    uint64_t lastUse = 0; // clock_ when this size was last allocated or released
  };
  std::unordered_map<void *, uint64_t> live_; // block -> rounded size
  std::map<uint64_t, Bucket> idle_;           // rounded size -> idle blocks

  /// Frees idle blocks of the least recently used other sizes until `bytes`
  /// more fit under the cap; false if they still do not.
  bool makeRoom(uint64_t bytes, uint64_t keepSize);
};

} // namespace lowbit::runtime

#endif // LOWBIT_RUNTIME_BUFFERCACHE_H
