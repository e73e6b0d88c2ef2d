//===- KernelError.h - How kernels report a failure ------------*- C++ -*-===//
//
// A kernel called by compiled code can only return a status word, which the
// code may ignore. So it also leaves the reason here: with the dispatch
// context's stream when the context was registered (a session's run checks
// it afterwards, whichever thread the kernel ran on), and always with the
// calling thread (for direct callers such as tests).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_KERNELERROR_H
#define LOWBIT_RUNTIME_KERNELS_KERNELERROR_H

#include "lowbit/abi.h"

#include <mutex>
#include <string>

namespace lowbit::runtime::kernels {

/// The first failure of the kernels run under one dispatch context.
class KernelErrors {
public:
  void clear();
  /// The first reported message since clear(), or "".
  std::string message();
  void report(const std::string &message);

private:
  std::mutex mutex_;
  std::string message_;
};

/// Routes reports for `ctx` to `errors` until unregistered.
void registerKernelErrors(const lowbit_dispatch_context *ctx, KernelErrors *errors);
void unregisterKernelErrors(const lowbit_dispatch_context *ctx);

/// Records `message` for `ctx` (when registered) and for this thread.
void reportKernelError(const lowbit_dispatch_context *ctx, const std::string &message);

/// The last message reported on this thread; clearThreadKernelError resets it.
const std::string &threadKernelError();
void clearThreadKernelError();

} // namespace lowbit::runtime::kernels

#endif // LOWBIT_RUNTIME_KERNELS_KERNELERROR_H
