//===- GptqGrid.h - A format's quantization grid, fixed, code by code -*- C++ -*-===//
//
// Private to lib/Quant. GPTQ chooses every scale the way the round-to-nearest
// quantizer does and then picks codes one weight at a time. This file holds,
// for every format GPTQ writes, the three things that needs:
//
//  * GridParams of each run of weights sharing a scale (a group, a sub-block),
//    read back from what the RTN quantizer wrote plus, where the RTN encoder
//    used fp32 values that the bytes only store rounded (Q4_0's d before its
//    fp16 rounding, IQ4's searched scales), those values recomputed from the
//    weights the grid was fitted on, exactly as the quantizer computed them;
//  * encode (x -> code) with the RTN quantizer's own arithmetic, so that an
//    unchanged weight gets RTN's code, and decode (code -> value) with the
//    dequantizer's arithmetic, bit for bit;
//  * the codes' place in the packed block (unpack / pack), leaving the block's
//    scale fields as the quantizer wrote them.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LIB_QUANT_GPTQGRID_H
#define LOWBIT_LIB_QUANT_GPTQGRID_H

#include "lowbit/Quant/Format.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Status.h"
#include "lowbit/Quant/Uniform.h"

#include <cstdint>

namespace lowbit::quant::detail {

/// One run of weights sharing a grid.
struct GridParams {
  float enc0 = 0, enc1 = 0; ///< what the RTN encoder computes with
  float dec0 = 0, dec1 = 0; ///< what the decoder computes with
  /// The run's codes are not a function of the weight (a zero sub-block
  /// scale, a block of subnormals): keep the quantizer's codes.
  uint8_t keep = 0;
};

struct Grid {
  Format format;
  bool block = false;   ///< a GGUF block format
  GgmlType type = GgmlType::F32;
  int64_t blockSize = 0;     ///< block formats: weights per block
  int64_t bytesPerBlock = 0; ///< block formats
  int64_t runLength = 0;     ///< weights per GridParams
  /// Int / ternary
  int lo = 0, hi = 0;
  bool useMin = false;
  unsigned codeBits = 0;
  /// Legacy block formats fitted with importance: their codes come from a
  /// search whose scale is not stored; encode on the stored grid instead.
  bool storedGrid = false;
};

/// The grid of `format` for rows of `columns` weights. Fails for formats
/// GPTQ cannot write (codebook, the activation formats).
Status makeGrid(const Format &format, int64_t columns, bool importance, Grid &out);

int encodeOnGrid(const Grid &g, const GridParams &p, float x);
float decodeOnGrid(const Grid &g, const GridParams &p, int code);

/// Block formats: the params of the block's runs (blockSize / runLength of
/// them) from the weights it was quantized from (`x`, blockSize values;
/// `importance` null or its blockSize values), and its bytes.
void blockParams(const Grid &g, const float *x, const float *importance, const uint8_t *block, GridParams *params);
void unpackBlockCodes(const Grid &g, const uint8_t *block, uint8_t *codes);
void packBlockCodes(const Grid &g, const uint8_t *codes, uint8_t *block);

/// Int / ternary: the params of one group from its stored side values.
GridParams uniformParams(const Grid &g, float scale, int32_t zeroPoint, float min);

} // namespace lowbit::quant::detail

#endif // LOWBIT_LIB_QUANT_GPTQGRID_H
