//===- BufferCache.cpp - Blocks for compiled code's buffers ---------------===//

#include "BufferCache.h"

#include <algorithm>
#include <cstdlib>

namespace lowbit::runtime {

BufferCache::~BufferCache() { trim(); }

void *BufferCache::allocate(uint64_t bytes) {
  if (bytes < kMinBytes)
    return std::malloc(bytes ? bytes : 1);
  const uint64_t rounded = (bytes + 4095) & ~uint64_t(4095);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Bucket &bucket = idle_[rounded];
    bucket.lastUse = ++clock_;
    if (!bucket.blocks.empty()) {
      void *block = bucket.blocks.back();
      bucket.blocks.pop_back();
      idleBytes_ -= rounded;
      ++hits_;
      live_[block] = rounded;
      liveBytes_ += rounded;
      peakLiveBytes_ = std::max(peakLiveBytes_, liveBytes_);
      return block;
    }
  }
  void *block = std::malloc(rounded);
  if (block) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_[block] = rounded;
    liveBytes_ += rounded;
    peakLiveBytes_ = std::max(peakLiveBytes_, liveBytes_);
  }
  return block;
}

bool BufferCache::makeRoom(uint64_t bytes, uint64_t keepSize) {
  const uint64_t cap = std::min(limit_, 2 * peakLiveBytes_);
  while (idleBytes_ + bytes > cap) {
    auto stalest = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it)
      if (it->first != keepSize && !it->second.blocks.empty() &&
          (stalest == idle_.end() || it->second.lastUse < stalest->second.lastUse))
        stalest = it;
    if (stalest == idle_.end())
      return false;
    for (void *block : stalest->second.blocks)
      std::free(block);
    idleBytes_ -= stalest->first * stalest->second.blocks.size();
    idle_.erase(stalest); // sizes of old shapes do not stay as empty buckets
  }
  return true;
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
      liveBytes_ -= size;
      Bucket &bucket = idle_[size];
      bucket.lastUse = ++clock_;
      if (makeRoom(size, size)) {
        bucket.blocks.push_back(block);
        idleBytes_ += size;
        return;
      }
    }
  }
  std::free(block);
}

void BufferCache::trim() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto &[size, bucket] : idle_)
    for (void *block : bucket.blocks)
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
