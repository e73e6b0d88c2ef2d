//===- Matmul.cpp - MatMul and Gemm ---------------------------------------===//
//
// Both become one linalg.generic contraction (batch dims broadcast numpy
// style), so later passes find every matmul through linalg's contraction
// interface, whatever its batch layout.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <cctype>

using namespace mlir;

namespace lowbit::onnx_import {
namespace {

/// A matrix operand: its value, and whether it is stored transposed.
struct MatrixOperand {
  Value value;
  bool transposed = false;
};

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element,
                 ArrayRef<Value> dynamicSizes) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, element, dynamicSizes);
  Value zero = scalarConstant(b, loc, element, 0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// C[batch, m, n] = sum_k A[batch, m, k] * B[batch, k, n] with ONNX MatMul's
/// rules: 1-D operands gain and then lose a unit dimension; batch dimensions
/// broadcast.
FailureOr<Value> buildMatmulOf(NodeContext &ctx, MatrixOperand a, MatrixOperand b) {
  OpBuilder &builder = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = builder.getContext();
  auto aType = cast<RankedTensorType>(a.value.getType());
  auto bType = cast<RankedTensorType>(b.value.getType());
  if (aType.getRank() == 0 || bType.getRank() == 0)
    return ctx.emitError() << "needs operands of rank 1 or more";
  bool hasM = aType.getRank() >= 2, hasN = bType.getRank() >= 2;
  ArrayRef<int64_t> aShape = aType.getShape(), bShape = bType.getShape();
  ArrayRef<int64_t> aBatch = aShape.drop_back(hasM ? 2 : 1), bBatch = bShape.drop_back(hasN ? 2 : 1);
  int64_t aK = a.transposed ? aShape[aShape.size() - 2] : aShape.back();
  int64_t bK = hasN ? (b.transposed ? bShape.back() : bShape[bShape.size() - 2]) : bShape.back();
  if (!ShapedType::isDynamic(aK) && !ShapedType::isDynamic(bK) && aK != bK)
    return ctx.emitError() << "reduction dimensions differ: " << shapeToString(aShape) << " times "
                           << shapeToString(bShape);
  FailureOr<SmallVector<int64_t>> batch = broadcastShapes(aBatch, bBatch);
  if (failed(batch))
    return ctx.emitError() << "batch dimensions of " << shapeToString(aShape) << " and "
                           << shapeToString(bShape) << " do not broadcast";

  // Loops: batch..., m?, n?, k.
  int64_t nb = batch->size();
  int64_t m = nb, n = nb + (hasM ? 1 : 0), k = n + (hasN ? 1 : 0), loops = k + 1;
  auto dim = [&](int64_t d) { return getAffineDimExpr(d, context); };
  auto batchExprs = [&](ArrayRef<int64_t> own) {
    SmallVector<AffineExpr> exprs;
    for (size_t i = 0; i < own.size(); ++i) {
      int64_t d = i + nb - own.size();
      exprs.push_back(own[i] == 1 && (*batch)[d] != 1 ? getAffineConstantExpr(0, context) : dim(d));
    }
    return exprs;
  };
  SmallVector<AffineExpr> aExprs = batchExprs(aBatch), bExprs = batchExprs(bBatch), cExprs;
  if (hasM)
    aExprs.append(a.transposed ? SmallVector<AffineExpr>{dim(k), dim(m)} : SmallVector<AffineExpr>{dim(m), dim(k)});
  else
    aExprs.push_back(dim(k));
  if (hasN)
    bExprs.append(b.transposed ? SmallVector<AffineExpr>{dim(n), dim(k)} : SmallVector<AffineExpr>{dim(k), dim(n)});
  else
    bExprs.push_back(dim(k));
  for (int64_t d = 0; d < nb; ++d)
    cExprs.push_back(dim(d));

  SmallVector<int64_t> shape(*batch);
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < nb; ++d) {
    if (!ShapedType::isDynamic(shape[d]))
      continue;
    // Take the size from whichever operand has this batch dimension dynamic.
    for (auto [value, own] : {std::pair{a.value, aBatch}, {b.value, bBatch}}) {
      int64_t i = d - (nb - own.size());
      if (i >= 0 && ShapedType::isDynamic(own[i])) {
        dynamicSizes.push_back(tensor::DimOp::create(builder, loc, value, i));
        break;
      }
    }
  }
  auto addOutputDim = [&](Value value, int64_t operandDim, int64_t loop) {
    int64_t size = cast<RankedTensorType>(value.getType()).getDimSize(operandDim);
    shape.push_back(size);
    cExprs.push_back(dim(loop));
    if (ShapedType::isDynamic(size))
      dynamicSizes.push_back(tensor::DimOp::create(builder, loc, value, operandDim));
  };
  if (hasM)
    addOutputDim(a.value, aShape.size() - (a.transposed ? 1 : 2), m);
  if (hasN)
    addOutputDim(b.value, bShape.size() - (b.transposed ? 2 : 1), n);

  Type element = aType.getElementType();
  Value init = zeroFilled(builder, loc, shape, element, dynamicSizes);
  SmallVector<utils::IteratorType> iterators(loops, utils::IteratorType::parallel);
  iterators[k] = utils::IteratorType::reduction;
  SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, aExprs, context),
                                 AffineMap::get(loops, 0, bExprs, context),
                                 AffineMap::get(loops, 0, cExprs, context)};
  auto generic = linalg::GenericOp::create(builder, 
      loc, TypeRange{init.getType()}, ValueRange{a.value, b.value}, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value sum;
        if (isa<FloatType>(element))
          sum = arith::AddFOp::create(nb, l, args[2], arith::MulFOp::create(nb, l, args[0], args[1]));
        else
          sum = arith::AddIOp::create(nb, l, args[2], arith::MulIOp::create(nb, l, args[0], args[1]));
        linalg::YieldOp::create(nb, l, sum);
      });
  return generic.getResult(0);
}

LogicalResult checkSameNumericType(NodeContext &ctx) {
  if (ctx.dtype(0) != ctx.dtype(1))
    return ctx.emitError() << "operands have different element types " << dtypeName(ctx.dtype(0))
                           << " and " << dtypeName(ctx.dtype(1));
  if (ctx.dtype(0) == onnx::TensorProto::BOOL)
    return ctx.emitError() << "does not take bool operands";
  return success();
}

LogicalResult importMatMul(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)) || failed(checkSameNumericType(ctx)))
    return failure();
  FailureOr<Value> result = buildMatmulOf(ctx, {ctx.value(0)}, {ctx.value(1)});
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, ctx.dtype(0));
  return success();
}

/// Y = alpha * A' * B' + beta * C, with A' and B' optionally transposed.
LogicalResult importGemm(NodeContext &ctx) {
  if (failed(ctx.requireInputs(2)) || failed(checkSameNumericType(ctx)))
    return failure();
  if (ctx.type(0).getRank() != 2 || ctx.type(1).getRank() != 2)
    return ctx.emitError() << "needs 2-D A and B, got " << shapeToString(ctx.shape(0)) << " and "
                           << shapeToString(ctx.shape(1));
  FailureOr<Value> product = buildMatmulOf(ctx, {ctx.value(0), ctx.intAttr("transA", 0) != 0},
                                         {ctx.value(1), ctx.intAttr("transB", 0) != 0});
  if (failed(product))
    return failure();
  Type element = ctx.type(0).getElementType();
  float alpha = ctx.floatAttr("alpha", 1.0f), beta = ctx.floatAttr("beta", 1.0f);
  Value result = *product;
  if (alpha != 1.0f) {
    FailureOr<Value> scaled = buildElementwise(ctx, {result}, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      Value factor = scalarConstant(b, l, element, alpha);
      return isa<FloatType>(element) ? arith::MulFOp::create(b, l, a[0], factor).getResult()
                                     : arith::MulIOp::create(b, l, a[0], factor).getResult();
    });
    if (failed(scaled))
      return failure();
    result = *scaled;
  }
  if (ctx.hasInput(2) && ctx.dtype(2) != ctx.dtype(0))
    return ctx.emitError() << "C (" << dtypeName(ctx.dtype(2)) << ") differs from A and B ("
                           << dtypeName(ctx.dtype(0)) << ")";
  if (ctx.hasInput(2) && beta != 0.0f) {
    FailureOr<Value> sum = buildElementwise(
        ctx, {result, ctx.value(2)}, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value factor = scalarConstant(b, l, element, beta);
          Value c = beta == 1.0f                 ? a[1]
                    : isa<FloatType>(element) ? arith::MulFOp::create(b, l, a[1], factor).getResult()
                                              : arith::MulIOp::create(b, l, a[1], factor).getResult();
          return isa<FloatType>(element) ? arith::AddFOp::create(b, l, a[0], c).getResult()
                                         : arith::AddIOp::create(b, l, a[0], c).getResult();
        });
    if (failed(sum))
      return failure();
    if (cast<RankedTensorType>(sum->getType()).getShape() != cast<RankedTensorType>(result.getType()).getShape())
      return ctx.emitError() << "C of shape " << shapeToString(ctx.shape(2))
                             << " does not broadcast to the product's shape";
    result = *sum;
  }
  ctx.setOutput(0, result, ctx.dtype(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// One term of an equation: a label per dimension, kEllipsis where "..."
/// stands.
constexpr int kEllipsis = -1;
using Term = SmallVector<int>;

/// Parses "ab...c" into labels; fails on anything but letters and one "...".
std::optional<Term> parseTerm(StringRef text) {
  Term term;
  bool sawEllipsis = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (std::isalpha(static_cast<unsigned char>(c))) {
      term.push_back(c);
    } else if (text.substr(i).starts_with("...") && !sawEllipsis) {
      sawEllipsis = true;
      term.push_back(kEllipsis);
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return term;
}

/// Einsum: one linalg.generic whose loops are the equation's labels (and the
/// dimensions "..." stands for): the output's labels parallel, the others
/// reductions, every operand read through its labels' loops, numpy-style
/// broadcasting inside "...".
LogicalResult importEinsum(NodeContext &ctx) {
  if (failed(ctx.requireInputs(1)))
    return failure();
  std::string equation;
  for (char c : ctx.stringAttr("equation", ""))
    if (!std::isspace(static_cast<unsigned char>(c)))
      equation.push_back(c);
  auto unsupported = [&](const Twine &why) {
    return ctx.emitError() << "equation '" << ctx.stringAttr("equation", "") << "': " << why;
  };
  StringRef text(equation);
  auto [lhs, rhs] = text.split("->");
  bool explicitOutput = text.contains("->");
  SmallVector<StringRef> termTexts;
  lhs.split(termTexts, ',');
  size_t n = ctx.numInputs();
  if (termTexts.size() != n)
    return unsupported("has " + Twine(termTexts.size()) + " input terms for " + Twine(n) + " inputs");
  for (size_t i = 0; i < n; ++i) {
    if (!ctx.hasInput(i))
      return ctx.emitError() << "input " << i << " is missing";
    if (ctx.dtype(i) != ctx.dtype(0))
      return ctx.emitError() << "inputs have different element types " << dtypeName(ctx.dtype(0))
                             << " and " << dtypeName(ctx.dtype(i));
  }
  if (ctx.dtype(0) == onnx::TensorProto::BOOL)
    return ctx.emitError() << "does not take bool inputs";

  SmallVector<Term> terms;
  int64_t ellipsisRank = 0;
  llvm::DenseMap<int, int> labelCount;
  for (size_t i = 0; i < n; ++i) {
    std::optional<Term> term = parseTerm(termTexts[i]);
    if (!term)
      return unsupported("input term '" + termTexts[i] + "' is not letters with at most one '...'");
    int64_t letters = llvm::count_if(*term, [](int l) { return l != kEllipsis; });
    bool hasEllipsis = letters != int64_t(term->size());
    int64_t rank = ctx.type(i).getRank();
    if (hasEllipsis ? letters > rank : letters != rank)
      return unsupported("input term '" + termTexts[i] + "' does not match input " + Twine(i) +
                         " of rank " + Twine(rank));
    if (hasEllipsis)
      ellipsisRank = std::max(ellipsisRank, rank - letters);
    for (int l : *term)
      if (l != kEllipsis)
        ++labelCount[l];
    terms.push_back(std::move(*term));
  }
  Term output;
  if (explicitOutput) {
    std::optional<Term> term = parseTerm(rhs);
    if (!term)
      return unsupported("output term '" + rhs + "' is not letters with at most one '...'");
    output = *term;
    llvm::SmallDenseSet<int> seen;
    for (int l : output) {
      if (l == kEllipsis)
        continue;
      if (!labelCount.count(l))
        return unsupported("output label '" + Twine(char(l)) + "' appears in no input");
      if (!seen.insert(l).second)
        return unsupported("output label '" + Twine(char(l)) + "' appears twice");
    }
  } else {
    // numpy's implicit mode: "..." first, then the labels used once, sorted.
    if (ellipsisRank || llvm::any_of(terms, [](const Term &t) { return llvm::is_contained(t, kEllipsis); }))
      output.push_back(kEllipsis);
    SmallVector<int> once;
    for (auto &[label, count] : labelCount)
      if (count == 1)
        once.push_back(label);
    llvm::sort(once);
    output.append(once.begin(), once.end());
  }

  // Loops: the output's dimensions in order, then the reduced ones.
  llvm::DenseMap<int, int64_t> labelLoop;
  SmallVector<int64_t> ellipsisLoop(ellipsisRank, -1);
  int64_t loops = 0, outputLoops = 0;
  for (int l : output) {
    if (l == kEllipsis)
      for (int64_t e = 0; e < ellipsisRank; ++e)
        ellipsisLoop[e] = loops++;
    else
      labelLoop[l] = loops++;
  }
  outputLoops = loops;
  for (int64_t e = 0; e < ellipsisRank; ++e)
    if (ellipsisLoop[e] < 0)
      ellipsisLoop[e] = loops++;
  for (const Term &term : terms)
    for (int l : term)
      if (l != kEllipsis && !labelLoop.count(l))
        labelLoop[l] = loops++;

  // Each operand dimension's loop; each loop's size and where to read it.
  SmallVector<SmallVector<int64_t>> operandLoops(n);
  SmallVector<int64_t> loopSize(loops, 1);
  SmallVector<std::pair<int64_t, int64_t>> loopSource(loops, {-1, -1});
  for (size_t i = 0; i < n; ++i) {
    ArrayRef<int64_t> shape = ctx.shape(i);
    int64_t ellipsisDims = shape.size() - llvm::count_if(terms[i], [](int l) { return l != kEllipsis; });
    int64_t d = 0;
    for (int l : terms[i]) {
      if (l == kEllipsis) {
        for (int64_t e = 0; e < ellipsisDims; ++e)
          operandLoops[i].push_back(ellipsisLoop[ellipsisRank - ellipsisDims + e]);
        d += ellipsisDims;
        continue;
      }
      operandLoops[i].push_back(labelLoop[l]);
      ++d;
    }
    for (auto [dim, loop] : llvm::enumerate(operandLoops[i])) {
      int64_t size = shape[dim];
      auto &[source, sourceDim] = loopSource[loop];
      if (source < 0 || (loopSize[loop] == 1 && size != 1) ||
          (ShapedType::isDynamic(loopSize[loop]) && !ShapedType::isDynamic(size) && size != 1)) {
        if (source >= 0 && !ShapedType::isDynamic(loopSize[loop]) && loopSize[loop] != 1 &&
            !ShapedType::isDynamic(size) && size != loopSize[loop])
          return ctx.emitError() << "dimension " << dim << " of input " << i << " has size " << size
                                 << ", but the equation's label there has size " << loopSize[loop];
        loopSize[loop] = size;
        source = i;
        sourceDim = dim;
      } else if (!ShapedType::isDynamic(size) && !ShapedType::isDynamic(loopSize[loop]) && size != 1 &&
                 size != loopSize[loop]) {
        return ctx.emitError() << "dimension " << dim << " of input " << i << " has size " << size
                               << ", but the equation's label there has size " << loopSize[loop];
      }
    }
  }

  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  MLIRContext *context = b.getContext();
  SmallVector<AffineMap> maps;
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n; ++i) {
    SmallVector<AffineExpr> exprs;
    for (auto [dim, loop] : llvm::enumerate(operandLoops[i])) {
      bool broadcast = ctx.shape(i)[dim] == 1 && loopSize[loop] != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, context) : getAffineDimExpr(loop, context));
    }
    maps.push_back(AffineMap::get(loops, 0, exprs, context));
    inputs.push_back(ctx.value(i));
  }
  SmallVector<AffineExpr> outExprs;
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  for (int64_t loop = 0; loop < outputLoops; ++loop) {
    outExprs.push_back(getAffineDimExpr(loop, context));
    shape.push_back(loopSize[loop]);
    if (ShapedType::isDynamic(loopSize[loop]))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, inputs[loopSource[loop].first], loopSource[loop].second));
  }
  maps.push_back(AffineMap::get(loops, 0, outExprs, context));
  Type element = ctx.type(0).getElementType();
  Value init = zeroFilled(b, loc, shape, element, dynamicSizes);
  SmallVector<utils::IteratorType> iterators(loops, utils::IteratorType::reduction);
  for (int64_t loop = 0; loop < outputLoops; ++loop)
    iterators[loop] = utils::IteratorType::parallel;
  bool isFloat = isa<FloatType>(element);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value product = args[0];
        for (size_t i = 1; i < n; ++i)
          product = isFloat ? arith::MulFOp::create(nb, l, product, args[i]).getResult()
                            : arith::MulIOp::create(nb, l, product, args[i]).getResult();
        Value sum = isFloat ? arith::AddFOp::create(nb, l, args[n], product).getResult()
                            : arith::AddIOp::create(nb, l, args[n], product).getResult();
        linalg::YieldOp::create(nb, l, sum);
      });
  ctx.setOutput(0, generic.getResult(0), ctx.dtype(0));
  return success();
}

} // namespace

FailureOr<Value> buildMatmul(NodeContext &ctx, Value a, Value b) {
  return buildMatmulOf(ctx, {a}, {b});
}

void addMatmulOps(OpTable &table) {
  table.add("", "MatMul", importMatMul);
  table.add("", "Gemm", importGemm);
  table.add("", "Einsum", importEinsum);
}

} // namespace lowbit::onnx_import
