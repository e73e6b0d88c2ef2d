//===- Tensors.h - ONNX TensorProtos as MLIR attributes --------*- C++ -*-===//
#ifndef LOWBIT_LIB_IMPORT_ONNX_TENSORS_H
#define LOWBIT_LIB_IMPORT_ONNX_TENSORS_H

#include "onnx/onnx_pb.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"

#include <string>

namespace lowbit::onnx_import {

struct LoadedTensor {
  /// What arith.constant holds: a DenseElementsAttr for small tensors, a
  /// dense_resource blob for weights (one copy of the bytes, never an
  /// attribute element per weight).
  mlir::ElementsAttr attr;
  /// The same contents when small enough to fold at import time, else null.
  mlir::DenseElementsAttr known;
};

/// Turns TensorProtos (initializers, Constant values) into attributes,
/// reading external data files relative to the model's folder.
class TensorLoader {
public:
  TensorLoader(mlir::MLIRContext &context, std::string baseDir)
      : context_(context), baseDir_(std::move(baseDir)) {}

  /// Fails with a diagnostic at `loc` naming the tensor and what is wrong.
  mlir::FailureOr<LoadedTensor> load(const onnx::TensorProto &tensor, mlir::Location loc);

private:
  mlir::FailureOr<std::string> readExternal(const onnx::TensorProto &tensor, mlir::Location loc);

  mlir::MLIRContext &context_;
  std::string baseDir_;
  unsigned blobCounter_ = 0;
};

} // namespace lowbit::onnx_import

#endif // LOWBIT_LIB_IMPORT_ONNX_TENSORS_H
