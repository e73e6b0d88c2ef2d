//===- NodeImporter.h - What an ONNX op importer works with ----*- C++ -*-===//
//
// Private to lib/Import/Onnx. Each op group (Elementwise.cpp, Shape.cpp, ...)
// adds functions to the op table; a function turns one NodeProto into IR
// through a NodeContext, which gives it typed access to the node's inputs,
// attributes and outputs and reports errors that name the node.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LIB_IMPORT_ONNX_NODEIMPORTER_H
#define LOWBIT_LIB_IMPORT_ONNX_NODEIMPORTER_H

#include "onnx/onnx_pb.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>

namespace lowbit::onnx_import {

/// ONNX's element type ids (onnx::TensorProto_DataType).
using DType = int32_t;

/// A value of the ONNX graph: the MLIR tensor, the ONNX element type (MLIR
/// integers are signless, so signedness lives here) and, when the value is
/// known at import time and small, its contents, so shape computations such
/// as Shape -> Gather -> Concat -> Reshape fold to constants.
struct OnnxValue {
  mlir::Value value;
  DType dtype = 0;
  mlir::DenseElementsAttr constant;
  /// For a small integer vector or scalar computed from shapes, each element
  /// as an index: an attribute where known at import time, a value where only
  /// known at run time (a dynamic dimension). Empty when not tracked. This is
  /// how Shape -> Gather -> Concat -> Reshape keeps dynamic batch and sequence
  /// dimensions dynamic while everything else folds.
  llvm::SmallVector<mlir::OpFoldResult> elements;
};

/// The MLIR element type for an ONNX one, or null when lowbit has none.
mlir::Type elementTypeFor(mlir::MLIRContext *context, DType dtype);
bool isFloatDType(DType dtype);
bool isUnsignedDType(DType dtype);
std::string dtypeName(DType dtype);

/// "2x?x8", or "a scalar".
std::string shapeToString(llvm::ArrayRef<int64_t> shape);

class GraphImporter;

class NodeContext {
public:
  NodeContext(GraphImporter &graph, const onnx::NodeProto &node, int64_t opset);

  const onnx::NodeProto &node() const { return node_; }
  int64_t opset() const { return opset_; }
  mlir::OpBuilder &builder();
  mlir::Location loc() const { return loc_; }
  mlir::MLIRContext *context();

  /// Inputs. ONNX marks an omitted optional input with an empty name.
  size_t numInputs() const { return node_.input_size(); }
  bool hasInput(size_t i) const { return i < numInputs() && !node_.input(i).empty(); }
  const OnnxValue &input(size_t i) const { return inputs_[i]; }
  mlir::Value value(size_t i) const { return inputs_[i].value; }
  mlir::RankedTensorType type(size_t i) const;
  llvm::ArrayRef<int64_t> shape(size_t i) const { return type(i).getShape(); }
  DType dtype(size_t i) const { return inputs_[i].dtype; }
  mlir::DenseElementsAttr constant(size_t i) const { return hasInput(i) ? inputs_[i].constant : nullptr; }

  /// Input `i` as integers known at import time; emits an error naming the
  /// input as `what` when it is not.
  mlir::FailureOr<llvm::SmallVector<int64_t>> constantInts(size_t i, llvm::StringRef what);

  /// Input `i` as index values when it is a small integer scalar or vector
  /// known at import time or computed from shapes; nullopt otherwise.
  std::optional<llvm::SmallVector<mlir::OpFoldResult>> shapeElements(size_t i);

  /// Attributes.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t fallback) const;
  float floatAttr(llvm::StringRef name, float fallback) const;
  std::string stringAttr(llvm::StringRef name, llvm::StringRef fallback) const;
  std::optional<llvm::SmallVector<int64_t>> intsAttr(llvm::StringRef name) const;

  /// Outputs.
  size_t numOutputs() const { return node_.output_size(); }
  void setOutput(size_t i, mlir::Value value, DType dtype, mlir::DenseElementsAttr constant = {});

  /// Sets output `i` to an integer vector (or scalar, when `scalar`) of
  /// `elements`: a constant when all are known, else tensor.from_elements.
  void setShapeOutput(size_t i, llvm::ArrayRef<mlir::OpFoldResult> elements, DType dtype,
                      bool scalar);

  /// Loads a TensorProto (a Constant's value) as arith.constant; `known`
  /// receives its contents when small.
  mlir::FailureOr<mlir::Value> loadTensor(const onnx::TensorProto &tensor,
                                          mlir::DenseElementsAttr &known);

  /// Starts an error that names the node, its op, domain and opset.
  mlir::InFlightDiagnostic emitError();

  /// Requires at least `min` inputs (present or omitted) and fails with a
  /// diagnostic otherwise.
  mlir::LogicalResult requireInputs(size_t min);

  /// Normalizes an axis in [-rank, rank) to [0, rank), or fails naming it.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank, llvm::StringRef what);

private:
  friend class GraphImporter;
  GraphImporter &graph_;
  const onnx::NodeProto &node_;
  int64_t opset_;
  mlir::Location loc_;
  llvm::SmallVector<OnnxValue> inputs_;
};

using OpImporter = mlir::LogicalResult (*)(NodeContext &);

/// The ops the importer knows: (domain, op type) -> importer. The domain of
/// the standard ops is "".
class OpTable {
public:
  void add(llvm::StringRef domain, llvm::StringRef opType, OpImporter import);
  OpImporter lookup(llvm::StringRef domain, llvm::StringRef opType) const;
  std::vector<std::string> names() const;

private:
  llvm::StringMap<OpImporter> table_;
};

// One function per op group, each in its own file.
void addElementwiseOps(OpTable &table);
void addMatmulOps(OpTable &table);
void addShapeOps(OpTable &table);
void addNormalizationOps(OpTable &table);
void addIndexingOps(OpTable &table);
void addQuantizationOps(OpTable &table);

/// Every op group, in the order the importer registers them.
inline void addAllOps(OpTable &table) {
  addElementwiseOps(table);
  addMatmulOps(table);
  addShapeOps(table);
  addNormalizationOps(table);
  addIndexingOps(table);
  addQuantizationOps(table);
}

//===----------------------------------------------------------------------===//
// IR building helpers shared by the op groups (Builders.cpp).
//===----------------------------------------------------------------------===//

/// numpy-style broadcasting of static shapes; '?' stays '?' unless the other
/// side is static and not 1. Fails on two static sizes that differ, neither 1.
mlir::FailureOr<llvm::SmallVector<int64_t>> broadcastShapes(llvm::ArrayRef<int64_t> a,
                                                            llvm::ArrayRef<int64_t> b);

/// tensor.empty of `shape`, taking each dynamic size from the first of
/// `sources` whose dimension aligned to the right is dynamic at that place.
mlir::Value emptyLike(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                      mlir::Type elementType, mlir::ValueRange sources);

using ScalarBody =
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// A tensor of `sizes` whose every element `body` computes from the loop
/// indices alone (a linalg.generic without inputs): Range, Tile, gathers
/// that read another tensor with tensor.extract.
mlir::Value buildGenerated(mlir::OpBuilder &b, mlir::Location loc,
                           llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elementType,
                           ScalarBody body);

/// A linalg.generic applying `body` elementwise to `inputs` with numpy
/// broadcasting. Fails (with a diagnostic) on incompatible shapes.
mlir::FailureOr<mlir::Value> buildElementwise(NodeContext &ctx, mlir::ValueRange inputs,
                                              mlir::Type resultElementType, ScalarBody body);

/// A scalar arith.constant of `type` (integer or float) holding `value`.
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type, double value);

/// Converts a scalar between element types, with ONNX Cast's semantics
/// (signedness from the ONNX types; float to int truncates toward zero).
mlir::Value castScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value, DType from,
                       DType to, mlir::Type toType);

/// The integer contents of a constant, or nullopt for a float one.
std::optional<llvm::SmallVector<int64_t>> intValues(mlir::DenseElementsAttr attr);

/// A constant of integers with the given shape and element type.
mlir::DenseElementsAttr intConstant(mlir::Type elementType, llvm::ArrayRef<int64_t> shape,
                                    llvm::ArrayRef<int64_t> values);

/// Reshapes `source` to `sizes` (static sizes as attributes, dynamic ones as
/// index values) through a collapse to 1-D and an expand: both are views, so
/// bufferization makes no copy.
mlir::Value reshapeTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value source,
                      llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// The sizes of `value`'s dimensions: attributes where static, tensor.dim
/// where dynamic.
llvm::SmallVector<mlir::OpFoldResult> tensorSizes(mlir::OpBuilder &b, mlir::Location loc,
                                                  mlir::Value value);

/// Materializes a known constant as arith.constant.
mlir::Value materialize(mlir::OpBuilder &b, mlir::Location loc, mlir::DenseElementsAttr attr);

/// The bytes of a constant (an initializer or Constant node's value, small or
/// a dense_resource blob), or nullopt when `value` is not a constant.
std::optional<llvm::ArrayRef<char>> constantBytes(mlir::Value value, std::string &storage);

/// ONNX MatMul of `a` and `b` (numpy batch broadcasting, 1-D operands) as one
/// linalg.generic contraction accumulating in the operands' element type
/// (Matmul.cpp).
mlir::FailureOr<mlir::Value> buildMatmul(NodeContext &ctx, mlir::Value a, mlir::Value b);

/// Index arithmetic on OpFoldResults: computed at import time when both
/// sides are known, else arith ops on index values. Keeps static sizes
/// static without relying on folders.
class IndexMath {
public:
  IndexMath(mlir::OpBuilder &b, mlir::Location loc) : b_(b), loc_(loc) {}
  mlir::OpFoldResult c(int64_t v) { return b_.getIndexAttr(v); }
  mlir::Value value(mlir::OpFoldResult x);
  mlir::OpFoldResult add(mlir::OpFoldResult x, mlir::OpFoldResult y);
  mlir::OpFoldResult sub(mlir::OpFoldResult x, mlir::OpFoldResult y);
  mlir::OpFoldResult mul(mlir::OpFoldResult x, mlir::OpFoldResult y);
  /// Signed division rounding toward zero (y != 0).
  mlir::OpFoldResult div(mlir::OpFoldResult x, mlir::OpFoldResult y);
  mlir::OpFoldResult min(mlir::OpFoldResult x, mlir::OpFoldResult y);
  mlir::OpFoldResult max(mlir::OpFoldResult x, mlir::OpFoldResult y);
  /// x < 0 ? x + size : x.
  mlir::OpFoldResult wrapNegative(mlir::OpFoldResult x, mlir::OpFoldResult size);
  /// ceil(x / y) for y > 0, clamped below at 0.
  mlir::OpFoldResult countSteps(mlir::OpFoldResult x, mlir::OpFoldResult y);

private:
  mlir::OpBuilder &b_;
  mlir::Location loc_;
};

/// Small constants are kept known at import time, for folding.
constexpr int64_t kMaxFoldedElements = 4096;

} // namespace lowbit::onnx_import

#endif // LOWBIT_LIB_IMPORT_ONNX_NODEIMPORTER_H
