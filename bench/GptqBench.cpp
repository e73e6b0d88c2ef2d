//===- GptqBench.cpp - Time GPTQ (and AWQ) on SmolLM2-135M's layer shapes -===//
//
// Is "GPTQ on SmolLM2-135M in under 3 minutes on 2 cores" (issue 8)
// reachable? This times each piece on random weights of SmolLM2-135M's
// shapes (hidden 576, MLP 1536, 3 KV heads of 64, vocabulary 49152, 30
// layers: 30 x 7 + lm_head = 211 linears) and adds them up:
//
//   * the Gram matrix X^T X per calibrated token (4 distinct inputs a layer:
//     attention input, o_proj input, MLP input, down_proj input);
//   * prepareGptqHessian once per distinct input (K = 576 three times,
//     K = 1536 once per layer, K = 576 for lm_head);
//   * gptqQuantize for each linear, with and without the RTN/GPTQ proxy-loss
//     report (measureLoss);
//   * AWQ's search per group of linears sharing an input.
//
// Wall time and process CPU time are both printed: on a loaded machine the
// CPU time (divided by the thread count) is the better estimate of an idle
// 2-core run.
//
//   build-quant/bench/GptqBench [threads=2] [format="int4, group = 32"] [tokens=16384]
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quant/Awq.h"
#include "lowbit/Quant/Calibration.h"
#include "lowbit/Quant/Gptq.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

struct Clock {
  double wall = 0, cpu = 0;
  static Clock now() {
    return {std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(),
            static_cast<double>(std::clock()) / CLOCKS_PER_SEC};
  }
  Clock operator-(const Clock &o) const { return {wall - o.wall, cpu - o.cpu}; }
  Clock operator+(const Clock &o) const { return {wall + o.wall, cpu + o.cpu}; }
  Clock operator*(double f) const { return {wall * f, cpu * f}; }
};

std::vector<float> gaussian(size_t n, unsigned seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> x(n);
  for (float &v : x)
    v = dist(rng);
  return x;
}

void check(const Status &s, const char *what) {
  if (s.failed()) {
    std::fprintf(stderr, "%s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

/// Correlated activations for a realistic (full-rank, damped) Hessian.
CalibStats statsFor(int64_t k, int threads) {
  const int64_t tokens = 2048;
  std::vector<float> x = gaussian(tokens * k, static_cast<unsigned>(k), 1.f);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 1; j < k; ++j)
      x[t * k + j] += 0.5f * x[t * k + j - 1];
  CalibStats stats;
  check(initCalibStats(k, true, stats), "init");
  check(accumulateCalibStats(stats, x.data(), tokens, threads), "accumulate");
  return stats;
}

void print(const char *what, const Clock &c, int threads) {
  std::printf("  %-44s %8.3f s wall %8.3f s CPU (%.3f s per thread)\n", what, c.wall, c.cpu, c.cpu / threads);
}

} // namespace

int main(int argc, char **argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::string formatText = argc > 2 ? argv[2] : "int4, group = 32";
  const int64_t calibTokens = argc > 3 ? std::atoll(argv[3]) : 16384;
  std::string error;
  const std::optional<Format> format = parseFormat(formatText, error);
  if (!format) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::printf("GPTQ on SmolLM2-135M shapes, %s, %d threads\n", toString(*format).c_str(), threads);

  // Gram accumulation: time 2048 tokens per input width, scale to the set.
  Clock gram576, gram1536;
  for (int64_t k : {576, 1536}) {
    const std::vector<float> x = gaussian(2048 * k, 7, 1.f);
    CalibStats stats;
    check(initCalibStats(k, true, stats), "init");
    const Clock t0 = Clock::now();
    check(accumulateCalibStats(stats, x.data(), 2048, threads), "accumulate");
    (k == 576 ? gram576 : gram1536) = (Clock::now() - t0) * (1.0 / 2048);
  }
  std::printf("X^T X per calibration token (all 30 layers: 90 inputs of 576, 30 of 1536, lm_head's 576):\n");
  const Clock gramPerToken = gram576 * 91 + gram1536 * 30;
  print("per token", gramPerToken, threads);

  const CalibStats s576 = statsFor(576, threads), s1536 = statsFor(1536, threads);
  GptqOptions o;
  o.threads = threads;
  GptqHessian h576, h1536;
  Clock t0 = Clock::now();
  check(prepareGptqHessian(s576.gram.data(), 576, o, h576), "prepare 576");
  const Clock prep576 = Clock::now() - t0;
  t0 = Clock::now();
  check(prepareGptqHessian(s1536.gram.data(), 1536, o, h1536), "prepare 1536");
  const Clock prep1536 = Clock::now() - t0;
  std::printf("prepareGptqHessian (damping, act-order, Cholesky):\n");
  print("K = 576", prep576, threads);
  print("K = 1536", prep1536, threads);

  struct Linear {
    const char *name;
    int64_t n, k;
    int perModel;
  };
  const Linear linears[] = {{"q_proj", 576, 576, 30},      {"k_proj", 192, 576, 30}, {"v_proj", 192, 576, 30},
                            {"o_proj", 576, 576, 30},      {"gate_proj", 1536, 576, 30},
                            {"up_proj", 1536, 576, 30},    {"down_proj", 576, 1536, 30},
                            {"lm_head", 49152, 576, 1}};
  Clock totalFast, totalLoss;
  std::printf("gptqQuantize per linear (without / with the proxy-loss report):\n");
  for (const Linear &l : linears) {
    const std::vector<float> w = gaussian(l.n * l.k, 11, 0.05f);
    const GptqHessian &h = l.k == 576 ? h576 : h1536;
    Clock times[2];
    double ratio = 0;
    for (int measure = 0; measure < 2; ++measure) {
      o.measureLoss = measure;
      GptqResult r;
      t0 = Clock::now();
      check(gptqQuantize(*format, w.data(), l.n, l.k, h, o, nullptr, r), l.name);
      times[measure] = Clock::now() - t0;
      if (measure)
        ratio = r.report.lossGptq / r.report.lossRtn;
    }
    std::printf("  %-10s %5lld x %-5lld %7.3f s / %7.3f s wall  %7.3f / %7.3f s CPU  (loss GPTQ/RTN %.3f)\n",
                l.name, static_cast<long long>(l.n), static_cast<long long>(l.k), times[0].wall, times[1].wall,
                times[0].cpu, times[1].cpu, ratio);
    totalFast = totalFast + times[0] * l.perModel;
    totalLoss = totalLoss + times[1] * l.perModel;
  }
  const Clock prepare = prep576 * (3 * 30 + 1) + prep1536 * 30;
  std::printf("SmolLM2-135M, 211 linears, Hessians prepared once per distinct input:\n");
  print("prepare (91 x K=576, 30 x K=1536)", prepare, threads);
  print("quantize, no loss report", totalFast, threads);
  print("quantize, with loss report", totalLoss, threads);
  print("GPTQ total, no loss report", prepare + totalFast, threads);
  print("GPTQ total, with loss report", prepare + totalLoss, threads);
  char line[96];
  std::snprintf(line, sizeof line, "X^T X over %lld calibration tokens", static_cast<long long>(calibTokens));
  print(line, gramPerToken * static_cast<double>(calibTokens), threads);

  // AWQ: one search per group of linears sharing an input.
  std::printf("awqSearch per group (scale grid of 20, clip search of 10):\n");
  struct Group {
    const char *name;
    int64_t n, k;
    bool clip;
  };
  Clock awq;
  const Group groups[] = {{"q,k,v", 960, 576, false}, {"o_proj", 576, 576, true},
                          {"gate,up", 3072, 576, true}, {"down_proj", 576, 1536, true}};
  for (const Group &g : groups) {
    const std::vector<float> w = gaussian(g.n * g.k, 13, 0.05f);
    const CalibStats &stats = g.k == 576 ? s576 : s1536;
    AwqOptions ao;
    ao.threads = threads;
    ao.searchClip = g.clip;
    AwqResult r;
    t0 = Clock::now();
    check(awqSearch(*format, w.data(), g.n, g.k, stats.absMean().data(), stats.gram.data(), ao, r), g.name);
    const Clock t = Clock::now() - t0;
    std::printf("  %-10s %5lld x %-5lld %7.3f s wall %7.3f s CPU  (alpha %.2f, loss/RTN %.3f)\n", g.name,
                static_cast<long long>(g.n), static_cast<long long>(g.k), t.wall, t.cpu, r.alpha,
                r.lossClipped / r.lossRtn);
    awq = awq + t * 30;
  }
  print("AWQ total, 30 layers (lm_head not searched)", awq, threads);
  return 0;
}
