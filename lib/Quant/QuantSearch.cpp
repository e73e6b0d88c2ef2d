//===- QuantSearch.cpp - Scale searches of the K and legacy quantizers ---===//
//
// The helper searches of GGUF_SPEC.md 3.2, written from the spec's prose.
// Byte-exactness with llama.cpp needs the same fp32 operations in the same
// order: products are evaluated left to right ((w*x)*l, (w*l)*l) and sums run
// over the elements in order. lib/Quant builds with -ffp-contract=off so the
// compiler does not fuse them into FMAs either.
//
//===----------------------------------------------------------------------===//

#include "QuantCommon.h"

namespace lowbit::quant::detail {
namespace {

float defaultWeight(int rmseType, float x) {
  switch (rmseType) {
  case 1:
    return x * x;
  case 2:
    return 1.f;
  case 3:
    return std::fabs(x);
  default:
    return std::sqrt(std::fabs(x));
  }
}

/// The signed value with the largest magnitude (first one on ties).
float signedMax(int n, const float *x, float &amax) {
  float max = 0;
  amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

/// Coordinate descent shared by make_q3_quants (Signed: levels -nmax..nmax-1,
/// weights x^2) and make_qp_quants (levels up to nmax, given weights): move
/// one level at a time while that raises Sxl^2/Sll, at most 5 passes.
template <bool Signed, typename Level>
void refineLevels(int n, int nmax, const float *x, const float *weights, Level *L, float &sumlx,
                  float &suml2) {
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = Signed ? x[i] * x[i] : weights[i];
      const int oldL = L[i];
      float slx = sumlx - w * x[i] * oldL;
      float sl2 = suml2 - w * oldL * oldL;
      // make_qp_quants wants both sums positive before it proposes a move;
      // make_q3_quants checks sl2 only after the move.
      if (!(slx > 0) || (!Signed && !(sl2 > 0)))
        continue;
      int newL = nearestInt(x[i] * sl2 / slx);
      newL = Signed ? clampInt(newL, -nmax, nmax - 1) : (newL < nmax ? newL : nmax);
      if (newL == oldL)
        continue;
      slx += w * x[i] * newL;
      sl2 += w * newL * newL;
      if (Signed && !(sl2 > 0))
        continue;
      if (slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<Level>(newL);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed)
      break;
  }
}

} // namespace

float makeQxQuants(int n, int nmax, const float *x, int8_t *L, int rmseType, const float *weights) {
  float amax;
  const float max = signedMax(n, x, amax);
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, n);
    return 0.f;
  }
  float iscale = -nmax / max;
  if (rmseType == 0) {
    for (int i = 0; i < n; ++i)
      L[i] = static_cast<int8_t>(nmax + clampInt(nearestInt(iscale * x[i]), -nmax, nmax - 1));
    return 1 / iscale;
  }
  const bool returnEarly = rmseType < 0;
  if (rmseType < 0)
    rmseType = -rmseType;
  auto weightOf = [&](int i) { return weights ? weights[i] : defaultWeight(rmseType, x[i]); };
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clampInt(nearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = weightOf(i);
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  if (returnEarly)
    return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0)
      continue;
    iscale = -(nmax + 0.1f * step) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clampInt(nearestInt(iscale * x[i]), -nmax, nmax - 1);
      const float w = weightOf(i);
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        L[i] = static_cast<int8_t>(nmax + clampInt(nearestInt(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float makeQ3Quants(int n, int nmax, const float *x, int8_t *L, bool doRmse) {
  float amax;
  const float max = signedMax(n, x, amax);
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, n);
    return 0.f;
  }
  const float iscale = -nmax / max;
  if (!doRmse) {
    for (int i = 0; i < n; ++i)
      L[i] = static_cast<int8_t>(nmax + clampInt(nearestInt(iscale * x[i]), -nmax, nmax - 1));
    return 1 / iscale;
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clampInt(nearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  refineLevels<true>(n, nmax, x, nullptr, L, sumlx, suml2);
  for (int i = 0; i < n; ++i)
    L[i] = static_cast<int8_t>(L[i] + nmax);
  return sumlx / suml2;
}

float makeQkxQuants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float &theMin,
                    uint8_t *Laux, float rmin, float rdelta, int nstep, bool useMad) {
  float min = x[0], max = x[0];
  float sumW = weights[0];
  float sumX = sumW * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min)
      min = x[i];
    if (x[i] > max)
      max = x[i];
    const float w = weights[i];
    sumW += w;
    sumX += w * x[i];
  }
  if (min > 0)
    min = 0;
  if (max == min) {
    std::memset(L, 0, n);
    theMin = -min;
    return 0.f;
  }
  auto errorOf = [&](float diff) { return useMad ? std::fabs(diff) : diff * diff; };
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float bestError = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(clampInt(nearestInt(iscale * (x[i] - min)), 0, nmax));
    bestError += weights[i] * errorOf(scale * L[i] + min - x[i]);
  }
  if (nstep < 1) {
    theMin = -min;
    return scale;
  }
  for (int step = 0; step <= nstep; ++step) {
    // `min` may have moved to an accepted candidate's offset: later
    // candidates use it in both places, as ggml does.
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clampInt(nearestInt(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sumL += w * l;
      sumL2 += w * l * l;
      sumXL += w * l * x[i];
    }
    const float D = sumW * sumL2 - sumL * sumL;
    if (!(D > 0))
      continue;
    float thisScale = (sumW * sumXL - sumX * sumL) / D;
    float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = sumXL / sumL2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i)
      error += weights[i] * errorOf(thisScale * Laux[i] + thisMin - x[i]);
    if (error < bestError) {
      std::memcpy(L, Laux, n);
      bestError = error;
      scale = thisScale;
      min = thisMin;
    }
  }
  theMin = -min;
  return scale;
}

float makeQpQuants(int n, int nmax, const float *x, uint8_t *L, const float *weights) {
  float max = 0;
  for (int i = 0; i < n; ++i)
    max = max > x[i] ? max : x[i];
  if (max < kGroupMaxEps) {
    std::memset(L, 0, n);
    return 0.f;
  }
  float iscale = nmax / max;
  for (int i = 0; i < n; ++i)
    L[i] = static_cast<uint8_t>(nearestInt(iscale * x[i]));
  const float scale = 1 / iscale;
  float bestMse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * L[i];
    bestMse += weights[i] * diff * diff;
  }
  for (int step = -4; step <= 4; ++step) {
    if (step == 0)
      continue;
    const float iscaleStep = (0.1f * step + nmax) / max;
    const float scaleStep = 1 / iscaleStep;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearestInt(iscaleStep * x[i]);
      l = l < nmax ? l : nmax;
      const float diff = x[i] - scaleStep * l;
      mse += weights[i] * diff * diff;
    }
    if (mse < bestMse) {
      bestMse = mse;
      iscale = iscaleStep;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearestInt(iscale * x[i]);
    l = l < nmax ? l : nmax;
    L[i] = static_cast<uint8_t>(l);
    const float w = weights[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  refineLevels<false>(n, nmax, x, weights, L, sumlx, suml2);
  return sumlx / suml2;
}

} // namespace lowbit::quant::detail

namespace lowbit::quant::detail {

template <int Lanes>
void makeQkxQuantsLanes(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *scaleOut,
                        float *theMinOut, float rmin, float rdelta, int nstep, bool useMad) {
  // Lane j is group j (x + j*n). Every array below is [element][lane], so the
  // innermost loops run over lanes and vectorize, while each lane's sums still
  // accumulate its elements in order, exactly as makeQkxQuants does.
  constexpr int kMaxN = 32;
  float xt[kMaxN][Lanes], wt[kMaxN][Lanes];
  uint8_t best[kMaxN][Lanes], aux[kMaxN][Lanes];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < Lanes; ++j) {
      xt[i][j] = x[j * n + i];
      wt[i][j] = weights[j * n + i];
    }
  float min[Lanes], max[Lanes], sumW[Lanes], sumX[Lanes];
  for (int j = 0; j < Lanes; ++j) {
    min[j] = max[j] = xt[0][j];
    sumW[j] = wt[0][j];
    sumX[j] = sumW[j] * xt[0][j];
  }
  for (int i = 1; i < n; ++i)
    for (int j = 0; j < Lanes; ++j) {
      min[j] = xt[i][j] < min[j] ? xt[i][j] : min[j];
      max[j] = xt[i][j] > max[j] ? xt[i][j] : max[j];
      sumW[j] += wt[i][j];
      sumX[j] += wt[i][j] * xt[i][j];
    }
  bool flat[Lanes];
  float scale[Lanes], bestError[Lanes], iscale[Lanes], startMin[Lanes];
  for (int j = 0; j < Lanes; ++j) {
    min[j] = min[j] > 0 ? 0 : min[j];
    startMin[j] = min[j];
    // A flat group stops here in makeQkxQuants; its lane runs on with
    // meaningless numbers that are dropped at the end.
    flat[j] = max[j] == min[j];
    iscale[j] = nmax / (max[j] - min[j]);
    scale[j] = 1 / iscale[j];
    bestError[j] = 0;
  }
  auto errorOf = [useMad](float diff) { return useMad ? std::fabs(diff) : diff * diff; };
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < Lanes; ++j) {
      best[i][j] = static_cast<uint8_t>(clampInt(nearestInt(iscale[j] * (xt[i][j] - min[j])), 0, nmax));
      bestError[j] += wt[i][j] * errorOf(scale[j] * best[i][j] + min[j] - xt[i][j]);
    }
  for (int step = 0; nstep >= 1 && step <= nstep; ++step) {
    const float numerator = rmin + rdelta * step + nmax;
    float sumL[Lanes] = {}, sumL2[Lanes] = {}, sumXL[Lanes] = {};
    for (int j = 0; j < Lanes; ++j)
      iscale[j] = numerator / (max[j] - min[j]);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < Lanes; ++j) {
        const int l = clampInt(nearestInt(iscale[j] * (xt[i][j] - min[j])), 0, nmax);
        aux[i][j] = static_cast<uint8_t>(l);
        const float w = wt[i][j];
        sumL[j] += w * l;
        sumL2[j] += w * l * l;
        sumXL[j] += w * l * xt[i][j];
      }
    float thisScale[Lanes], thisMin[Lanes], error[Lanes] = {};
    bool valid[Lanes];
    for (int j = 0; j < Lanes; ++j) {
      const float D = sumW[j] * sumL2[j] - sumL[j] * sumL[j];
      valid[j] = D > 0;
      thisScale[j] = (sumW[j] * sumXL[j] - sumX[j] * sumL[j]) / D;
      thisMin[j] = (sumL2[j] * sumX[j] - sumL[j] * sumXL[j]) / D;
      if (thisMin[j] > 0) {
        thisMin[j] = 0;
        thisScale[j] = sumXL[j] / sumL2[j];
      }
    }
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < Lanes; ++j)
        error[j] += wt[i][j] * errorOf(thisScale[j] * aux[i][j] + thisMin[j] - xt[i][j]);
    bool accepted[Lanes];
    bool any = false;
    for (int j = 0; j < Lanes; ++j) {
      accepted[j] = valid[j] && error[j] < bestError[j];
      any |= accepted[j];
      if (accepted[j]) {
        bestError[j] = error[j];
        scale[j] = thisScale[j];
        min[j] = thisMin[j];
      }
    }
    if (any)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < Lanes; ++j)
          best[i][j] = accepted[j] ? aux[i][j] : best[i][j];
  }
  for (int j = 0; j < Lanes; ++j) {
    scaleOut[j] = flat[j] ? 0.f : scale[j];
    theMinOut[j] = flat[j] ? -startMin[j] : -min[j];
    for (int i = 0; i < n; ++i)
      L[j * n + i] = flat[j] ? 0 : best[i][j];
  }
}

template void makeQkxQuantsLanes<8>(int, int, const float *, const float *, uint8_t *, float *, float *, float,
                                    float, int, bool);
template void makeQkxQuantsLanes<16>(int, int, const float *, const float *, uint8_t *, float *, float *, float,
                                     float, int, bool);

} // namespace lowbit::quant::detail

namespace lowbit::quant::detail {

template <int Lanes>
void makeQxQuantsLanes(int n, int nmax, const float *x, int8_t *L, const float *weights, float *scaleOut) {
  // Lane j is group j, arrays are [element][lane], as in makeQkxQuantsLanes;
  // this is makeQxQuants with rmse_type 1 (weights x^2 unless given).
  constexpr int kMaxN = 32;
  float xt[kMaxN][Lanes], wt[kMaxN][Lanes];
  int8_t best[kMaxN][Lanes];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < Lanes; ++j) {
      xt[i][j] = x[j * n + i];
      wt[i][j] = weights ? weights[j * n + i] : xt[i][j] * xt[i][j];
    }
  float max[Lanes] = {}, amax[Lanes] = {};
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < Lanes; ++j) {
      const float ax = std::fabs(xt[i][j]);
      const bool larger = ax > amax[j];
      amax[j] = larger ? ax : amax[j];
      max[j] = larger ? xt[i][j] : max[j];
    }
  float sumlx[Lanes] = {}, suml2[Lanes] = {}, iscale[Lanes];
  for (int j = 0; j < Lanes; ++j)
    iscale[j] = -nmax / max[j];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < Lanes; ++j) {
      const int l = clampInt(nearestInt(iscale[j] * xt[i][j]), -nmax, nmax - 1);
      best[i][j] = static_cast<int8_t>(l + nmax);
      const float w = wt[i][j];
      sumlx[j] += w * xt[i][j] * l;
      suml2[j] += w * l * l;
    }
  float scale[Lanes], bestFit[Lanes];
  for (int j = 0; j < Lanes; ++j) {
    scale[j] = suml2[j] ? sumlx[j] / suml2[j] : 0.0f;
    bestFit[j] = scale[j] * sumlx[j];
  }
  for (int step = -9; step <= 9; ++step) {
    if (step == 0)
      continue;
    for (int j = 0; j < Lanes; ++j) {
      iscale[j] = -(nmax + 0.1f * step) / max[j];
      sumlx[j] = suml2[j] = 0;
    }
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < Lanes; ++j) {
        const int l = clampInt(nearestInt(iscale[j] * xt[i][j]), -nmax, nmax - 1);
        const float w = wt[i][j];
        sumlx[j] += w * xt[i][j] * l;
        suml2[j] += w * l * l;
      }
    bool accepted[Lanes];
    bool any = false;
    for (int j = 0; j < Lanes; ++j) {
      accepted[j] = suml2[j] > 0 && sumlx[j] * sumlx[j] > bestFit[j] * suml2[j];
      any |= accepted[j];
      if (accepted[j]) {
        scale[j] = sumlx[j] / suml2[j];
        bestFit[j] = scale[j] * sumlx[j];
      }
    }
    if (any)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < Lanes; ++j)
          if (accepted[j])
            best[i][j] = static_cast<int8_t>(nmax + clampInt(nearestInt(iscale[j] * xt[i][j]), -nmax, nmax - 1));
  }
  for (int j = 0; j < Lanes; ++j) {
    const bool zero = amax[j] < kGroupMaxEps; // makeQxQuants stops early here
    scaleOut[j] = zero ? 0.f : scale[j];
    for (int i = 0; i < n; ++i)
      L[j * n + i] = zero ? 0 : best[i][j];
  }
}

template void makeQxQuantsLanes<8>(int, int, const float *, int8_t *, const float *, float *);
template void makeQxQuantsLanes<16>(int, int, const float *, int8_t *, const float *, float *);

} // namespace lowbit::quant::detail
