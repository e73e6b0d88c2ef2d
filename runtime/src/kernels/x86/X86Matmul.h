//===- X86Matmul.h - AVX-512 VNNI matmul kernels ---------------*- C++ -*-===//
//
// Fast row kernels for selectMatmulKernel on x86-64. They are compiled with
// per-function target attributes, so the runtime builds for (and runs on)
// any x86-64; selectKernel offers them only when cpuid reports every
// feature they use (AVX-512 F/BW/VL/DQ, VNNI, VBMI, F16C, BMI2).
//
// How they compute (DESIGN.md "Kernels"):
//   - once per call, each activation row is quantized to int8 per 32-block
//     (d = max|x| / 127, q = round(x / d), as llama.cpp's Q8_0 activations),
//     and laid out the way the format's unpacked weights come out of
//     registers (prepare);
//   - the weights are streamed one row at a time, unpacked in registers to
//     unsigned 8-bit codes u, and multiplied with VPDPBUSD; each 128-bit lane
//     of an accumulator holds one block (or sub-block), so the weight and
//     activation scales are applied per lane, and a format's fixed offset
//     (q - 8, q - 32, ...) is folded into the accumulator's initial value
//     (-offset * sum of the block's int8 activations); mins and zero points
//     are applied in float against the exact sum of x over the block;
//   - one horizontal sum per output.
//
// Accuracy: the only error beyond float rounding is the activation rounding,
// |x - d q| <= d / 2 = max|x_b| / 254 per element of block b, so
//   |y - y_exact| <= sum_b (max|x_b| / 254) * sum_{k in b} |w_k|
// plus float rounding of the block sums (each int32 dot is exact).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_X86_X86MATMUL_H
#define LOWBIT_RUNTIME_KERNELS_X86_X86MATMUL_H

#include "kernels/Matmul.h"

namespace lowbit::runtime::kernels::x86 {

/// Fills `out` with a tuned kernel for `format` on this CPU and returns
/// true, or returns false (the portable kernel then runs). For now the
/// tuned kernels are used only when enabled (LOWBIT_MATMUL_KERNELS=tuned in
/// the environment, or setTunedKernelsEnabled(true)); see
/// docs/PERFORMANCE.md, "Numerics".
bool selectKernel(const quant::Format &format, MatmulKernel &out);

/// Turns the tuned kernels off (the portable ones run) or back on, for the
/// whole process; the initial state comes from LOWBIT_MATMUL_KERNELS
/// ("tuned": on; anything else or unset: off).
void setTunedKernelsEnabled(bool enabled);

/// True when this CPU has every feature the AVX-512 VNNI kernels use.
bool hasAvx512Vnni();

/// The tuned kernel for `format` regardless of LOWBIT_MATMUL_KERNELS (for
/// tests and benchmarks); false when there is none for this format or CPU.
bool tunedKernel(const quant::Format &format, MatmulKernel &out);

} // namespace lowbit::runtime::kernels::x86

#endif // LOWBIT_RUNTIME_KERNELS_X86_X86MATMUL_H
