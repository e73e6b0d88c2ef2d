//===- X86Matmul.h - AVX-512 VNNI matmul kernels ---------------*- C++ -*-===//
//
// Fast row kernels for selectMatmulKernel on x86-64. They are compiled with
// per-function target attributes, so the runtime builds for (and runs on)
// any x86-64; selectKernel offers them only when cpuid reports every
// feature they use (AVX-512 F/BW/VL/DQ, VNNI, VBMI, F16C, BMI2), and
// otherwise the 256-bit ones of X86Avx2Matmul.h (AVX2 + FMA + F16C, with
// AVX-VNNI where present). They are on by default; LOWBIT_MATMUL_KERNELS
// picks a family or the portable kernel (KernelChoice below).
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
//     are applied in float against the exact sum of x over the block,
//     except Q2_K's, which change every 16 weights: they go with the int8
//     sums of the rounded activations (so the bound below uses all of w);
//   - one horizontal sum per output.
//
// Accuracy: the only error beyond float rounding is the activation rounding,
// |x - d q| <= d / 2 = max|x_b| / 254 per element of block b, so
//   |y - y_exact| <= sum_b (max|x_b| / 254) * sum_{k in b} |c_k|
// plus float rounding of the block sums (each int32 dot is exact), where
// c_k is the part of w_k multiplied by the rounded activation: w_k minus
// its min or zero-point term where that is applied against exact sums
// (it can exceed |w_k|; test::codeParts), else w_k.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RUNTIME_KERNELS_X86_X86MATMUL_H
#define LOWBIT_RUNTIME_KERNELS_X86_X86MATMUL_H

#include "kernels/Matmul.h"

#include <string_view>

namespace lowbit::runtime::kernels::x86 {

/// The x86 kernel families, fastest first. Each needs its CPU features
/// (hasIsa); a family may lack a kernel for some formats.
enum class Isa {
  Avx512Vnni, ///< 512-bit VPDPBUSD (this file's kernels)
  AvxVnni,    ///< 256-bit, VPDPBUSD ymm (AVX-VNNI), X86Avx2Matmul.h
  Avx2,       ///< 256-bit, VPMADDUBSW + VPMADDWD (AVX2 + FMA + F16C)
};

/// What selectKernel offers (LOWBIT_MATMUL_KERNELS): the fastest family this
/// CPU has a kernel for (Best: unset, "tuned", "auto"), one family only
/// ("avx512", "avxvnni", "avx2": the portable kernel where that family has
/// none or the CPU lacks it), or the portable kernel ("portable", which is
/// exact to float rounding; the others round x to int8).
enum class KernelChoice { Best, Avx512Vnni, AvxVnni, Avx2, Portable };

/// Fills `out` with the x86 kernel for `format` that the current choice
/// allows on this CPU and returns true, or returns false (the portable
/// kernel then runs). See docs/PERFORMANCE.md, "Numerics".
bool selectKernel(const quant::Format &format, MatmulKernel &out);

/// The same under an artifact's limit (kernelLimitForCpu): with the choice
/// Best, the fastest family this CPU has that is not above `limit` (Best:
/// no limit; Portable: none); an explicit LOWBIT_MATMUL_KERNELS family (or
/// setKernelChoice) wins over the limit.
bool selectKernel(const quant::Format &format, MatmulKernel &out, KernelChoice limit);

/// The most capable family code compiled for `cpu` (lowbit-compile --cpu,
/// as the artifact's manifest records it) may use: the families need
/// AVX-512 F/BW/VL/DQ + VNNI + VBMI, AVX2 + AVX-VNNI, or AVX2 (with FMA,
/// F16C, BMI2), so e.g. "x86-64-v3" and "znver3" give Avx2, "alderlake"
/// AvxVnni, "znver4" and "icelake-server" Avx512Vnni, "x86-64-v4" (no VNNI)
/// and "cascadelake" (no VBMI) Avx2, "x86-64" Portable. Best (no limit) for
/// names not in the table (the runtime then takes what the host has).
KernelChoice kernelLimitForCpu(std::string_view cpu);

/// Sets the choice for the whole process (tests, benchmarks); the initial
/// one comes from LOWBIT_MATMUL_KERNELS (unknown values: Best).
void setKernelChoice(KernelChoice choice);
KernelChoice kernelChoice();
/// The choice a LOWBIT_MATMUL_KERNELS value names (null: unset).
KernelChoice parseKernelChoice(const char *value);

/// Best (true) or Portable (false), for callers of the older switch.
void setTunedKernelsEnabled(bool enabled);

/// True when this CPU has every feature the family's kernels use.
bool hasIsa(Isa isa);
/// hasIsa(Isa::Avx512Vnni).
bool hasAvx512Vnni();

/// The family's kernel for `format` regardless of the choice (tests,
/// benchmarks); false when the family has none or the CPU lacks it.
bool isaKernel(Isa isa, const quant::Format &format, MatmulKernel &out);

/// The fastest x86 kernel for `format` on this CPU regardless of the choice.
bool tunedKernel(const quant::Format &format, MatmulKernel &out);

} // namespace lowbit::runtime::kernels::x86

#endif // LOWBIT_RUNTIME_KERNELS_X86_X86MATMUL_H
