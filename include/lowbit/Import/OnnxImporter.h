//===- OnnxImporter.h - ONNX models into MLIR ------------------*- C++ -*-===//
//
// Reads an ONNX ModelProto (with weights in external data files) and builds a
// func.func in upstream dialects: linalg on tensors for computation, tensor
// for shapes, arith and math for scalars, with weights as dense resources.
// Quantization constructs (MatMulNBits, ...) become lowbit ops.
// docs/ONNX-IMPORT.md says why and lists the supported ops.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_IMPORT_ONNXIMPORTER_H
#define LOWBIT_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>
#include <vector>

namespace lowbit {

struct OnnxImportOptions {
  /// Fixes dynamic input dimensions: input name -> full shape (-1 keeps a
  /// dimension dynamic).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Name of the function to build.
  std::string functionName = "main";
};

/// Registers the dialects the importer produces in `registry`.
void registerOnnxImportDialects(mlir::DialectRegistry &registry);

/// Imports the model at `path`. External data files are looked up next to it.
/// On failure, diagnostics naming the node, op, domain and opset have been
/// emitted to the context and a null module is returned.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &context, llvm::StringRef path,
                                                 const OnnxImportOptions &options = {});

/// Imports a model from serialized bytes; `baseDir` is where external data
/// files live.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBytes(mlir::MLIRContext &context,
                                                  llvm::StringRef bytes, llvm::StringRef baseDir,
                                                  llvm::StringRef bufferName,
                                                  const OnnxImportOptions &options = {});

/// The ONNX ops the importer knows, as "domain:OpType" ("" for ai.onnx).
std::vector<std::string> supportedOnnxOps();

} // namespace lowbit

#endif // LOWBIT_IMPORT_ONNXIMPORTER_H
