//===- BufferCache.cpp - Blocks for compiled code's buffers ---------------===//

#include "BufferCache.h"

#include <cstdlib>

namespace lowbit::runtime {

BufferCache::~BufferCache() { trim(); }

void *BufferCache::allocate(uint64_t bytes) {
  if (bytes < kMinBytes)
    return std::malloc(bytes ? bytes : 1);
  const uint64_t rounded = (bytes + 4095) & ~uint64_t(4095);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = idle_.find(rounded);
    if (it != idle_.end() && !it->second.empty()) {
      void *block = it->second.back();
      it->second.pop_back();
      idleBytes_ -= rounded;
      ++hits_;
      live_[block] = rounded;
      return block;
    }
  }
  void *block = std::malloc(rounded);
  if (block) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_[block] = rounded;
  }
  return block;
}

void BufferCache::release(void *block) {
  if (!block)
    return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(block);
    if (it != live_.end()) {
      const uint64_t size = it->second;
      live_.erase(it);
      if (idleBytes_ + size <= limit_) {
        idle_[size].push_back(block);
        idleBytes_ += size;
        return;
      }
    }
  }
  std::free(block);
}

void BufferCache::trim() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto &[size, blocks] : idle_)
    for (void *block : blocks)
      std::free(block);
  idle_.clear();
  idleBytes_ = 0;
}

uint64_t BufferCache::idleBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return idleBytes_;
}

uint64_t BufferCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

} // namespace lowbit::runtime
