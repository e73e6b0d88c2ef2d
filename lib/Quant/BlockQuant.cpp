//===- BlockQuant.cpp - ggml block formats: dispatch and checks ----------===//

#include "lowbit/Quant/BlockQuant.h"

namespace lowbit::quant {

bool canQuantize(GgmlType) { return false; }
bool canDequantize(GgmlType) { return false; }

int64_t rowBytes(GgmlType type, int64_t rowLength) {
  const GgmlTypeInfo &info = ggmlTypeInfo(type);
  if (rowLength <= 0 || rowLength % info.blockSize != 0)
    return -1;
  return rowLength / info.blockSize * info.bytesPerBlock;
}

Status quantizeRows(GgmlType type, const float *, void *, int64_t, int64_t, const float *) {
  return Status::error("quantizeRows: " + std::string(ggmlTypeInfo(type).name) + " is not implemented yet");
}

Status quantizeRowsReference(GgmlType type, const float *, void *, int64_t, int64_t) {
  return Status::error("quantizeRowsReference: " + std::string(ggmlTypeInfo(type).name) +
                       " is not implemented yet");
}

Status dequantizeRows(GgmlType type, const void *, float *, int64_t, int64_t) {
  return Status::error("dequantizeRows: " + std::string(ggmlTypeInfo(type).name) + " is not implemented yet");
}

Status quantizeRowsParallel(GgmlType type, const float *src, void *dst, int64_t rows, int64_t rowLength,
                            const float *importance, int) {
  return quantizeRows(type, src, dst, rows, rowLength, importance);
}

Status dequantizeRowsParallel(GgmlType type, const void *src, float *dst, int64_t rows, int64_t rowLength,
                              int) {
  return dequantizeRows(type, src, dst, rows, rowLength);
}

} // namespace lowbit::quant
