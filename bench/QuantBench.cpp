//===- QuantBench.cpp - Quantize / dequantize throughput per format -------===//
//
// Throughput in bytes of float input (quantize) or float output (dequantize)
// per second, on 256 rows of 4096 Gaussian weights (4 MiB of floats: a slice
// of a 4096 x 4096 matrix, small enough that every format runs in well under
// a second). The *_Threads variants split the same rows over all cores.
//
//   build-quant/bench/QuantBench [--benchmark_filter=Q4_K]
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Uniform.h"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

using namespace lowbit;
using namespace lowbit::quant;

namespace {

constexpr int64_t kRows = 256;
constexpr int64_t kRowLength = 4096;
/// Seconds per benchmark: about 60 of them run in well under a minute.
constexpr double kMinTime = 0.15;

const std::vector<float> &weights() {
  static const std::vector<float> x = [] {
    std::mt19937 rng(42);
    std::normal_distribution<float> dist(0.f, 0.02f);
    std::vector<float> v(kRows * kRowLength);
    for (float &f : v)
      f = dist(rng);
    return v;
  }();
  return x;
}

const std::vector<float> &importance() {
  static const std::vector<float> w = [] {
    std::mt19937 rng(7);
    std::gamma_distribution<float> dist(1.f, 1.f);
    std::vector<float> v(kRowLength);
    for (float &f : v)
      f = dist(rng);
    return v;
  }();
  return w;
}

void bytesPerIteration(benchmark::State &state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kRows * kRowLength * sizeof(float));
}

void quantize(benchmark::State &state, GgmlType type, bool withImportance, int threads) {
  std::vector<uint8_t> packed(rowBytes(type, kRowLength) * kRows);
  const float *w = withImportance ? importance().data() : nullptr;
  for (auto _ : state) {
    Status s = quantizeRowsParallel(type, weights().data(), packed.data(), kRows, kRowLength, w, threads);
    if (s.failed())
      state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(packed.data());
  }
  bytesPerIteration(state);
}

void dequantize(benchmark::State &state, GgmlType type, int threads) {
  std::vector<uint8_t> packed(rowBytes(type, kRowLength) * kRows);
  if (quantizeRows(type, weights().data(), packed.data(), kRows, kRowLength).failed())
    state.SkipWithError("quantize failed");
  std::vector<float> out(kRows * kRowLength);
  for (auto _ : state) {
    Status s = dequantizeRowsParallel(type, packed.data(), out.data(), kRows, kRowLength, threads);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    (void)s;
  }
  bytesPerIteration(state);
}

void quantizeUniformBench(benchmark::State &state, const char *text, int clipSteps) {
  std::string error;
  const Format f = *parseFormat(text, error);
  UniformOptions o;
  o.clipSteps = clipSteps;
  UniformTensor t;
  for (auto _ : state) {
    Status s = quantizeUniform(f, weights().data(), kRows, kRowLength, o, nullptr, t);
    if (s.failed())
      state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(t.codes.data());
  }
  bytesPerIteration(state);
}

void dequantizeUniformBench(benchmark::State &state, const char *text) {
  std::string error;
  const Format f = *parseFormat(text, error);
  UniformTensor t;
  if (quantizeUniform(f, weights().data(), kRows, kRowLength, UniformOptions{}, nullptr, t).failed())
    state.SkipWithError("quantize failed");
  std::vector<float> out(kRows * kRowLength);
  for (auto _ : state) {
    Status s = dequantizeUniform(f, t, kRows, kRowLength, out.data());
    benchmark::DoNotOptimize(out.data());
    (void)s;
  }
  bytesPerIteration(state);
}

const GgmlType kTypes[] = {
    GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,   GgmlType::Q5_0,   GgmlType::Q5_1,
    GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,   GgmlType::Q5_K,
    GgmlType::Q6_K, GgmlType::Q8_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::TQ1_0, GgmlType::TQ2_0,
};
// Types whose importance path is a different (slower) search.
const GgmlType kImportanceTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q2_K, GgmlType::Q3_K,
                                     GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS};

int registerAll() {
  for (GgmlType type : kTypes) {
    const std::string name(ggmlTypeInfo(type).name);
    benchmark::RegisterBenchmark(("Quantize/" + name).c_str(), quantize, type, false, 1)->Unit(benchmark::kMillisecond)->MinTime(kMinTime);
    benchmark::RegisterBenchmark(("Dequantize/" + name).c_str(), dequantize, type, 1)->Unit(benchmark::kMillisecond)->MinTime(kMinTime);
  }
  for (GgmlType type : kImportanceTypes) {
    const std::string name(ggmlTypeInfo(type).name);
    benchmark::RegisterBenchmark(("QuantizeImportance/" + name).c_str(), quantize, type, true, 1)
        ->Unit(benchmark::kMillisecond)->MinTime(kMinTime);
  }
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    const std::string name(ggmlTypeInfo(type).name);
    benchmark::RegisterBenchmark(("Quantize_Threads/" + name).c_str(), quantize, type, false, 0)
        ->Unit(benchmark::kMillisecond)->MinTime(kMinTime)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Dequantize_Threads/" + name).c_str(), dequantize, type, 0)
        ->Unit(benchmark::kMillisecond)->MinTime(kMinTime)
        ->UseRealTime();
  }
  for (const char *text : {"int4, group = 128", "int8", "int3, group = 64, asym", "ternary"}) {
    benchmark::RegisterBenchmark((std::string("QuantizeUniform/") + text).c_str(), quantizeUniformBench, text, 11)
        ->Unit(benchmark::kMillisecond)->MinTime(kMinTime);
    benchmark::RegisterBenchmark((std::string("QuantizeUniformRTN/") + text).c_str(), quantizeUniformBench, text, 1)
        ->Unit(benchmark::kMillisecond)->MinTime(kMinTime);
    benchmark::RegisterBenchmark((std::string("DequantizeUniform/") + text).c_str(), dequantizeUniformBench, text)
        ->Unit(benchmark::kMillisecond)->MinTime(kMinTime);
  }
  return 0;
}

const int kRegistered = registerAll();

} // namespace

BENCHMARK_MAIN();
