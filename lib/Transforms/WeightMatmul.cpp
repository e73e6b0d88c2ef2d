//===- WeightMatmul.cpp - The weight matmuls the quantization passes rewrite ===//

#include "lowbit/Transforms/WeightMatmul.h"

#include "lowbit/Gguf/Mixes.h"
#include "lowbit/Gguf/TensorNames.h"
#include "lowbit/Quant/GgmlType.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>
#include <cstring>

using namespace mlir;
namespace quant = lowbit::quant;

namespace lowbit {
namespace {

bool isZeroFill(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  auto constant = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
  auto value = constant ? dyn_cast<FloatAttr>(constant.getValue()) : nullptr;
  return value && value.getValue().isZero();
}

/// The body computes out + a * b (either operand order).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 3)
    return false;
  Value out = body.getArgument(2);
  Value product = add.getLhs() == out ? add.getRhs() : add.getRhs() == out ? add.getLhs() : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) || (mul.getLhs() == b && mul.getRhs() == a);
}

/// The weight's GGUF role for the mixes. torch.onnx.export names Linear
/// weights `onnx::MatMul_<n>` and keeps the module path only in the node's
/// name (/model/layers.0/self_attn/q_proj/MatMul), so the node's name is the
/// fallback.
std::string ggufRole(WeightMatmul m) {
  std::string role = gguf::ggufNameFor(weightName(m));
  return role.empty() ? gguf::ggufNameFor(nodeName(m)) : role;
}

/// A constant of `type` holding `bytes`: a resource blob when large (so it
/// is never one attribute element per value), inline when small.
Value bytesConstant(OpBuilder &b, Location loc, RankedTensorType type, ArrayRef<char> bytes, StringRef name) {
  if (type.getNumElements() <= 64)
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::getFromRawBuffer(type, bytes));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  return arith::ConstantOp::create(b, loc, DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

template <typename T>
ArrayRef<char> asBytes(ArrayRef<T> v) {
  return ArrayRef<char>(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

} // namespace

std::optional<WeightMatmul> matchWeightMatmul(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !isMultiplyAccumulate(op) ||
      !isZeroFill(op.getDpsInits()[0]))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  int64_t loops = iterators.size(), k = loops - 1, parallel = loops - 1;
  for (int64_t d = 0; d < loops; ++d)
    if ((iterators[d] == utils::IteratorType::reduction) != (d == k))
      return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  MLIRContext *context = op.getContext();
  auto dims = [&](ArrayRef<int64_t> ds) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d : ds)
      exprs.push_back(getAffineDimExpr(d, context));
    return AffineMap::get(loops, 0, exprs, context);
  };
  int64_t n = parallel - 1;
  SmallVector<int64_t> outDims, actDims;
  for (int64_t d = 0; d < parallel; ++d)
    outDims.push_back(d);
  for (int64_t d = 0; d < n; ++d)
    actDims.push_back(d);
  actDims.push_back(k);
  if (n < 0 || maps[2] != dims(outDims) || maps[0] != dims(actDims))
    return std::nullopt;
  WeightMatmul match{op, op.getDpsInputs()[1].getDefiningOp<arith::ConstantOp>()};
  if (!match.weight || !cast<ShapedType>(match.weight.getType()).getElementType().isF32())
    return std::nullopt;
  if (maps[1] == dims({n, k}))
    match.transposed = true;
  else if (maps[1] != dims({k, n}))
    return std::nullopt;
  ArrayRef<int64_t> shape = cast<ShapedType>(match.weight.getType()).getShape();
  match.n = match.transposed ? shape[0] : shape[1];
  match.k = match.transposed ? shape[1] : shape[0];
  return match;
}

SmallVector<WeightMatmul> findWeightMatmuls(Operation *root) {
  SmallVector<WeightMatmul> matches;
  root->walk([&](linalg::GenericOp op) {
    if (std::optional<WeightMatmul> m = matchWeightMatmul(op))
      matches.push_back(*m);
  });
  return matches;
}

std::string nodeName(WeightMatmul m) {
  if (auto named = dyn_cast<NameLoc>(m.op.getLoc()))
    return named.getName().str();
  return "";
}

std::string weightName(WeightMatmul m) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(m.weight.getValue()))
    return resource.getRawHandle().getKey().str();
  std::string node = nodeName(m);
  return node.empty() ? "weight" : node + ".weight";
}

std::vector<float> rowsOf(WeightMatmul m) {
  std::vector<float> values;
  Attribute value = m.weight.getValue();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    ArrayRef<char> bytes = resource.getRawHandle().getBlob()->getData();
    values.resize(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  } else {
    auto dense = cast<DenseElementsAttr>(value);
    values.assign(dense.getValues<float>().begin(), dense.getValues<float>().end());
  }
  if (m.transposed)
    return values;
  std::vector<float> rows(values.size());
  for (int64_t kk = 0; kk < m.k; ++kk)
    for (int64_t nn = 0; nn < m.n; ++nn)
      rows[nn * m.k + kk] = values[kk * m.n + nn];
  return rows;
}

FailureOr<SmallVector<std::optional<quant::Format>>> formatsForWeights(Operation *root, StringRef pass,
                                                                       StringRef format,
                                                                       ArrayRef<WeightMatmul> matches) {
  std::string error;
  if (std::optional<quant::Format> single = quant::parseFormat(format, error)) {
    if (single->kind == quant::FormatKind::Codebook)
      return root->emitError() << pass << ": codebook formats need trained codebooks, which this pass does not learn";
    return SmallVector<std::optional<quant::Format>>(matches.size(), *single);
  }
  std::optional<gguf::Mix> mix = gguf::parseMix(format);
  if (!mix)
    return root->emitError() << pass << ": '" << format << "' is neither a format (" << error
                             << ") nor a llama.cpp mix";
  std::vector<gguf::TensorInfo> tensors;
  for (const WeightMatmul &m : matches) {
    std::string role = ggufRole(m);
    tensors.push_back({role.empty() ? weightName(m) : role, {m.k, m.n}, /*type=*/0, 0, 0});
  }
  gguf::ModelInfo model;
  model.architecture = "llama";
  std::vector<gguf::TensorPlan> plan;
  if (Status status = gguf::planMix(*mix, model, tensors, {}, plan); status.failed())
    return root->emitError() << pass << ": " << status.message();
  SmallVector<std::optional<quant::Format>> formats(matches.size());
  for (const gguf::TensorPlan &p : plan)
    if (std::optional<quant::FormatKind> kind = quant::formatKindOf(static_cast<quant::GgmlType>(p.type)))
      formats[p.index] = quant::Format::blockFormat(*kind);
  return formats;
}

bool WeightSelection::selects(StringRef name) {
  auto matches = [&](llvm::Regex &r) { return r.match(name); };
  if (llvm::any_of(exclude, matches))
    return false;
  return include.empty() || llvm::any_of(include, matches);
}

LogicalResult WeightSelection::compile(Operation *root, StringRef pass, ArrayRef<std::string> includes,
                                       ArrayRef<std::string> excludes) {
  for (auto [patterns, regexes] : {std::pair{includes, &include}, std::pair{excludes, &exclude}})
    for (const std::string &pattern : patterns) {
      llvm::Regex regex(pattern);
      std::string error;
      if (!regex.isValid(error))
        return root->emitError() << pass << ": bad regex '" << pattern << "': " << error;
      regexes->push_back(std::move(regex));
    }
  return success();
}

std::string whyFloat(WeightMatmul m, WeightSelection &selection, const std::optional<quant::Format> &format) {
  if (!selection.selects(weightName(m)))
    return "excluded";
  if (!format)
    return "the mix keeps it float";
  return quant::checkRowLength(*format, m.k);
}

MatmulOp replaceWithPackedMatmul(WeightMatmul m, StringRef name, const quant::Format &f, ArrayRef<uint8_t> bytes,
                                 const quant::UniformTensor &side) {
  OpBuilder b(m.op);
  Location loc = m.op.getLoc();
  MLIRContext *context = b.getContext();
  auto formatAttr = FormatAttr::get(context, f);
  auto packedType = PackedType::get(context, {m.n, m.k}, formatAttr);
  auto byteType = RankedTensorType::get({int64_t(bytes.size())}, b.getI8Type());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(asBytes(bytes), 64);
  Value weight = ConstantOp::create(b, loc, packedType,
                                    DenseResourceElementsAttr::get(byteType, (name + ".packed").str(), std::move(blob)));

  Value scales, zeroPoints, mins;
  if (!formatAttr.isBlockFormat()) {
    SmallVector<int64_t> sideShape;
    if (f.granularity != quant::Granularity::Tensor)
      sideShape = {m.n, quant::groupsPerRow(f, m.k)};
    auto floatType = RankedTensorType::get(sideShape, b.getF32Type());
    scales = bytesConstant(b, loc, floatType, asBytes(ArrayRef(side.scales)), (name + ".scales").str());
    if (f.offset == quant::Offset::ZeroPoint)
      zeroPoints = bytesConstant(b, loc, RankedTensorType::get(sideShape, b.getI32Type()),
                                 asBytes(ArrayRef(side.zeroPoints)), (name + ".zero_points").str());
    if (f.offset == quant::Offset::Min)
      mins = bytesConstant(b, loc, floatType, asBytes(ArrayRef(side.mins)), (name + ".mins").str());
  }
  // The activation is read now: an earlier rewrite may have replaced it.
  auto matmul = MatmulOp::create(b, loc, m.op.getResultTypes()[0], m.activation(), weight, scales, zeroPoints, mins,
                                 /*codebooks=*/Value(), /*bias=*/Value());
  m.op.getResult(0).replaceAllUsesWith(matmul.getResult());
  m.op.erase();
  return matmul;
}

double relativeError(ArrayRef<float> original, ArrayRef<float> decoded) {
  double err = 0, norm = 0;
  for (auto [w, d] : llvm::zip_equal(original, decoded)) {
    err += (double(w) - d) * (double(w) - d);
    norm += double(w) * w;
  }
  return norm > 0 ? std::sqrt(err / norm) : 0.0;
}

} // namespace lowbit
