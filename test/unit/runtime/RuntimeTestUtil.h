//===- RuntimeTestUtil.h - Helpers for the runtime's tests -----*- C++ -*-===//
#ifndef LOWBIT_TEST_RUNTIMETESTUTIL_H
#define LOWBIT_TEST_RUNTIMETESTUTIL_H

#include "lowbit/Target/ArtifactWriter.h"
#include "lowbit/runtime.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

namespace lowbit::test {

inline std::vector<uint8_t> readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline bool writeBytes(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

/// A fresh directory, removed (with its files) when this goes away.
class TempDir {
public:
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/lowbit-rt-test-XXXXXX";
    if (mkdtemp(templ.data()))
      path_ = templ;
  }
  ~TempDir() {
    if (!path_.empty())
      std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// The path of the hand-written host code library (TestHostCode.c), set by
/// CMake.
inline std::string testHostCodePath() { return LOWBIT_TEST_HOSTCODE_PATH; }

/// The host code bytes, read once.
inline const std::vector<uint8_t> &testHostCode() {
  static const std::vector<uint8_t> bytes = readBytes(testHostCodePath());
  return bytes;
}

inline const char *hostTriple() {
#if defined(__x86_64__)
  return "x86_64-unknown-linux-gnu";
#elif defined(__aarch64__)
  return "aarch64-unknown-linux-gnu";
#else
  return "unknown-unknown-linux-gnu";
#endif
}

} // namespace lowbit::test

#endif // LOWBIT_TEST_RUNTIMETESTUTIL_H
