//===- ThreadPool.cpp - Persistent workers for parallel_for ---------------===//

#include "ThreadPool.h"

#include <chrono>
#include <sched.h>

namespace lowbit::runtime {
namespace {

/// Set while this thread runs a workgroup, of any pool: a parallel_for
/// issued then runs inline.
thread_local bool tlsInWorkgroup = false;

/// How long an idle worker polls for the next job before it sleeps. Long
/// enough to cover the gap between two kernels of one model run, short
/// enough that an idle session soon stops using CPU.
constexpr std::chrono::microseconds kSpinTime{2000};
/// After this long polling with pause, an idle worker yields its CPU between
/// polls, so that when threads outnumber CPUs the thread with work to do
/// (often the caller) gets to run.
constexpr std::chrono::microseconds kPauseTime{50};

constexpr uint64_t kGenerationOne = 1ull << 32;
constexpr uint64_t kActiveMask = kGenerationOne - 1;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// True when `state` holds an open job (even generation) other than `last`.
inline bool joinable(uint64_t state, uint32_t last) {
  const uint32_t generation = static_cast<uint32_t>(state >> 32);
  return (generation & 1) == 0 && generation != last;
}

} // namespace

unsigned ThreadPool::availableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0)
      return static_cast<unsigned>(n);
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0)
    threads = availableCpus();
  workers_.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i)
    workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard<std::mutex> lock(sleepMutex_);
    wake_.notify_all();
  }
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::parallelForThunk(void *pool, int64_t count, lowbit_workgroup_fn fn, void *arg) {
  static_cast<ThreadPool *>(pool)->parallelFor(count, fn, arg);
}

void ThreadPool::runItems() {
  const bool saved = tlsInWorkgroup;
  tlsInWorkgroup = true;
  const int64_t count = count_.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t g = next_.fetch_add(1, std::memory_order_relaxed);
    if (g >= count)
      break;
    fn_(arg_, g);
  }
  tlsInWorkgroup = saved;
}

void ThreadPool::parallelFor(int64_t count, lowbit_workgroup_fn fn, void *arg) {
  if (count <= 0)
    return;
  if (workers_.empty() || count == 1 || tlsInWorkgroup) {
    const bool saved = tlsInWorkgroup;
    tlsInWorkgroup = true;
    for (int64_t g = 0; g < count; ++g)
      fn(arg, g);
    tlsInWorkgroup = saved;
    return;
  }
  std::lock_guard<std::mutex> lock(callerMutex_);
  // The job is closed (odd generation, no active worker): nobody reads these.
  fn_ = fn;
  arg_ = arg;
  count_.store(count, std::memory_order_relaxed);
  next_.store(0, std::memory_order_relaxed);
  // Open it. seq_cst, paired with the sleepers' increment in workerLoop, so
  // either we see a sleeper and wake it or it sees the new job.
  state_.fetch_add(kGenerationOne, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> sleepLock(sleepMutex_);
    wake_.notify_all();
  }
  runItems();
  // Every workgroup is claimed; wait for the workers still inside to leave,
  // then close the job in the same atomic step.
  uint64_t state = state_.load(std::memory_order_acquire);
  for (unsigned spins = 0;; ++spins) {
    if ((state & kActiveMask) == 0) {
      if (state_.compare_exchange_weak(state, state + kGenerationOne, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        return;
      continue;
    }
    // A worker descheduled inside the job: let it run.
    if (spins > 4096)
      sched_yield();
    else
      cpuRelax();
    state = state_.load(std::memory_order_acquire);
  }
}

void ThreadPool::workerLoop() {
  uint32_t last = 1; // the generation this worker last joined
  auto idleSince = std::chrono::steady_clock::now();
  unsigned polls = 0;
  bool yielding = false;
  while (!stop_.load(std::memory_order_relaxed)) {
    uint64_t state = state_.load(std::memory_order_acquire);
    if (joinable(state, last)) {
      // Join only while workgroups are left: a worker that joins late and
      // is then descheduled would keep the caller waiting for nothing. (The
      // fields may belong to a newer job by now; then the CAS below fails
      // or the next look sees that job's generation.)
      if (next_.load(std::memory_order_relaxed) >= count_.load(std::memory_order_relaxed)) {
        last = static_cast<uint32_t>(state >> 32);
        continue;
      }
      if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        last = static_cast<uint32_t>(state >> 32);
        runItems();
        state_.fetch_sub(1, std::memory_order_release);
        idleSince = std::chrono::steady_clock::now();
        polls = 0;
        yielding = false;
      }
      continue;
    }
    if (yielding)
      sched_yield();
    else
      cpuRelax();
    if (++polls % 256)
      continue;
    const auto idle = std::chrono::steady_clock::now() - idleSince;
    yielding = idle >= kPauseTime;
    if (idle < kSpinTime)
      continue;
    // Sleep until a new job opens or the pool stops.
    std::unique_lock<std::mutex> lock(sleepMutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while (!stop_.load(std::memory_order_seq_cst) && !joinable(state_.load(std::memory_order_seq_cst), last))
      wake_.wait(lock);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    idleSince = std::chrono::steady_clock::now();
    polls = 0;
    yielding = false;
  }
}

} // namespace lowbit::runtime
