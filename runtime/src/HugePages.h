//===- HugePages.h - Memory the kernels stream from --------------*- C++ -*-===//
//
// A buffer of anonymous memory on 2 MiB boundaries, asking the kernel for
// transparent huge pages (madvise MADV_HUGEPAGE). Decoding one token reads
// every weight once: with 4 KiB pages that is a TLB miss every 4 KiB, which
// the software prefetch does not hide (KernelProbe, 11008 x 4096, 1 thread:
// decode 3-20% and M = 16 5-9% faster on huge pages; docs/PERFORMANCE.md,
// "Session 5"). The artifact loader copies the Weights section into one, and
// the benchmarks hold their weights in one, so they time what runs.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_HUGEPAGES_H
#define LOWBIT_RUNTIME_HUGEPAGES_H

#include <cstddef>
#include <cstdint>

namespace lowbit::runtime {

class HugePageBuffer {
public:
  HugePageBuffer() = default;
  /// `bytes` of zeroed memory (rounded up to 2 MiB), or an empty buffer when
  /// the system has no memory to give.
  explicit HugePageBuffer(size_t bytes);
  ~HugePageBuffer();
  HugePageBuffer(HugePageBuffer &&other) noexcept;
  HugePageBuffer &operator=(HugePageBuffer &&other) noexcept;
  HugePageBuffer(const HugePageBuffer &) = delete;
  HugePageBuffer &operator=(const HugePageBuffer &) = delete;

  uint8_t *data() const { return data_; }
  size_t size() const { return size_; } ///< the bytes asked for
  bool empty() const { return data_ == nullptr; }

  /// True when transparent huge pages may back such a buffer: the system's
  /// setting is "always" or "madvise", and LOWBIT_HUGE_PAGES is not "0".
  static bool available();

private:
  void release();
  uint8_t *data_ = nullptr;
  size_t size_ = 0;
  void *mapping_ = nullptr;
  size_t mappingSize_ = 0;
};

} // namespace lowbit::runtime

#endif // LOWBIT_RUNTIME_HUGEPAGES_H
