//===- Tensors.cpp - ONNX TensorProtos as MLIR attributes -----------------===//

#include "Tensors.h"

#include "NodeImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;

namespace lowbit::onnx_import {
namespace {

/// Bytes per element in raw_data, or 0 for types lowbit cannot load.
int64_t elementBytes(DType dtype) {
  switch (dtype) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return 4;
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::BOOL:
    return 1;
  case onnx::TensorProto::UINT16:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
    return 2;
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
  case onnx::TensorProto::DOUBLE:
    return 8;
  default:
    return 0;
  }
}

/// Appends the low `bytes` bytes of each value, little-endian.
template <typename Range> void appendValues(std::string &out, const Range &values, int64_t bytes) {
  for (auto v : values) {
    uint64_t bits = 0;
    if constexpr (std::is_floating_point_v<decltype(v)>) {
      if (bytes == 4) {
        float f = static_cast<float>(v);
        std::memcpy(&bits, &f, 4);
      } else {
        double d = static_cast<double>(v);
        std::memcpy(&bits, &d, 8);
      }
    } else {
      bits = static_cast<uint64_t>(v);
    }
    for (int64_t b = 0; b < bytes; ++b)
      out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
  }
}

/// The tensor's contents from its typed fields (float_data, int32_data, ...),
/// as raw little-endian bytes.
std::string typedFieldBytes(const onnx::TensorProto &t) {
  std::string out;
  int64_t bytes = elementBytes(t.data_type());
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    appendValues(out, t.float_data(), 4);
    break;
  case onnx::TensorProto::DOUBLE:
    appendValues(out, t.double_data(), 8);
    break;
  case onnx::TensorProto::INT64:
    appendValues(out, t.int64_data(), 8);
    break;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    appendValues(out, t.uint64_data(), bytes);
    break;
  default: // int32_data carries every narrower integer, bool, f16 and bf16 bits
    appendValues(out, t.int32_data(), bytes);
    break;
  }
  return out;
}

bool hasTypedFields(const onnx::TensorProto &t) {
  return t.float_data_size() || t.double_data_size() || t.int64_data_size() ||
         t.uint64_data_size() || t.int32_data_size();
}

} // namespace

FailureOr<std::string> TensorLoader::readExternal(const onnx::TensorProto &t, Location loc) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto &entry : t.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      int64_t number;
      if (StringRef(entry.value()).getAsInteger(10, number) || number < 0)
        return emitError(loc) << "initializer '" << t.name() << "' has a bad external data "
                              << entry.key() << " '" << entry.value() << "'";
      (entry.key() == "offset" ? offset : length) = number;
    }
  }
  if (location.empty())
    return emitError(loc) << "initializer '" << t.name()
                          << "' is stored externally but names no location";
  // The ONNX spec keeps external data beside the model; refuse to escape it.
  if (llvm::sys::path::is_absolute(location) || StringRef(location).contains(".."))
    return emitError(loc) << "initializer '" << t.name() << "' has external data location '"
                          << location << "' outside the model's folder";
  SmallString<256> path(baseDir_);
  llvm::sys::path::append(path, location);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return emitError(loc) << "initializer '" << t.name() << "': cannot read external data file '"
                          << path << "': " << buffer.getError().message();
  int64_t size = (*buffer)->getBufferSize();
  if (offset > size || (length >= 0 && length > size - offset))
    return emitError(loc) << "initializer '" << t.name() << "': external data at offset " << offset
                          << (length >= 0 ? " of length " + std::to_string(length) : std::string())
                          << " runs past the end of '" << path << "' (" << size << " bytes)";
  if (length < 0)
    length = size - offset;
  return (*buffer)->getBuffer().substr(offset, length).str();
}

FailureOr<LoadedTensor> TensorLoader::load(const onnx::TensorProto &t, Location loc) {
  Type element = elementTypeFor(&context_, t.data_type());
  int64_t bytesPerElement = elementBytes(t.data_type());
  if (!element || !bytesPerElement)
    return emitError(loc) << "tensor '" << t.name() << "' has element type "
                          << dtypeName(t.data_type()) << ", which lowbit does not support";
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : t.dims()) {
    if (dim < 0)
      return emitError(loc) << "tensor '" << t.name() << "' has a negative dimension " << dim;
    if (dim && count > (int64_t(1) << 40) / dim)
      return emitError(loc) << "tensor '" << t.name() << "' has more than 2^40 elements";
    shape.push_back(dim);
    count *= dim;
  }

  std::string bytes;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<std::string> external = readExternal(t, loc);
    if (failed(external))
      return failure();
    bytes = std::move(*external);
  } else if (t.has_raw_data()) {
    bytes = t.raw_data();
  } else if (hasTypedFields(t)) {
    bytes = typedFieldBytes(t);
  }
  if (static_cast<int64_t>(bytes.size()) != count * bytesPerElement)
    return emitError(loc) << "tensor '" << t.name() << "' has " << bytes.size()
                          << " bytes of data, but its shape " << shapeToString(shape) << " of "
                          << dtypeName(t.data_type()) << " needs " << count * bytesPerElement;

  auto type = RankedTensorType::get(shape, element);
  LoadedTensor loaded;
  if (count <= kMaxFoldedElements) {
    if (t.data_type() == onnx::TensorProto::BOOL) {
      SmallVector<bool> values;
      for (char c : bytes)
        values.push_back(c != 0);
      loaded.known = DenseElementsAttr::get(type, values);
    } else {
      loaded.known = DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(bytes.data(), bytes.size()));
    }
    loaded.attr = loaded.known;
    return loaded;
  }
  if (t.data_type() == onnx::TensorProto::BOOL)
    return emitError(loc) << "tensor '" << t.name() << "' is a bool tensor of " << count
                          << " elements; lowbit keeps bool constants small";
  std::string name = t.name().empty() ? "onnx_tensor_" + std::to_string(blobCounter_++) : t.name();
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(bytes.data(), bytes.size()), alignof(uint64_t));
  loaded.attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
  return loaded;
}

} // namespace lowbit::onnx_import
