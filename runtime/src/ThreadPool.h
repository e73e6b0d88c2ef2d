//===- ThreadPool.h - Persistent workers for parallel_for ------*- C++ -*-===//
//
// The CPU device's execution resource: `threads - 1` persistent workers plus
// the calling thread run the workgroups of one parallel_for at a time,
// claiming them from an atomic counter. Between jobs the workers spin for a
// short while (so the back-to-back dispatches of one model run start in
// well under a microsecond of hand-off) and then sleep on a condition
// variable, so an idle session costs no CPU.
//
// A parallel_for issued from inside a workgroup runs inline on that thread
// (nested parallelism is serialized, never deadlocks). One pool serves one
// caller at a time: concurrent callers are serialized by a mutex.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_THREADPOOL_H
#define LOWBIT_RUNTIME_THREADPOOL_H

#include "lowbit/abi.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit::runtime {

class ThreadPool {
public:
  /// `threads` counts the caller: 1 means no workers; 0 means one per CPU
  /// this process may run on.
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Threads a parallel_for uses, the caller's included.
  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Runs fn(arg, g) for every g in [0, count); returns when all are done.
  void parallelFor(int64_t count, lowbit_workgroup_fn fn, void *arg);

  /// The C trampoline stored in lowbit_dispatch_context::parallel_for.
  static void parallelForThunk(void *pool, int64_t count, lowbit_workgroup_fn fn, void *arg);

  /// CPUs available to this process (sched_getaffinity), at least 1.
  static unsigned availableCpus();

private:
  void workerLoop();
  /// Claims and runs workgroups of the current job until none is left.
  void runItems();

  // state_: generation << 32 | active workers. An even generation is an
  // open job that workers may join; odd means closed. The caller closes a
  // job only when its active count is zero, atomically with the count, so a
  // worker that joined sees the job's fields unchanged until it leaves.
  std::atomic<uint64_t> state_{1ull << 32};
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> count_{0};
  lowbit_workgroup_fn fn_ = nullptr;
  void *arg_ = nullptr;

  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex sleepMutex_;
  std::condition_variable wake_;
  std::mutex callerMutex_;
  std::vector<std::thread> workers_;
};

} // namespace lowbit::runtime

#endif // LOWBIT_RUNTIME_THREADPOOL_H
