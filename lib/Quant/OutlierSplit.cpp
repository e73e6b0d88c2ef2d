//===- OutlierSplit.cpp - LLM.int8(): outlier input channels stay in float ===//

#include "lowbit/Quant/OutlierSplit.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace lowbit::quant {

std::vector<int64_t> selectOutlierChannels(const float *absMax, int64_t channels, float threshold) {
  std::vector<int64_t> outliers;
  for (int64_t j = 0; j < channels; ++j)
    if (absMax[j] >= threshold) // NaN is never an outlier; Inf always is
      outliers.push_back(j);
  return outliers;
}

Format outlierIntFormat() { return Format::integer(8); }

Status splitOutlierWeights(const float *w, int64_t rows, int64_t columns, const std::vector<int64_t> &outliers,
                           OutlierSplitWeights &out) {
  if (rows <= 0 || columns <= 0 || !w)
    return Status::error("LLM.int8() split: the weight must have at least one row and column");
  for (size_t i = 0; i < outliers.size(); ++i)
    if (outliers[i] < 0 || outliers[i] >= columns || (i > 0 && outliers[i] <= outliers[i - 1]))
      return Status::error("LLM.int8() split: outlier channel " + std::to_string(outliers[i]) +
                           " is out of range [0, " + std::to_string(columns) + ") or not in increasing order");
  for (int64_t i = 0; i < rows * columns; ++i)
    if (!std::isfinite(w[i]))
      return Status::error("LLM.int8() split: weight row " + std::to_string(i / columns) + ", column " +
                           std::to_string(i % columns) + " is " + (std::isnan(w[i]) ? "NaN" : "Inf"));
  std::vector<uint8_t> isOutlier(columns, 0);
  for (int64_t j : outliers)
    isOutlier[j] = 1;
  out = OutlierSplitWeights();
  out.rows = rows;
  out.columns = columns;
  out.outliers = outliers;
  const int64_t o = static_cast<int64_t>(outliers.size());
  out.floatPart.resize(rows * o);
  out.intPart.scales.assign(rows, 0.f);
  std::vector<uint8_t> codes(rows * columns, 128);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = w + r * columns;
    for (int64_t i = 0; i < o; ++i)
      out.floatPart[r * o + i] = row[outliers[i]];
    float cw = 0;
    for (int64_t j = 0; j < columns; ++j)
      if (!isOutlier[j])
        cw = std::max(cw, std::fabs(row[j]));
    out.intPart.scales[r] = cw / 127;
    if (cw == 0)
      continue;
    for (int64_t j = 0; j < columns; ++j)
      if (!isOutlier[j]) {
        const float q = std::nearbyint(127.f * row[j] / cw);
        codes[r * columns + j] = static_cast<uint8_t>(static_cast<int>(std::min(std::max(q, -127.f), 127.f)) + 128);
      }
  }
  const int64_t bytes = packedRowBytes(outlierIntFormat(), columns);
  out.intPart.codes.resize(rows * bytes);
  for (int64_t r = 0; r < rows; ++r)
    packCodes(codes.data() + r * columns, columns, 8, out.intPart.codes.data() + r * bytes);
  return Status::ok();
}

Status outlierSplitMatmul(const float *x, int64_t tokens, const OutlierSplitWeights &wt, float *y) {
  const int64_t rows = wt.rows, columns = wt.columns, o = static_cast<int64_t>(wt.outliers.size());
  if (wt.intPart.scales.size() != static_cast<size_t>(rows) ||
      wt.intPart.codes.size() != static_cast<size_t>(rows * columns) ||
      wt.floatPart.size() != static_cast<size_t>(rows * o))
    return Status::error("LLM.int8() matmul: the split weights are inconsistent");
  std::vector<uint8_t> isOutlier(columns, 0);
  for (int64_t j : wt.outliers)
    isOutlier[j] = 1;
  std::vector<int32_t> xq(columns);
  for (int64_t t = 0; t < tokens; ++t) {
    const float *xt = x + t * columns;
    float cx = 0;
    for (int64_t j = 0; j < columns; ++j)
      if (!isOutlier[j]) {
        if (!std::isfinite(xt[j]))
          return Status::error("LLM.int8() matmul: activation row " + std::to_string(t) + ", column " +
                               std::to_string(j) + " is not finite");
        cx = std::max(cx, std::fabs(xt[j]));
      }
    for (int64_t j = 0; j < columns; ++j)
      xq[j] = isOutlier[j] || cx == 0 ? 0 : static_cast<int32_t>(std::nearbyint(127.f * xt[j] / cx));
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t *codes = wt.intPart.codes.data() + r * columns;
      int64_t acc = 0; // |sum| <= 127 * 127 * columns: exact
      for (int64_t j = 0; j < columns; ++j)
        acc += static_cast<int64_t>(xq[j]) * (static_cast<int32_t>(codes[j]) - 128);
      // (cx / 127) * (cw / 127) * acc, with cw / 127 the stored scale.
      double v = static_cast<double>(acc) * (cx / 127.0) * wt.intPart.scales[r];
      for (int64_t i = 0; i < o; ++i)
        v += static_cast<double>(xt[wt.outliers[i]]) * wt.floatPart[r * o + i];
      y[t * rows + r] = static_cast<float>(v);
    }
  }
  return Status::ok();
}

} // namespace lowbit::quant
