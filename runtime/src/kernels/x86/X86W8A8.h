//===- X86W8A8.h - W8A8 kernels: AVX-512 VNNI and AVX2 ---------*- C++ -*-===//
//
// Row kernels for the Int8PerToken formats (kernels/MatmulW8A8.h has the
// numerics). Both compute the int32 sums exactly, so they give the same
// bits as the portable kernel:
//   - AVX-512 VNNI: VPDPBUSD of the unsigned codes c = w_q + 128 by the
//     signed activations, less 128 * sum(q) per activation row;
//   - AVX2: VPMADDUBSW of |w_q| by q carrying w_q's sign (each 16-bit pair
//     sum is at most 2 * 127 * 127 = 32258: it never saturates), then
//     VPMADDWD into int32.
// Tiles of 4 weight rows by 4 activation rows share each load. Compiled with
// per-function target attributes; offered only when cpuid has the features.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_X86_X86W8A8_H
#define LOWBIT_RUNTIME_KERNELS_X86_X86W8A8_H

#include "kernels/Matmul.h"

namespace lowbit::runtime::kernels::x86 {

/// The AVX-512 VNNI W8A8 row kernel; false when the CPU lacks it.
bool w8a8Avx512Kernel(MatmulKernel &out);
/// The AVX2 W8A8 row kernel; false when the CPU lacks it.
bool w8a8Avx2Kernel(MatmulKernel &out);

} // namespace lowbit::runtime::kernels::x86

#endif // LOWBIT_RUNTIME_KERNELS_X86_X86W8A8_H
