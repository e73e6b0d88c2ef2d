//===- X86AvxVnniMatmul.cpp - AVX-VNNI matmul kernels (VPDPBUSD ymm) ===//
//
// X86Avx2Kernels.inc compiled for AVX2 + FMA + F16C + AVX-VNNI; see X86Avx2Matmul.h.
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
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi,bmi2,avxvnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2,avxvnni")
#endif

namespace avxvnni {
#define LOWBIT_X86_VNNI 1
#include "kernels/x86/X86Avx2Kernels.inc"
#undef LOWBIT_X86_VNNI
} // namespace avxvnni

bool avxVnniKernel(const Format &format, MatmulKernel &out) { return avxvnni::anyKernel(format, out); }

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else // not x86-64

bool avxVnniKernel(const Format &, MatmulKernel &) { return false; }

#endif

} // namespace lowbit::runtime::kernels::x86
