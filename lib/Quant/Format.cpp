//===- Format.cpp - Weight formats lowbit can pack ------------------------===//

#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/GgmlType.h"

#include <array>
#include <cstring>

namespace lowbit::quant {
namespace {

// Names in FormatKind order. The block formats' geometry comes from their
// ggml type (GgmlType.cpp), so it is written down once.
constexpr std::array<std::string_view, 17> kKindNames = {
    "int",  "q4_0", "q4_1",   "q5_0",   "q5_1",  "q8_0",  "q2_k",     "q3_k",    "q4_k",
    "q5_k", "q6_k", "iq4_nl", "iq4_xs", "tq1_0", "tq2_0", "codebook", "ternary",
};


int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Bits of packed code per weight for the external-scale kinds.
int64_t codeBitsPerRow(const Format &f, int64_t rowLength) {
  switch (f.kind) {
  case FormatKind::Int:
    return paddedRowLength(f, rowLength) * f.bits;
  case FormatKind::Ternary:
    return paddedRowLength(f, rowLength) * 2;
  case FormatKind::Codebook:
    return (rowLength / f.groupSize) * f.codebooks * f.bits;
  default:
    return 0;
  }
}

std::string checkGrouping(const Format &f, std::string_view what) {
  if (f.granularity == Granularity::Group && f.groupSize <= 0)
    return std::string(what) + " needs a positive group size, got " + std::to_string(f.groupSize);
  if (f.granularity != Granularity::Group && f.groupSize != 0)
    return std::string(what) + " has a group size but is not per-group";
  return "";
}

} // namespace

bool isBlockFormat(FormatKind kind) { return ggmlTypeOf(kind).has_value(); }

std::string_view formatKindName(FormatKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<FormatKind> parseFormatKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == name)
      return static_cast<FormatKind>(i);
  return std::nullopt;
}

std::optional<BlockGeometry> blockGeometry(FormatKind kind) {
  std::optional<GgmlType> type = ggmlTypeOf(kind);
  if (!type)
    return std::nullopt;
  const GgmlTypeInfo &info = ggmlTypeInfo(*type);
  return BlockGeometry{info.blockSize, info.bytesPerBlock};
}

std::string checkFormat(const Format &f) {
  std::string name(formatKindName(f.kind));
  if (f.activations == Activations::Int8PerToken &&
      (f.kind != FormatKind::Int || f.bits != 8 || f.granularity != Granularity::Channel || f.offset != Offset::None))
    return "per-token int8 activations ('a8') need int8 per-channel symmetric weights, got " +
           toString(Format{f.kind, f.bits, f.granularity, f.groupSize, f.offset, f.codebooks});
  if (f.activations > Activations::Int8PerToken)
    return "unknown activation mode";
  if (f.layout > Layout::Interleaved4)
    return "unknown row layout";
  if (f.layout != Layout::Rows) {
    Format rows = f;
    rows.layout = Layout::Rows;
    if (std::string why = checkFormat(rows); !why.empty())
      return why;
    if (!interleaveUnitBytes(f))
      return toString(rows) + " cannot have its rows interleaved";
    return "";
  }
  if (isBlockFormat(f.kind)) {
    if (f.bits || f.groupSize || f.codebooks || f.offset != Offset::None)
      return name + " is a GGUF block format: its block size, bits and scales are fixed by the "
                    "format and take no options";
    return "";
  }
  switch (f.kind) {
  case FormatKind::Int:
    if (f.bits < 2 || f.bits > 8)
      return "int formats have 2 to 8 bits, got " + std::to_string(f.bits);
    if (f.codebooks)
      return "int formats take no 'codebooks'";
    return checkGrouping(f, "int" + std::to_string(f.bits));
  case FormatKind::Ternary:
    if (f.bits || f.codebooks)
      return "ternary takes no 'bits' or 'codebooks': its codes are -1, 0 and +1";
    if (f.offset != Offset::None)
      return "ternary is symmetric: it takes no 'asym' or 'min'";
    return checkGrouping(f, "ternary");
  case FormatKind::Codebook:
    if (f.codebooks < 1 || f.codebooks > 8)
      return "codebook needs 1 to 8 codebooks, got " + std::to_string(f.codebooks);
    if (f.bits < 1 || f.bits > 16)
      return "codebook codes have 1 to 16 bits, got " + std::to_string(f.bits);
    if (f.granularity != Granularity::Group)
      return "codebook groups weights into code vectors: it cannot be per-tensor or per-channel";
    if (f.groupSize < 1)
      return "codebook needs a positive group (code vector length), got " + std::to_string(f.groupSize);
    if (f.offset != Offset::None)
      return "codebook takes no 'asym' or 'min'";
    return "";
  default:
    return "unknown format kind";
  }
}

std::string checkRowLength(const Format &f, int64_t rowLength) {
  if (rowLength <= 0)
    return "rows must have at least one weight, got " + std::to_string(rowLength);
  int64_t unit = 0;
  std::string what;
  if (auto geometry = blockGeometry(f.kind)) {
    unit = geometry->blockSize;
    what = std::string(formatKindName(f.kind)) + " block size";
  } else if (f.kind == FormatKind::Codebook) {
    // Int and ternary groups may end short (paddedRowLength); a code vector
    // may not.
    unit = f.groupSize;
    what = "code vector length";
  }
  if (unit && rowLength % unit != 0)
    return "the reduction dimension (" + std::to_string(rowLength) + ") is not a multiple of the " +
           what + " (" + std::to_string(unit) + ")";
  return "";
}

int64_t packedRowBytes(const Format &f, int64_t rowLength) {
  if (auto geometry = blockGeometry(f.kind))
    return rowLength / geometry->blockSize * geometry->bytesPerBlock;
  return ceilDiv(codeBitsPerRow(f, rowLength), 8);
}

int64_t groupsPerRow(const Format &f, int64_t rowLength) {
  if (auto geometry = blockGeometry(f.kind))
    return rowLength / geometry->blockSize;
  if (f.kind == FormatKind::Codebook)
    return 1; // one scale per output channel; groupSize is the code vector length
  return f.granularity == Granularity::Group ? ceilDiv(rowLength, f.groupSize) : 1;
}

int64_t paddedRowLength(const Format &f, int64_t rowLength) {
  const bool uniform = f.kind == FormatKind::Int || f.kind == FormatKind::Ternary;
  if (!uniform || f.granularity != Granularity::Group)
    return rowLength;
  return ceilDiv(rowLength, f.groupSize) * f.groupSize;
}

double bitsPerWeight(const Format &f, int64_t rowLength) {
  if (isBlockFormat(f.kind))
    return 8.0 * packedRowBytes(f, rowLength) / rowLength;
  return static_cast<double>(codeBitsPerRow(f, rowLength)) / rowLength;
}

uint64_t encodeFormat(const Format &f) {
  return uint64_t(f.kind) | uint64_t(f.bits & 0xff) << 8 | uint64_t(f.granularity) << 16 |
         uint64_t(f.offset) << 20 | uint64_t(f.codebooks & 0xf) << 24 | uint64_t(f.activations) << 28 |
         uint64_t(f.layout) << 30 | uint64_t(f.groupSize & 0xffffffff) << 32;
}

std::optional<Format> decodeFormat(uint64_t word) {
  uint64_t kind = word & 0xff, granularity = (word >> 16) & 0xf, offset = (word >> 20) & 0xf,
           activations = (word >> 28) & 0x3, layout = (word >> 30) & 0x3;
  if (kind >= kKindNames.size() || granularity > uint64_t(Granularity::Group) ||
      offset > uint64_t(Offset::Min) || activations > uint64_t(Activations::Int8PerToken) ||
      layout > uint64_t(Layout::Interleaved4))
    return std::nullopt;
  Format f{static_cast<FormatKind>(kind),
           unsigned((word >> 8) & 0xff),
           static_cast<Granularity>(granularity),
           int64_t(word >> 32),
           static_cast<Offset>(offset),
           unsigned((word >> 24) & 0xf),
           static_cast<Activations>(activations),
           static_cast<Layout>(layout)};
  if (!checkFormat(f).empty())
    return std::nullopt;
  return f;
}

int64_t interleaveUnitBytes(const Format &f) {
  if (f.activations != Activations::Float)
    return 0;
  if (auto geometry = blockGeometry(f.kind))
    return geometry->blockSize >= 128 ? geometry->bytesPerBlock : 128 / geometry->blockSize * geometry->bytesPerBlock;
  return f.kind == FormatKind::Int ? 16 * int64_t(f.bits) : 0;
}

RowTiling rowTiling(const Format &f, int64_t rowBytes, int64_t N) {
  RowTiling t;
  t.rowBytes = rowBytes;
  t.unitBytes = interleaveUnitBytes(f);
  if (!t.unitBytes)
    return t;
  t.lastUnit = ceilDiv(rowBytes, t.unitBytes) - 1;
  t.lastBytes = rowBytes - t.lastUnit * t.unitBytes;
  t.tiledRows = f.layout == Layout::Interleaved4 ? N / kInterleavedRows * kInterleavedRows : 0;
  return t;
}

namespace {
/// Calls copy(offset in the row, offset in the laid-out weight, bytes) for
/// each unit of row n.
template <class Copy> void forEachUnit(const RowTiling &t, int64_t n, Copy copy) {
  const int64_t unit = t.unitBytes, rowBytes = t.rowBytes;
  const RowPlacement p = rowPlacement(t, n);
  for (int64_t u = 0; u < p.lastUnit; ++u)
    copy(u * unit, p.head + u * p.stride, unit);
  copy(p.lastUnit * unit, p.tail, rowBytes - p.lastUnit * unit);
}
} // namespace

void layOutRows(const Format &f, int64_t rowBytes, int64_t N, const uint8_t *rows, uint8_t *out) {
  const RowTiling t = rowTiling(f, rowBytes, N);
  // Rows after the whole tiles (all of them for Rows) lie as packed.
  std::memcpy(out + t.tiledRows * rowBytes, rows + t.tiledRows * rowBytes,
              static_cast<size_t>((N - t.tiledRows) * rowBytes));
  for (int64_t n = 0; n < t.tiledRows; ++n)
    forEachUnit(t, n, [&](int64_t at, int64_t placed, int64_t bytes) {
      std::memcpy(out + placed, rows + n * rowBytes + at, static_cast<size_t>(bytes));
    });
}

void gatherRow(const RowTiling &t, const uint8_t *weight, int64_t n, uint8_t *row) {
  if (n >= t.tiledRows) {
    std::memcpy(row, weight + n * t.rowBytes, static_cast<size_t>(t.rowBytes));
    return;
  }
  forEachUnit(t, n, [&](int64_t at, int64_t placed, int64_t bytes) {
    std::memcpy(row + at, weight + placed, static_cast<size_t>(bytes));
  });
}

std::string toString(const Format &f) {
  std::string s(formatKindName(f.kind));
  if (isBlockFormat(f.kind))
    return f.layout == Layout::Interleaved4 ? s + ", rows interleaved by 4" : s;
  if (f.kind == FormatKind::Int)
    s += std::to_string(f.bits);
  if (f.kind == FormatKind::Codebook)
    s += ", codebooks = " + std::to_string(f.codebooks) + ", bits = " + std::to_string(f.bits);
  switch (f.granularity) {
  case Granularity::Tensor:
    // Ternary is per-tensor unless told otherwise (BitNet's absmean scale).
    if (f.kind != FormatKind::Ternary)
      s += ", per_tensor";
    break;
  case Granularity::Channel:
    if (f.kind == FormatKind::Ternary)
      s += ", per_channel";
    break;
  case Granularity::Group:
    s += ", group = " + std::to_string(f.groupSize);
    break;
  }
  if (f.offset == Offset::ZeroPoint)
    s += ", asym";
  else if (f.offset == Offset::Min)
    s += ", min";
  if (f.activations == Activations::Int8PerToken)
    s += ", a8";
  if (f.layout == Layout::Interleaved4)
    s += ", rows interleaved by 4";
  return s;
}

} // namespace lowbit::quant

namespace lowbit::quant {

std::optional<Format> formatFromName(std::string_view head) {
  if (head.size() == 4 && head.substr(0, 3) == "int" && head[3] >= '0' && head[3] <= '9')
    return Format::integer(head[3] - '0');
  std::optional<FormatKind> kind = parseFormatKind(head);
  if (!kind || *kind == FormatKind::Int)
    return std::nullopt;
  Format f = Format::blockFormat(*kind);
  if (*kind == FormatKind::Ternary)
    f.granularity = Granularity::Tensor;
  return f;
}

std::string applyFormatOption(Format &f, std::string_view key, std::optional<int64_t> value) {
  bool wantsValue = key == "group" || key == "bits" || key == "codebooks";
  bool isFlag = key == "asym" || key == "min" || key == "per_tensor" || key == "per_channel" || key == "a8";
  if (!wantsValue && !isFlag)
    return "unknown format option '" + std::string(key) +
           "' (expected group, bits, codebooks, asym, min, per_tensor, per_channel or a8)";
  if (wantsValue && !value)
    return "format option '" + std::string(key) + "' needs a value: " + std::string(key) + " = N";
  if (isFlag && value)
    return "format option '" + std::string(key) + "' takes no value";
  if (isBlockFormat(f.kind))
    return std::string(formatKindName(f.kind)) +
           " is a GGUF block format and takes no options (got '" + std::string(key) + "')";
  if (value && (*value < 0 || *value > (int64_t(1) << 40)))
    return "format option '" + std::string(key) + "' is out of range: " + std::to_string(*value);
  if (key == "group") {
    f.granularity = Granularity::Group;
    f.groupSize = *value;
  } else if (key == "bits") {
    f.bits = static_cast<unsigned>(*value);
  } else if (key == "codebooks") {
    f.codebooks = static_cast<unsigned>(*value);
  } else if (key == "asym") {
    f.offset = Offset::ZeroPoint;
  } else if (key == "min") {
    f.offset = Offset::Min;
  } else if (key == "a8") {
    f.activations = Activations::Int8PerToken;
  } else {
    f.granularity = key == "per_tensor" ? Granularity::Tensor : Granularity::Channel;
    f.groupSize = 0;
  }
  return "";
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}
} // namespace

std::optional<Format> parseFormat(std::string_view text, std::string &error) {
  size_t comma = text.find(',');
  std::string_view head = trim(text.substr(0, comma));
  std::optional<Format> f = formatFromName(head);
  if (!f) {
    error = "unknown format '" + std::string(head) + "'";
    return std::nullopt;
  }
  while (comma != std::string_view::npos) {
    text = text.substr(comma + 1);
    comma = text.find(',');
    std::string_view option = text.substr(0, comma);
    size_t eq = option.find('=');
    std::string_view key = trim(option.substr(0, eq));
    std::optional<int64_t> value;
    if (eq != std::string_view::npos) {
      std::string digits(trim(option.substr(eq + 1)));
      if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos) {
        error = "format option '" + std::string(key) + "' needs a non-negative integer, got '" + digits + "'";
        return std::nullopt;
      }
      value = std::stoll(digits);
    }
    if (error = applyFormatOption(*f, key, value); !error.empty())
      return std::nullopt;
  }
  if (error = checkFormat(*f); !error.empty())
    return std::nullopt;
  return f;
}

} // namespace lowbit::quant
