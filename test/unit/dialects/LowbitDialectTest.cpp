//===- LowbitDialectTest.cpp - The dialect's C++ API ----------------------===//

#include "lowbit/Lowbit.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
namespace quant = lowbit::quant;

namespace {

class LowbitDialectTest : public ::testing::Test {
protected:
  LowbitDialectTest() { context.loadDialect<lowbit::LowbitDialect>(); }

  lowbit::FormatAttr format(std::string_view text) {
    std::string error;
    std::optional<quant::Format> f = quant::parseFormat(text, error);
    EXPECT_TRUE(f) << error;
    return lowbit::FormatAttr::get(&context, *f);
  }

  MLIRContext context;
};

TEST_F(LowbitDialectTest, FormatAttrIsUniquedByValue) {
  EXPECT_EQ(format("int4, group = 32"), format("int4,group=32"));
  EXPECT_NE(format("int4, group = 32"), format("int4, group = 64"));
}

TEST_F(LowbitDialectTest, PackedTypeCountsBytes) {
  auto type = lowbit::PackedType::get(&context, {4096, 11008}, format("q4_k"));
  EXPECT_EQ(type.getNumRows(), 4096);
  EXPECT_EQ(type.getNumBytes(), 4096 * (11008 / 256) * 144);
  EXPECT_DOUBLE_EQ(type.getBitsPerWeight(), 4.5);
}

TEST_F(LowbitDialectTest, PackedTypeRejectsPartialBlocks) {
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  auto type = lowbit::PackedType::getChecked(
      [&] { return emitError(UnknownLoc::get(&context)); }, &context, {64, 100}, format("q8_0"));
  EXPECT_FALSE(type);
  EXPECT_EQ(message, "the reduction dimension (100) is not a multiple of the q8_0 block size (32)");
}

} // namespace
