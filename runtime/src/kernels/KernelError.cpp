//===- KernelError.cpp - How kernels report a failure ---------------------===//

#include "kernels/KernelError.h"

#include <unordered_map>

namespace lowbit::runtime::kernels {
namespace {

thread_local std::string tlsError;

std::mutex &registryMutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<const lowbit_dispatch_context *, KernelErrors *> &registry() {
  static std::unordered_map<const lowbit_dispatch_context *, KernelErrors *> r;
  return r;
}

} // namespace

void KernelErrors::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  message_.clear();
}

std::string KernelErrors::message() {
  std::lock_guard<std::mutex> lock(mutex_);
  return message_;
}

void KernelErrors::report(const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (message_.empty())
    message_ = message.empty() ? "a kernel failed" : message;
}

void registerKernelErrors(const lowbit_dispatch_context *ctx, KernelErrors *errors) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry()[ctx] = errors;
}

void unregisterKernelErrors(const lowbit_dispatch_context *ctx) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry().erase(ctx);
}

void reportKernelError(const lowbit_dispatch_context *ctx, const std::string &message) {
  tlsError = message;
  if (!ctx)
    return;
  std::lock_guard<std::mutex> lock(registryMutex());
  auto it = registry().find(ctx);
  if (it != registry().end())
    it->second->report(message);
}

const std::string &threadKernelError() { return tlsError; }
void clearThreadKernelError() { tlsError.clear(); }

} // namespace lowbit::runtime::kernels
