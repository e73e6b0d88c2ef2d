//===- LowbitToRuntime.cpp - The entry function's runtime convention ------===//
//
// docs/ARTIFACT.md fixes the convention: the entry function takes the
// dispatch context first, then the inputs, then the weights; lowbit.matmul
// runs in the runtime's fused kernel. This pass does that on tensors, before
// bufferization, bridging to buffers with to_buffer/to_tensor.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Conversion/Passes.h"

#include "lowbit/Quant/Format.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace lowbit {
#define GEN_PASS_DEF_LOWERTORUNTIMEPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

constexpr StringLiteral kMatmulWrapper = "__lowbit_matmul";
constexpr StringLiteral kMatmulKernel = "lowbit_rt_matmul";

/// Adds arguments to the entry function: the context first, weights last.
class EntryArguments {
public:
  explicit EntryArguments(func::FuncOp entry) : entry_(entry) {}

  Value context() {
    if (entry_.getNumArguments() && entry_.getArgAttr(0, kContextAttr))
      return entry_.getArgument(0);
    OpBuilder b(entry_.getContext());
    NamedAttrList attrs;
    attrs.append(kContextAttr, b.getUnitAttr());
    (void)entry_.insertArgument(0, b.getI64Type(), attrs.getDictionary(b.getContext()), entry_.getLoc());
    return entry_.getArgument(0);
  }

  /// A new last argument of `type` holding the weight `value` named `name`.
  Value weight(Type type, StringRef name, ElementsAttr value) {
    OpBuilder b(entry_.getContext());
    NamedAttrList attrs;
    attrs.append(kWeightNameAttr, b.getStringAttr(name));
    attrs.append(kWeightValueAttr, value);
    unsigned index = entry_.getNumArguments();
    (void)entry_.insertArgument(index, type, attrs.getDictionary(b.getContext()), entry_.getLoc());
    return entry_.getArgument(index);
  }

private:
  func::FuncOp entry_;
};

std::string nameOf(ElementsAttr value, StringRef fallback) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return resource.getRawHandle().getKey().str();
  return fallback.str();
}

/// The wrapper every lowered matmul calls: it takes flat buffers, so the
/// buffers stay alive across the kernel call, and passes their addresses (or
/// null for an empty buffer) to the runtime's kernel.
func::FuncOp getOrCreateMatmulWrapper(ModuleOp module) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(kMatmulWrapper))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  Type i64 = b.getI64Type(), index = b.getIndexType();
  auto flat = [&](Type element) { return MemRefType::get({ShapedType::kDynamic}, element); };
  SmallVector<Type> buffers = {flat(b.getF32Type()), flat(b.getI8Type()), flat(b.getF32Type()),
                               flat(b.getI32Type()), flat(b.getF32Type()), flat(b.getF32Type()),
                               flat(b.getF32Type()), flat(b.getF32Type())};
  SmallVector<Type> wrapperArgs = {i64, i64};
  wrapperArgs.append(buffers);
  wrapperArgs.append({index, index, index});
  SmallVector<Type> kernelArgs(2 + buffers.size() + 3, i64);

  auto kernel = func::FuncOp::create(b, loc, kMatmulKernel, b.getFunctionType(kernelArgs, {b.getI32Type()}));
  kernel.setPrivate();
  auto wrapper = func::FuncOp::create(b, loc, kMatmulWrapper, b.getFunctionType(wrapperArgs, {}));
  wrapper.setPrivate();
  Block *body = wrapper.addEntryBlock();
  b.setInsertionPointToStart(body);
  SmallVector<Value> args = {body->getArgument(0), body->getArgument(1)};
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  for (size_t i = 0; i < buffers.size(); ++i) {
    Value buffer = body->getArgument(2 + i);
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    unsigned bytes = cast<MemRefType>(buffer.getType()).getElementTypeBitWidth() / 8;
    Value offset = arith::MulIOp::create(b, loc, metadata.getOffset(), arith::ConstantIndexOp::create(b, loc, bytes));
    Value address = arith::AddIOp::create(b, loc, base, offset);
    Value empty = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, metadata.getSizes()[0], zero);
    address = arith::SelectOp::create(b, loc, empty, zero, address);
    args.push_back(arith::IndexCastOp::create(b, loc, i64, address));
  }
  for (unsigned i = 0; i < 3; ++i)
    args.push_back(arith::IndexCastOp::create(b, loc, i64, body->getArgument(2 + buffers.size() + i)));
  func::CallOp::create(b, loc, kernel, args);
  func::ReturnOp::create(b, loc);
  return wrapper;
}

/// `value` as a flat f32 or i32 tensor (element types widened), or a rank-1
/// empty tensor for a missing operand.
Value flatten(OpBuilder &b, Location loc, Value value, Type element) {
  if (!value)
    return tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{0}, element);
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getElementType() != element) {
    Type from = type.getElementType();
    Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, value), element);
    SmallVector<AffineMap> maps(2, b.getMultiDimIdentityMap(type.getRank()));
    SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
    value = linalg::GenericOp::create(
                b, loc, TypeRange{init.getType()}, ValueRange{value}, ValueRange{init}, maps, iterators,
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  Value in = args[0];
                  // arith takes signless integers only: view an unsigned
                  // element (MatMulNBits' ui8 zero points) as signless first;
                  // the LLVM lowering makes both the same i8, so the cast
                  // folds away.
                  if (from.isUnsignedInteger())
                    in = UnrealizedConversionCastOp::create(nb, l, nb.getIntegerType(from.getIntOrFloatBitWidth()),
                                                            in)
                             .getResult(0);
                  Value v = isa<FloatType>(from) ? arith::ExtFOp::create(nb, l, element, in).getResult()
                            : from.isUnsignedInteger() ? arith::ExtUIOp::create(nb, l, element, in).getResult()
                                                       : arith::ExtSIOp::create(nb, l, element, in).getResult();
                  linalg::YieldOp::create(nb, l, v);
                })
                .getResult(0);
    type = cast<RankedTensorType>(value.getType());
  }
  if (type.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get({1}, element), value,
                                         SmallVector<ReassociationIndices>{});
  if (type.getRank() == 1)
    return value;
  ReassociationIndices all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  int64_t count = type.hasStaticShape() ? type.getNumElements() : ShapedType::kDynamic;
  return tensor::CollapseShapeOp::create(b, loc, RankedTensorType::get({count}, element), value,
                                         SmallVector<ReassociationIndices>{all});
}

Value toBuffer(OpBuilder &b, Location loc, Value flatTensor) {
  auto type = cast<RankedTensorType>(flatTensor.getType());
  Value buffer = bufferization::ToBufferOp::create(b, loc, MemRefType::get(type.getShape(), type.getElementType()),
                                                   flatTensor, /*read_only=*/true);
  auto flat = MemRefType::get({ShapedType::kDynamic}, type.getElementType());
  return buffer.getType() == flat ? buffer : memref::CastOp::create(b, loc, flat, buffer).getResult();
}

/// The format the kernel reads `type`'s bytes in: Interleaved4 when asked
/// for and the format has an interleave unit; otherwise as packed (Rows).
quant::Format storedFormat(PackedType type, bool interleaveRows) {
  quant::Format format = type.getFormat().getValue();
  if (interleaveRows && quant::interleaveUnitBytes(format))
    format.layout = quant::Layout::Interleaved4;
  return format;
}

/// The bytes `constant` holds: a resource's blob or a dense attribute's data.
FailureOr<ArrayRef<char>> constantBytes(ConstantOp constant) {
  ElementsAttr bytes = constant.getBytes();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(bytes)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return constant.emitOpError() << "has no data for its resource '" << resource.getRawHandle().getKey() << "'";
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(bytes))
    return dense.getRawData();
  return constant.emitOpError() << "bytes must be dense or dense_resource to be laid out, got " << bytes;
}

/// `constant`'s bytes laid out in `format`'s row layout (the quantizers
/// pack Rows): its own attribute for Rows, else one of the same kind, a
/// resource staying a resource so that large weights are not copied into
/// an attribute element by element. With `inPlace` (the resource is this
/// constant's alone and only matmuls, which this pass lowers, read it) the
/// reordered blob replaces the resource's own, so the weights are not held
/// twice while compiling.
FailureOr<ElementsAttr> layOutWeight(ConstantOp constant, const quant::Format &format, bool inPlace) {
  ElementsAttr bytes = constant.getBytes();
  auto dense = dyn_cast<DenseElementsAttr>(bytes);
  // A splat's bytes are the same in any order.
  if (format.layout == quant::Layout::Rows || (dense && dense.isSplat()))
    return bytes;
  FailureOr<ArrayRef<char>> rows = constantBytes(constant);
  if (failed(rows))
    return failure();
  PackedType type = constant.getType();
  int64_t n = type.getNumRows(), rowBytes = quant::packedRowBytes(format, type.getRowLength());
  if (static_cast<int64_t>(rows->size()) != n * rowBytes)
    return constant.emitOpError() << "holds " << rows->size() << " bytes, but " << n << " rows of "
                                  << rowBytes << " bytes (K = " << type.getRowLength() << " in "
                                  << quant::toString(type.getFormat().getValue()) << ") take " << n * rowBytes;
  auto layOut = [&](MutableArrayRef<char> out) {
    quant::layOutRows(format, rowBytes, n, reinterpret_cast<const uint8_t *>(rows->data()),
                      reinterpret_cast<uint8_t *>(out.data()));
  };
  auto byteType = cast<ShapedType>(bytes.getType());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(bytes)) {
    size_t alignment = resource.getRawHandle().getBlob()->getDataAlignment();
    AsmResourceBlob blob = HeapAsmResourceBlob::allocate(rows->size(), alignment);
    layOut(blob.getMutableData());
    if (inPlace) {
      resource.getRawHandle().getResource()->setBlob(std::move(blob));
      return bytes;
    }
    return cast<ElementsAttr>(
        DenseResourceElementsAttr::get(byteType, resource.getRawHandle().getKey(), std::move(blob)));
  }
  std::vector<char> out(rows->size());
  layOut(out);
  return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(byteType, out));
}

LogicalResult lowerMatmul(MatmulOp op, Value context, func::FuncOp wrapper, EntryArguments &entry,
                          llvm::DenseMap<Operation *, Value> &packedWeights, bool interleaveRows,
                          const llvm::DenseMap<StringRef, int> &resourceUses) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto constant = op.getWeight().getDefiningOp<ConstantOp>();
  if (!constant)
    return op.emitOpError() << "needs constant packed weights (a lowbit.constant) to run on the CPU runtime";
  if (!op.getInput().getType().getElementType().isF32())
    return op.emitOpError() << "runs on f32 activations on the CPU runtime, got "
                            << op.getInput().getType().getElementType();

  // Laid out once per constant, however many matmuls share it.
  PackedType weightType = constant.getType();
  quant::Format format = storedFormat(weightType, interleaveRows);
  Value &weightBuffer = packedWeights[constant];
  if (!weightBuffer) {
    auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getBytes());
    bool inPlace = resource && resourceUses.lookup(resource.getRawHandle().getKey()) == 1 &&
                   llvm::all_of(constant->getUsers(), [](Operation *user) { return isa<MatmulOp>(user); });
    FailureOr<ElementsAttr> laidOut = layOutWeight(constant, format, inPlace);
    if (failed(laidOut))
      return failure();
    int64_t bytes = weightType.getNumBytes();
    weightBuffer = entry.weight(MemRefType::get({bytes}, b.getI8Type()),
                                nameOf(constant.getBytes(), "packed_weight_" + std::to_string(packedWeights.size() - 1)),
                                *laidOut);
  }
  auto flatWeight = memref::CastOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), weightBuffer);

  int64_t n = weightType.getShape()[0], k = weightType.getShape()[1];
  Value input = op.getInput();
  SmallVector<OpFoldResult> inputSizes = tensor::getMixedSizes(b, loc, input);
  Value rows = arith::ConstantIndexOp::create(b, loc, 1);
  for (OpFoldResult size : ArrayRef(inputSizes).drop_back())
    rows = arith::MulIOp::create(b, loc, rows, getValueOrCreateConstantIndexOp(b, loc, size));

  // The output is allocated in its final shape and passed flattened: a
  // collapse is a view, while expanding a flat buffer into several dynamic
  // dimensions trips MLIR 22's expand-strided-metadata.
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto resultType = cast<RankedTensorType>(op.getType());
  SmallVector<Value> dynamicSizes;
  for (auto [d, size] : llvm::enumerate(ArrayRef(inputSizes).drop_back()))
    if (resultType.isDynamicDim(d))
      dynamicSizes.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
  auto output = memref::AllocOp::create(b, loc, MemRefType::get(resultType.getShape(), f32), dynamicSizes);
  ReassociationIndices allDims;
  for (int64_t d = 0; d < resultType.getRank(); ++d)
    allDims.push_back(d);
  int64_t count = resultType.hasStaticShape() ? resultType.getNumElements() : ShapedType::kDynamic;
  Value flatOutput = memref::CollapseShapeOp::create(b, loc, MemRefType::get({count}, f32), output,
                                                     SmallVector<ReassociationIndices>{allDims});
  SmallVector<Value> args = {
      context,
      arith::ConstantIntOp::create(b, loc, b.getI64Type(), static_cast<int64_t>(quant::encodeFormat(format))),
      toBuffer(b, loc, flatten(b, loc, input, f32)),
      flatWeight,
      toBuffer(b, loc, flatten(b, loc, op.getScales(), f32)),
      toBuffer(b, loc, flatten(b, loc, op.getZeroPoints(), i32)),
      toBuffer(b, loc, flatten(b, loc, op.getMins(), f32)),
      toBuffer(b, loc, flatten(b, loc, op.getCodebooks(), f32)),
      toBuffer(b, loc, flatten(b, loc, op.getBias(), f32)),
      memref::CastOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, f32), flatOutput),
      rows,
      arith::ConstantIndexOp::create(b, loc, n),
      arith::ConstantIndexOp::create(b, loc, k)};
  func::CallOp::create(b, loc, wrapper, args);

  Value result = bufferization::ToTensorOp::create(b, loc, resultType, output, /*restrict=*/true, /*writable=*/true);
  op.replaceAllUsesWith(result);
  op.erase();
  return success();
}

class LowerToRuntimePass : public impl::LowerToRuntimePassBase<LowerToRuntimePass> {
public:
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entryFn = module.lookupSymbol<func::FuncOp>(entry);
    if (!entryFn || entryFn.isExternal()) {
      module.emitError() << "lowbit-lower-to-runtime: no entry function '" << entry << "'";
      return signalPassFailure();
    }
    WalkResult outside = module.walk([&](MatmulOp op) {
      if (op->getParentOfType<func::FuncOp>() != entryFn) {
        op.emitOpError() << "outside the entry function '" << entry << "' cannot run on the CPU runtime";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (outside.wasInterrupted())
      return signalPassFailure();

    EntryArguments arguments(entryFn);
    Value context = arguments.context();
    SmallVector<MatmulOp> matmuls;
    entryFn.walk([&](MatmulOp op) { matmuls.push_back(op); });
    llvm::DenseMap<Operation *, Value> packedWeights;
    const llvm::DenseMap<StringRef, int> resourceUses = countResourceUses(module);
    if (!matmuls.empty()) {
      func::FuncOp wrapper = getOrCreateMatmulWrapper(module);
      for (MatmulOp op : matmuls)
        if (failed(lowerMatmul(op, context, wrapper, arguments, packedWeights, interleaveRows, resourceUses)))
          return signalPassFailure();
    }
    outlineLargeConstants(entryFn, arguments);
    entryFn.walk([&](ConstantOp op) {
      if (op->use_empty())
        op.erase();
    });
    entryFn->setAttr("llvm.emit_c_interface", UnitAttr::get(&getContext()));
  }

private:
  /// Large float constants become weight arguments, so they live in the
  /// artifact's mapped Weights section instead of the code.
  void outlineLargeConstants(func::FuncOp entryFn, EntryArguments &arguments) {
    SmallVector<arith::ConstantOp> constants;
    entryFn.walk([&](arith::ConstantOp op) {
      auto type = dyn_cast<RankedTensorType>(op.getType());
      if (type && type.hasStaticShape() && type.getNumElements() >= minWeightElements)
        constants.push_back(op);
    });
    for (auto [i, op] : llvm::enumerate(constants)) {
      auto value = cast<ElementsAttr>(op.getValue());
      Value argument = arguments.weight(op.getType(), nameOf(value, "constant_" + std::to_string(i)), value);
      op.replaceAllUsesWith(argument);
      op.erase();
    }
  }
};

} // namespace
} // namespace lowbit
