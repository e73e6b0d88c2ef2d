//===- Gptq.h - GPTQ: second-order error feedback into any lowbit format -*- C++ -*-===//
//
// GPTQ (Frantar et al. 2023; /work/shared/reference/ALGORITHMS.md section 4)
// for a linear layer with weight W [N, K] (rows = output channels, K = input
// channels, the packing axis) and a Hessian H [K, K], any positive multiple
// of X^T X over the layer's calibration inputs (CalibStats::gram).
//
// Output: exactly the bytes and side arrays the round-to-nearest quantizers
// produce for the format (quantizeUniform's UniformTensor; quantizeRows's
// packed blocks), so the compiler and the runtime use them unchanged. Only
// the codes differ from RTN's: the grid (every scale, min and zero point) is
// chosen first, by the RTN quantizer itself, and GPTQ then picks each code on
// that grid column by column, feeding the rounding error forward.
//
// Formats: every Int format (2..8 bits, per tensor / channel / group,
// symmetric, zero point or min), ternary, and the GGUF weight formats Q4_0,
// Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS,
// TQ1_0, TQ2_0. With H = I (no correlation between inputs) GPTQ makes no
// feedback and the result is byte-identical to quantizeUniform / quantizeRows
// (with the same options and importance), see docs/CALIBRATION.md for the one
// exception (legacy formats with importance).
//
// Usage, once per distinct input, then once per weight reading it:
//
//   GptqHessian h;
//   prepareGptqHessian(stats.gram.data(), K, options, h);      // O(K^3 / 6)
//   gptqQuantize(format, W, N, K, h, options, nullptr, result); // O(N K^2 / 2)
//
// Plain C++, no exceptions.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_GPTQ_H
#define LOWBIT_QUANT_GPTQ_H

#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/Status.h"
#include "lowbit/Quant/Uniform.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::quant {

struct GptqOptions {
  /// Damping lambda = dampPercent * mean(diag H) added to the diagonal
  /// (GPTQ's percdamp; 0.01 = 1 %). When the damped H is still not positive
  /// definite, lambda is multiplied by 10 (at most twice, up to 100 % of the
  /// mean diagonal) and GptqHessian::warning says so; beyond that it is an
  /// error. 0 is allowed for a positive definite H.
  double dampPercent = 0.01;
  /// Quantize columns in order of decreasing H_jj (GPTQ's act-order,
  /// "desc_act"). With per-group scales this needs staticGroups (lowbit's
  /// formats have no g_idx to store permuted groups).
  bool actOrder = true;
  /// Columns per lazy batch (GPTQ's blocksize). A cache blocking only: the
  /// codes do not depend on it except through float rounding. With dynamic
  /// groups it is rounded to a multiple of the group (or block) length.
  int64_t blockSize = 128;
  /// true: every scale (group or block) is chosen from the original W before
  /// the sweep, as RTN would. false: each group's (block's) scale is chosen
  /// from the error-updated weights when the sweep reaches its first column
  /// (GPTQ without --static-groups); needs actOrder = false. Per-channel and
  /// per-tensor scales are always chosen up front.
  bool staticGroups = true;
  /// Also measure tr((W - Q) H (W - Q)^T) for the RTN and the GPTQ result
  /// (GptqReport::lossRtn, lossGptq); costs about as much as the sweep.
  bool measureLoss = true;
  /// Threads over rows (and for the factorization); 0: all cores. The result
  /// does not depend on the thread count.
  int threads = 1;
  /// How Int and ternary scales are chosen (the RTN quantizer's own search:
  /// scale type, clipping candidates). Its `threads` is ignored.
  UniformOptions uniform;
};

/// H prepared for the sweep: dead columns fixed, act-order permutation,
/// damping and the factorization. Depends only on H and on
/// (dampPercent, actOrder); share it between the weights that read the same
/// input (q/k/v, gate/up).
struct GptqHessian {
  int64_t columns = 0;
  /// order[i]: the original column quantized i-th (identity without act-order).
  std::vector<int64_t> order;
  /// Per original column: H_jj was 0 (the input is always zero). GPTQ sets
  /// H_jj = 1 and the weight column to 0 before quantizing, as the reference.
  std::vector<uint8_t> dead;
  int64_t deadCount = 0;
  /// T, upper triangular [K, K] in quantization order, with
  /// P^T (H + lambda I) P / mean(diag H) = T T^T (see docs/CALIBRATION.md:
  /// T = U^-1 for GPTQ's U = chol(H^-1)^T, so one factorization replaces
  /// three; GPTQ does not depend on the scale of H).
  std::vector<float> factor;
  /// H as given, fp32 [K, K], for the proxy loss.
  std::vector<float> hessian;
  double dampPercentUsed = 0; ///< after any increase
  double lambda = 0;          ///< the value added to H's diagonal (in H's units)
  bool actOrder = true;
  double dampPercentRequested = 0.01;
  /// Non-empty when damping had to be raised (says from what to what and why).
  std::string warning;
};

/// Prepares H ([K, K] row-major, symmetric; the factorization reads
/// (H + H^T) / 2). Fails on NaN or Inf, a negative diagonal entry, K <= 0, a
/// negative or non-finite dampPercent, or an H that is not positive definite
/// even at 100 % damping.
Status prepareGptqHessian(const double *hessian, int64_t columns, const GptqOptions &options, GptqHessian &out);

struct GptqReport {
  /// tr((W - Q) H (W - Q)^T) with H as given (undamped) and W as given, for
  /// the round-to-nearest result and for GPTQ's. NaN when not measured.
  double lossRtn = 0, lossGptq = 0;
  /// sum of (W - Q)^2 for each, a plain weight-space comparison.
  double weightErrorRtn = 0, weightErrorGptq = 0;
  double dampPercentUsed = 0;
  int64_t deadColumns = 0;
  std::string warning; ///< GptqHessian::warning
};

struct GptqResult {
  /// Int and ternary formats: codes and side arrays laid out exactly as
  /// quantizeUniform's. Block formats: `codes` holds the packed blocks as
  /// quantizeRows writes them (rows * rowBytes bytes), side arrays empty.
  UniformTensor tensor;
  GptqReport report;
};

/// Quantizes W ([rows, columns] row-major, columns == hessian.columns) into
/// `format`. `importance` (null or `columns` non-negative weights, e.g.
/// CalibStats::meanSquare) is passed to the RTN quantizer that chooses the
/// grid. Fails on a format GPTQ cannot write (codebook, Q8_1, Q8_K), a row
/// length the format does not divide, NaN/Inf weights, weights too large for
/// the format, actOrder with dynamic groups, or options that differ from
/// those `hessian` was prepared with (dampPercent, actOrder).
Status gptqQuantize(const Format &format, const float *weight, int64_t rows, int64_t columns,
                    const GptqHessian &hessian, const GptqOptions &options, const float *importance,
                    GptqResult &out);

/// prepareGptqHessian then gptqQuantize.
Status gptqQuantize(const Format &format, const float *weight, int64_t rows, int64_t columns, const double *hessian,
                    const GptqOptions &options, const float *importance, GptqResult &out);

/// Decodes `tensor` in `format` to floats, whichever family it is
/// (dequantizeUniform or dequantizeRows).
Status gptqDequantize(const Format &format, const UniformTensor &tensor, int64_t rows, int64_t columns, float *dst);

/// tr(D H D^T) for D = a - b ([rows, columns]) and H [columns, columns]
/// fp32 row-major (its symmetric part is what counts), summed in double per
/// row and then over rows in order, so the result does not depend on
/// `threads`. The proxy loss of GPTQ and AWQ.
double quadraticLoss(const float *a, const float *b, int64_t rows, int64_t columns, const float *hessian,
                     int threads);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_GPTQ_H
