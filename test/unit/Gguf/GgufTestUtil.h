//===- GgufTestUtil.h - Byte-level GGUF builders for tests -----*- C++ -*-===//
//
// A builder that writes GGUF fields one by one, so that tests can produce
// files the writer would refuse to make (bad magic, nested arrays, ...).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TEST_UNIT_GGUF_GGUFTESTUTIL_H
#define LOWBIT_TEST_UNIT_GGUF_GGUFTESTUTIL_H

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace lowbit::gguf::test {

struct Bytes {
  std::vector<uint8_t> data;

  template <typename T> Bytes &put(T v) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    data.insert(data.end(), raw, raw + sizeof(T));
    return *this;
  }
  Bytes &u8(uint8_t v) { return put(v); }
  Bytes &u32(uint32_t v) { return put(v); }
  Bytes &u64(uint64_t v) { return put(v); }
  Bytes &i64(int64_t v) { return put(v); }
  Bytes &str(const std::string &s) {
    u64(s.size());
    data.insert(data.end(), s.begin(), s.end());
    return *this;
  }
  Bytes &header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    data.insert(data.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(tensors).u64(kvs);
  }
  Bytes &kvU32(const std::string &key, uint32_t v) { return str(key).u32(4).u32(v); }
  Bytes &kvString(const std::string &key, const std::string &v) { return str(key).u32(8).str(v); }
  /// A tensor info; dims are ne[0], ne[1], ...
  Bytes &tensorInfo(const std::string &name, std::vector<int64_t> dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (int64_t d : dims)
      i64(d);
    return u32(type).u64(offset);
  }
  Bytes &padTo(size_t alignment) {
    while (data.size() % alignment)
      data.push_back(0);
    return *this;
  }
  Bytes &zeros(size_t n) {
    data.insert(data.end(), n, 0);
    return *this;
  }
};

} // namespace lowbit::gguf::test

#endif // LOWBIT_TEST_UNIT_GGUF_GGUFTESTUTIL_H
