//===- LowbitTypes.cpp - lowbit types -------------------------------------===//

#include "lowbit/Lowbit.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
namespace quant = lowbit::quant;

#define GET_TYPEDEF_CLASSES
#include "lowbit/LowbitTypes.cpp.inc"

namespace lowbit {

// Keeps byte counts far from int64 overflow: 2^48 weights is 256 TiB of f32.
static constexpr int64_t kMaxWeights = int64_t(1) << 48;

void LowbitDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "lowbit/LowbitTypes.cpp.inc"
      >();
}

Type PackedType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> shape;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false, /*withTrailingX=*/false) ||
      parser.parseComma())
    return {};
  std::optional<quant::Format> format = FormatAttr::parseBody(parser);
  if (!format || parser.parseGreater())
    return {};
  return parser.getChecked<PackedType>(loc, parser.getContext(), shape,
                                       FormatAttr::get(parser.getContext(), *format));
}

void PackedType::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printDimensionList(getShape());
  printer << ", ";
  getFormat().printBody(printer);
  printer << ">";
}

LogicalResult PackedType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, FormatAttr format) {
  if (shape.empty())
    return emitError() << "packed weights need at least one dimension";
  int64_t weights = 1;
  for (int64_t dim : shape) {
    if (dim <= 0)
      return emitError() << "packed weights need positive dimensions, got " << dim;
    if (dim > kMaxWeights / weights)
      return emitError() << "packed weights have more than 2^48 elements";
    weights *= dim;
  }
  if (std::string error = quant::checkRowLength(format.getValue(), shape.back()); !error.empty())
    return emitError() << error;
  return success();
}

int64_t PackedType::getNumRows() const {
  int64_t rows = 1;
  for (int64_t dim : getShape().drop_back())
    rows *= dim;
  return rows;
}

int64_t PackedType::getNumBytes() const {
  return getNumRows() * quant::packedRowBytes(getFormat().getValue(), getRowLength());
}

double PackedType::getBitsPerWeight() const {
  return quant::bitsPerWeight(getFormat().getValue(), getRowLength());
}

} // namespace lowbit
