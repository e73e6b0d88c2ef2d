//===- HugePages.cpp - Memory the kernels stream from ---------------------===//

#include "HugePages.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>

namespace lowbit::runtime {
namespace {
constexpr size_t kHugePage = size_t(2) << 20;
size_t roundUp(size_t n) { return (n + kHugePage - 1) / kHugePage * kHugePage; }
} // namespace

HugePageBuffer::HugePageBuffer(size_t bytes) {
  if (bytes == 0)
    return;
  // One huge page more than needed, so a 2 MiB boundary lies inside; the
  // slack on either side is unmapped again.
  const size_t length = roundUp(bytes), mapped = length + kHugePage;
  void *map = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(map);
  const uintptr_t aligned = (begin + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > begin)
    munmap(map, aligned - begin);
  if (const size_t tail = begin + mapped - (aligned + length); tail > 0)
    munmap(reinterpret_cast<void *>(aligned + length), tail);
  mapping_ = reinterpret_cast<void *>(aligned);
  mappingSize_ = length;
  // Advice only: without huge pages the buffer is still ordinary memory.
  (void)madvise(mapping_, mappingSize_, MADV_HUGEPAGE);
  data_ = static_cast<uint8_t *>(mapping_);
  size_ = bytes;
}

HugePageBuffer::~HugePageBuffer() { release(); }

HugePageBuffer::HugePageBuffer(HugePageBuffer &&other) noexcept { *this = static_cast<HugePageBuffer &&>(other); }

HugePageBuffer &HugePageBuffer::operator=(HugePageBuffer &&other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    size_ = other.size_;
    mapping_ = other.mapping_;
    mappingSize_ = other.mappingSize_;
    other.data_ = nullptr;
    other.size_ = other.mappingSize_ = 0;
    other.mapping_ = nullptr;
  }
  return *this;
}

void HugePageBuffer::release() {
  if (mapping_)
    munmap(mapping_, mappingSize_);
  data_ = nullptr;
  mapping_ = nullptr;
  size_ = mappingSize_ = 0;
}

bool HugePageBuffer::available() {
  if (const char *env = std::getenv("LOWBIT_HUGE_PAGES"); env && std::strcmp(env, "0") == 0)
    return false;
  std::FILE *f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f)
    return false;
  char line[128] = {};
  const bool read = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  // The setting in use is the bracketed one: "always [madvise] never".
  return read && (std::strstr(line, "[always]") || std::strstr(line, "[madvise]"));
}

} // namespace lowbit::runtime
