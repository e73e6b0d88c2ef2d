//===- LowbitAttrs.cpp - lowbit attributes --------------------------------===//

#include "lowbit/Lowbit.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
namespace quant = lowbit::quant;

#define GET_ATTRDEF_CLASSES
#include "lowbit/LowbitAttrs.cpp.inc"

namespace lowbit {

void LowbitDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lowbit/LowbitAttrs.cpp.inc"
      >();
}

std::optional<quant::Format> FormatAttr::parseBody(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef head;
  if (parser.parseKeyword(&head))
    return std::nullopt;
  std::optional<quant::Format> format = quant::formatFromName(head.str());
  if (!format) {
    parser.emitError(loc) << "unknown format '" << head
                          << "' (expected int2..int8, a GGUF block format such as q4_k, "
                             "codebook or ternary)";
    return std::nullopt;
  }
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc optionLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return std::nullopt;
    std::optional<int64_t> value;
    if (succeeded(parser.parseOptionalEqual())) {
      int64_t number;
      if (parser.parseInteger(number))
        return std::nullopt;
      value = number;
    }
    if (std::string error = quant::applyFormatOption(*format, key.str(), value); !error.empty()) {
      parser.emitError(optionLoc) << error;
      return std::nullopt;
    }
  }
  if (std::string error = quant::checkFormat(*format); !error.empty()) {
    parser.emitError(loc) << error;
    return std::nullopt;
  }
  return format;
}

void FormatAttr::printBody(AsmPrinter &printer) const { printer << quant::toString(getValue()); }

Attribute FormatAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  std::optional<quant::Format> format = parseBody(parser);
  if (!format || parser.parseGreater())
    return {};
  return FormatAttr::get(parser.getContext(), *format);
}

void FormatAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printBody(printer);
  printer << ">";
}

LogicalResult FormatAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 quant::Format format) {
  if (std::string error = quant::checkFormat(format); !error.empty())
    return emitError() << error;
  return success();
}

} // namespace lowbit
