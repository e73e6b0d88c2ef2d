//===- X86Avx2Matmul.cpp - AVX2 matmul kernels (VPMADDUBSW) ===//
//
// X86Avx2Kernels.inc compiled for AVX2 + FMA + F16C; see X86Avx2Matmul.h.
//
//===----------------------------------------------------------------------===//

#include "kernels/x86/X86Avx2Matmul.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lowbit::runtime::kernels::x86 {

using quant::Format;
using quant::FormatKind;
using quant::Granularity;
using quant::Offset;

#if defined(__x86_64__)

// Everything below runs only after cpuid said yes (X86Matmul.cpp).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2")
#endif

namespace avx2 {
#define LOWBIT_X86_VNNI 0
#include "kernels/x86/X86Avx2Kernels.inc"
#undef LOWBIT_X86_VNNI
} // namespace avx2

bool avx2Kernel(const Format &format, MatmulKernel &out) { return avx2::anyKernel(format, out); }

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

bool detectAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
         __builtin_cpu_supports("bmi2");
}

bool detectAvxVnni() { return detectAvx2() && __builtin_cpu_supports("avxvnni"); }

#else // not x86-64

bool detectAvx2() { return false; }
bool detectAvxVnni() { return false; }
bool avx2Kernel(const Format &, MatmulKernel &) { return false; }

#endif

} // namespace lowbit::runtime::kernels::x86
