//===- ResolveRuntimeCalls.cpp - Kernels through the dispatch context -----===//

#include "lowbit/Conversion/Passes.h"

#include "lowbit/abi.h"

#include <cstddef>

namespace lowbit {
#define GEN_PASS_DEF_RESOLVERUNTIMECALLSPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace lowbit {
namespace {

/// The byte offset of each kernel's pointer in lowbit_dispatch_context.
std::optional<int64_t> kernelOffset(StringRef name) {
  if (name == "lowbit_rt_matmul")
    return offsetof(lowbit_dispatch_context, matmul);
  if (name == "lowbit_rt_matmul_f32")
    return offsetof(lowbit_dispatch_context, matmul_f32);
  return std::nullopt;
}

class ResolveRuntimeCallsPass : public impl::ResolveRuntimeCallsPassBase<ResolveRuntimeCallsPass> {
public:
  void runOnOperation() override {
    for (auto fn : llvm::make_early_inc_range(getOperation().getOps<LLVM::LLVMFuncOp>())) {
      if (!fn.isExternal() || !fn.getName().starts_with("lowbit_rt_"))
        continue;
      std::optional<int64_t> offset = kernelOffset(fn.getName());
      if (!offset) {
        fn.emitError() << "no runtime kernel is called '" << fn.getName() << "'";
        return signalPassFailure();
      }
      defineThroughContext(fn, *offset);
    }
  }

private:
  /// fn(ctx, args...) { return ((kernel_t *)((char *)ctx + offset))(ctx, args...); }
  void defineThroughContext(LLVM::LLVMFuncOp fn, int64_t offset) {
    OpBuilder b(fn.getContext());
    Location loc = fn.getLoc();
    Block *body = fn.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    auto ptrType = LLVM::LLVMPointerType::get(fn.getContext());
    Value context = LLVM::IntToPtrOp::create(b, loc, ptrType, body->getArgument(0));
    Value slot = LLVM::GEPOp::create(b, loc, ptrType, b.getI8Type(), context, ArrayRef<LLVM::GEPArg>{offset});
    Value kernel = LLVM::LoadOp::create(b, loc, ptrType, slot);
    SmallVector<Value> operands = {kernel};
    operands.append(body->getArguments().begin(), body->getArguments().end());
    auto call = LLVM::CallOp::create(b, loc, fn.getFunctionType(), operands);
    LLVM::ReturnOp::create(b, loc, call.getResults());
    fn.setLinkage(LLVM::Linkage::Internal);
  }
};

} // namespace
} // namespace lowbit
