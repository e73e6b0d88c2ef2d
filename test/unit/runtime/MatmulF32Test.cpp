//===- MatmulF32Test.cpp - The float matmul of the dispatch context -------===//
//
// Each micro-kernel this CPU has runs random problems (row-major, transposed
// and broadcast operands, batch dimensions that fold into M or N and ones
// that do not, edges of every tile size, K above one block) on one thread
// and on a pool, against a double reference. Every output is one float sum
// over K of rounded products, so
//   |c - c_ref| <= (K + 1) u sum_k |a_k b_k|   (u = 2^-24, first order),
// and the tests allow twice that (MatmulTest.cpp explains the bound).
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "kernels/KernelError.h"
#include "kernels/MatmulF32.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace lowbit::runtime;
using kernels::F32Isa;

namespace {

/// A batched strided problem over its own storage.
struct Case {
  lowbit_matmul_f32_desc d{};
  std::vector<float> a, b, c;
  int64_t batches() const {
    int64_t n = 1;
    for (int j = 0; j < d.batch_rank; ++j)
      n *= d.batch[j];
    return n;
  }
  /// Offsets of batch entry t in a, b, c.
  void offsets(int64_t t, int64_t &oa, int64_t &ob, int64_t &oc) const {
    oa = ob = oc = 0;
    for (int j = int(d.batch_rank) - 1; j >= 0; --j) {
      const int64_t i = t % d.batch[j];
      t /= d.batch[j];
      oa += i * d.a_batch_stride[j];
      ob += i * d.b_batch_stride[j];
      oc += i * d.c_batch_stride[j];
    }
  }
};

int64_t span(int64_t extent, int64_t stride) { return extent > 0 ? (extent - 1) * stride : 0; }

/// Sizes the operands for their strides and fills them with random values.
void fill(Case &t, std::mt19937 &rng) {
  const lowbit_matmul_f32_desc &d = t.d;
  int64_t la = 1 + span(d.M, d.a_stride_m) + span(d.K, d.a_stride_k);
  int64_t lb = 1 + span(d.K, d.b_stride_k) + span(d.N, d.b_stride_n);
  int64_t lc = 1 + span(d.M, d.c_stride_m) + span(d.N, d.c_stride_n);
  for (int j = 0; j < d.batch_rank; ++j) {
    la += span(d.batch[j], d.a_batch_stride[j]);
    lb += span(d.batch[j], d.b_batch_stride[j]);
    lc += span(d.batch[j], d.c_batch_stride[j]);
  }
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  t.a.resize(la);
  t.b.resize(lb);
  t.c.resize(lc);
  for (float &v : t.a)
    v = dist(rng);
  for (float &v : t.b)
    v = dist(rng);
  for (float &v : t.c)
    v = dist(rng);
}

void check(const Case &t, F32Isa isa, const lowbit_dispatch_context *ctx) {
  const lowbit_matmul_f32_desc &d = t.d;
  std::vector<float> c = t.c;
  ASSERT_EQ(kernels::matmulF32With(isa, ctx, t.a.data(), t.b.data(), c.data(), &d), 0)
      << kernels::threadKernelError();
  const bool accumulate = d.flags & LOWBIT_MATMUL_F32_ACCUMULATE;
  int failures = 0;
  std::vector<bool> written(c.size(), false);
  for (int64_t s = 0; s < t.batches(); ++s) {
    int64_t oa, ob, oc;
    t.offsets(s, oa, ob, oc);
    for (int64_t m = 0; m < d.M; ++m)
      for (int64_t n = 0; n < d.N; ++n) {
        double ref = 0, magnitude = 0;
        for (int64_t k = 0; k < d.K; ++k) {
          const double p = double(t.a[oa + m * d.a_stride_m + k * d.a_stride_k]) *
                           double(t.b[ob + k * d.b_stride_k + n * d.b_stride_n]);
          ref += p;
          magnitude += std::fabs(p);
        }
        const int64_t at = oc + m * d.c_stride_m + n * d.c_stride_n;
        written[at] = true;
        if (accumulate) {
          ref += t.c[at];
          magnitude += std::fabs(t.c[at]);
        }
        const double tolerance = 2.0 * (d.K + 2) * std::ldexp(1.0, -24) * magnitude + 1e-30;
        if (std::fabs(c[at] - ref) > tolerance && ++failures <= 5)
          ADD_FAILURE() << "batch " << s << " c[" << m << "][" << n << "] = " << c[at] << ", reference " << ref;
      }
  }
  for (size_t i = 0; i < c.size(); ++i)
    if (!written[i] && c[i] != t.c[i] && ++failures <= 5)
      ADD_FAILURE() << "element " << i << " outside C was written";
  EXPECT_EQ(failures, 0);
}

std::vector<F32Isa> isas() {
  std::vector<F32Isa> out = {F32Isa::Portable};
  for (F32Isa isa : {F32Isa::Avx2, F32Isa::Avx512}) {
    lowbit_matmul_f32_desc d{};
    if (kernels::matmulF32With(isa, nullptr, nullptr, nullptr, nullptr, &d) == 0)
      out.push_back(isa);
  }
  return out;
}

class MatmulF32Test : public ::testing::Test {
protected:
  void SetUp() override {
    device_ = createCpuDevice();
    ASSERT_TRUE(device_->createStream(3, stream_).isOk());
  }
  const lowbit_dispatch_context *ctx() const { return stream_->dispatchContext(); }
  void run(const Case &t) {
    for (F32Isa isa : isas()) {
      SCOPED_TRACE(kernels::f32IsaName(isa));
      check(t, isa, nullptr);
      check(t, isa, ctx());
    }
  }
  std::unique_ptr<Device> device_;
  std::unique_ptr<Stream> stream_;
};

/// Row-major A [M, K], B [K, N] (or B^T [N, K]), C [M, N].
Case plain(int64_t M, int64_t N, int64_t K, bool transposedB, std::mt19937 &rng) {
  Case t;
  t.d.M = M, t.d.N = N, t.d.K = K;
  t.d.a_stride_m = K, t.d.a_stride_k = 1;
  if (transposedB)
    t.d.b_stride_k = 1, t.d.b_stride_n = K;
  else
    t.d.b_stride_k = N, t.d.b_stride_n = 1;
  t.d.c_stride_m = N, t.d.c_stride_n = 1;
  fill(t, rng);
  return t;
}

TEST_F(MatmulF32Test, RowMajorAndTransposedEdges) {
  std::mt19937 rng(1);
  for (auto [M, N, K] : {std::tuple{1, 1, 1}, {1, 64, 576}, {7, 33, 5}, {13, 31, 17}, {25, 65, 700}, {144, 384, 320},
                         {150, 400, 1000}, {512, 96, 64}, {3, 1000, 12}})
    for (bool transposedB : {false, true}) {
      SCOPED_TRACE("M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                   (transposedB ? " B^T" : ""));
      run(plain(M, N, K, transposedB, rng));
    }
}

TEST_F(MatmulF32Test, AccumulatesIntoC) {
  std::mt19937 rng(2);
  for (int64_t K : {0, 9, 800}) {
    Case t = plain(19, 40, K, false, rng);
    t.d.flags = LOWBIT_MATMUL_F32_ACCUMULATE;
    run(t);
  }
}

TEST_F(MatmulF32Test, EmptySumWritesZeros) {
  std::mt19937 rng(3);
  Case t = plain(5, 6, 0, false, rng);
  run(t);
  std::vector<float> c = t.c;
  ASSERT_EQ(kernels::matmulF32(nullptr, t.a.data(), t.b.data(), c.data(), &t.d), 0);
  for (float v : c)
    EXPECT_EQ(v, 0.f);
}

/// Attention's Q K^T with grouped-query heads: Q [B, S, G*R, D] as the
/// importer leaves it after the transposes are folded, K [B, S, G, D] read
/// in place for every one of the R heads of its group, C [B, G*R, S, S].
TEST_F(MatmulF32Test, GroupedQueryAttentionScores) {
  std::mt19937 rng(4);
  const int64_t B = 2, S = 37, G = 3, R = 3, D = 16, H = G * R;
  Case t;
  t.d.M = S, t.d.N = S, t.d.K = D;
  t.d.a_stride_m = H * D, t.d.a_stride_k = 1;
  t.d.b_stride_k = 1, t.d.b_stride_n = G * D;
  t.d.c_stride_m = S, t.d.c_stride_n = 1;
  t.d.batch_rank = 3;
  const int64_t batch[3] = {B, G, R};
  const int64_t as[3] = {S * H * D, R * D, D}, bs[3] = {S * G * D, D, 0}, cs[3] = {H * S * S, R * S * S, S * S};
  for (int j = 0; j < 3; ++j) {
    t.d.batch[j] = batch[j];
    t.d.a_batch_stride[j] = as[j];
    t.d.b_batch_stride[j] = bs[j];
    t.d.c_batch_stride[j] = cs[j];
  }
  fill(t, rng);
  run(t);
}

/// A weight shared over batch and sequence (folds into M), a vector shared
/// over columns (folds into N), a transposed C, and a broadcast output.
TEST_F(MatmulF32Test, BatchDimensionsFoldOrStay) {
  std::mt19937 rng(5);
  { // [2, 9, 24] x [24, 40] -> [2, 9, 40]
    Case t;
    t.d.M = 9, t.d.N = 40, t.d.K = 24;
    t.d.a_stride_m = 24, t.d.a_stride_k = 1, t.d.b_stride_k = 40, t.d.b_stride_n = 1, t.d.c_stride_m = 40,
    t.d.c_stride_n = 1;
    t.d.batch_rank = 1, t.d.batch[0] = 2, t.d.a_batch_stride[0] = 9 * 24, t.d.c_batch_stride[0] = 9 * 40;
    fill(t, rng);
    run(t);
  }
  { // M = 1 with the rows in a batch dimension; C written transposed
    Case t;
    t.d.M = 1, t.d.N = 20, t.d.K = 33;
    t.d.a_stride_k = 1, t.d.b_stride_k = 1, t.d.b_stride_n = 33, t.d.c_stride_n = 50;
    t.d.batch_rank = 1, t.d.batch[0] = 50, t.d.a_batch_stride[0] = 33, t.d.c_batch_stride[0] = 1;
    fill(t, rng);
    run(t);
  }
  { // the same product written to two places (C broadcast over a batch dimension of 1 and 3)
    Case t;
    t.d.M = 6, t.d.N = 7, t.d.K = 8;
    t.d.a_stride_m = 8, t.d.a_stride_k = 1, t.d.b_stride_k = 7, t.d.b_stride_n = 1, t.d.c_stride_m = 7,
    t.d.c_stride_n = 1;
    t.d.batch_rank = 2, t.d.batch[0] = 1, t.d.batch[1] = 3, t.d.c_batch_stride[0] = 1000,
    t.d.c_batch_stride[1] = 42;
    fill(t, rng);
    run(t);
  }
}

TEST_F(MatmulF32Test, RejectsBadDescriptors) {
  float x = 0;
  lowbit_matmul_f32_desc d{};
  d.M = d.N = d.K = 1;
  d.batch_rank = 7;
  kernels::clearThreadKernelError();
  EXPECT_NE(kernels::matmulF32(nullptr, &x, &x, &x, &d), 0);
  EXPECT_NE(kernels::threadKernelError().find("batch rank 7"), std::string::npos);
  d.batch_rank = 0;
  EXPECT_NE(kernels::matmulF32(nullptr, nullptr, &x, &x, &d), 0);
  EXPECT_NE(kernels::matmulF32(nullptr, &x, &x, &x, nullptr), 0);
  d.K = -1;
  EXPECT_NE(kernels::matmulF32(nullptr, &x, &x, &x, &d), 0);
}

TEST_F(MatmulF32Test, TheContextCarriesIt) {
  ASSERT_EQ(ctx()->abi_version, LOWBIT_ABI_VERSION);
  EXPECT_EQ(ctx()->matmul_f32, &kernels::matmulF32);
}

} // namespace
