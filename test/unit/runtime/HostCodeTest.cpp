//===- HostCodeTest.cpp - The C API end to end, without the compiler ------===//
//
// TestHostCode.c, compiled to a shared library at build time, stands in for
// lowbit-compile's output: it is packed into artifacts with the writer,
// loaded with memfd + dlopen, and run through the C API, from one thread and
// from several at once.
//
//===----------------------------------------------------------------------===//

#include "PackedWeights.h"
#include "RuntimeTestUtil.h"
#include "kernels/Matmul.h"

#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/Uniform.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>

using namespace lowbit;
using namespace lowbit::artifact;

namespace {

/// An artifact around one entry of TestHostCode.c.
struct Model {
  ArtifactContents contents;
  std::vector<std::vector<uint8_t>> storage;

  explicit Model(const char *entry) {
    contents.targetTriple = test::hostTriple();
    contents.cpu = "generic";
    contents.entrySymbol = entry;
    contents.hostCode = test::testHostCode().data();
    contents.hostCodeSize = test::testHostCode().size();
  }
  template <typename T> void weight(const std::string &name, lowbit_dtype dtype, std::vector<int64_t> dims,
                                    const std::vector<T> &values) {
    storage.emplace_back(reinterpret_cast<const uint8_t *>(values.data()),
                         reinterpret_cast<const uint8_t *>(values.data() + values.size()));
    contents.weights.push_back({{name, dtype, std::move(dims)}, storage.back().data(), storage.back().size()});
  }
  /// Writes the artifact into `dir` and opens it.
  lowbit_model *open(const test::TempDir &dir, const std::string &name = "model.lbm") {
    // Pointers into `storage` must be stable: fix them up after all pushes.
    for (size_t i = 0; i < contents.weights.size(); ++i)
      contents.weights[i].data = storage[i].data();
    Status s = writeArtifact(contents, dir.file(name));
    EXPECT_TRUE(s.isOk()) << s.message();
    lowbit_model *model = nullptr;
    EXPECT_EQ(lowbit_model_open(dir.file(name).c_str(), &model), LOWBIT_OK) << lowbit_last_error();
    return model;
  }
};

Model addModel() {
  Model m("lowbit_test_add");
  m.contents.inputs = {{"x", LOWBIT_F32, {-1, 4}}};
  m.contents.outputs = {{"y", LOWBIT_F32, {-1, 4}}, {"total", LOWBIT_F32, {}}};
  m.weight<float>("w", LOWBIT_F32, {4}, {0.5f, -1.f, 2.f, 100.f});
  return m;
}

/// Runs the add model on `x` ([rows, 4]) and returns y followed by total.
std::vector<float> runAdd(lowbit_session *session, const std::vector<float> &x) {
  const int64_t dims[2] = {static_cast<int64_t>(x.size() / 4), 4};
  EXPECT_EQ(lowbit_session_set_input(session, 0, x.data(), dims, 2), LOWBIT_OK) << lowbit_last_error();
  EXPECT_EQ(lowbit_session_run(session), LOWBIT_OK) << lowbit_last_error();
  lowbit_tensor y, total;
  EXPECT_EQ(lowbit_session_output(session, 0, &y), LOWBIT_OK);
  EXPECT_EQ(lowbit_session_output(session, 1, &total), LOWBIT_OK);
  EXPECT_EQ(y.rank, 2);
  EXPECT_EQ(y.dims[0], dims[0]);
  EXPECT_EQ(y.dims[1], 4);
  EXPECT_EQ(total.rank, 0);
  std::vector<float> out(static_cast<const float *>(y.data), static_cast<const float *>(y.data) + x.size());
  out.push_back(*static_cast<const float *>(total.data));
  return out;
}

TEST(HostCode, AddEndToEnd) {
  test::TempDir dir;
  Model m = addModel();
  lowbit_model *model = m.open(dir);
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(lowbit_model_num_inputs(model), 1u);
  ASSERT_EQ(lowbit_model_num_outputs(model), 2u);
  lowbit_tensor_info info;
  ASSERT_EQ(lowbit_model_input_info(model, 0, &info), LOWBIT_OK);
  EXPECT_STREQ(info.name, "x");
  EXPECT_EQ(info.dtype, LOWBIT_F32);
  EXPECT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[0], -1);
  ASSERT_EQ(lowbit_model_output_info(model, 1, &info), LOWBIT_OK);
  EXPECT_STREQ(info.name, "total");
  EXPECT_EQ(lowbit_model_output_info(model, 2, &info), LOWBIT_ERROR_ARGUMENT);
  EXPECT_NE(std::string(lowbit_last_error()).find("out of range"), std::string::npos);

  lowbit_session_options options{4};
  lowbit_session *session = nullptr;
  ASSERT_EQ(lowbit_session_create(model, &options, &session), LOWBIT_OK);
  lowbit_tensor out;
  EXPECT_EQ(lowbit_session_output(session, 0, &out), LOWBIT_ERROR_ARGUMENT); // no run yet
  EXPECT_EQ(lowbit_session_run(session), LOWBIT_ERROR_ARGUMENT);             // input not set
  EXPECT_NE(std::string(lowbit_last_error()).find("('x') is not set"), std::string::npos) << lowbit_last_error();

  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<float> y = runAdd(session, x);
  const float w[4] = {0.5f, -1.f, 2.f, 100.f};
  float total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i], x[i] + w[i % 4]) << i;
    total += x[i] + w[i % 4];
  }
  EXPECT_EQ(y.back(), total);

  // A second run with another shape replaces the outputs.
  std::vector<float> x2(40, 1.f);
  std::vector<float> y2 = runAdd(session, x2);
  EXPECT_EQ(y2[3], 101.f);
  EXPECT_EQ(y2.size(), 41u);

  // Bad bindings: rank, static dim, null data, index.
  const int64_t wrongRank[1] = {4};
  EXPECT_EQ(lowbit_session_set_input(session, 0, x.data(), wrongRank, 1), LOWBIT_ERROR_ARGUMENT);
  EXPECT_NE(std::string(lowbit_last_error()).find("rank 2, got 1"), std::string::npos) << lowbit_last_error();
  const int64_t wrongDim[2] = {3, 5};
  EXPECT_EQ(lowbit_session_set_input(session, 0, x.data(), wrongDim, 2), LOWBIT_ERROR_ARGUMENT);
  EXPECT_NE(std::string(lowbit_last_error()).find("[3, 5]"), std::string::npos) << lowbit_last_error();
  const int64_t dims[2] = {3, 4};
  EXPECT_EQ(lowbit_session_set_input(session, 0, nullptr, dims, 2), LOWBIT_ERROR_ARGUMENT);
  EXPECT_EQ(lowbit_session_set_input(session, 1, x.data(), dims, 2), LOWBIT_ERROR_ARGUMENT);
  // An empty batch is fine.
  const int64_t empty[2] = {0, 4};
  EXPECT_EQ(lowbit_session_set_input(session, 0, nullptr, empty, 2), LOWBIT_OK);
  EXPECT_EQ(lowbit_session_run(session), LOWBIT_OK) << lowbit_last_error();

  // Closing the model first is allowed: the session keeps it alive.
  lowbit_model_close(model);
  std::vector<float> y3 = runAdd(session, x);
  EXPECT_EQ(y3, y);
  lowbit_session_destroy(session);
}

TEST(HostCode, ConcurrentSessionsAgree) {
  test::TempDir dir;
  Model m = addModel();
  lowbit_model *model = m.open(dir);
  ASSERT_NE(model, nullptr);
  std::vector<float> x(4 * 257);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-10.f, 10.f);
  for (float &v : x)
    v = dist(rng);
  lowbit_session *reference = nullptr;
  lowbit_session_options one{1};
  ASSERT_EQ(lowbit_session_create(model, &one, &reference), LOWBIT_OK);
  const std::vector<float> expected = runAdd(reference, x);
  lowbit_session_destroy(reference);

  constexpr int kThreads = 4, kRuns = 50;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      lowbit_session_options options{2 + t % 2};
      lowbit_session *session = nullptr;
      if (lowbit_session_create(model, &options, &session) != LOWBIT_OK) {
        mismatches[t] = -1;
        return;
      }
      for (int r = 0; r < kRuns; ++r)
        if (runAdd(session, x) != expected)
          ++mismatches[t];
      lowbit_session_destroy(session);
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  lowbit_model_close(model);
}

TEST(HostCode, ManyModelsLoadTheirOwnCode) {
  // Models open and close in an interleaved order; each must run its own
  // weights (a stale dlopen handle would run another's).
  test::TempDir dir;
  std::vector<lowbit_model *> open;
  for (int i = 0; i < 6; ++i) {
    Model m = addModel();
    m.storage[0] = {};
    std::vector<float> w = {float(i), float(i), float(i), float(i)};
    m.storage[0].assign(reinterpret_cast<uint8_t *>(w.data()), reinterpret_cast<uint8_t *>(w.data() + 4));
    lowbit_model *model = m.open(dir, "m" + std::to_string(i) + ".lbm");
    ASSERT_NE(model, nullptr);
    open.push_back(model);
    if (i % 2 == 1) { // close the previous one
      lowbit_model_close(open[open.size() - 2]);
      open.erase(open.end() - 2);
    }
    lowbit_session *session = nullptr;
    ASSERT_EQ(lowbit_session_create(model, nullptr, &session), LOWBIT_OK);
    std::vector<float> y = runAdd(session, std::vector<float>(4, 1.f));
    EXPECT_EQ(y[0], 1.f + i) << "model " << i;
    lowbit_session_destroy(session);
  }
  for (lowbit_model *model : open)
    lowbit_model_close(model);
}

TEST(HostCode, MatmulThroughTheContext) {
  const int64_t M = 3, N = 40, K = 256;
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  std::vector<float> weights(N * K), x(M * K);
  for (float &v : weights)
    v = dist(rng);
  for (float &v : x)
    v = dist(rng);
  const quant::Format format = quant::Format::integer(4, quant::Granularity::Group, 64);
  quant::UniformTensor packed;
  ASSERT_TRUE(quant::quantizeUniform(format, weights.data(), N, K, {}, nullptr, packed).isOk());
  std::vector<float> dequantized(N * K);
  ASSERT_TRUE(quant::dequantizeUniform(format, packed, N, K, dequantized.data()).isOk());

  test::TempDir dir;
  auto build = [&](uint64_t formatWord) {
    Model m("lowbit_test_matmul");
    m.contents.inputs = {{"x", LOWBIT_F32, {M, K}}};
    m.contents.outputs = {{"y", LOWBIT_F32, {M, N}}};
    m.weight<uint8_t>("packed", LOWBIT_I8, {int64_t(packed.codes.size())}, packed.codes);
    m.weight<float>("scales", LOWBIT_F32, {N, K / 64}, packed.scales);
    m.weight<int64_t>("format", LOWBIT_I64, {1}, {int64_t(formatWord)});
    m.weight<int64_t>("shape", LOWBIT_I64, {2}, {N, K});
    return m;
  };
  Model m = build(quant::encodeFormat(format));
  lowbit_model *model = m.open(dir);
  ASSERT_NE(model, nullptr);
  lowbit_session *session = nullptr;
  lowbit_session_options options{3};
  ASSERT_EQ(lowbit_session_create(model, &options, &session), LOWBIT_OK);
  const int64_t dims[2] = {M, K};
  ASSERT_EQ(lowbit_session_set_input(session, 0, x.data(), dims, 2), LOWBIT_OK);
  ASSERT_EQ(lowbit_session_run(session), LOWBIT_OK) << lowbit_last_error();
  lowbit_tensor y;
  ASSERT_EQ(lowbit_session_output(session, 0, &y), LOWBIT_OK);
  const float *out = static_cast<const float *>(y.data);
  // The product of the stored weights: within float rounding (MatmulTest's
  // bound) for the portable kernel; the tuned x86 kernels (on by default
  // where the CPU has them) also round x to int8 per 32-block, which adds
  // test::int8ActivationBound (X86Matmul.h).
  const bool int8Activations = runtime::kernels::selectMatmulKernel(format).int8Activations;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double ref = 0, magnitude = 0;
      for (int64_t k = 0; k < K; ++k) {
        ref += double(x[i * K + k]) * dequantized[j * K + k];
        magnitude += std::fabs(double(x[i * K + k]) * dequantized[j * K + k]);
      }
      double tolerance = 2 * (K + 2) * 0x1p-24 * magnitude;
      if (int8Activations) {
        const double bound = test::int8ActivationBound(&x[i * K], &dequantized[j * K], K);
        tolerance = 1.001 * bound + 4 * (K + 2) * 0x1p-24 * (magnitude + bound);
      }
      EXPECT_NEAR(out[i * N + j], ref, tolerance) << i << "," << j;
    }
  lowbit_session_destroy(session);
  lowbit_model_close(model);

  // A format word the kernel refuses fails the run with the kernel's reason.
  Model worse = build(uint64_t(200)); // kind 200: no such format
  model = worse.open(dir, "worse.lbm");
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(lowbit_session_create(model, nullptr, &session), LOWBIT_OK);
  ASSERT_EQ(lowbit_session_set_input(session, 0, x.data(), dims, 2), LOWBIT_OK);
  EXPECT_EQ(lowbit_session_run(session), LOWBIT_ERROR_RUNTIME);
  EXPECT_NE(std::string(lowbit_last_error()).find("not a valid format"), std::string::npos) << lowbit_last_error();
  EXPECT_EQ(lowbit_session_output(session, 0, &y), LOWBIT_ERROR_ARGUMENT);
  lowbit_session_destroy(session);
  lowbit_model_close(model);
}

TEST(HostCode, StridedAndPassThroughOutputs) {
  test::TempDir dir;
  Model m("lowbit_test_views");
  m.contents.inputs = {{"x", LOWBIT_F32, {2, 3}}};
  m.contents.outputs = {{"t", LOWBIT_F32, {3, 2}}, {"same", LOWBIT_F32, {2, 3}}};
  lowbit_model *model = m.open(dir);
  ASSERT_NE(model, nullptr);
  lowbit_session *session = nullptr;
  ASSERT_EQ(lowbit_session_create(model, nullptr, &session), LOWBIT_OK);
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const int64_t dims[2] = {2, 3};
  ASSERT_EQ(lowbit_session_set_input(session, 0, x.data(), dims, 2), LOWBIT_OK);
  ASSERT_EQ(lowbit_session_run(session), LOWBIT_OK) << lowbit_last_error();
  lowbit_tensor t, same;
  ASSERT_EQ(lowbit_session_output(session, 0, &t), LOWBIT_OK);
  ASSERT_EQ(lowbit_session_output(session, 1, &same), LOWBIT_OK);
  const float *tp = static_cast<const float *>(t.data);
  EXPECT_EQ(std::vector<float>(tp, tp + 6), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  const float *sp = static_cast<const float *>(same.data);
  EXPECT_NE(sp, x.data()); // copied: the input is the caller's
  EXPECT_EQ(std::vector<float>(sp, sp + 6), x);
  lowbit_session_destroy(session);
  lowbit_model_close(model);
}

TEST(HostCode, LoadFailures) {
  test::TempDir dir;
  {
    Model m = addModel();
    m.contents.entrySymbol = "no_such_entry";
    m.contents.weights[0].data = m.storage[0].data();
    ASSERT_TRUE(writeArtifact(m.contents, dir.file("a.lbm")).isOk());
    lowbit_model *model = nullptr;
    EXPECT_EQ(lowbit_model_open(dir.file("a.lbm").c_str(), &model), LOWBIT_ERROR_FORMAT);
    EXPECT_NE(std::string(lowbit_last_error()).find("no_such_entry"), std::string::npos) << lowbit_last_error();
  }
  {
    Model m = addModel();
    m.contents.targetTriple = "riscv64-unknown-linux-gnu";
    m.contents.weights[0].data = m.storage[0].data();
    ASSERT_TRUE(writeArtifact(m.contents, dir.file("b.lbm")).isOk());
    lowbit_model *model = nullptr;
    EXPECT_EQ(lowbit_model_open(dir.file("b.lbm").c_str(), &model), LOWBIT_ERROR_UNSUPPORTED);
    EXPECT_NE(std::string(lowbit_last_error()).find("riscv64"), std::string::npos) << lowbit_last_error();
  }
  {
    // An ELF magic followed by junk: dlopen refuses it, and we say so.
    Model m = addModel();
    std::vector<uint8_t> junk = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    junk.resize(4096, 0xab);
    m.contents.hostCode = junk.data();
    m.contents.hostCodeSize = junk.size();
    m.contents.weights[0].data = m.storage[0].data();
    ASSERT_TRUE(writeArtifact(m.contents, dir.file("c.lbm")).isOk());
    lowbit_model *model = nullptr;
    EXPECT_EQ(lowbit_model_open(dir.file("c.lbm").c_str(), &model), LOWBIT_ERROR_FORMAT);
    EXPECT_NE(std::string(lowbit_last_error()).find("dlopen"), std::string::npos) << lowbit_last_error();
  }
  lowbit_session *session = nullptr;
  EXPECT_EQ(lowbit_session_create(nullptr, nullptr, &session), LOWBIT_ERROR_ARGUMENT);
  {
    Model m = addModel();
    lowbit_model *model = m.open(dir, "d.lbm");
    ASSERT_NE(model, nullptr);
    for (int32_t threads : {-1, 100000}) {
      lowbit_session_options options{threads};
      EXPECT_EQ(lowbit_session_create(model, &options, &session), LOWBIT_ERROR_ARGUMENT);
      EXPECT_NE(std::string(lowbit_last_error()).find("num_threads"), std::string::npos);
    }
    lowbit_model_close(model);
  }
  EXPECT_EQ(lowbit_session_run(nullptr), LOWBIT_ERROR_ARGUMENT);
  EXPECT_EQ(lowbit_dtype_size(LOWBIT_BF16), 2u);
  EXPECT_EQ(lowbit_dtype_size(static_cast<lowbit_dtype>(8)), 0u);
}

} // namespace
