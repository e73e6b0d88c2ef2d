//===- OnnxImporter.cpp - ONNX models into MLIR ---------------------------===//

#include "lowbit/Import/OnnxImporter.h"

#include "NodeImporter.h"
#include "Tensors.h"
#include "lowbit/Lowbit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/ADT/StringSet.h"

#include <google/protobuf/io/coded_stream.h>

using namespace mlir;

namespace lowbit {
namespace onnx_import {

/// Imports one GraphProto into the body of a func.func.
class GraphImporter {
public:
  GraphImporter(MLIRContext &context, const onnx::ModelProto &model, StringRef baseDir,
                StringRef fileName, const OnnxImportOptions &options)
      : context_(context), builder_(&context), model_(model), baseDir_(baseDir.str()),
        fileName_(fileName.str()), options_(options) {
    addAllOps(ops_);
  }

  OwningOpRef<ModuleOp> run();

  OpBuilder &builder() { return builder_; }
  MLIRContext &context() { return context_; }
  Location fileLoc() { return FileLineColLoc::get(&context_, fileName_, 0, 0); }
  const OpTable &ops() const { return ops_; }

private:
  friend class NodeContext;

  LogicalResult readOpsets();
  LogicalResult importInitializers();
  FailureOr<SmallVector<Type>> importInputTypes(SmallVectorImpl<std::string> &names,
                                                SmallVectorImpl<DType> &dtypes);
  LogicalResult importNode(const onnx::NodeProto &node, size_t index);
  FailureOr<SmallVector<Value>> collectOutputs(SmallVectorImpl<Type> &types);

  MLIRContext &context_;
  OpBuilder builder_;
  const onnx::ModelProto &model_;
  std::string baseDir_;
  std::string fileName_;
  const OnnxImportOptions &options_;
  OpTable ops_;
  TensorLoader tensors_{context_, baseDir_};
  llvm::StringMap<int64_t> opsets_;
  llvm::StringMap<OnnxValue> values_;
};

NodeContext::NodeContext(GraphImporter &graph, const onnx::NodeProto &node, int64_t opset)
    : graph_(graph), node_(node), opset_(opset),
      loc_(NameLoc::get(StringAttr::get(&graph.context(),
                                        node.name().empty() ? node.op_type() : node.name()),
                        graph.fileLoc())) {}

OpBuilder &NodeContext::builder() { return graph_.builder(); }
MLIRContext *NodeContext::context() { return &graph_.context(); }

RankedTensorType NodeContext::type(size_t i) const {
  return cast<RankedTensorType>(inputs_[i].value.getType());
}

FailureOr<Value> NodeContext::loadTensor(const onnx::TensorProto &tensor, DenseElementsAttr &known) {
  FailureOr<LoadedTensor> loaded = graph_.tensors_.load(tensor, loc_);
  if (failed(loaded))
    return failure();
  known = loaded->known;
  return arith::ConstantOp::create(builder(), loc_, loaded->attr).getResult();
}

InFlightDiagnostic NodeContext::emitError() {
  std::string domain = node_.domain().empty() ? "ai.onnx" : node_.domain();
  return mlir::emitError(loc_) << "node '" << node_.name() << "' (" << node_.op_type()
                               << ", domain '" << domain << "', opset " << opset_ << "): ";
}

LogicalResult NodeContext::requireInputs(size_t min) {
  for (size_t i = 0; i < min; ++i)
    if (!hasInput(i))
      return emitError() << "needs input " << i << ", which is missing";
  return success();
}

FailureOr<int64_t> NodeContext::normalizeAxis(int64_t axis, int64_t rank, StringRef what) {
  if (axis < -rank || axis >= rank)
    return emitError() << what << " " << axis << " is out of range for rank " << rank;
  return axis < 0 ? axis + rank : axis;
}

FailureOr<SmallVector<int64_t>> NodeContext::constantInts(size_t i, StringRef what) {
  if (!hasInput(i))
    return emitError() << "needs its " << what << " input";
  std::optional<SmallVector<int64_t>> ints;
  if (DenseElementsAttr attr = constant(i))
    ints = intValues(attr);
  if (!ints)
    return emitError() << "needs its " << what << " (input '" << node_.input(i)
                       << "') to be an integer constant known at import time; "
                          "fix dynamic input dimensions with --input-shape";
  return *ints;
}

std::optional<SmallVector<OpFoldResult>> NodeContext::shapeElements(size_t i) {
  if (!hasInput(i))
    return std::nullopt;
  const OnnxValue &input = inputs_[i];
  if (!input.elements.empty())
    return input.elements;
  if (!input.constant || input.constant.getNumElements() > 64 || input.constant.getType().getRank() > 1)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> ints = intValues(input.constant);
  if (!ints)
    return std::nullopt;
  SmallVector<OpFoldResult> elements;
  for (int64_t v : *ints)
    elements.push_back(builder().getIndexAttr(v));
  return elements;
}

void NodeContext::setShapeOutput(size_t i, ArrayRef<OpFoldResult> elements, DType dtype, bool scalar) {
  OpBuilder &b = builder();
  Type element = elementTypeFor(context(), dtype);
  SmallVector<int64_t> shape = scalar ? SmallVector<int64_t>{} : SmallVector<int64_t>{int64_t(elements.size())};
  SmallVector<int64_t> known;
  for (OpFoldResult e : elements)
    if (std::optional<int64_t> c = getConstantIntValue(e))
      known.push_back(*c);
  if (known.size() == elements.size()) {
    DenseElementsAttr attr = intConstant(element, shape, known);
    setOutput(i, materialize(b, loc_, attr), dtype, attr);
    return;
  }
  SmallVector<Value> values;
  for (OpFoldResult e : elements)
    values.push_back(arith::IndexCastOp::create(b, loc_, element, getValueOrCreateConstantIndexOp(b, loc_, e)));
  Value tensor = tensor::FromElementsOp::create(b, loc_, RankedTensorType::get(shape, element), values);
  setOutput(i, tensor, dtype);
  if (i < numOutputs() && !node_.output(i).empty())
    graph_.values_[node_.output(i)].elements.assign(elements.begin(), elements.end());
}

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const onnx::AttributeProto &a : node_.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::intAttr(StringRef name, int64_t fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : fallback;
}

float NodeContext::floatAttr(StringRef name, float fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : fallback;
}

std::string NodeContext::stringAttr(StringRef name, StringRef fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : fallback.str();
}

std::optional<SmallVector<int64_t>> NodeContext::intsAttr(StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

void NodeContext::setOutput(size_t i, Value value, DType dtype, DenseElementsAttr constant) {
  if (i >= numOutputs() || node_.output(i).empty())
    return; // an output the graph does not use
  graph_.values_[node_.output(i)] = OnnxValue{value, dtype, constant};
}

void OpTable::add(StringRef domain, StringRef opType, OpImporter import) {
  table_[(domain + ":" + opType).str()] = import;
}

OpImporter OpTable::lookup(StringRef domain, StringRef opType) const {
  if (domain == "ai.onnx")
    domain = "";
  auto it = table_.find((domain + ":" + opType).str());
  return it == table_.end() ? nullptr : it->second;
}

std::vector<std::string> OpTable::names() const {
  std::vector<std::string> names;
  for (const auto &entry : table_)
    names.push_back(entry.getKey().str());
  std::sort(names.begin(), names.end());
  return names;
}

LogicalResult GraphImporter::readOpsets() {
  for (const onnx::OperatorSetIdProto &opset : model_.opset_import()) {
    std::string domain = opset.domain() == "ai.onnx" ? "" : opset.domain();
    opsets_[domain] = opset.version();
  }
  auto it = opsets_.find("");
  if (it == opsets_.end())
    return mlir::emitError(fileLoc()) << "the model imports no opset of the standard ONNX domain";
  if (it->second < 13 || it->second > 21)
    return mlir::emitError(fileLoc()) << "the model uses ONNX opset " << it->second
                                      << "; lowbit imports opsets 13 to 21";
  return success();
}

LogicalResult GraphImporter::importInitializers() {
  for (const onnx::TensorProto &tensor : model_.graph().initializer()) {
    FailureOr<LoadedTensor> loaded = tensors_.load(tensor, fileLoc());
    if (failed(loaded))
      return failure();
    Value value = arith::ConstantOp::create(builder_, fileLoc(), loaded->attr);
    values_[tensor.name()] = OnnxValue{value, tensor.data_type(), loaded->known};
  }
  return success();
}

FailureOr<SmallVector<Type>> GraphImporter::importInputTypes(SmallVectorImpl<std::string> &names,
                                                             SmallVectorImpl<DType> &dtypes) {
  llvm::StringSet<> initializers;
  for (const onnx::TensorProto &tensor : model_.graph().initializer())
    initializers.insert(tensor.name());
  SmallVector<Type> types;
  for (const onnx::ValueInfoProto &input : model_.graph().input()) {
    if (initializers.contains(input.name()))
      continue; // older exporters list initializers as inputs too
    if (!input.type().has_tensor_type())
      return mlir::emitError(fileLoc()) << "graph input '" << input.name() << "' is not a tensor";
    const onnx::TypeProto::Tensor &tensorType = input.type().tensor_type();
    Type element = elementTypeFor(&context_, tensorType.elem_type());
    if (!element)
      return mlir::emitError(fileLoc()) << "graph input '" << input.name() << "' has element type "
                                        << dtypeName(tensorType.elem_type())
                                        << ", which lowbit does not support";
    SmallVector<int64_t> shape;
    for (const onnx::TensorShapeProto::Dimension &dim : tensorType.shape().dim()) {
      if (dim.has_dim_value() && dim.dim_value() < 0)
        return mlir::emitError(fileLoc()) << "graph input '" << input.name()
                                          << "' has a negative dimension " << dim.dim_value();
      shape.push_back(dim.has_dim_value() ? dim.dim_value() : ShapedType::kDynamic);
    }
    if (auto fixed = options_.inputShapes.find(input.name()); fixed != options_.inputShapes.end()) {
      if (fixed->second.size() != shape.size())
        return mlir::emitError(fileLoc())
               << "--input-shape gives input '" << input.name() << "' rank "
               << fixed->second.size() << ", but the model says rank " << shape.size();
      for (size_t d = 0; d < shape.size(); ++d) {
        int64_t want = fixed->second[d] < 0 ? ShapedType::kDynamic : fixed->second[d];
        if (!ShapedType::isDynamic(shape[d]) && want != shape[d])
          return mlir::emitError(fileLoc())
                 << "--input-shape sets dimension " << d << " of input '" << input.name()
                 << "' to " << fixed->second[d] << ", but the model fixes it to " << shape[d];
        shape[d] = want;
      }
    }
    names.push_back(input.name());
    dtypes.push_back(tensorType.elem_type());
    types.push_back(RankedTensorType::get(shape, element));
  }
  for (const auto &fixed : options_.inputShapes)
    if (!llvm::is_contained(names, fixed.first))
      return mlir::emitError(fileLoc()) << "--input-shape names '" << fixed.first
                                        << "', which is not an input of the model";
  return types;
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node, size_t index) {
  std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  auto opset = opsets_.find(domain);
  NodeContext ctx(*this, node, opset == opsets_.end() ? 0 : opset->second);
  if (opset == opsets_.end())
    return ctx.emitError() << "the model imports no opset for domain '" << node.domain() << "'";
  OpImporter import = ops_.lookup(domain, node.op_type());
  if (!import)
    return ctx.emitError() << "unsupported op";
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      ctx.inputs_.push_back(OnnxValue{});
      continue;
    }
    auto it = values_.find(name);
    if (it == values_.end())
      return ctx.emitError() << "input '" << name
                             << "' is not produced by an earlier node, an initializer or a graph "
                                "input (is the graph topologically sorted?)";
    ctx.inputs_.push_back(it->second);
  }
  (void)index;
  return import(ctx);
}

FailureOr<SmallVector<Value>> GraphImporter::collectOutputs(SmallVectorImpl<Type> &types) {
  SmallVector<Value> results;
  for (const onnx::ValueInfoProto &output : model_.graph().output()) {
    auto it = values_.find(output.name());
    if (it == values_.end())
      return mlir::emitError(fileLoc())
             << "graph output '" << output.name() << "' is not produced by any node";
    Value value = it->second.value;
    results.push_back(value);
    types.push_back(value.getType());
  }
  return results;
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc());
  if (failed(readOpsets()))
    return nullptr;
  SmallVector<std::string> inputNames;
  SmallVector<DType> inputDTypes;
  FailureOr<SmallVector<Type>> inputTypes = importInputTypes(inputNames, inputDTypes);
  if (failed(inputTypes))
    return nullptr;

  builder_.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder_, fileLoc(), options_.functionName,
                                            builder_.getFunctionType(*inputTypes, {}));
  Block *entry = func.addEntryBlock();
  builder_.setInsertionPointToEnd(entry);
  for (auto [i, name] : llvm::enumerate(inputNames)) {
    values_[name] = OnnxValue{entry->getArgument(i), inputDTypes[i], nullptr};
    func.setArgAttr(i, "onnx.name", builder_.getStringAttr(name));
  }
  if (failed(importInitializers()))
    return nullptr;
  for (auto [i, node] : llvm::enumerate(model_.graph().node()))
    if (failed(importNode(node, i)))
      return nullptr;

  SmallVector<Type> resultTypes;
  FailureOr<SmallVector<Value>> results = collectOutputs(resultTypes);
  if (failed(results))
    return nullptr;
  func::ReturnOp::create(builder_, fileLoc(), *results);
  func.setType(builder_.getFunctionType(*inputTypes, resultTypes));
  for (auto [i, output] : llvm::enumerate(model_.graph().output()))
    func.setResultAttr(i, "onnx.name", builder_.getStringAttr(output.name()));
  return module;
}

} // namespace onnx_import

void registerOnnxImportDialects(DialectRegistry &registry) {
  registry.insert<LowbitDialect, arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, tensor::TensorDialect>();
}

OwningOpRef<ModuleOp> importOnnxBytes(MLIRContext &context, StringRef bytes, StringRef baseDir,
                                      StringRef bufferName, const OnnxImportOptions &options) {
  DialectRegistry registry;
  registerOnnxImportDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();

  onnx::ModelProto model;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t *>(bytes.data()),
                                                static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(INT32_MAX);
  if (bytes.size() > INT32_MAX || !model.ParseFromCodedStream(&stream)) {
    emitError(FileLineColLoc::get(&context, bufferName, 0, 0))
        << "is not a valid ONNX model: the protobuf does not parse"
        << (bytes.size() > INT32_MAX ? " (over 2 GiB; keep weights in external data files)" : "");
    return nullptr;
  }
  if (!model.has_graph()) {
    emitError(FileLineColLoc::get(&context, bufferName, 0, 0)) << "ONNX model has no graph";
    return nullptr;
  }
  onnx_import::GraphImporter importer(context, model, baseDir, bufferName, options);
  return importer.run();
}

OwningOpRef<ModuleOp> importOnnxFile(MLIRContext &context, StringRef path,
                                     const OnnxImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer) {
    emitError(FileLineColLoc::get(&context, path, 0, 0))
        << "cannot read ONNX model: " << buffer.getError().message();
    return nullptr;
  }
  StringRef dir = llvm::sys::path::parent_path(path);
  return importOnnxBytes(context, (*buffer)->getBuffer(), dir.empty() ? "." : dir, path, options);
}

std::vector<std::string> supportedOnnxOps() {
  onnx_import::OpTable table;
  onnx_import::addAllOps(table);
  return table.names();
}

} // namespace lowbit
