//===- SmoothQuant.cpp - Migrating activation outliers into the weights ---===//

#include "lowbit/Quant/SmoothQuant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace lowbit::quant {
namespace {

constexpr float kMinScale = 1e-5f; ///< the reference's clamp, for wMax and s

std::string formatFloat(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

} // namespace

Status accumulateWeightColumnAbsMax(const float *weight, int64_t rows, int64_t columns, std::vector<float> &colMax) {
  if (rows <= 0 || columns <= 0 || !weight)
    return Status::error("SmoothQuant: the weight must have at least one row and column");
  if (colMax.empty())
    colMax.assign(columns, 0.f);
  if (colMax.size() != static_cast<size_t>(columns))
    return Status::error("SmoothQuant: the weights reading one input have " + std::to_string(colMax.size()) +
                         " and " + std::to_string(columns) + " columns");
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < columns; ++j) {
      const float v = weight[r * columns + j];
      if (!std::isfinite(v))
        return Status::error("SmoothQuant: weight row " + std::to_string(r) + ", column " + std::to_string(j) +
                             " is " + (std::isnan(v) ? "NaN" : "Inf"));
      colMax[j] = std::max(colMax[j], std::fabs(v));
    }
  return Status::ok();
}

Status smoothQuantScales(const float *activationAbsMax, const float *weightAbsMax, int64_t channels,
                         const SmoothQuantOptions &o, std::vector<float> &scales) {
  if (!(o.alpha >= 0 && o.alpha <= 1))
    return Status::error("SmoothQuant: alpha must lie in [0, 1], got " + formatFloat(o.alpha));
  if (channels <= 0 || !activationAbsMax || !weightAbsMax)
    return Status::error("SmoothQuant: needs the activation and weight maxima of at least one channel");
  for (int64_t j = 0; j < channels; ++j)
    for (const float v : {activationAbsMax[j], weightAbsMax[j]})
      if (!(v >= 0) || !std::isfinite(v))
        return Status::error("SmoothQuant: maximum of channel " + std::to_string(j) + " is " + formatFloat(v));
  scales.resize(channels);
  for (int64_t j = 0; j < channels; ++j) {
    const float w = std::max(weightAbsMax[j], kMinScale);
    const float s = std::pow(activationAbsMax[j], o.alpha) / std::pow(w, 1.f - o.alpha);
    scales[j] = std::max(s, kMinScale);
  }
  return Status::ok();
}

} // namespace lowbit::quant
