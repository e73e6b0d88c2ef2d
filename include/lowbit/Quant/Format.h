//===- Format.h - Weight formats lowbit can pack ---------------*- C++ -*-===//
//
// The one description of a packed-weight format, shared by the numerics
// library, the dialect (whose #lowbit.format attribute wraps a Format) and the
// tools. Plain C++: no MLIR or LLVM here.
//
// Every format packs along the last (reduction, K) dimension of a weight, row
// by row; docs/FORMATS.md gives each layout bit by bit.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_FORMAT_H
#define LOWBIT_QUANT_FORMAT_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lowbit::quant {

/// What kind of packing a format is. The GGUF block formats carry their own
/// scales inside each block; every other kind takes scales (and zero points,
/// mins or codebooks) as separate tensors.
enum class FormatKind : uint8_t {
  Int,      ///< uniform integer codes of `bits` bits with external scales
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q8_0,
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  IQ4_NL,
  IQ4_XS,
  TQ1_0,
  TQ2_0,
  Codebook, ///< additive codebooks (AQLM-style): `codebooks` codes per group
  Ternary,  ///< {-1, 0, +1} times an external scale (BitNet b1.58)
};

/// Which weights share one scale: the whole tensor, one output channel (row),
/// or a group of `groupSize` consecutive weights along the reduction axis.
enum class Granularity : uint8_t { Tensor, Channel, Group };

/// How codes map to values for the Int kind:
///   None:      w = s * (q - 2^(bits-1))     (symmetric)
///   ZeroPoint: w = s * (q - z)              (asymmetric, integer zero point)
///   Min:       w = s * q + m                (asymmetric, float minimum)
enum class Offset : uint8_t { None, ZeroPoint, Min };

/// What the matmul does with its activations:
///   Float:        y = x W^T in float (the weights are decoded, x is not
///                 rounded; a kernel may still round x, see
///                 runtime/src/kernels/x86/X86Matmul.h);
///   Int8PerToken: W8A8 (SmoothQuant, LLM.int8()): each row of x is
///                 rounded to int8 at run time with its own scale
///                 max|x_row| / 127 over all of K, the products are summed
///                 in int32 and y = acc * s_x * s_w. Only for `int8`
///                 per-channel symmetric weights; written ", a8".
enum class Activations : uint8_t { Float, Int8PerToken };

/// How the packed rows of a weight lie in memory (docs/FORMATS.md, "Row
/// layouts"):
///   Rows:         row after row, each row's bytes contiguous (GGUF's order,
///                 and every format's as packed);
///   Interleaved4: rows in tiles of 4: a tile's rows take turns unit by unit
///                 (interleaveUnitBytes), so a kernel reading 4 rows at once
///                 reads one sequential stream. Only the CPU artifact uses
///                 it (lowbit-lower-to-runtime); it is not part of the text
///                 form, and the quantizers always pack Rows.
enum class Layout : uint8_t { Rows, Interleaved4 };

struct Format {
  FormatKind kind = FormatKind::Int;
  /// Int: bits per code (2..8). Codebook: bits per code index (1..16).
  unsigned bits = 0;
  Granularity granularity = Granularity::Channel;
  /// Group: weights per scale. Codebook: weights per code vector.
  int64_t groupSize = 0;
  Offset offset = Offset::None;
  /// Codebook: number of additive codebooks (1..8).
  unsigned codebooks = 0;
  Activations activations = Activations::Float;
  Layout layout = Layout::Rows;

  static Format blockFormat(FormatKind kind) { return Format{kind, 0, Granularity::Group, 0, Offset::None, 0}; }
  static Format integer(unsigned bits, Granularity g = Granularity::Channel, int64_t groupSize = 0,
                        Offset offset = Offset::None) {
    return Format{FormatKind::Int, bits, g, groupSize, offset, 0};
  }

  friend bool operator==(const Format &a, const Format &b) {
    return a.kind == b.kind && a.bits == b.bits && a.granularity == b.granularity &&
           a.groupSize == b.groupSize && a.offset == b.offset && a.codebooks == b.codebooks &&
           a.activations == b.activations && a.layout == b.layout;
  }
  friend bool operator!=(const Format &a, const Format &b) { return !(a == b); }
};

/// True for the GGUF block formats, whose scales live inside the packed bytes.
bool isBlockFormat(FormatKind kind);

/// The lower-case name used in IR and on command lines ("q4_k", "int", ...).
std::string_view formatKindName(FormatKind kind);
std::optional<FormatKind> parseFormatKind(std::string_view name);

/// The GGUF block formats' fixed geometry (GGUF_SPEC.md section 2.0).
struct BlockGeometry {
  uint32_t blockSize;     ///< weights per block along K
  uint32_t bytesPerBlock; ///< packed bytes per block, scales included
};
std::optional<BlockGeometry> blockGeometry(FormatKind kind);

/// Why `format` is not a valid format, or an empty string when it is.
std::string checkFormat(const Format &format);

/// Why rows of `rowLength` weights cannot be packed in `format` (a block size
/// or code vector length that does not divide them), or an empty string when
/// they can. Int and ternary groups need not divide the row: the last group
/// is shorter (see paddedRowLength).
/// Assumes checkFormat(format) passed.
std::string checkRowLength(const Format &format, int64_t rowLength);

/// Packed bytes of one row of `rowLength` weights. Assumes both checks passed.
int64_t packedRowBytes(const Format &format, int64_t rowLength);

/// Number of scale groups along one row (1 for per-channel and per-tensor);
/// a short last group counts as one.
int64_t groupsPerRow(const Format &format, int64_t rowLength);

/// The codes one packed row holds: `rowLength` rounded up to whole groups for
/// grouped int and ternary formats, `rowLength` otherwise. A row whose last
/// group is short (K = 576, group 128: 4 groups of 128 and one of 64) is
/// packed as if it had whole groups, the padding codes zero, so that a kernel
/// can run on the padded row against activations padded with zeros (the
/// padding then adds nothing, whatever its decoded value). The last group's
/// scale is fitted on its real weights only.
int64_t paddedRowLength(const Format &format, int64_t rowLength);

/// Bits per weight of a row, scales stored inside the blocks included (for the
/// external-scale kinds this counts only the codes).
double bitsPerWeight(const Format &format, int64_t rowLength);

/// Starts a format from its leading word ("q4_k", "int4", "codebook",
/// "ternary") with that kind's defaults: int is per-channel and symmetric,
/// ternary per-tensor. Returns nullopt for an unknown word.
std::optional<Format> formatFromName(std::string_view head);

/// Applies one option of the text form: a flag ("asym", "min", "per_tensor",
/// "per_channel", "a8": per-token int8 activations) without a value, or "group", "bits", "codebooks" with one.
/// Returns why the option does not apply, or an empty string.
std::string applyFormatOption(Format &format, std::string_view key, std::optional<int64_t> value);

/// Parses the text form ("int4, group = 128, asym"), as on lowbit-compile's
/// command line. On failure returns nullopt and says why in `error`.
std::optional<Format> parseFormat(std::string_view text, std::string &error);

/// Rows of a tile of the Interleaved4 layout.
constexpr int64_t kInterleavedRows = 4;

/// Bytes of one unit of the Interleaved4 layout: the packed bytes of 128
/// weights (4 blocks of the 32-weight block formats, 16 * bits of int), or
/// of one block for the 256-weight block formats; the unit a CPU kernel
/// consumes per step. 0 for formats the layout does not apply to (codebook,
/// ternary, per-token int8 activations).
int64_t interleaveUnitBytes(const Format &format);

/// Where the bytes of row n of a weight with N rows of rowBytes lie, as
/// offsets from the weight's first byte: unit u < lastUnit at
/// head + u * stride, the last unit (rowBytes - lastUnit * unitBytes bytes,
/// at most one unit) at tail. In a 4-row tile of Interleaved4, the tile's
/// units u < lastUnit lie row by row (stride 4 units), then the 4 rows' last
/// units one after the other; the rows after the last whole tile lie as
/// Rows. For Rows, head = n * rowBytes and stride = unitBytes (or rowBytes
/// for formats without a unit, with lastUnit = 0).
struct RowPlacement {
  int64_t head, stride, tail, lastUnit;
};
/// What rowPlacement needs of a weight in format.layout, computed once
/// (kernels place every row of a call with it, without a division).
struct RowTiling {
  int64_t rowBytes = 0, unitBytes = 0; ///< unitBytes 0: the format has no unit
  int64_t lastUnit = 0, lastBytes = 0; ///< the last unit of a row and its bytes
  int64_t tiledRows = 0;               ///< rows in whole tiles (0 for Rows)
};
RowTiling rowTiling(const Format &format, int64_t rowBytes, int64_t N);

inline RowPlacement rowPlacement(const RowTiling &t, int64_t n) {
  constexpr int64_t R = kInterleavedRows;
  if (n >= t.tiledRows)
    return {n * t.rowBytes, t.unitBytes ? t.unitBytes : t.rowBytes, n * t.rowBytes + t.lastUnit * t.unitBytes,
            t.lastUnit};
  const int64_t tile = n / R * R * t.rowBytes, r = n % R;
  return {tile + r * t.unitBytes, R * t.unitBytes, tile + R * t.lastUnit * t.unitBytes + r * t.lastBytes, t.lastUnit};
}

/// Copies N rows of rowBytes packed row after row (`rows`) into `out` in
/// format.layout.
void layOutRows(const Format &format, int64_t rowBytes, int64_t N, const uint8_t *rows, uint8_t *out);
/// Copies row n of a weight placed by `tiling` into `row` (rowBytes).
void gatherRow(const RowTiling &tiling, const uint8_t *weight, int64_t n, uint8_t *row);

/// The format as one 64-bit word, as compiled code passes it to the runtime's
/// kernels: kind | bits << 8 | granularity << 16 | offset << 20 |
/// codebooks << 24 | activations << 28 | layout << 30 | groupSize << 32
/// (codebooks <= 8 fits its 4 bits; a Float, Rows word is the same as before
/// activations and layouts existed).
uint64_t encodeFormat(const Format &format);
/// The inverse; nullopt when the word is not a valid format.
std::optional<Format> decodeFormat(uint64_t word);

/// A readable one-line form, e.g. "int4, group = 128, asym" or "q4_k"; the
/// same text the #lowbit.format attribute prints between its angle brackets
/// (an Interleaved4 format, which IR never holds, ends in ", rows
/// interleaved by 4").
std::string toString(const Format &format);

} // namespace lowbit::quant

#endif // LOWBIT_QUANT_FORMAT_H
