//===- QuantSearchTest.cpp - The searches behind the K-quants -------------===//
//
// White-box tests of lib/Quant's private search helpers (QuantCommon.h).

#include "QuantCommon.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

using namespace lowbit::quant::detail;

namespace {

/// Groups that exercise every branch: Gaussian, all zero, constant of either
/// sign (a flat group: max == min), all positive, subnormal, one outlier.
std::vector<float> awkwardGroups(int lanes, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(lanes * n);
  for (int j = 0; j < lanes; ++j) {
    for (int i = 0; i < n; ++i) {
      float &v = x[j * n + i];
      switch ((j + seed) % 7) {
      case 0: v = 0.f; break;
      case 1: v = -0.75f; break;
      case 2: v = 0.5f; break;
      case 3: v = std::fabs(dist(rng)) + 1.f; break;
      case 4: v = dist(rng) * 1e-40f; break;
      case 5: v = i == 3 ? 40.f : dist(rng); break;
      default: v = dist(rng); break;
      }
    }
  }
  return x;
}

template <int Lanes>
void expectLanesMatchScalar(int n, int nmax, float rmin, float rdelta, int nstep, bool useMad) {
  for (unsigned seed = 0; seed < 40; ++seed) {
    const std::vector<float> x = awkwardGroups(Lanes, n, seed);
    std::vector<float> w(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      w[i] = seed % 2 ? std::fabs(x[i]) : 0.3f + std::fabs(x[i]);
    std::vector<uint8_t> laneL(x.size());
    float laneScale[Lanes], laneMin[Lanes];
    makeQkxQuantsLanes<Lanes>(n, nmax, x.data(), w.data(), laneL.data(), laneScale, laneMin, rmin, rdelta, nstep,
                              useMad);
    for (int j = 0; j < Lanes; ++j) {
      uint8_t L[32], Laux[32];
      float theMin;
      const float scale = makeQkxQuants(n, nmax, x.data() + j * n, w.data() + j * n, L, theMin, Laux, rmin,
                                        rdelta, nstep, useMad);
      // Bitwise: the lanes must give exactly the scalar search's bytes.
      EXPECT_EQ(std::memcmp(&scale, &laneScale[j], 4), 0) << "seed " << seed << " lane " << j;
      EXPECT_EQ(std::memcmp(&theMin, &laneMin[j], 4), 0) << "seed " << seed << " lane " << j;
      EXPECT_EQ(std::memcmp(L, laneL.data() + j * n, n), 0) << "seed " << seed << " lane " << j;
    }
  }
}

TEST(QuantSearch, LanesMatchScalarQ4K) { expectLanesMatchScalar<8>(32, 15, -1.f, 0.1f, 20, false); }
TEST(QuantSearch, LanesMatchScalarQ5K) { expectLanesMatchScalar<8>(32, 31, -0.5f, 0.1f, 15, false); }
TEST(QuantSearch, LanesMatchScalarQ2K) { expectLanesMatchScalar<16>(16, 3, -0.5f, 0.1f, 15, true); }
TEST(QuantSearch, LanesMatchScalarTwoSuperBlocks) { expectLanesMatchScalar<16>(32, 15, -1.f, 0.1f, 20, false); }
TEST(QuantSearch, LanesMatchScalarImportance) {
  expectLanesMatchScalar<8>(32, 15, -0.9f, 0.05f, 36, false);
  expectLanesMatchScalar<16>(16, 3, -0.9f, 0.05f, 36, false);
}

template <int Lanes>
void expectQxLanesMatchScalar(int n, int nmax, bool withWeights) {
  for (unsigned seed = 0; seed < 40; ++seed) {
    const std::vector<float> x = awkwardGroups(Lanes, n, seed);
    std::vector<float> w(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      w[i] = 0.1f + (i % 7);
    std::vector<int8_t> laneL(x.size());
    float laneScale[Lanes];
    makeQxQuantsLanes<Lanes>(n, nmax, x.data(), laneL.data(), withWeights ? w.data() : nullptr, laneScale);
    for (int j = 0; j < Lanes; ++j) {
      int8_t L[32];
      const float scale = makeQxQuants(n, nmax, x.data() + j * n, L, 1, withWeights ? w.data() + j * n : nullptr);
      EXPECT_EQ(std::memcmp(&scale, &laneScale[j], 4), 0) << "seed " << seed << " lane " << j;
      EXPECT_EQ(std::memcmp(L, laneL.data() + j * n, n), 0) << "seed " << seed << " lane " << j;
    }
  }
}

TEST(QuantSearch, QxLanesMatchScalar) {
  expectQxLanesMatchScalar<16>(16, 32, false); // Q6_K
  expectQxLanesMatchScalar<16>(16, 32, true);  // Q6_K with importance
  expectQxLanesMatchScalar<16>(16, 4, true);   // Q3_K with importance
  expectQxLanesMatchScalar<8>(32, 8, true);    // Q4_0 with importance
  expectQxLanesMatchScalar<16>(32, 8, true);   // Q4_0 with importance, a chunk of 16 blocks
  expectQxLanesMatchScalar<8>(32, 16, true);   // Q5_0 with importance
}

TEST(QuantSearch, NearestIntRoundsHalfToEven) {
  // ggml's nearest_int: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2.
  EXPECT_EQ(nearestInt(0.5f), 0);
  EXPECT_EQ(nearestInt(1.5f), 2);
  EXPECT_EQ(nearestInt(2.5f), 2);
  EXPECT_EQ(nearestInt(-0.5f), 0);
  EXPECT_EQ(nearestInt(-1.5f), -2);
  EXPECT_EQ(nearestInt(4194303.f), 4194303); // the largest exact input, 2^22 - 1
}

TEST(QuantSearch, TableIndexTiesGoUp) {
  static constexpr int8_t kT[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  EXPECT_EQ(nearestTableIndex(kT, -4.5f), 8);  // midway between -10 and 1: the upper one
  EXPECT_EQ(nearestTableIndex(kT, -4.6f), 7);
  EXPECT_EQ(nearestTableIndex(kT, -200.f), 0);
  EXPECT_EQ(nearestTableIndex(kT, 200.f), 15);
  EXPECT_EQ(nearestTableIndex(kT, 101.f), 15); // midway between 89 and 113
  EXPECT_EQ(nearestTableIndex(kT, 0.f), 8);
}

TEST(QuantSearch, CastsBehaveLikeX86) {
  // Out-of-range float -> int conversions give INT32_MIN (cvttss2si), whose
  // low byte is 0; in-range ones truncate toward zero.
  EXPECT_EQ(truncToInt8(INFINITY), 0);
  EXPECT_EQ(truncToInt8(std::nanf("")), 0);
  EXPECT_EQ(truncToInt8(-7.9f), -7);
  EXPECT_EQ(truncToUint8(200.7f), 200);
  EXPECT_EQ(lroundToInt(2.5f), 3);   // ties away from zero
  EXPECT_EQ(lroundToInt(-2.5f), -3);
}

} // namespace
