//===- Device.h - What a device must provide to the runtime ----*- C++ -*-===//
//
// One execution model for every device (DESIGN.md, "Runtime and artifact"):
// code is loaded from an artifact into a Module; work runs as kernels over a
// grid of workgroups, submitted in order to a Stream; memory is DeviceBuffers
// that streams copy into and out of. The CPU device implements it today
// (CpuDevice.cpp); CUDA and Vulkan devices implement the same interface.
//
// How each device maps onto it:
//
//   concept        CPU (CpuDevice.cpp)          CUDA (driver API)               Vulkan
//   -------------  ---------------------------  ------------------------------  ------------------------------
//   Device         the process                  CUcontext on one CUdevice       VkInstance + VkDevice + queue
//                                                                               family
//   loadModule     HostCode .so: memfd_create   cuModuleLoadDataEx on the PTX/  vkCreateShaderModule per SPIR-V
//                  + dlopen("/proc/self/fd/N"), cubin section; the host code   kernel, one compute VkPipeline
//                  dlsym(entry)                 (an ELF .so, as on CPU) drives  each (pipeline cache), host code
//                                               the launches                    as on CPU
//   Kernel         lowbit_workgroup_fn          CUfunction (cuModuleGetFunction) VkPipeline + VkPipelineLayout
//   allocate       aligned host memory          cuMemAlloc -> CUdeviceptr        vkCreateBuffer + vkAllocateMemory
//                                                                               (device-local) + bind
//   Stream         ThreadPool (parallel_for)    CUstream                         VkCommandBuffer recorded on a
//                                                                               queue, VkFence per submit
//   copyTo/From    memcpy                       cuMemcpyHtoDAsync/DtoHAsync      staging buffer + vkCmdCopyBuffer
//                                               (pinned staging for async)
//   dispatch       parallel_for over the grid   cuLaunchKernel(grid, block,      vkCmdBindPipeline, push constants
//                  (synchronous)                args as kernelParams)            / descriptor set, vkCmdDispatch
//   synchronize    nothing to wait for          cuStreamSynchronize              vkQueueSubmit + vkWaitForFences
//
// CUDA is reached without linking it: dlopen("libcuda.so.1") and
// cuGetProcAddress (or dlsym) for each cu* entry point, so the runtime loads
// on machines without a GPU and reports LOWBIT_ERROR_UNSUPPORTED there.
// Vulkan likewise dlopens libvulkan.so.1 and gets vkGetInstanceProcAddr.
// On every device the artifact's host code remains the schedule: it calls
// the runtime through lowbit_dispatch_context (abi.h), whose kernels submit
// dispatches to the session's Stream.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_DEVICE_H
#define LOWBIT_RUNTIME_DEVICE_H

#include "Artifact.h"

#include "lowbit/Quant/Status.h"
#include "lowbit/abi.h"

#include <cstdint>
#include <memory>
#include <string>

namespace lowbit::runtime {

/// The packed entry function of an artifact's host code (docs/ARTIFACT.md,
/// "Calling convention").
using EntryFn = void (*)(void **args);

/// A block of device memory. `handle` is the device's own: a host pointer
/// (CPU), a CUdeviceptr (CUDA), a device-owned record of VkBuffer and
/// VkDeviceMemory (Vulkan).
struct DeviceBuffer {
  void *handle = nullptr;
  uint64_t size = 0;
};

/// Workgroups of a dispatch. The CPU runs them linearized, x fastest:
/// group = x + gx * (y + gy * z).
struct Grid {
  int64_t x = 1, y = 1, z = 1;
  int64_t count() const { return x * y * z; }
};

/// A kernel of a Module: a lowbit_workgroup_fn (CPU), a CUfunction (CUDA), a
/// compute pipeline (Vulkan).
struct Kernel {
  void *handle = nullptr;
};

/// Code loaded from an artifact on one device; immutable and shareable by
/// threads once loaded. Unloads when destroyed.
class Module {
public:
  virtual ~Module() = default;
  /// The host entry function named by the manifest.
  virtual EntryFn entry() const = 0;
  /// A kernel by symbol name.
  virtual Status kernel(const std::string &name, Kernel &out) const = 0;
};

/// An in-order queue of copies and dispatches; one thread's at a time (a
/// session owns one).
class Stream {
public:
  virtual ~Stream() = default;
  virtual Status copyToDevice(const DeviceBuffer &dst, uint64_t offset, const void *src, uint64_t size) = 0;
  virtual Status copyFromDevice(void *dst, const DeviceBuffer &src, uint64_t offset, uint64_t size) = 0;
  /// Runs `kernel` once per workgroup of `grid` with `args`, the kernel's
  /// parameter block (the workgroup function's `arg` on CPU, kernelParams on
  /// CUDA, push constants and bindings on Vulkan). May return before the
  /// work is done; synchronize() waits.
  virtual Status dispatch(const Kernel &kernel, const Grid &grid, void *args) = 0;
  virtual Status synchronize() = 0;
  /// The context the host code receives: parallel_for over this stream's
  /// workers and the runtime's kernels.
  virtual const lowbit_dispatch_context *dispatchContext() const = 0;
  /// The first failure a kernel reported under this stream's context since
  /// the last call ("" if none), and forgets it.
  virtual std::string takeKernelError() = 0;
  /// Limits the runtime's kernels to what code compiled for `cpu` (the
  /// artifact's --cpu) may use; devices without such kernels ignore it.
  virtual void limitKernelsTo(const std::string &cpu) { (void)cpu; }
};

class Device {
public:
  virtual ~Device() = default;
  virtual const char *name() const = 0;
  /// Loads the artifact's code for this device. `unsupported` is set when
  /// the artifact is for a target this device cannot run.
  virtual Status loadModule(const ParsedArtifact &artifact, std::unique_ptr<Module> &out,
                            bool &unsupported) = 0;
  virtual Status allocate(uint64_t size, DeviceBuffer &out) = 0;
  virtual void release(DeviceBuffer &buffer) = 0;
  /// A stream running on `threads` CPU threads (0: one per CPU); devices
  /// that run elsewhere ignore it.
  virtual Status createStream(unsigned threads, std::unique_ptr<Stream> &out) = 0;
};

/// The CPU device: host code in the calling process, workgroups on a pool.
std::unique_ptr<Device> createCpuDevice();

} // namespace lowbit::runtime

#endif // LOWBIT_RUNTIME_DEVICE_H
