//===- CpuDevice.cpp - Host code in-process, workgroups on a pool ---------===//
//
// The HostCode section is an ELF shared object. It is loaded without
// touching the file system where possible: copied into an anonymous
// memfd_create file and dlopen'ed as /proc/self/fd/N; where that fails (no
// memfd, no /proc), into a temporary file that is unlinked right after
// dlopen. The .so is native code: like any shared library, an artifact must
// come from someone you trust (the loader checks the container, not the
// machine code).
//
// glibc reuses an already loaded object whose name matches the requested
// path. A memfd path is unique while its descriptor is open, so each module
// keeps its descriptor until after dlclose; if an object survives dlclose
// (it can be pinned), its path is remembered and never used again.
//
//===----------------------------------------------------------------------===//

#include "CpuDevice.h"

#include "BufferCache.h"
#include "ThreadPool.h"
#include "kernels/KernelError.h"
#include "kernels/Matmul.h"
#include "kernels/MatmulF32.h"
#include "kernels/x86/X86Matmul.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <type_traits>
#include <sys/mman.h>
#include <unistd.h>

namespace lowbit::runtime {
namespace {

std::mutex gLoadMutex;
std::set<std::string> gRetiredPaths; // guarded by gLoadMutex

Status writeAll(int fd, const uint8_t *data, uint64_t size, const std::string &what) {
  while (size) {
    const size_t chunk = size < (uint64_t(1) << 30) ? static_cast<size_t>(size) : size_t(1) << 30;
    const ssize_t n = ::write(fd, data, chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return Status::error("cannot write the host code to " + what + ": " + std::strerror(n < 0 ? errno : EIO));
    data += n;
    size -= static_cast<uint64_t>(n);
  }
  return Status::ok();
}

/// dlcloses `handle`; if the object stays loaded (DF_1_NODELETE, or pinned
/// by a dependency), retires `path` so no later module reuses that name.
/// The caller holds gLoadMutex.
void unload(void *handle, const std::string &path) {
  dlclose(handle);
  if (void *still = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
    dlclose(still);
    gRetiredPaths.insert(path);
  }
}

std::string dlError() {
  const char *e = dlerror();
  return e ? e : "unknown dlopen error";
}

class CpuModule final : public Module {
public:
  CpuModule(void *handle, EntryFn entry, int fd, std::string path)
      : handle_(handle), entry_(entry), fd_(fd), path_(std::move(path)) {}
  ~CpuModule() override {
    std::lock_guard<std::mutex> lock(gLoadMutex);
    unload(handle_, path_);
    if (fd_ >= 0)
      close(fd_);
  }
  EntryFn entry() const override { return entry_; }
  Status kernel(const std::string &name, Kernel &out) const override {
    void *symbol = dlsym(handle_, name.c_str());
    if (!symbol)
      return Status::error("the host code has no kernel '" + name + "'");
    out.handle = symbol;
    return Status::ok();
  }

private:
  void *handle_;
  EntryFn entry_;
  int fd_;
  std::string path_;
};

/// dlopens the code from an anonymous memfd; `fd` stays open for the module.
Status loadFromMemfd(const ParsedArtifact &a, void *&handle, int &fd, std::string &path) {
  fd = memfd_create("lowbit-hostcode", MFD_CLOEXEC);
  if (fd < 0)
    return Status::error(std::string("memfd_create: ") + std::strerror(errno));
  if (Status s = writeAll(fd, a.hostCode, a.hostCodeSize, "a memfd"); s.failed()) {
    close(fd);
    fd = -1;
    return s;
  }
  path = "/proc/self/fd/" + std::to_string(fd);
  // A retired path names a pinned old object: move to a fresh number.
  for (int tries = 0; gRetiredPaths.count(path) && tries < 1024; ++tries) {
    const int other = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
    close(fd);
    fd = other;
    if (fd < 0)
      return Status::error(std::string("cannot duplicate the memfd: ") + std::strerror(errno));
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const std::string why = dlError();
    close(fd);
    fd = -1;
    return Status::error("dlopen of the host code failed: " + why);
  }
  return Status::ok();
}

/// dlopens the code from a temporary file, unlinked once loaded.
Status loadFromTempFile(const ParsedArtifact &a, void *&handle, std::string &path) {
  const char *dir = std::getenv("TMPDIR");
  path = std::string(dir && *dir ? dir : "/tmp") + "/lowbit-hostcode-XXXXXX";
  const int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0)
    return Status::error("cannot create a temporary file for the host code (" + path + "): " + std::strerror(errno));
  Status s = writeAll(fd, a.hostCode, a.hostCodeSize, path);
  close(fd);
  if (s.isOk() && !gRetiredPaths.count(path)) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      s = Status::error("dlopen of the host code failed: " + dlError());
  } else if (s.isOk()) {
    s = Status::error("temporary file name " + path + " was used before");
  }
  unlink(path.c_str());
  return s;
}

/// The context compiled code gets, first, with what its callbacks need
/// behind it (a context pointer is a HostContext pointer).
struct HostContext {
  lowbit_dispatch_context abi;
  BufferCache *buffers;
};
static_assert(std::is_standard_layout_v<HostContext>);

void *allocateBuffer(const lowbit_dispatch_context *ctx, uint64_t bytes) {
  return reinterpret_cast<const HostContext *>(ctx)->buffers->allocate(bytes);
}
void releaseBuffer(const lowbit_dispatch_context *ctx, void *block) {
  reinterpret_cast<const HostContext *>(ctx)->buffers->release(block);
}

class CpuStream final : public Stream {
public:
  explicit CpuStream(unsigned threads) : pool_(threads) {
    lowbit_dispatch_context &c = context_.abi;
    c.abi_version = LOWBIT_ABI_VERSION;
    c.num_workers = pool_.size();
    c.pool = &pool_;
    c.parallel_for = ThreadPool::parallelForThunk;
    c.matmul = kernels::matmul;
    c.matmul_f32 = kernels::matmulF32;
    c.alloc = allocateBuffer;
    c.dealloc = releaseBuffer;
    context_.buffers = &buffers_;
    kernels::registerKernelErrors(&context_.abi, &errors_);
  }
  ~CpuStream() override { kernels::unregisterKernelErrors(&context_.abi); }
  Status copyToDevice(const DeviceBuffer &dst, uint64_t offset, const void *src, uint64_t size) override {
    if (offset > dst.size || size > dst.size - offset)
      return Status::error("copy past the end of a device buffer");
    std::memcpy(static_cast<uint8_t *>(dst.handle) + offset, src, size);
    return Status::ok();
  }
  Status copyFromDevice(void *dst, const DeviceBuffer &src, uint64_t offset, uint64_t size) override {
    if (offset > src.size || size > src.size - offset)
      return Status::error("copy past the end of a device buffer");
    std::memcpy(dst, static_cast<const uint8_t *>(src.handle) + offset, size);
    return Status::ok();
  }
  Status dispatch(const Kernel &kernel, const Grid &grid, void *args) override {
    if (!kernel.handle || grid.x < 0 || grid.y < 0 || grid.z < 0)
      return Status::error("bad dispatch");
    pool_.parallelFor(grid.count(), reinterpret_cast<lowbit_workgroup_fn>(kernel.handle), args);
    return Status::ok();
  }
  Status synchronize() override { return Status::ok(); }
  const lowbit_dispatch_context *dispatchContext() const override { return &context_.abi; }
  void limitKernelsTo(const std::string &cpu) override {
    // The family --cpu allows, or (LOWBIT_MATMUL_KERNELS unset) no more
    // than the host has: selectKernel takes the lesser.
    context_.abi.matmul = kernels::matmulWithin(kernels::x86::kernelLimitForCpu(cpu));
  }
  std::string takeKernelError() override {
    std::string message = errors_.message();
    errors_.clear();
    return message;
  }

private:
  ThreadPool pool_;
  BufferCache buffers_;
  HostContext context_{};
  kernels::KernelErrors errors_;
};

class CpuDevice final : public Device {
public:
  const char *name() const override { return "cpu"; }

  Status loadModule(const ParsedArtifact &a, std::unique_ptr<Module> &out, bool &unsupported) override {
    unsupported = false;
    if (Status s = checkHostTarget(a.manifest); s.failed()) {
      unsupported = true;
      return s;
    }
    std::lock_guard<std::mutex> lock(gLoadMutex);
    void *handle = nullptr;
    int fd = -1;
    std::string path;
    Status s = loadFromMemfd(a, handle, fd, path);
    if (s.failed()) {
      Status fallback = loadFromTempFile(a, handle, path);
      if (fallback.failed())
        return Status::error(s.message() + "; from a temporary file: " + fallback.message());
    }
    dlerror();
    void *entry = dlsym(handle, a.manifest.entrySymbol.c_str());
    if (!entry) {
      unload(handle, path);
      if (fd >= 0)
        close(fd);
      return Status::error("the host code does not export the entry symbol '" + a.manifest.entrySymbol + "'");
    }
    out.reset(new CpuModule(handle, reinterpret_cast<EntryFn>(entry), fd, path));
    return Status::ok();
  }

  Status allocate(uint64_t size, DeviceBuffer &out) override {
    void *p = nullptr;
    if (posix_memalign(&p, 64, size ? size : 1) != 0)
      return Status::error("out of memory allocating " + std::to_string(size) + " bytes");
    out = {p, size};
    return Status::ok();
  }
  void release(DeviceBuffer &buffer) override {
    std::free(buffer.handle);
    buffer = {};
  }
  Status createStream(unsigned threads, std::unique_ptr<Stream> &out) override {
    out.reset(new CpuStream(threads));
    return Status::ok();
  }
};

/// The features an x86 -mcpu value implies, roughly: enough to refuse code
/// that would stop on an illegal instruction.
struct CpuRequirement {
  const char *cpu;
  const char *features[4];
};

#if defined(__x86_64__)
constexpr CpuRequirement kX86Cpus[] = {
    {"x86-64-v2", {"sse4.2", "popcnt"}},
    {"x86-64-v3", {"avx2", "fma", "bmi2"}},
    {"x86-64-v4", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}},
    {"haswell", {"avx2", "fma", "bmi2"}},
    {"broadwell", {"avx2", "fma", "bmi2"}},
    {"skylake", {"avx2", "fma", "bmi2"}},
    {"alderlake", {"avx2", "fma", "avxvnni"}},
    {"skylake-avx512", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}},
    {"cascadelake", {"avx512f", "avx512bw", "avx512vnni"}},
    {"icelake-server", {"avx512f", "avx512bw", "avx512vnni"}},
    {"icelake-client", {"avx512f", "avx512bw", "avx512vnni"}},
    {"sapphirerapids", {"avx512f", "avx512bw", "avx512vnni", "avx512bf16"}},
    {"znver1", {"avx2", "fma"}},
    {"znver2", {"avx2", "fma"}},
    {"znver3", {"avx2", "fma"}},
    {"znver4", {"avx512f", "avx512bw", "avx512vnni", "avx512bf16"}},
    {"znver5", {"avx512f", "avx512bw", "avx512vnni", "avx512bf16"}},
};

bool cpuSupports(const char *feature) {
  // __builtin_cpu_supports wants a literal, so spell each one out.
  const std::string f = feature;
  if (f == "sse4.2")
    return __builtin_cpu_supports("sse4.2");
  if (f == "popcnt")
    return __builtin_cpu_supports("popcnt");
  if (f == "avx2")
    return __builtin_cpu_supports("avx2");
  if (f == "fma")
    return __builtin_cpu_supports("fma");
  if (f == "bmi2")
    return __builtin_cpu_supports("bmi2");
  if (f == "avxvnni")
    return __builtin_cpu_supports("avxvnni");
  if (f == "avx512f")
    return __builtin_cpu_supports("avx512f");
  if (f == "avx512bw")
    return __builtin_cpu_supports("avx512bw");
  if (f == "avx512vl")
    return __builtin_cpu_supports("avx512vl");
  if (f == "avx512dq")
    return __builtin_cpu_supports("avx512dq");
  if (f == "avx512vnni")
    return __builtin_cpu_supports("avx512vnni");
  if (f == "avx512bf16")
    return __builtin_cpu_supports("avx512bf16");
  return true;
}
#endif

} // namespace

Status checkHostTarget(const Manifest &m) {
  const std::string &triple = m.targetTriple;
  const std::string arch = triple.substr(0, triple.find('-'));
#if defined(__x86_64__)
  const bool archOk = arch == "x86_64" || arch == "amd64";
  const char *host = "x86_64";
#elif defined(__aarch64__)
  const bool archOk = arch == "aarch64" || arch == "arm64";
  const char *host = "aarch64";
#else
  const bool archOk = false;
  const char *host = "this architecture";
#endif
  if (!archOk || triple.find("linux") == std::string::npos)
    return Status::error("the artifact was compiled for " + triple + ", but this runtime runs " + host +
                         " Linux code");
#if defined(__x86_64__)
  for (const CpuRequirement &r : kX86Cpus) {
    if (m.cpu != r.cpu)
      continue;
    for (const char *feature : r.features)
      if (feature && !cpuSupports(feature))
        return Status::error("the artifact was compiled for CPU '" + m.cpu + "', which needs " + feature +
                             "; this CPU lacks it");
  }
#endif
  return Status::ok();
}

std::unique_ptr<Device> createCpuDevice() { return std::unique_ptr<Device>(new CpuDevice()); }

} // namespace lowbit::runtime
