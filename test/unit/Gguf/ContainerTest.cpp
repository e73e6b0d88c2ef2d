//===- ContainerTest.cpp - GGUF reader and writer -------------------------===//

#include "GgufTestUtil.h"

#include "lowbit/Gguf/Reader.h"
#include "lowbit/Gguf/TypeTable.h"
#include "lowbit/Gguf/Writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <random>
#include <unistd.h>

using namespace lowbit;
using namespace lowbit::gguf;
using lowbit::gguf::test::Bytes;

namespace {

/// Tensor data filled with a byte pattern that depends on the tensor.
TensorDataFn patternData() {
  return [](size_t index, const TensorInfo &t, std::vector<uint8_t> &bytes) {
    bytes.resize(t.byteSize);
    for (size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<uint8_t>(i * 7 + index);
    return Status::ok();
  };
}

TensorInfo tensor(std::string name, std::vector<int64_t> shape, uint32_t type) {
  TensorInfo t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.type = type;
  return t;
}

Metadata everyValueType() {
  Metadata m;
  m.set("general.architecture", Value::string("llama"));
  m.set("t.u8", Value::scalar<uint8_t>(200));
  m.set("t.i8", Value::scalar<int8_t>(-100));
  m.set("t.u16", Value::scalar<uint16_t>(60000));
  m.set("t.i16", Value::scalar<int16_t>(-30000));
  m.set("t.u32", Value::scalar<uint32_t>(4000000000u));
  m.set("t.i32", Value::scalar<int32_t>(-2000000000));
  m.set("t.f32", Value::scalar<float>(1.5f));
  m.set("t.bool", Value::scalar<bool>(true));
  m.set("t.string", Value::string("hello \xE2\x9C\x93"));
  m.set("t.empty_string", Value::string(""));
  m.set("t.u64", Value::scalar<uint64_t>(18000000000000000000ull));
  m.set("t.i64", Value::scalar<int64_t>(-9000000000000000000ll));
  m.set("t.f64", Value::scalar<double>(-2.25));
  m.set("a.u8", Value::array<uint8_t>({1, 2, 255}));
  m.set("a.i8", Value::array<int8_t>({-1, 0, 127}));
  m.set("a.u16", Value::array<uint16_t>({1, 65535}));
  m.set("a.i16", Value::array<int16_t>({-32768, 7}));
  m.set("a.u32", Value::array<uint32_t>({0, 1, 4294967295u}));
  m.set("a.i32", Value::array<int32_t>({-5, 5}));
  m.set("a.f32", Value::array<float>({0.5f, -1e30f}));
  m.set("a.bool", Value::array<bool>({true, false, true}));
  m.set("a.string", Value::stringArray({"a", "", "ccc"}));
  m.set("a.u64", Value::array<uint64_t>({1ull << 63}));
  m.set("a.i64", Value::array<int64_t>({-1}));
  m.set("a.f64", Value::array<double>({3.25, 1e300}));
  m.set("a.empty", Value::array<uint32_t>({}));
  m.set("a.empty_strings", Value::stringArray({}));
  return m;
}

std::vector<uint8_t> encode(const Metadata &m, std::vector<TensorInfo> tensors) {
  std::vector<uint8_t> bytes;
  Status s = encodeGguf(m, std::move(tensors), patternData(), bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  return bytes;
}

/// A small valid file whose last tensor needs no padding, so that every
/// strict prefix of it is missing bytes the reader needs.
std::vector<uint8_t> smallValidFile() {
  Metadata m;
  m.set("general.architecture", Value::string("llama"));
  m.set("general.alignment", Value::scalar<uint32_t>(32));
  m.set("tokenizer.ggml.tokens", Value::stringArray({"<s>", "a"}));
  m.set("x.scores", Value::array<float>({0.f, -1.f}));
  return encode(m, {tensor("w", {32, 2}, /*Q4_0*/ 2), tensor("norm", {8}, /*F32*/ 0)});
}

std::string parseError(const std::vector<uint8_t> &bytes) {
  GgufReader reader;
  Status s = GgufReader::parse(bytes.data(), bytes.size(), reader);
  EXPECT_TRUE(s.failed()) << "parsed a file that should be rejected";
  return s.message();
}

std::string tempDir() {
  char path[] = "/tmp/lowbit-gguf-test-XXXXXX";
  return mkdtemp(path);
}

size_t filesIn(const std::string &dir) {
  size_t n = 0;
  DIR *d = opendir(dir.c_str());
  while (dirent *e = readdir(d))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
      ++n;
  closedir(d);
  return n;
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(GgufContainer, EveryMetadataTypeRoundTrips) {
  Metadata m = everyValueType();
  std::vector<uint8_t> bytes = encode(m, {});
  GgufReader reader;
  Status s = GgufReader::parse(bytes.data(), bytes.size(), reader);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(reader.version(), 3u);
  EXPECT_EQ(reader.metadata(), m);
  EXPECT_EQ(*reader.metadata().find("t.i64")->get<int64_t>(), -9000000000000000000ll);
  EXPECT_EQ(*reader.metadata().find("a.f64")->element<double>(1), 1e300);
  EXPECT_EQ(*reader.metadata().find("a.bool")->element<bool>(1), false);
  EXPECT_EQ((*reader.metadata().find("a.string")->asStringArray())[2], "ccc");
  // Re-encoding what was read gives the same bytes.
  EXPECT_EQ(encode(reader.metadata(), {}), bytes);
  // No tensors: no padding after the header.
  EXPECT_EQ(reader.dataOffset(), bytes.size());
}

TEST(GgufContainer, TensorsRoundTripThroughAFile) {
  std::string dir = tempDir();
  std::string path = dir + "/model.gguf";
  Metadata m = everyValueType();
  m.set("general.alignment", Value::scalar<uint32_t>(64));
  std::vector<TensorInfo> tensors = {tensor("a", {256, 3}, 12), tensor("b", {5}, 0), tensor("c", {32, 2, 2}, 8),
                                     tensor("d", {4, 1, 1}, 1)};
  Status s = writeGguf(path, m, tensors, patternData());
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(filesIn(dir), 1u) << "the temporary file was not renamed";

  GgufReader reader;
  s = GgufReader::open(path, reader);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(reader.alignment(), 64u);
  EXPECT_EQ(reader.dataOffset() % 64, 0u);
  ASSERT_EQ(reader.tensors().size(), 4u);
  const TensorInfo &d = reader.tensors()[3];
  EXPECT_EQ(d.shape, (std::vector<int64_t>{4})) << "trailing 1s are dropped as ggml does";
  uint64_t expectedOffset = 0;
  for (size_t i = 0; i < reader.tensors().size(); ++i) {
    const TensorInfo &t = reader.tensors()[i];
    EXPECT_EQ(t.offset, expectedOffset) << t.name;
    expectedOffset += (t.byteSize + 63) / 64 * 64;
    const uint8_t *bytes = reader.tensorData(t);
    for (size_t j = 0; j < t.byteSize; ++j)
      ASSERT_EQ(bytes[j], static_cast<uint8_t>(j * 7 + i)) << t.name << " byte " << j;
  }
  EXPECT_EQ(reader.tensors()[0].byteSize, 3u * 144);
  EXPECT_EQ(reader.fileSize(), reader.dataOffset() + expectedOffset) << "the last tensor is padded too";
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

// GGUF_SPEC.md section 1.9: 5 KVs, a Q4_K [512,3] and an F32 [5] tensor.
TEST(GgufContainer, WorkedExampleOffsets) {
  Metadata m;
  m.set("general.architecture", Value::string("llama"));
  m.set("tokenizer.ggml.tokens", Value::stringArray({"a", "b", "c"}));
  m.set("general.alignment", Value::scalar<uint32_t>(32));
  m.set("general.name", Value::string("tiny"));
  m.set("test.flag", Value::scalar<bool>(true));
  std::vector<uint8_t> bytes =
      encode(m, {tensor("blk.0.attn_q.weight", {512, 3}, 12), tensor("blk.0.attn_norm.weight", {5}, 0)});

  auto u32At = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, &bytes[at], 4);
    return v;
  };
  auto u64At = [&](size_t at) {
    uint64_t v;
    std::memcpy(&v, &bytes[at], 8);
    return v;
  };
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "GGUF");
  EXPECT_EQ(u32At(0x004), 3u);
  EXPECT_EQ(u64At(0x008), 2u);
  EXPECT_EQ(u64At(0x010), 5u);
  EXPECT_EQ(u64At(0x018), 20u);
  EXPECT_EQ(std::string(bytes.begin() + 0x20, bytes.begin() + 0x34), "general.architecture");
  EXPECT_EQ(u32At(0x034), 8u);
  EXPECT_EQ(u64At(0x038), 5u);
  EXPECT_EQ(std::string(bytes.begin() + 0x40, bytes.begin() + 0x45), "llama");
  // tokenizer.ggml.tokens: ARRAY of STRING with 3 elements.
  EXPECT_EQ(u64At(0x045), 21u);
  EXPECT_EQ(u32At(0x045 + 8 + 21), 9u);
  EXPECT_EQ(u32At(0x045 + 8 + 21 + 4), 8u);
  EXPECT_EQ(u64At(0x045 + 8 + 21 + 8), 3u);

  GgufReader reader;
  Status s = GgufReader::parse(bytes.data(), bytes.size(), reader);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(reader.dataOffset(), 0x160u);
  EXPECT_EQ(reader.tensors()[0].byteSize, 864u);
  EXPECT_EQ(reader.tensors()[1].offset, 864u);
  EXPECT_EQ(bytes.size(), 0x160u + 864 + 32);
  // The header is zero-padded up to the data section.
  EXPECT_EQ(bytes[0x160 - 1], 0);
}

TEST(GgufContainer, AcceptsVersion2) {
  std::vector<uint8_t> bytes = smallValidFile();
  bytes[4] = 2;
  GgufReader reader;
  Status s = GgufReader::parse(bytes.data(), bytes.size(), reader);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(reader.version(), 2u);
}

TEST(GgufContainer, ValueAccessorsCheckTypes) {
  Value v = Value::scalar<uint32_t>(7);
  EXPECT_EQ(v.get<uint32_t>(), 7u);
  EXPECT_FALSE(v.get<uint64_t>());
  EXPECT_EQ(v.asUnsigned(), 7u);
  EXPECT_FALSE(Value::scalar<int32_t>(-1).asUnsigned());
  EXPECT_EQ(Value::scalar<int32_t>(32).asUnsigned(), 32u);
  EXPECT_FALSE(Value::string("x").asUnsigned());
  EXPECT_FALSE(Value::array<float>({1.f}).element<double>(0));
  EXPECT_FALSE(Value::array<float>({1.f}).element<float>(1));
  Metadata m;
  m.set("k", Value::scalar<uint8_t>(1));
  m.set("j", Value::scalar<uint8_t>(2));
  m.set("k", Value::string("replaced"));
  EXPECT_EQ(m.entries()[0].first, "k") << "set keeps the position of an existing key";
  EXPECT_EQ(m.getString("k"), "replaced");
  EXPECT_TRUE(m.erase("k"));
  EXPECT_EQ(m.getUnsigned("j"), 2u);
}

//===----------------------------------------------------------------------===//
// Reader checks (GGUF_SPEC.md section 1.6) and bounds
//===----------------------------------------------------------------------===//

TEST(GgufReaderChecks, EveryPrefixOfAValidFileIsAnError) {
  std::vector<uint8_t> bytes = smallValidFile();
  GgufReader reader;
  ASSERT_TRUE(GgufReader::parse(bytes.data(), bytes.size(), reader).isOk());
  for (size_t length = 0; length < bytes.size(); ++length) {
    // A heap copy of exactly `length` bytes, so that an overread is a real one.
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + length);
    Status s = GgufReader::parse(prefix.data(), prefix.size(), reader);
    EXPECT_TRUE(s.failed()) << "prefix of " << length << " bytes parsed";
  }
}

TEST(GgufReaderChecks, RandomCorruptionNeverCrashes) {
  std::vector<uint8_t> valid = smallValidFile();
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> bytes = valid;
    int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f)
      bytes[rng() % bytes.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    GgufReader reader;
    Status s = GgufReader::parse(bytes.data(), bytes.size(), reader);
    if (s.isOk()) // whatever parsed must be self-consistent
      for (const TensorInfo &t : reader.tensors())
        ASSERT_LE(reader.dataOffset() + t.offset + t.byteSize, bytes.size());
  }
}

TEST(GgufReaderChecks, BadMagic) {
  std::vector<uint8_t> bytes = smallValidFile();
  bytes[0] = 'X';
  EXPECT_NE(parseError(bytes).find("bad magic"), std::string::npos);
}

TEST(GgufReaderChecks, Versions) {
  std::vector<uint8_t> bytes = smallValidFile();
  auto withVersion = [&](uint32_t v) {
    std::memcpy(&bytes[4], &v, 4);
    return parseError(bytes);
  };
  EXPECT_NE(withVersion(0).find("invalid GGUF version 0"), std::string::npos);
  EXPECT_NE(withVersion(1).find("version 1 is no longer supported"), std::string::npos);
  EXPECT_NE(withVersion(4).find("version 4 is newer"), std::string::npos);
  EXPECT_NE(withVersion(0x03000000).find("byte-swapped"), std::string::npos);
}

TEST(GgufReaderChecks, NegativeAndHugeCounts) {
  EXPECT_NE(parseError(Bytes().header(uint64_t(-1), 0).data).find("tensor count -1 is negative"), std::string::npos);
  EXPECT_NE(parseError(Bytes().header(0, uint64_t(1) << 40).data).find("cannot fit"), std::string::npos);
  EXPECT_NE(parseError(Bytes().header(1ull << 40, 0).zeros(100).data).find("tensor count"), std::string::npos);
}

TEST(GgufReaderChecks, DuplicateKey) {
  Bytes b;
  b.header(0, 2).kvU32("a.b", 1).kvU32("a.b", 2);
  std::string e = parseError(b.data);
  EXPECT_NE(e.find("duplicate key 'a.b'"), std::string::npos) << e;
  EXPECT_NE(e.find("byte 43 (0x2b)"), std::string::npos) << e;
}

TEST(GgufReaderChecks, EmptyKey) {
  EXPECT_NE(parseError(Bytes().header(0, 1).kvU32("", 1).data).find("empty key"), std::string::npos);
}

TEST(GgufReaderChecks, InvalidValueType) {
  std::string e = parseError(Bytes().header(0, 1).str("k").u32(13).u32(0).data);
  EXPECT_NE(e.find("key 'k': invalid value type 13"), std::string::npos) << e;
}

TEST(GgufReaderChecks, NestedArray) {
  std::string e = parseError(Bytes().header(0, 1).str("k").u32(9).u32(9).u64(0).data);
  EXPECT_NE(e.find("nested arrays"), std::string::npos) << e;
}

TEST(GgufReaderChecks, InvalidBool) {
  std::string e = parseError(Bytes().header(0, 1).str("k").u32(7).u8(2).data);
  EXPECT_NE(e.find("BOOL value 2"), std::string::npos) << e;
  e = parseError(Bytes().header(0, 1).str("k").u32(9).u32(7).u64(2).u8(1).u8(5).data);
  EXPECT_NE(e.find("BOOL element 1"), std::string::npos) << e;
}

TEST(GgufReaderChecks, HugeStringLength) {
  Bytes b;
  b.header(0, 1).str("k").u32(8).u64(1ull << 62).zeros(16);
  std::string e = parseError(b.data);
  EXPECT_NE(e.find("string value of key 'k' length 4611686018427387904 exceeds the 16 bytes left"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("byte 37"), std::string::npos) << e;
  // A huge key length.
  e = parseError(Bytes().header(0, 1).u64(~0ull).zeros(20).data);
  EXPECT_NE(e.find("key length"), std::string::npos) << e;
}

TEST(GgufReaderChecks, HugeArrayCount) {
  std::string e = parseError(Bytes().header(0, 1).str("k").u32(9).u32(8).u64(1ull << 61).zeros(64).data);
  EXPECT_NE(e.find("array of 2305843009213693952 STRING elements cannot fit"), std::string::npos) << e;
  e = parseError(Bytes().header(0, 1).str("k").u32(9).u32(12).u64(3).zeros(16).data);
  EXPECT_NE(e.find("array of 3 FLOAT64 elements cannot fit"), std::string::npos) << e;
}

TEST(GgufReaderChecks, Alignment) {
  EXPECT_NE(parseError(Bytes().header(0, 1).kvU32("general.alignment", 48).data).find("power of two"),
            std::string::npos);
  EXPECT_NE(parseError(Bytes().header(0, 1).kvU32("general.alignment", 0).data).find("power of two"),
            std::string::npos);
  std::string e = parseError(Bytes().header(0, 1).str("general.alignment").u32(10).u64(32).data);
  EXPECT_NE(e.find("has type UINT64, expected UINT32"), std::string::npos) << e;
}

/// A file with one F32 tensor info whose fields the test chooses.
std::vector<uint8_t> oneTensor(const std::string &name, std::vector<int64_t> dims, uint32_t type,
                               uint64_t offset, size_t dataBytes) {
  Bytes b;
  b.header(1, 0).tensorInfo(name, std::move(dims), type, offset).padTo(32).zeros(dataBytes);
  return b.data;
}

TEST(GgufReaderChecks, TensorNameTooLong) {
  std::string e = parseError(oneTensor(std::string(64, 'n'), {4}, 0, 0, 32));
  EXPECT_NE(e.find("name of 64 bytes is too long"), std::string::npos) << e;
  GgufReader reader;
  std::vector<uint8_t> ok = oneTensor(std::string(63, 'n'), {4}, 0, 0, 32);
  EXPECT_TRUE(GgufReader::parse(ok.data(), ok.size(), reader).isOk());
}

TEST(GgufReaderChecks, TooManyDimensions) {
  std::string e = parseError(oneTensor("t", {1, 1, 1, 1, 4}, 0, 0, 32));
  EXPECT_NE(e.find("tensor 't': n_dims 5 exceeds the maximum of 4"), std::string::npos) << e;
  e = parseError(Bytes().header(1, 0).str("t").u32(0xFFFFFFFF).zeros(64).data);
  EXPECT_NE(e.find("n_dims 4294967295"), std::string::npos) << e;
}

TEST(GgufReaderChecks, NegativeDimension) {
  std::string e = parseError(oneTensor("t", {4, -2}, 0, 0, 32));
  EXPECT_NE(e.find("ne[1] = -2 is negative"), std::string::npos) << e;
}

TEST(GgufReaderChecks, ElementCountOverflow) {
  std::string e = parseError(oneTensor("t", {1ll << 32, 1ll << 32}, 0, 0, 32));
  EXPECT_NE(e.find("overflows int64"), std::string::npos) << e;
  // Fits in int64 elements, but not in bytes.
  e = parseError(oneTensor("t", {1ll << 31, 1ll << 31}, 0, 0, 32));
  EXPECT_NE(e.find("byte size"), std::string::npos) << e;
}

TEST(GgufReaderChecks, UnknownOrRemovedType) {
  EXPECT_NE(parseError(oneTensor("t", {4}, 4, 0, 32)).find("removed ggml type id 4"), std::string::npos);
  EXPECT_NE(parseError(oneTensor("t", {4}, 1000, 0, 32)).find("type id 1000"), std::string::npos);
}

TEST(GgufReaderChecks, RowNotAMultipleOfTheBlockSize) {
  std::string e = parseError(oneTensor("t", {100, 2}, 12, 0, 1024));
  EXPECT_NE(e.find("ne[0] = 100 is not a multiple of Q4_K's block size 256"), std::string::npos) << e;
}

TEST(GgufReaderChecks, DuplicateTensorName) {
  Bytes b;
  b.header(2, 0).tensorInfo("t", {8}, 0, 0).tensorInfo("t", {8}, 0, 32).padTo(32).zeros(64);
  EXPECT_NE(parseError(b.data).find("duplicate tensor name 't'"), std::string::npos);
}

TEST(GgufReaderChecks, OffsetNotContiguous) {
  Bytes b;
  b.header(2, 0).tensorInfo("a", {8}, 0, 0).tensorInfo("b", {8}, 0, 64).padTo(32).zeros(128);
  std::string e = parseError(b.data);
  EXPECT_NE(e.find("tensor 'b' (index 1) has offset 64, expected 32"), std::string::npos) << e;
  EXPECT_NE(parseError(oneTensor("t", {8}, 0, 32, 64)).find("has offset 32, expected 0"), std::string::npos);
}

TEST(GgufReaderChecks, DataPastEndOfFile) {
  std::string e = parseError(oneTensor("t", {64}, 0, 0, 255));
  EXPECT_NE(e.find("tensor 't' (index 0): its 256 bytes at file offset 64 run past the end of the file (size 319)"),
            std::string::npos)
      << e;
  // A tensor whose byte size is larger than the whole file.
  e = parseError(oneTensor("t", {1ll << 40}, 0, 0, 32));
  EXPECT_NE(e.find("run past the end of the file"), std::string::npos) << e;
}

TEST(GgufReaderChecks, OpenReportsMissingAndEmptyFiles) {
  GgufReader reader;
  Status s = GgufReader::open("/nonexistent/x.gguf", reader);
  ASSERT_TRUE(s.failed());
  EXPECT_NE(s.message().find("cannot open '/nonexistent/x.gguf'"), std::string::npos);
  std::string dir = tempDir();
  std::string path = dir + "/empty.gguf";
  std::ofstream(path).close();
  s = GgufReader::open(path, reader);
  ASSERT_TRUE(s.failed());
  EXPECT_NE(s.message().find("file truncated: magic"), std::string::npos) << s.message();
  s = GgufReader::open(dir, reader);
  EXPECT_NE(s.message().find("not a regular file"), std::string::npos) << s.message();
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

TEST(GgufWriter, FailureLeavesNothingBehind) {
  std::string dir = tempDir();
  std::string path = dir + "/out.gguf";
  Metadata m;
  auto failing = [](size_t index, const TensorInfo &t, std::vector<uint8_t> &bytes) {
    if (index == 1)
      return Status::error("quantizer failed");
    bytes.assign(t.byteSize, 0);
    return Status::ok();
  };
  Status s = writeGguf(path, m, {tensor("a", {32}, 0), tensor("b", {32}, 0)}, failing);
  ASSERT_TRUE(s.failed());
  EXPECT_EQ(s.message(), "quantizer failed");
  EXPECT_EQ(filesIn(dir), 0u);

  // An existing target survives a failed overwrite.
  ASSERT_TRUE(writeGguf(path, m, {tensor("a", {32}, 0)}, patternData()).isOk());
  std::ifstream before(path, std::ios::binary);
  std::string original((std::istreambuf_iterator<char>(before)), {});
  EXPECT_TRUE(writeGguf(path, m, {tensor("a", {32}, 0), tensor("b", {32}, 0)}, failing).failed());
  std::ifstream after(path, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(after)), {}), original);
  EXPECT_EQ(filesIn(dir), 1u);
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

TEST(GgufWriter, WrongDataSizeIsAnError) {
  std::vector<uint8_t> out;
  Status s = encodeGguf(Metadata(), {tensor("a", {32}, 0)},
                        [](size_t, const TensorInfo &, std::vector<uint8_t> &bytes) {
                          bytes.assign(3, 0);
                          return Status::ok();
                        },
                        out);
  ASSERT_TRUE(s.failed());
  EXPECT_EQ(s.message(), "tensor 'a': got 3 bytes of data, expected 128");
}

TEST(GgufWriter, RejectsWhatTheReaderWouldReject) {
  std::vector<uint8_t> out;
  auto fails = [&](std::vector<TensorInfo> tensors, const Metadata &m = Metadata()) {
    return encodeGguf(m, std::move(tensors), patternData(), out).failed();
  };
  EXPECT_TRUE(fails({tensor(std::string(64, 'x'), {32}, 0)}));
  EXPECT_TRUE(fails({tensor("a", {1, 1, 1, 1, 1}, 0)}));
  EXPECT_TRUE(fails({tensor("a", {100}, 12)}));
  EXPECT_TRUE(fails({tensor("a", {32}, 4)}));
  EXPECT_TRUE(fails({tensor("a", {32}, 0), tensor("a", {32}, 0)}));
  Metadata badAlignment;
  badAlignment.set("general.alignment", Value::scalar<uint32_t>(24));
  EXPECT_TRUE(fails({}, badAlignment));
  Metadata emptyKey;
  emptyKey.set("", Value::scalar<uint8_t>(0));
  EXPECT_TRUE(fails({}, emptyKey));
}

TEST(GgufTypeTable, KnowsEveryLiveTypeId) {
  EXPECT_EQ(typeName(12), "Q4_K");
  EXPECT_EQ(typeName(4), "type 4");
  EXPECT_EQ(typeGeometry(23)->bytesPerBlock, 136u);
  EXPECT_EQ(typeGeometry(34)->bytesPerBlock, 54u);
  EXPECT_FALSE(typeGeometry(31));
  EXPECT_FALSE(typeGeometry(40));
}

} // namespace
