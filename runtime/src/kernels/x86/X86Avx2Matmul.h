//===- X86Avx2Matmul.h - 256-bit matmul kernels -----------------*- C++ -*-===//
//
// The AVX2 (+ FMA, F16C) and AVX-VNNI variants of the x86 matmul kernels,
// for CPUs without AVX-512 (and, forced with LOWBIT_MATMUL_KERNELS=avx2 or
// avxvnni, on CPUs with it). Same numerics as X86Matmul.h (int8 activations
// per 32-block, the same error bound); the method is in
// X86Avx2Kernels.inc. X86Matmul.cpp checks cpuid before calling these.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_X86_X86AVX2MATMUL_H
#define LOWBIT_RUNTIME_KERNELS_X86_X86AVX2MATMUL_H

#include "kernels/Matmul.h"

namespace lowbit::runtime::kernels::x86 {

/// True when this CPU has AVX2, FMA, F16C and BMI2 / also AVX-VNNI.
bool detectAvx2();
bool detectAvxVnni();

/// The 256-bit kernel for `format` (VPMADDUBSW / VPDPBUSD ymm), or false
/// when that family has none; callers check the CPU first.
bool avx2Kernel(const quant::Format &format, MatmulKernel &out);
bool avxVnniKernel(const quant::Format &format, MatmulKernel &out);

} // namespace lowbit::runtime::kernels::x86

#endif // LOWBIT_RUNTIME_KERNELS_X86_X86AVX2MATMUL_H
