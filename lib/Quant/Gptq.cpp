//===- Gptq.cpp - GPTQ: second-order error feedback into any lowbit format -===//
//
// The sweep, in the notation of ALGORITHMS.md section 4. GPTQ proper
// quantizes column i of the (permuted) weight, then updates the later
// columns with w_j -= e_i U_ij, e_i = (w_i - q_i) / U_ii, where U is the
// upper Cholesky factor of H^-1 (H^-1 = U^T U). Unrolling that recursion
// gives, with d_k = w0_k - q_k the final error of column k against the
// ORIGINAL weight w0 and T = U^-1 (upper, H = T T^T):
//
//   w_i = w0_i + (sum_{k < i} d_k T_ki) / T_ii
//
// (QuIP's LDLQ form of the same algorithm). lowbit computes that: T comes from
// one Cholesky factorization of the reversed H (T = J chol(J H J) J), where
// GPTQ's reference factors H, inverts it and factors the inverse. The sums
// f_i = sum_k d_k T_ki are accumulated exactly like GPTQ's lazy batches: the
// columns of the current block eagerly, the later columns once per block by
// one matrix product (Err x U[block, rest] there, D x T[block, rest] here).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quant/Gptq.h"
#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Parallel.h"

#include "DenseKernels.h"
#include "GptqGrid.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

namespace lowbit::quant {
namespace {

using detail::Grid;
using detail::GridParams;

std::string formatFloat(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

std::string percent(double fraction) { return formatFloat(fraction * 100) + "%"; }

/// The zero point the Int/ternary decoder uses for side entry `e`.
int32_t zeroPointOf(const Format &f, const UniformTensor &t, size_t e) {
  if (f.kind == FormatKind::Ternary)
    return 1;
  if (f.offset == Offset::ZeroPoint)
    return t.zeroPoints[e];
  if (f.offset == Offset::None)
    return 1 << (f.bits - 1);
  return 0;
}

/// The whole quantization state of the rows: packed output, the grid of each
/// run of weights, and the codes (unpacked, in original column order).
struct State {
  const Format &format;
  const Grid &grid;
  int64_t rows, columns;
  int64_t runsPerRow;
  UniformTensor &out;          ///< codes (block formats: packed blocks) and side arrays
  std::vector<GridParams> params; ///< rows x runsPerRow
  std::vector<uint8_t> codes;     ///< rows x columns
  const float *importance;
  UniformOptions uniform;
  int64_t rowBytes_ = 0; ///< block formats: packed bytes per row
};

/// Block formats: params and codes of row `r`'s blocks [b0, b1) from the
/// values they were quantized from (`x`: those blocks' weights).
void readBlocks(State &st, int64_t r, int64_t b0, int64_t b1, const float *x) {
  const Grid &g = st.grid;
  const int64_t runsPerBlock = g.blockSize / g.runLength;
  for (int64_t b = b0; b < b1; ++b) {
    const uint8_t *block = st.out.codes.data() + r * st.rowBytes_ + b * g.bytesPerBlock;
    const float *xb = x + (b - b0) * g.blockSize;
    const float *qw = st.importance ? st.importance + b * g.blockSize : nullptr;
    detail::blockParams(g, xb, qw, block, st.params.data() + r * st.runsPerRow + b * runsPerBlock);
    detail::unpackBlockCodes(g, block, st.codes.data() + r * st.columns + b * g.blockSize);
  }
}

/// Int / ternary: params of row `r`'s groups [g0, g1) from the side arrays
/// (every Int code is a function of the weight, so no codes are kept).
void readGroups(State &st, int64_t r, int64_t g0, int64_t g1) {
  const bool perTensor = st.format.granularity == Granularity::Tensor;
  for (int64_t gi = g0; gi < g1; ++gi) {
    const size_t e = perTensor ? 0 : static_cast<size_t>(r * st.runsPerRow + gi);
    st.params[r * st.runsPerRow + gi] = detail::uniformParams(
        st.grid, st.out.scales[e], zeroPointOf(st.format, st.out, e), st.out.mins.empty() ? 0.f : st.out.mins[e]);
  }
}

/// Chooses the grid of all rows from `w` (rows x columns) with the RTN
/// quantizer, and starts the codes from RTN's.
Status fitStatic(State &st, const float *w, int threads) {
  const Grid &g = st.grid;
  if (g.block) {
    st.out.codes.assign(st.rows * st.rowBytes_, 0);
    if (Status s = quantizeRowsParallel(g.type, w, st.out.codes.data(), st.rows, st.columns, st.importance, threads);
        s.failed())
      return s;
    return parallelFor(st.rows, threads, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        readBlocks(st, r, 0, st.columns / g.blockSize, w + r * st.columns);
      return Status::ok();
    });
  }
  UniformOptions o = st.uniform;
  o.threads = threads;
  if (Status s = quantizeUniform(st.format, w, st.rows, st.columns, o, st.importance, st.out); s.failed())
    return s;
  const int64_t bytes = packedRowBytes(st.format, st.columns);
  for (int64_t r = 0; r < st.rows; ++r) {
    unpackCodes(st.out.codes.data() + r * bytes, st.columns, g.codeBits, st.codes.data() + r * st.columns);
    readGroups(st, r, 0, st.runsPerRow);
  }
  return Status::ok();
}

/// Dynamic groups: fits row `r`'s group (or block) starting at `column` on
/// the current, error-updated weights `x` (`length` of them).
Status fitDynamic(State &st, int64_t r, int64_t column, int64_t length, const float *x) {
  const Grid &g = st.grid;
  const float *qw = st.importance ? st.importance + column : nullptr;
  if (g.block) {
    const int64_t b0 = column / g.blockSize, b1 = (column + length) / g.blockSize;
    uint8_t *dst = st.out.codes.data() + r * st.rowBytes_ + b0 * g.bytesPerBlock;
    if (Status s = quantizeRows(g.type, x, dst, 1, length, qw); s.failed())
      return s;
    readBlocks(st, r, b0, b1, x);
    return Status::ok();
  }
  UniformTensor t;
  UniformOptions o = st.uniform;
  o.threads = 1;
  if (Status s = quantizeUniform(st.format, x, 1, length, o, qw, t); s.failed())
    return s;
  const int64_t groups = (length + g.runLength - 1) / g.runLength, g0 = column / g.runLength;
  for (int64_t i = 0; i < groups; ++i) {
    const size_t e = static_cast<size_t>(r * st.runsPerRow + g0 + i);
    st.out.scales[e] = t.scales[i];
    if (!st.out.zeroPoints.empty())
      st.out.zeroPoints[e] = t.zeroPoints[i];
    if (!st.out.mins.empty())
      st.out.mins[e] = t.mins[i];
  }
  readGroups(st, r, g0, g0 + groups);
  return Status::ok();
}

/// GPTQ over rows [r0, r1) of w0 (dead columns already zero).
Status sweepRows(State &st, const GptqHessian &h, const float *w0, int64_t r0, int64_t r1, int64_t blockSize,
                 int64_t dynamicLength) {
  const int64_t n = r1 - r0, k = st.columns;
  const std::vector<int64_t> &order = h.order;
  const float *t = h.factor.data();
  std::vector<float> diag(k);
  for (int64_t i = 0; i < k; ++i)
    diag[i] = t[i * k + i];
  std::vector<float> w(n * k), f(n * k, 0.f), d(n * blockSize), current(dynamicLength);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i)
      w[r * k + i] = w0[(r0 + r) * k + order[i]];
  const Grid &g = st.grid;
  for (int64_t i1 = 0; i1 < k; i1 += blockSize) {
    const int64_t i2 = std::min(k, i1 + blockSize), width = i2 - i1;
    for (int64_t r = 0; r < n; ++r) {
      const int64_t row = r0 + r;
      float *wr = w.data() + r * k, *fr = f.data() + r * k, *dr = d.data() + r * blockSize;
      GridParams *params = st.params.data() + row * st.runsPerRow;
      uint8_t *codes = st.codes.data() + row * k;
      for (int64_t i = i1; i < i2; ++i) {
        const int64_t col = order[i];
        if (dynamicLength && col % dynamicLength == 0) {
          // Without act-order col == i, and the group lies in this block (a
          // short last group ends the row).
          const int64_t length = std::min(dynamicLength, k - col);
          for (int64_t j = 0; j < length; ++j)
            current[j] = wr[i + j] + fr[i + j] / diag[i + j];
          if (Status s = fitDynamic(st, row, col, length, current.data()); s.failed())
            return s.context("row " + std::to_string(row) + ", columns " + std::to_string(col) + ".." +
                             std::to_string(col + length - 1));
        }
        const float x = wr[i] + fr[i] / diag[i];
        const GridParams &p = params[col / g.runLength];
        const int code = p.keep ? codes[col] : detail::encodeOnGrid(g, p, x);
        codes[col] = static_cast<uint8_t>(code);
        const float err = wr[i] - detail::decodeOnGrid(g, p, code);
        dr[i - i1] = err;
        const float *ti = t + i * k;
        for (int64_t j = i + 1; j < i2; ++j)
          fr[j] = fr[j] + err * ti[j];
      }
    }
    if (i2 < k)
      detail::gemmAccumulate(n, width, k - i2, d.data(), blockSize, t + i1 * k + i2, k, f.data() + i2, k);
  }
  return Status::ok();
}

/// Writes the codes into the packed output (block formats keep their scale
/// fields; Int codes are packed afresh).
void packAll(State &st, int threads) {
  const Grid &g = st.grid;
  Status s = parallelFor(st.rows, threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t *codes = st.codes.data() + r * st.columns;
      if (g.block) {
        for (int64_t b = 0; b < st.columns / g.blockSize; ++b)
          detail::packBlockCodes(g, codes + b * g.blockSize,
                                 st.out.codes.data() + r * st.rowBytes_ + b * g.bytesPerBlock);
      } else {
        const int64_t bytes = packedRowBytes(st.format, st.columns);
        packCodes(codes, st.columns, g.codeBits, st.out.codes.data() + r * bytes);
      }
    }
    return Status::ok();
  });
  (void)s;
}

Status rtnQuantize(const Format &f, const Grid &g, const float *w, int64_t rows, int64_t columns,
                   const UniformOptions &uniform, const float *importance, int threads, UniformTensor &out) {
  if (g.block) {
    out = UniformTensor();
    out.codes.assign(rows * rowBytes(g.type, columns), 0);
    return quantizeRowsParallel(g.type, w, out.codes.data(), rows, columns, importance, threads);
  }
  UniformOptions o = uniform;
  o.threads = threads;
  return quantizeUniform(f, w, rows, columns, o, importance, out);
}

double sumSquaredDifference(const float *a, const float *b, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double diff = static_cast<double>(a[i]) - b[i];
    sum += diff * diff;
  }
  return sum;
}

} // namespace

Status prepareGptqHessian(const double *hessian, int64_t k, const GptqOptions &o, GptqHessian &out) {
  if (k <= 0)
    return Status::error("GPTQ: the Hessian needs at least one column, got " + std::to_string(k));
  if (!hessian)
    return Status::error("GPTQ: no Hessian");
  if (!(o.dampPercent >= 0) || !std::isfinite(o.dampPercent))
    return Status::error("GPTQ: dampPercent must be a non-negative number, got " + formatFloat(o.dampPercent));
  for (int64_t i = 0; i < k * k; ++i)
    if (!std::isfinite(hessian[i]))
      return Status::error("GPTQ: Hessian entry (" + std::to_string(i / k) + ", " + std::to_string(i % k) +
                           ") is " + (std::isnan(hessian[i]) ? "NaN" : "Inf"));
  for (int64_t j = 0; j < k; ++j)
    if (hessian[j * k + j] < 0)
      return Status::error("GPTQ: Hessian diagonal entry " + std::to_string(j) + " is negative (" +
                           formatFloat(hessian[j * k + j]) + "); H must be a Gram matrix X^T X");
  out = GptqHessian();
  out.columns = k;
  out.actOrder = o.actOrder;
  out.dampPercentRequested = o.dampPercent;
  // Symmetrize; dead inputs (H_jj = 0) get H_jj = 1 and no coupling.
  std::vector<double> hs(k * k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      hs[i * k + j] = 0.5 * (hessian[i * k + j] + hessian[j * k + i]);
  out.dead.assign(k, 0);
  for (int64_t j = 0; j < k; ++j) {
    if (hs[j * k + j] != 0)
      continue;
    out.dead[j] = 1;
    ++out.deadCount;
    for (int64_t i = 0; i < k; ++i)
      hs[i * k + j] = hs[j * k + i] = 0;
    hs[j * k + j] = 1;
  }
  out.order.resize(k);
  std::iota(out.order.begin(), out.order.end(), 0);
  if (o.actOrder)
    std::sort(out.order.begin(), out.order.end(), [&](int64_t a, int64_t b) { // ties: lower column first
      const double da = hs[a * k + a], db = hs[b * k + b];
      return da > db || (da == db && a < b);
    });
  double meanDiag = 0;
  for (int64_t j = 0; j < k; ++j)
    meanDiag += hs[j * k + j];
  meanDiag /= k;
  // GPTQ does not depend on the scale of H: factor H / mean(diag H), so that
  // T is O(1) in fp32 whatever the activations' magnitude (and lambda is
  // just dampPercent).
  for (double &v : hs)
    v /= meanDiag;
  // Factor the damped, permuted H in reversed order: J P^T H P J = R^T R.
  std::vector<double> a(k * k);
  double pct = o.dampPercent;
  int64_t failedAt = -1;
  for (int attempt = 0;; ++attempt) {
    const double lambda = pct;
    for (int64_t i = 0; i < k; ++i) {
      const int64_t oi = out.order[k - 1 - i];
      for (int64_t j = i; j < k; ++j)
        a[i * k + j] = hs[oi * k + out.order[k - 1 - j]];
      a[i * k + i] += lambda;
    }
    const int64_t pivot = detail::choleskyUpperInPlace(a.data(), k, o.threads);
    if (pivot < 0) {
      out.lambda = lambda * meanDiag;
      out.dampPercentUsed = pct;
      break;
    }
    if (attempt == 0)
      failedAt = out.order[k - 1 - pivot];
    const double next = pct > 0 ? pct * 10 : 0.01;
    if (next > 1.0 + 1e-9)
      return Status::error("GPTQ: the Hessian is not positive definite even with damping " + percent(pct) +
                           " of its mean diagonal (" + formatFloat(meanDiag) + "); first failure at column " +
                           std::to_string(failedAt));
    pct = next;
  }
  if (out.dampPercentUsed != o.dampPercent)
    out.warning = "GPTQ: the Hessian is not positive definite with damping " + percent(o.dampPercent) +
                  " (Cholesky failed at column " + std::to_string(failedAt) + "); damping raised to " +
                  percent(out.dampPercentUsed);
  // T = J R^T J: T[a][b] = R[k-1-b][k-1-a] for b >= a.
  out.factor.assign(k * k, 0.f);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = r; c < k; ++c)
      out.factor[(k - 1 - c) * k + (k - 1 - r)] = static_cast<float>(a[r * k + c]);
  out.hessian.resize(k * k);
  for (int64_t i = 0; i < k * k; ++i)
    out.hessian[i] = static_cast<float>(hessian[i]);
  return Status::ok();
}

double quadraticLoss(const float *a, const float *b, int64_t rows, int64_t columns, const float *hessian,
                     int threads) {
  // d H d^T = 2 d S d^T with S the upper triangle of (H + H^T) / 2, its
  // diagonal halved: half the multiply-adds of the full product. Column chunk
  // [j0, j1) of d S only needs rows i < j1 of S.
  constexpr int64_t kRowsPerPass = 64, kChunk = 256;
  const int64_t k = columns;
  std::vector<float> upper(k * k, 0.f);
  for (int64_t i = 0; i < k; ++i) {
    upper[i * k + i] = 0.5f * hessian[i * k + i];
    for (int64_t j = i + 1; j < k; ++j)
      upper[i * k + j] = 0.5f * (hessian[i * k + j] + hessian[j * k + i]);
  }
  // Per-row sums, added in row order: the total does not depend on threads.
  std::vector<double> perRow(rows, 0.0);
  Status s = parallelFor(rows, threads, [&](int64_t rBegin, int64_t rEnd) {
    std::vector<float> d(kRowsPerPass * k), y(kRowsPerPass * k);
    for (int64_t r0 = rBegin; r0 < rEnd; r0 += kRowsPerPass) {
      const int64_t m = std::min(kRowsPerPass, rEnd - r0);
      for (int64_t i = 0; i < m * k; ++i)
        d[i] = a[r0 * k + i] - b[r0 * k + i];
      std::fill(y.begin(), y.begin() + m * k, 0.f);
      for (int64_t j0 = 0; j0 < k; j0 += kChunk) {
        const int64_t j1 = std::min(k, j0 + kChunk);
        detail::gemmAccumulate(m, j1, j1 - j0, d.data(), k, upper.data() + j0, k, y.data() + j0, k);
      }
      for (int64_t r = 0; r < m; ++r) {
        double sum = 0;
        for (int64_t j = 0; j < k; ++j)
          sum += static_cast<double>(d[r * k + j]) * y[r * k + j];
        perRow[r0 + r] = 2 * sum;
      }
    }
    return Status::ok();
  });
  (void)s;
  double total = 0;
  for (double v : perRow)
    total += v;
  return total;
}

Status gptqDequantize(const Format &f, const UniformTensor &t, int64_t rows, int64_t columns, float *dst) {
  if (isBlockFormat(f.kind)) {
    const std::optional<GgmlType> type = ggmlTypeOf(f.kind);
    if (!type)
      return Status::error("cannot decode " + toString(f));
    if (t.codes.size() != static_cast<size_t>(rows * rowBytes(*type, columns)))
      return Status::error("decode " + toString(f) + ": " + std::to_string(t.codes.size()) +
                           " bytes do not match " + std::to_string(rows) + " rows of " + std::to_string(columns));
    return dequantizeRows(*type, t.codes.data(), dst, rows, columns);
  }
  return dequantizeUniform(f, t, rows, columns, dst);
}

Status gptqQuantize(const Format &f, const float *weight, int64_t rows, int64_t columns, const GptqHessian &h,
                    const GptqOptions &o, const float *importance, GptqResult &result) {
  const std::string what = "GPTQ " + toString(f);
  if (rows <= 0 || columns <= 0)
    return Status::error(what + ": the weight must have at least one row and column, got " + std::to_string(rows) +
                         " x " + std::to_string(columns));
  if (!weight)
    return Status::error(what + ": no weight");
  if (h.columns != columns)
    return Status::error(what + ": the Hessian has " + std::to_string(h.columns) + " columns, the weight " +
                         std::to_string(columns));
  if (h.actOrder != o.actOrder || h.dampPercentRequested != o.dampPercent)
    return Status::error(what + ": the Hessian was prepared with other options (actOrder " +
                         (h.actOrder ? "on" : "off") + ", damping " + percent(h.dampPercentRequested) + ")");
  if (o.blockSize <= 0)
    return Status::error(what + ": blockSize must be positive, got " + std::to_string(o.blockSize));
  Grid g;
  if (Status s = detail::makeGrid(f, columns, importance != nullptr, g); s.failed())
    return s.context(what);
  const bool grouped = g.block || f.granularity == Granularity::Group;
  const bool dynamic = !o.staticGroups && grouped;
  if (dynamic && o.actOrder)
    return Status::error(what + ": act-order with per-group scales needs static groups (staticGroups): lowbit's "
                                "formats store groups of consecutive columns, with no g_idx");
  for (int64_t i = 0; i < rows * columns; ++i)
    if (!std::isfinite(weight[i]))
      return Status::error(what + ": weight row " + std::to_string(i / columns) + ", column " +
                           std::to_string(i % columns) + " is " + (std::isnan(weight[i]) ? "NaN" : "Inf"));
  // GPTQ zeroes the weights of dead inputs.
  std::vector<float> zeroed;
  const float *w0 = weight;
  if (h.deadCount > 0) {
    zeroed.assign(weight, weight + rows * columns);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < columns; ++j)
        if (h.dead[j])
          zeroed[r * columns + j] = 0.f;
    w0 = zeroed.data();
  }
  result = GptqResult();
  UniformTensor &out = result.tensor;
  State st{f, g, rows, columns, (columns + g.runLength - 1) / g.runLength, out, {}, {}, importance, o.uniform};
  st.rowBytes_ = g.block ? rowBytes(g.type, columns) : 0;
  st.params.resize(rows * st.runsPerRow);
  st.codes.assign(rows * columns, 0);
  int64_t blockSize = o.blockSize, dynamicLength = 0;
  if (dynamic) {
    dynamicLength = g.block ? g.blockSize : f.groupSize;
    blockSize = std::max<int64_t>(1, blockSize / dynamicLength) * dynamicLength;
    if (g.block) {
      out.codes.assign(rows * st.rowBytes_, 0);
    } else {
      // Allocate the side arrays; every group is fitted during the sweep.
      const int64_t entries = rows * st.runsPerRow;
      out.codes.assign(rows * packedRowBytes(f, columns), 0);
      out.scales.assign(entries, 0.f);
      out.zeroPoints.assign(f.offset == Offset::ZeroPoint ? entries : 0, 0);
      out.mins.assign(f.offset == Offset::Min ? entries : 0, 0.f);
    }
  } else if (Status s = fitStatic(st, w0, o.threads); s.failed()) {
    return s.context(what);
  }
  // Static grid on the weights as given: that is the RTN result, before the
  // sweep changes its codes.
  std::optional<UniformTensor> rtn;
  if (o.measureLoss && !dynamic && h.deadCount == 0)
    rtn = out;
  // Pieces of rows small enough that their working copies stay in cache.
  constexpr int64_t kPiece = 128;
  Status s = parallelFor(rows, o.threads, [&](int64_t r0, int64_t r1) {
    for (int64_t p = r0; p < r1; p += kPiece)
      if (Status piece = sweepRows(st, h, w0, p, std::min(r1, p + kPiece), blockSize, dynamicLength); piece.failed())
        return piece;
    return Status::ok();
  });
  if (s.failed())
    return s.context(what);
  packAll(st, o.threads);
  GptqReport &report = result.report;
  report.dampPercentUsed = h.dampPercentUsed;
  report.deadColumns = h.deadCount;
  report.warning = h.warning;
  report.lossRtn = report.lossGptq = NAN;
  report.weightErrorRtn = report.weightErrorGptq = NAN;
  if (o.measureLoss) {
    std::vector<float> q(rows * columns), qr(rows * columns);
    if (Status d = gptqDequantize(f, out, rows, columns, q.data()); d.failed())
      return d.context(what);
    if (!rtn) {
      rtn.emplace();
      if (Status r = rtnQuantize(f, g, weight, rows, columns, o.uniform, importance, o.threads, *rtn); r.failed())
        return r.context(what + " (round to nearest)");
    }
    if (Status d = gptqDequantize(f, *rtn, rows, columns, qr.data()); d.failed())
      return d.context(what);
    report.lossGptq = quadraticLoss(weight, q.data(), rows, columns, h.hessian.data(), o.threads);
    report.lossRtn = quadraticLoss(weight, qr.data(), rows, columns, h.hessian.data(), o.threads);
    report.weightErrorGptq = sumSquaredDifference(weight, q.data(), rows * columns);
    report.weightErrorRtn = sumSquaredDifference(weight, qr.data(), rows * columns);
  }
  return Status::ok();
}

Status gptqQuantize(const Format &f, const float *weight, int64_t rows, int64_t columns, const double *hessian,
                    const GptqOptions &o, const float *importance, GptqResult &out) {
  GptqHessian h;
  if (Status s = prepareGptqHessian(hessian, columns, o, h); s.failed())
    return s;
  return gptqQuantize(f, weight, rows, columns, h, o, importance, out);
}

} // namespace lowbit::quant
