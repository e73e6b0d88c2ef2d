//===- Npy.cpp - NumPy .npy files, the subset lowbit-run needs ------------===//
//
// The header is a Python dict literal, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and ended by a newline; this parses exactly that
// grammar (the three keys, string / bool / int-tuple values).
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lowbit::npy {
namespace {

const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

struct TypeCode {
  char kind;
  unsigned size;
  lowbit_dtype dtype;
  const char *name;
};
constexpr TypeCode kTypes[] = {
    {'f', 4, LOWBIT_F32, "f32"}, {'f', 2, LOWBIT_F16, "f16"}, {'f', 8, LOWBIT_F64, "f64"},
    {'i', 1, LOWBIT_I8, "i8"},   {'i', 2, LOWBIT_I16, "i16"}, {'i', 4, LOWBIT_I32, "i32"},
    {'i', 8, LOWBIT_I64, "i64"}, {'u', 1, LOWBIT_U8, "u8"},   {'u', 2, LOWBIT_U16, "u16"},
    {'u', 4, LOWBIT_U32, "u32"}, {'u', 8, LOWBIT_U64, "u64"}, {'b', 1, LOWBIT_BOOL, "bool"},
};

/// A cursor over the header dict.
class Parser {
public:
  explicit Parser(const std::string &text) : s_(text) {}
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skipSpace();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool string(std::string &out) {
    skipSpace();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"'))
      return false;
    const char quote = s_[i_++];
    const size_t end = s_.find(quote, i_);
    if (end == std::string::npos)
      return false;
    out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return true;
  }
  bool word(const char *w) {
    skipSpace();
    const size_t n = std::strlen(w);
    if (s_.compare(i_, n, w) != 0)
      return false;
    i_ += n;
    return true;
  }
  bool integer(int64_t &out) {
    skipSpace();
    size_t start = i_;
    out = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      if (out > (INT64_MAX - 9) / 10)
        return false;
      out = out * 10 + (s_[i_++] - '0');
    }
    if (i_ < s_.size() && s_[i_] == 'L') // Python 2 longs
      ++i_;
    return i_ > start;
  }
  bool atEnd() {
    skipSpace();
    return i_ == s_.size();
  }

private:
  const std::string &s_;
  size_t i_ = 0;
};

bool parseHeader(const std::string &header, Array &out, std::string &error) {
  Parser p(header);
  bool haveDescr = false, haveOrder = false, haveShape = false;
  std::string descr;
  if (!p.eat('{')) {
    error = "the header is not a dict: " + header;
    return false;
  }
  while (!p.eat('}')) {
    std::string key;
    if (!p.string(key) || !p.eat(':')) {
      error = "cannot parse the header: " + header;
      return false;
    }
    if (key == "descr") {
      if (!p.string(descr)) {
        error = "'descr' is not a plain type string (structured arrays are not supported): " + header;
        return false;
      }
      haveDescr = true;
    } else if (key == "fortran_order") {
      if (p.word("True")) {
        error = "the array is in Fortran order; lowbit-run reads C-order arrays only "
                "(numpy.ascontiguousarray before saving)";
        return false;
      }
      if (!p.word("False")) {
        error = "cannot parse 'fortran_order' in the header: " + header;
        return false;
      }
      haveOrder = true;
    } else if (key == "shape") {
      if (!p.eat('(')) {
        error = "'shape' is not a tuple: " + header;
        return false;
      }
      out.shape.clear();
      while (!p.eat(')')) {
        int64_t d = 0;
        if (!p.integer(d)) {
          error = "cannot parse 'shape' in the header: " + header;
          return false;
        }
        if (out.shape.size() >= 64) {
          error = "the array has more than 64 dimensions";
          return false;
        }
        out.shape.push_back(d);
        if (!p.eat(',') && !p.peek(')')) {
          error = "cannot parse 'shape' in the header: " + header;
          return false;
        }
      }
      haveShape = true;
    } else {
      error = "unexpected key '" + key + "' in the header";
      return false;
    }
    if (!p.eat(',') && !p.peek('}')) {
      error = "cannot parse the header: " + header;
      return false;
    }
  }
  if (!p.atEnd()) {
    error = "unexpected text after the header dict: " + header;
    return false;
  }
  if (!haveDescr || !haveOrder || !haveShape) {
    error = "the header lacks 'descr', 'fortran_order' or 'shape': " + header;
    return false;
  }
  // descr: byte order, kind, size in bytes.
  if (descr.size() < 3 || std::strchr("<>|=", descr[0]) == nullptr) {
    error = "unsupported dtype '" + descr + "'";
    return false;
  }
  int64_t size = 0;
  for (size_t i = 2; i < descr.size(); ++i) {
    if (descr[i] < '0' || descr[i] > '9' || size > 1000) {
      error = "unsupported dtype '" + descr + "'";
      return false;
    }
    size = size * 10 + (descr[i] - '0');
  }
  for (const TypeCode &t : kTypes)
    if (t.kind == descr[1] && t.size == size) {
      if (descr[0] == '>' && size > 1) {
        error = "the array is big-endian ('" + descr + "'); lowbit-run reads little-endian arrays only";
        return false;
      }
      out.dtype = t.dtype;
      return true;
    }
  error = "unsupported dtype '" + descr +
          "' (lowbit-run reads f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8 and b1 arrays)";
  return false;
}

uint32_t loadLe(const uint8_t *p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= uint32_t(p[i]) << (8 * i);
  return v;
}

} // namespace

const char *dtypeName(lowbit_dtype dtype) {
  for (const TypeCode &t : kTypes)
    if (t.dtype == dtype)
      return t.name;
  return dtype == LOWBIT_BF16 ? "bf16" : "unknown";
}

bool parse(const std::vector<uint8_t> &file, Array &out, std::string &error) {
  if (file.size() < 10 || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
    error = "not a .npy file (no \\x93NUMPY magic)";
    return false;
  }
  const unsigned major = file[6], minor = file[7];
  uint64_t headerLength = 0, headerStart = 0;
  if (major == 1) {
    headerLength = loadLe(&file[8], 2);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (file.size() < 12) {
      error = "the .npy file is truncated in its header";
      return false;
    }
    headerLength = loadLe(&file[8], 4);
    headerStart = 12;
  } else {
    error = "unsupported .npy version " + std::to_string(major) + "." + std::to_string(minor) +
            " (1.0, 2.0 and 3.0 are)";
    return false;
  }
  if (headerLength > file.size() - headerStart) {
    error = "the .npy file is truncated in its header";
    return false;
  }
  const std::string header(reinterpret_cast<const char *>(&file[headerStart]), headerLength);
  if (!parseHeader(header, out, error))
    return false;
  uint64_t elements = 1;
  const uint64_t itemSize = lowbit_dtype_size(out.dtype);
  for (int64_t d : out.shape) {
    if (d && elements > (UINT64_MAX / itemSize) / static_cast<uint64_t>(d)) {
      error = "the array's shape is too large";
      return false;
    }
    elements *= static_cast<uint64_t>(d);
  }
  const uint64_t dataStart = headerStart + headerLength, have = file.size() - dataStart;
  if (have != elements * itemSize) {
    error = "the array should hold " + std::to_string(elements * itemSize) + " bytes of data, but the file has " +
            std::to_string(have) + (have < elements * itemSize ? " (truncated)" : "");
    return false;
  }
  out.data.assign(file.begin() + static_cast<std::ptrdiff_t>(dataStart), file.end());
  return true;
}

bool read(const std::string &path, Array &out, std::string &error) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
    bytes.insert(bytes.end(), buffer, buffer + n);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) {
    error = "cannot read " + path;
    return false;
  }
  if (!parse(bytes, out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool serialize(lowbit_dtype dtype, const int64_t *shape, int32_t rank, const void *data, uint64_t bytes,
               std::vector<uint8_t> &out, std::string &error) {
  const TypeCode *type = nullptr;
  for (const TypeCode &t : kTypes)
    if (t.dtype == dtype)
      type = &t;
  if (!type) {
    error = std::string("a .npy file cannot hold ") + dtypeName(dtype) + " values";
    return false;
  }
  std::string header = std::string("{'descr': '") + (type->size == 1 ? '|' : '<') + type->kind +
                       std::to_string(type->size) + "', 'fortran_order': False, 'shape': (";
  for (int32_t i = 0; i < rank; ++i)
    header += std::to_string(shape[i]) + (rank == 1 || i + 1 < rank ? "," : "") + (i + 1 < rank ? " " : "");
  header += "), }";
  // Pad with spaces so the data starts on a 64-byte boundary; end with \n.
  const bool v2 = header.size() + 1 + 10 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  out.assign(kMagic, kMagic + sizeof kMagic);
  out.push_back(v2 ? 2 : 1);
  out.push_back(0);
  const uint64_t length = header.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i)
    out.push_back(static_cast<uint8_t>(length >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  const uint8_t *p = static_cast<const uint8_t *>(data);
  if (bytes)
    out.insert(out.end(), p, p + bytes);
  return true;
}

bool write(const std::string &path, lowbit_dtype dtype, const int64_t *shape, int32_t rank, const void *data,
           uint64_t bytes, std::string &error) {
  std::vector<uint8_t> file;
  if (!serialize(dtype, shape, rank, data, bytes, file, error))
    return false;
  std::string temp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(temp.data());
  if (fd < 0) {
    error = "cannot create a file beside " + path + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < file.size()) {
    const ssize_t n = ::write(fd, file.data() + done, file.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = "cannot write " + path + ": " + std::strerror(n < 0 ? errno : EIO);
      close(fd);
      unlink(temp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  fchmod(fd, 0644);
  if (close(fd) != 0 || std::rename(temp.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    unlink(temp.c_str());
    return false;
  }
  return true;
}

} // namespace lowbit::npy
