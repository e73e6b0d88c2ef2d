//===- CpuDevice.h - The CPU device ----------------------------*- C++ -*-===//
//
// createCpuDevice() is declared in Device.h; this adds what the runtime asks
// of the CPU device before loading code.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_CPUDEVICE_H
#define LOWBIT_RUNTIME_CPUDEVICE_H

#include "Device.h"

namespace lowbit::runtime {

/// Fails, saying why, when this process cannot run host code compiled for
/// the manifest's target triple and CPU: another architecture or OS, or an
/// x86 CPU name whose instruction set extensions this machine lacks.
Status checkHostTarget(const Manifest &manifest);

} // namespace lowbit::runtime

#endif // LOWBIT_RUNTIME_CPUDEVICE_H
