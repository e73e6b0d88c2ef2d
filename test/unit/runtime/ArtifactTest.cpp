//===- ArtifactTest.cpp - Artifact writer and loader ----------------------===//
//
// The writer's layout and determinism, and the loader's checks: every
// truncation, every bit flip of the header, table and manifest, and each
// documented limit, fail cleanly (the fuzz smoke test of a fixed set of
// mutated inputs).
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"
#include "RuntimeTestUtil.h"

#include "lowbit/ArtifactFormat.h"
#include "lowbit/abi.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <cstdlib>
#include <sys/stat.h>

using namespace lowbit;
using namespace lowbit::artifact;
using lowbit::runtime::ParsedArtifact;
using lowbit::runtime::parseArtifact;

namespace {

/// A small artifact: the host code is a stand-in (an ELF magic and filler),
/// since the loader does not load it.
struct Small {
  std::vector<uint8_t> host;
  std::vector<float> w = {1.5f, -2.f, 3.25f, 0.f};
  std::vector<uint8_t> q;
  std::vector<int64_t> z = {1, 2, 3, 4, 5, -6};
  ArtifactContents contents;

  Small() {
    host = {0x7f, 'E', 'L', 'F'};
    for (int i = 0; i < 60; ++i)
      host.push_back(static_cast<uint8_t>(i * 7));
    for (int i = 0; i < 37; ++i)
      q.push_back(static_cast<uint8_t>(255 - i));
    contents.targetTriple = "x86_64-unknown-linux-gnu";
    contents.cpu = "generic";
    contents.entrySymbol = "entry";
    contents.inputs = {{"x", LOWBIT_F32, {-1, 4}}};
    contents.outputs = {{"y", LOWBIT_F32, {-1, 4}}, {"total", LOWBIT_F32, {}}};
    contents.weights = {{{"w", LOWBIT_F32, {4}}, w.data(), w.size() * 4},
                        {{"q", LOWBIT_I8, {37}}, q.data(), q.size()},
                        {{"z", LOWBIT_I64, {2, 3}}, z.data(), z.size() * 8}};
    contents.hostCode = host.data();
    contents.hostCodeSize = host.size();
  }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out;
    Status s = serializeArtifact(contents, out);
    EXPECT_TRUE(s.isOk()) << s.message();
    return out;
  }
};

/// File offsets of manifest fields of Small's artifact, found by walking it.
struct Offsets {
  uint64_t manifest = 4096, abi, triple, inputCount, input0Rank, input0Dim0, outputCount, weightCount;
  uint64_t weight1Offset, weight1Size, weight1Dtype;
};

Offsets offsetsOf(const ArtifactContents &c) {
  Offsets o;
  uint64_t at = o.manifest;
  o.abi = at;
  at += 4;
  o.triple = at;
  at += 4 + c.targetTriple.size();
  at += 4 + c.cpu.size();
  at += 4 + c.entrySymbol.size();
  auto tensor = [&](const TensorDesc &t, uint64_t *dtype, uint64_t *rank, uint64_t *dim0) {
    at += 4 + t.name.size();
    if (dtype)
      *dtype = at;
    at += 4;
    if (rank)
      *rank = at;
    at += 4;
    if (dim0)
      *dim0 = at;
    at += 8 * t.dims.size();
  };
  o.inputCount = at;
  at += 4;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    tensor(c.inputs[i], nullptr, i == 0 ? &o.input0Rank : nullptr, i == 0 ? &o.input0Dim0 : nullptr);
  o.outputCount = at;
  at += 4;
  for (const TensorDesc &t : c.outputs)
    tensor(t, nullptr, nullptr, nullptr);
  o.weightCount = at;
  at += 4;
  for (size_t i = 0; i < c.weights.size(); ++i) {
    tensor(c.weights[i].tensor, i == 1 ? &o.weight1Dtype : nullptr, nullptr, nullptr);
    if (i == 1) {
      o.weight1Offset = at;
      o.weight1Size = at + 8;
    }
    at += 16;
  }
  return o;
}

void putU32(std::vector<uint8_t> &b, uint64_t at, uint32_t v) { std::memcpy(&b[at], &v, 4); }
void putU64(std::vector<uint8_t> &b, uint64_t at, uint64_t v) { std::memcpy(&b[at], &v, 8); }
uint64_t getU64(const std::vector<uint8_t> &b, uint64_t at) {
  uint64_t v;
  std::memcpy(&v, &b[at], 8);
  return v;
}

/// Parses `bytes`; returns the error message, or "" on success.
std::string parseError(const std::vector<uint8_t> &bytes) {
  ParsedArtifact parsed;
  Status s = parseArtifact(bytes.data(), bytes.size(), parsed);
  return s.failed() ? s.message() : "";
}

TEST(ArtifactWriter, RoundTrip) {
  Small small;
  std::vector<uint8_t> bytes = small.bytes();
  ParsedArtifact parsed;
  Status s = parseArtifact(bytes.data(), bytes.size(), parsed);
  ASSERT_TRUE(s.isOk()) << s.message();
  const runtime::Manifest &m = parsed.manifest;
  EXPECT_EQ(m.abiVersion, uint32_t(LOWBIT_ABI_VERSION));
  EXPECT_EQ(m.targetTriple, "x86_64-unknown-linux-gnu");
  EXPECT_EQ(m.cpu, "generic");
  EXPECT_EQ(m.entrySymbol, "entry");
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].name, "x");
  EXPECT_EQ(m.inputs[0].dims, (std::vector<int64_t>{-1, 4}));
  ASSERT_EQ(m.outputs.size(), 2u);
  EXPECT_EQ(m.outputs[1].name, "total");
  EXPECT_TRUE(m.outputs[1].dims.empty());
  ASSERT_EQ(m.weights.size(), 3u);
  EXPECT_EQ(parsed.hostCodeSize, small.host.size());
  EXPECT_EQ(std::memcmp(parsed.hostCode, small.host.data(), small.host.size()), 0);
  const void *sources[] = {small.w.data(), small.q.data(), small.z.data()};
  for (size_t i = 0; i < 3; ++i) {
    const runtime::WeightInfo &w = m.weights[i];
    EXPECT_EQ(w.tensor.name, small.contents.weights[i].tensor.name);
    EXPECT_EQ(w.size, small.contents.weights[i].size);
    EXPECT_EQ(w.offset % kWeightAlignment, 0u);
    EXPECT_EQ(std::memcmp(parsed.weights + w.offset, sources[i], w.size), 0) << "weight " << i;
    EXPECT_EQ((parsed.weights + w.offset - bytes.data()) % 64, 0);
  }
  // Sections start on 4096-byte boundaries; the file ends with the weights.
  EXPECT_EQ((parsed.hostCode - bytes.data()) % 4096, 0);
  EXPECT_EQ((parsed.weights - bytes.data()) % 4096, 0);
  EXPECT_EQ(parsed.weights + parsed.weightsSize, bytes.data() + bytes.size());
}

TEST(ArtifactWriter, Deterministic) {
  Small a, b;
  EXPECT_EQ(a.bytes(), b.bytes());
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const char *name : {"one.lbm", "two.lbm"}) {
    Status s = writeArtifact(a.contents, dir.file(name));
    ASSERT_TRUE(s.isOk()) << s.message();
  }
  EXPECT_EQ(test::readBytes(dir.file("one.lbm")), a.bytes());
  EXPECT_EQ(test::readBytes(dir.file("two.lbm")), a.bytes());
  // Writing again over an existing file replaces it whole.
  ASSERT_TRUE(writeArtifact(a.contents, dir.file("one.lbm")).isOk());
  EXPECT_EQ(test::readBytes(dir.file("one.lbm")), a.bytes());
}

TEST(ArtifactWriter, FailureLeavesNothing) {
  test::TempDir dir;
  Small small;
  ASSERT_TRUE(writeArtifact(small.contents, dir.file("model.lbm")).isOk());
  const std::vector<uint8_t> before = test::readBytes(dir.file("model.lbm"));

  Small bad;
  bad.contents.weights[0].size = 12; // not 4 floats
  Status s = writeArtifact(bad.contents, dir.file("model.lbm"));
  ASSERT_TRUE(s.failed());
  EXPECT_NE(s.message().find("weights[0]"), std::string::npos) << s.message();
  EXPECT_EQ(test::readBytes(dir.file("model.lbm")), before);

  s = writeArtifact(small.contents, dir.file("no-such-dir/model.lbm"));
  EXPECT_TRUE(s.failed());
  // Only the first artifact is in the directory: no temporary files.
  std::string listing;
  FILE *ls = popen(("ls -A '" + dir.path() + "'").c_str(), "r");
  char line[256];
  while (ls && fgets(line, sizeof line, ls))
    listing += line;
  if (ls)
    pclose(ls);
  EXPECT_EQ(listing, "model.lbm\n");
}

TEST(ArtifactWriter, RejectsBadContents) {
  struct Case {
    const char *what;
    void (*mutate)(ArtifactContents &);
    const char *message;
  } cases[] = {
      {"unknown dtype", [](ArtifactContents &c) { c.inputs[0].dtype = 99; }, "unknown dtype"},
      {"rank 17", [](ArtifactContents &c) { c.outputs[0].dims.assign(17, 1); }, "rank 17"},
      {"dim -2", [](ArtifactContents &c) { c.inputs[0].dims[1] = -2; }, "dims[1]"},
      {"dynamic weight", [](ArtifactContents &c) { c.weights[0].tensor.dims[0] = -1; }, "static"},
      {"empty entry", [](ArtifactContents &c) { c.entrySymbol.clear(); }, "entry symbol"},
      {"long name", [](ArtifactContents &c) { c.inputs[0].name.assign(kMaxStringLength + 1, 'a'); }, "bytes"},
      {"NUL in name", [](ArtifactContents &c) { c.outputs[0].name = std::string("a\0b", 3); }, "NUL"},
      {"no host code", [](ArtifactContents &c) { c.hostCodeSize = 0; }, "host code"},
  };
  for (const Case &k : cases) {
    Small small;
    k.mutate(small.contents);
    std::vector<uint8_t> out;
    Status s = serializeArtifact(small.contents, out);
    ASSERT_TRUE(s.failed()) << k.what;
    EXPECT_NE(s.message().find(k.message), std::string::npos) << k.what << ": " << s.message();
  }
}

TEST(ArtifactLoader, EveryTruncationFails) {
  const std::vector<uint8_t> bytes = Small().bytes();
  for (size_t length = 0; length < bytes.size(); ++length) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + length);
    EXPECT_NE(parseError(prefix), "") << "prefix of " << length << " bytes";
    // Also with the header's fileSize patched to match, so the section and
    // manifest checks see the short file.
    if (length >= 64) {
      putU64(prefix, 16, length);
      EXPECT_NE(parseError(prefix), "") << "patched prefix of " << length << " bytes";
    }
  }
}

TEST(ArtifactLoader, BitFlipsFailCleanly) {
  Small small;
  const std::vector<uint8_t> bytes = small.bytes();
  ParsedArtifact parsed;
  ASSERT_TRUE(parseArtifact(bytes.data(), bytes.size(), parsed).isOk());
  const uint64_t manifestEnd = 4096 + getU64(bytes, 64 + 16);
  int accepted = 0, rejected = 0;
  for (uint64_t byte = 0; byte < manifestEnd; ++byte) {
    if (byte >= 64 + 3 * 32 && byte < 4096)
      continue; // padding: covered by the fuzz target, not by the format
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> flipped = bytes;
      flipped[byte] ^= static_cast<uint8_t>(1u << bit);
      const std::string error = parseError(flipped);
      if (error.empty()) {
        ++accepted;
        // Only a few fields may change and stay valid: the host code's size
        // (shrinking it), the names, the target strings and the input and
        // output dims. Never the header.
        EXPECT_GE(byte, 64u) << "a flip of header byte " << byte << " bit " << bit << " was accepted";
      } else {
        ++rejected;
        EXPECT_EQ(error.rfind("artifact: ", 0), 0u) << error;
        EXPECT_NE(error.find("byte offset"), std::string::npos) << error;
      }
    }
  }
  EXPECT_GT(rejected, accepted);
  // Flips inside the weights change only weight values.
  for (uint64_t byte = parsed.weights - bytes.data(); byte < bytes.size(); byte += 7) {
    std::vector<uint8_t> flipped = bytes;
    flipped[byte] ^= 0x10;
    EXPECT_EQ(parseError(flipped), "") << "weight byte " << byte;
  }
}

TEST(ArtifactLoader, NamedErrors) {
  Small small;
  const std::vector<uint8_t> good = small.bytes();
  const Offsets o = offsetsOf(small.contents);
  ASSERT_EQ(parseError(good), "");
  const uint64_t table = 64, manifestEntry = table, hostEntry = table + 32, weightsEntry = table + 64;
  struct Case {
    const char *what;
    std::function<void(std::vector<uint8_t> &)> mutate;
    const char *message;
  } cases[] = {
      {"magic", [](auto &b) { b[3] = 'X'; }, "magic"},
      {"version", [](auto &b) { putU32(b, 8, 2); }, "version is 2"},
      {"zero sections", [](auto &b) { putU32(b, 12, 0); }, "sectionCount"},
      {"too many sections", [](auto &b) { putU32(b, 12, 65); }, "sectionCount"},
      {"oversized fileSize", [](auto &b) { putU64(b, 16, b.size() + 4096); }, "fileSize"},
      {"huge fileSize", [](auto &b) { putU64(b, 16, ~0ull); }, "fileSize"},
      {"table in header", [](auto &b) { putU64(b, 24, 32); }, "inside the 64-byte header"},
      {"table past end", [](auto &b) { putU64(b, 24, ~0ull - 8); }, "outside the file"},
      {"reserved header", [](auto &b) { b[40] = 1; }, "reserved"},
      {"unknown kind", [&](auto &b) { putU32(b, hostEntry, 7); }, "kind 7"},
      {"duplicate kind", [&](auto &b) { putU32(b, hostEntry, 1); }, "repeats section 0"},
      {"reserved entry", [&](auto &b) { putU32(b, hostEntry + 4, 1); }, "reserved"},
      {"misaligned section", [&](auto &b) { putU64(b, hostEntry + 8, getU64(b, hostEntry + 8) + 64); },
       "not a multiple of 4096"},
      {"section past end", [&](auto &b) { putU64(b, weightsEntry + 16, getU64(b, weightsEntry + 16) + 1); },
       "outside the file"},
      {"huge section", [&](auto &b) { putU64(b, weightsEntry + 16, ~0ull); }, "outside the file"},
      {"overlapping sections", [&](auto &b) { putU64(b, weightsEntry + 8, getU64(b, manifestEntry + 8)); },
       "overlaps section 0 (Manifest)"},
      {"section over header", [&](auto &b) { putU64(b, hostEntry + 8, 0); }, "overlaps the file header"},
      {"host code not ELF", [&](auto &b) { b[getU64(b, hostEntry + 8)] = 0; }, "not an ELF"},
      {"abi version", [&](auto &b) { putU32(b, o.abi, 99); }, "abiVersion is 99"},
      {"absurd string length", [&](auto &b) { putU32(b, o.triple, 0xfffffff0u); }, "targetTriple has length"},
      {"string past manifest", [&](auto &b) { putU32(b, o.triple, 60000); }, "bytes of the manifest remain"},
      {"absurd count", [&](auto &b) { putU32(b, o.inputCount, 0xffffffffu); }, "inputCount is 4294967295"},
      {"count past manifest", [&](auto &b) { putU32(b, o.outputCount, 1000); }, "outputCount is 1000"},
      {"absurd weight count", [&](auto &b) { putU32(b, o.weightCount, 1u << 20); }, "weightCount"},
      {"absurd rank", [&](auto &b) { putU32(b, o.input0Rank, 1000); }, "inputs[0].rank"},
      {"bad dim", [&](auto &b) { putU64(b, o.input0Dim0, uint64_t(-5)); }, "inputs[0].dims[0]"},
      {"bad dtype", [&](auto &b) { putU32(b, o.weight1Dtype, 8); }, "weights[1].dtype"},
      {"weight past section", [&](auto &b) { putU64(b, o.weight1Offset, 1 << 20); }, "weights[1] ('q') spans"},
      {"misaligned weight", [&](auto &b) { putU64(b, o.weight1Offset, getU64(b, o.weight1Offset) + 1); },
       "not a multiple of 64"},
      {"weight size vs shape", [&](auto &b) { putU64(b, o.weight1Size, 36); }, "need 37 bytes"},
      {"trailing manifest bytes",
       [&](auto &b) { putU64(b, manifestEntry + 16, getU64(b, manifestEntry + 16) + 3); }, "after its last field"},
  };
  for (const Case &k : cases) {
    std::vector<uint8_t> bytes = good;
    k.mutate(bytes);
    const std::string error = parseError(bytes);
    EXPECT_NE(error.find(k.message), std::string::npos) << k.what << ": \"" << error << "\"";
    EXPECT_NE(error.find("byte offset"), std::string::npos) << k.what << ": \"" << error << "\"";
  }
}

TEST(ArtifactLoader, OpenReportsIoAndFormat) {
  test::TempDir dir;
  lowbit_model *model = nullptr;
  EXPECT_EQ(lowbit_model_open(dir.file("missing.lbm").c_str(), &model), LOWBIT_ERROR_IO);
  EXPECT_NE(std::string(lowbit_last_error()).find("missing.lbm"), std::string::npos);
  EXPECT_EQ(lowbit_model_open(dir.path().c_str(), &model), LOWBIT_ERROR_IO);
  std::vector<uint8_t> bytes = Small().bytes();
  ASSERT_TRUE(test::writeBytes(dir.file("cut.lbm"), std::vector<uint8_t>(bytes.begin(), bytes.begin() + 5000)));
  EXPECT_EQ(lowbit_model_open(dir.file("cut.lbm").c_str(), &model), LOWBIT_ERROR_FORMAT);
  EXPECT_NE(std::string(lowbit_last_error()).find("fileSize"), std::string::npos) << lowbit_last_error();
  ASSERT_TRUE(test::writeBytes(dir.file("empty.lbm"), {}));
  EXPECT_EQ(lowbit_model_open(dir.file("empty.lbm").c_str(), &model), LOWBIT_ERROR_FORMAT);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(lowbit_model_open(nullptr, &model), LOWBIT_ERROR_ARGUMENT);
}

// A Weights section of 2 MiB or more is read into huge pages (HugePages.h)
// where the system has them, byte for byte the file's; LOWBIT_HUGE_PAGES=0
// keeps it in the file mapping. Either way the weights' pointers count as the
// artifact's (outputs that alias a weight are not freed).
TEST(ArtifactLoader, LargeWeightsGoToHugePages) {
  Small small;
  std::vector<uint8_t> big(size_t(3) << 20);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>(i * 131 + i / 4099);
  small.contents.weights.push_back({{"big", LOWBIT_U8, {int64_t(big.size())}}, big.data(), big.size()});
  test::TempDir dir;
  ASSERT_TRUE(test::writeBytes(dir.file("big.lbm"), small.bytes()));
  for (bool allow : {true, false}) {
    if (!allow)
      setenv("LOWBIT_HUGE_PAGES", "0", 1);
    std::unique_ptr<runtime::Artifact> a;
    bool ioError = false;
    Status s = runtime::Artifact::open(dir.file("big.lbm"), a, ioError);
    unsetenv("LOWBIT_HUGE_PAGES");
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_EQ(a->weightsInHugePages(), allow && runtime::HugePageBuffer::available()) << "allow " << allow;
    const runtime::WeightInfo &w = a->manifest().weights.back();
    const uint8_t *at = a->parsed().weights + w.offset;
    EXPECT_EQ(std::memcmp(at, big.data(), big.size()), 0) << "allow " << allow;
    EXPECT_TRUE(a->contains(at, w.size));
    if (a->weightsInHugePages())
      EXPECT_EQ(reinterpret_cast<uintptr_t>(a->parsed().weights) % (uintptr_t(2) << 20), 0u);
  }
}

} // namespace
