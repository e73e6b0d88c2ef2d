//===- QuantizeWeights.cpp - Pack matmul weights for lowbit.matmul --------===//
//
// The MLIR side is only matching and rewriting: the numbers come from
// lib/Quant, so the compiler and lowbit-quantize pack identically.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/Passes.h"

#include "lowbit/Gguf/Mixes.h"
#include "lowbit/Gguf/TensorNames.h"
#include "lowbit/Quant/BlockQuant.h"
#include "lowbit/Quant/GgmlType.h"
#include "lowbit/Quant/Uniform.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_QUANTIZEWEIGHTSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
namespace quant = lowbit::quant;

namespace lowbit {
namespace {

/// A matmul of activations by a constant float weight, as the importer
/// builds them: a linalg.generic contraction over one reduction loop k, its
/// last parallel loop n indexing the weight, accumulating into zeros.
struct WeightMatmul {
  linalg::GenericOp op;      ///< its first input is the activation [..., K]
  arith::ConstantOp weight;  ///< [K, N], or [N, K] when transposed
  bool transposed = false;
  int64_t n = 0, k = 0;
};

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

/// The name of the node that computes the matmul, when the importer kept it.
std::string nodeName(WeightMatmul m) {
  if (auto named = dyn_cast<NameLoc>(m.op.getLoc()))
    return named.getName().str();
  return "";
}

/// The weight's name: its resource blob's key (the ONNX initializer name),
/// else the name of the node that uses it.
std::string weightName(WeightMatmul m) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(m.weight.getValue()))
    return resource.getRawHandle().getKey().str();
  std::string node = nodeName(m);
  return node.empty() ? "weight" : node + ".weight";
}

/// The weight's GGUF role for the mixes. torch.onnx.export names Linear
/// weights `onnx::MatMul_<n>` and keeps the module path only in the node's
/// name (/model/layers.0/self_attn/q_proj/MatMul), so the node's name is the
/// fallback.
std::string ggufRole(WeightMatmul m) {
  std::string role = gguf::ggufNameFor(weightName(m));
  return role.empty() ? gguf::ggufNameFor(nodeName(m)) : role;
}

/// The weight as [N, K] floats: the transpose folded into the packing.
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

/// A constant of `type` holding `bytes`: a resource blob when large (so it
/// is never one attribute element per value), inline when small.
Value bytesConstant(OpBuilder &b, Location loc, RankedTensorType type, ArrayRef<char> bytes, StringRef name) {
  if (type.getNumElements() <= 64)
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::getFromRawBuffer(type, bytes));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  return arith::ConstantOp::create(b, loc, DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

template <typename T>
ArrayRef<char> asBytes(const std::vector<T> &v) {
  return ArrayRef<char>(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

/// Which weights to quantize, by name.
struct Selection {
  std::vector<llvm::Regex> include, exclude;

  bool selects(StringRef name) {
    auto matches = [&](llvm::Regex &r) { return r.match(name); };
    if (llvm::any_of(exclude, matches))
      return false;
    return include.empty() || llvm::any_of(include, matches);
  }
};

/// The packed weights and their side tensors, ready for lowbit.matmul.
struct Packed {
  std::vector<uint8_t> bytes;
  quant::UniformTensor side; // scales, zero points, mins for int and ternary
  std::optional<double> relativeError; // with measure-error
};

/// ||W - decoded|| / ||W|| over all of a weight's rows (0 for an all-zero W).
double relativeError(ArrayRef<float> original, ArrayRef<float> decoded) {
  double err = 0, norm = 0;
  for (auto [w, d] : llvm::zip_equal(original, decoded)) {
    err += (double(w) - d) * (double(w) - d);
    norm += double(w) * w;
  }
  return norm > 0 ? std::sqrt(err / norm) : 0.0;
}

class QuantizeWeightsPass : public impl::QuantizeWeightsPassBase<QuantizeWeightsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    Selection selection;
    if (failed(compilePatterns(include, selection.include)) || failed(compilePatterns(exclude, selection.exclude)))
      return signalPassFailure();
    SmallVector<WeightMatmul> matches;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<WeightMatmul> m = matchWeightMatmul(op))
        matches.push_back(*m);
    });
    FailureOr<SmallVector<std::optional<quant::Format>>> formats = formatsFor(matches);
    if (failed(formats))
      return signalPassFailure();
    for (auto [i, m] : llvm::enumerate(matches))
      if (failed(rewrite(m, i, matches.size(), selection, (*formats)[i])))
        return signalPassFailure();
  }

private:
  /// Each weight's format: `format` itself, or, for a llama.cpp mix name
  /// (q4_k_m, q3_k_s, ...), what the mix's rules pick for the weight's role
  /// (lib/Gguf/Mixes.h); nullopt keeps a weight float.
  FailureOr<SmallVector<std::optional<quant::Format>>> formatsFor(ArrayRef<WeightMatmul> matches) {
    std::string error;
    if (std::optional<quant::Format> single = quant::parseFormat(format.getValue(), error)) {
      if (single->kind == quant::FormatKind::Codebook)
        return getOperation().emitError() << "lowbit-quantize-weights: codebook formats need trained codebooks, "
                                             "which this pass does not learn";
      return SmallVector<std::optional<quant::Format>>(matches.size(), *single);
    }
    std::optional<gguf::Mix> mix = gguf::parseMix(format.getValue());
    if (!mix)
      return getOperation().emitError() << "lowbit-quantize-weights: '" << format.getValue()
                                        << "' is neither a format (" << error << ") nor a llama.cpp mix";
    std::vector<gguf::TensorInfo> tensors;
    for (const WeightMatmul &m : matches) {
      std::string role = ggufRole(m);
      tensors.push_back({role.empty() ? weightName(m) : role, {m.k, m.n}, /*type=*/0, 0, 0});
    }
    gguf::ModelInfo model;
    model.architecture = "llama";
    std::vector<gguf::TensorPlan> plan;
    if (Status status = gguf::planMix(*mix, model, tensors, {}, plan); status.failed())
      return getOperation().emitError() << "lowbit-quantize-weights: " << status.message();
    SmallVector<std::optional<quant::Format>> formats(matches.size());
    for (const gguf::TensorPlan &p : plan)
      if (std::optional<quant::FormatKind> kind = quant::formatKindOf(static_cast<quant::GgmlType>(p.type)))
        formats[p.index] = quant::Format::blockFormat(*kind);
    return formats;
  }

  LogicalResult compilePatterns(ArrayRef<std::string> patterns, std::vector<llvm::Regex> &regexes) {
    for (const std::string &pattern : patterns) {
      llvm::Regex regex(pattern);
      std::string error;
      if (!regex.isValid(error))
        return getOperation().emitError() << "lowbit-quantize-weights: bad regex '" << pattern << "': " << error;
      regexes.push_back(std::move(regex));
    }
    return success();
  }

  /// Packs rows of weights; fails with a diagnostic on bad values.
  FailureOr<Packed> pack(WeightMatmul m, StringRef name, const quant::Format &format_) {
    std::vector<float> rows = rowsOf(m);
    Packed packed;
    packed.bytes.resize(m.n * quant::packedRowBytes(format_, m.k));
    Status status = Status::ok();
    std::vector<float> decoded(measureError ? rows.size() : 0);
    if (std::optional<quant::GgmlType> type = quant::ggmlTypeOf(format_.kind)) {
      status = quant::quantizeRowsParallel(*type, rows.data(), packed.bytes.data(), m.n, m.k, nullptr, threads);
      if (!status.failed() && measureError)
        status = quant::dequantizeRowsParallel(*type, packed.bytes.data(), decoded.data(), m.n, m.k, threads);
    } else {
      quant::UniformOptions options;
      options.threads = threads;
      status = quant::quantizeUniform(format_, rows.data(), m.n, m.k, options, nullptr, packed.side);
      if (!status.failed() && measureError)
        status = quant::dequantizeUniform(format_, packed.side, m.n, m.k, decoded.data());
      packed.bytes = std::move(packed.side.codes);
    }
    if (status.failed())
      return m.op.emitError() << "cannot quantize weight '" << name << "' to " << quant::toString(format_) << ": "
                              << status.message();
    if (measureError)
      packed.relativeError = relativeError(rows, decoded);
    return packed;
  }

  LogicalResult rewrite(WeightMatmul m, size_t index, size_t count, Selection &selection,
                        std::optional<quant::Format> format) {
    std::string name = weightName(m);
    std::string why;
    if (!selection.selects(name))
      why = "excluded";
    else if (!format)
      why = "the mix keeps it float";
    else if (std::string fit = quant::checkRowLength(*format, m.k); !fit.empty())
      why = fit;
    if (!why.empty()) {
      if (report)
        llvm::errs() << "[" << index + 1 << "/" << count << "] " << name << ": " << m.n << "x" << m.k
                     << " stays f32 (" << why << ")\n";
      return success();
    }
    const quant::Format &f = *format;
    FailureOr<Packed> packed = pack(m, name, f);
    if (failed(packed))
      return failure();

    OpBuilder b(m.op);
    Location loc = m.op.getLoc();
    MLIRContext *context = b.getContext();
    auto formatAttr = FormatAttr::get(context, f);
    auto packedType = PackedType::get(context, {m.n, m.k}, formatAttr);
    auto byteType = RankedTensorType::get({int64_t(packed->bytes.size())}, b.getI8Type());
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(asBytes(packed->bytes), 64);
    Value weight = ConstantOp::create(b, loc, packedType,
                                      DenseResourceElementsAttr::get(byteType, name + ".packed", std::move(blob)));

    Value scales, zeroPoints, mins;
    if (!formatAttr.isBlockFormat()) {
      SmallVector<int64_t> sideShape;
      if (f.granularity != quant::Granularity::Tensor)
        sideShape = {m.n, quant::groupsPerRow(f, m.k)};
      auto floatType = RankedTensorType::get(sideShape, b.getF32Type());
      scales = bytesConstant(b, loc, floatType, asBytes(packed->side.scales), name + ".scales");
      if (f.offset == quant::Offset::ZeroPoint)
        zeroPoints = bytesConstant(b, loc, RankedTensorType::get(sideShape, b.getI32Type()),
                                   asBytes(packed->side.zeroPoints), name + ".zero_points");
      if (f.offset == quant::Offset::Min)
        mins = bytesConstant(b, loc, floatType, asBytes(packed->side.mins), name + ".mins");
    }
    // The activation is read now: an earlier rewrite may have replaced it.
    Value activation = m.op.getDpsInputs()[0];
    auto matmul = MatmulOp::create(b, loc, m.op.getResultTypes()[0], activation, weight, scales, zeroPoints,
                                   mins, /*codebooks=*/Value(), /*bias=*/Value());
    if (packed->relativeError)
      matmul->setAttr("lowbit.relative_error", b.getF64FloatAttr(*packed->relativeError));
    m.op.getResult(0).replaceAllUsesWith(matmul.getResult());
    m.op.erase();
    if (report) {
      llvm::errs() << "[" << index + 1 << "/" << count << "] " << name << ": " << m.n << "x" << m.k << " f32 -> "
                   << quant::toString(f) << " (" << llvm::format("%.2f", quant::bitsPerWeight(f, m.k))
                   << " bits per weight";
      if (packed->relativeError)
        llvm::errs() << ", relative error " << llvm::format("%.4f", *packed->relativeError);
      llvm::errs() << ")\n";
    }
    return success();
  }

  quant::Format f;
};

} // namespace
} // namespace lowbit
