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
  if (name == "lowbit_rt_alloc")
    return offsetof(lowbit_dispatch_context, alloc);
  if (name == "lowbit_rt_dealloc")
    return offsetof(lowbit_dispatch_context, dealloc);
  return std::nullopt;
}

class ResolveRuntimeCallsPass : public impl::ResolveRuntimeCallsPassBase<ResolveRuntimeCallsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    routeAllocations();
    for (auto fn : llvm::make_early_inc_range(getOperation().getOps<LLVM::LLVMFuncOp>())) {
      if (auto body = fn->getAttrOfType<StringAttr>(kParallelBodyAttr); body && fn.isExternal()) {
        if (failed(defineLauncher(fn, body.getValue())))
          return signalPassFailure();
        continue;
      }
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
  /// In the entry function (the context is its first argument), malloc and
  /// free become the context's alloc and dealloc.
  void routeAllocations() {
    ModuleOp module = getOperation();
    auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(entry);
    if (!fn || fn.isExternal() || fn.getNumArguments() == 0 || !fn.getArgument(0).getType().isInteger(64))
      return;
    MLIRContext *context = &getContext();
    Type i64 = IntegerType::get(context, 64);
    auto ptr = LLVM::LLVMPointerType::get(context);
    auto declare = [&](StringRef name, LLVM::LLVMFunctionType type) {
      if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
        return existing;
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      return LLVM::LLVMFuncOp::create(b, module.getLoc(), name, type);
    };
    LLVM::LLVMFuncOp alloc, dealloc;
    Value ctx = fn.getArgument(0);
    fn.walk([&](LLVM::CallOp call) {
      std::optional<StringRef> callee = call.getCallee();
      if (!callee || (*callee != "malloc" && *callee != "free") || call.getNumOperands() != 1)
        return;
      OpBuilder b(call);
      LLVM::CallOp replacement;
      if (*callee == "malloc") {
        if (!alloc)
          alloc = declare("lowbit_rt_alloc", LLVM::LLVMFunctionType::get(ptr, {i64, i64}));
        replacement = LLVM::CallOp::create(b, call.getLoc(), alloc, ValueRange{ctx, call.getOperand(0)});
      } else {
        if (!dealloc)
          dealloc = declare("lowbit_rt_dealloc",
                            LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), {i64, ptr}));
        replacement = LLVM::CallOp::create(b, call.getLoc(), dealloc, ValueRange{ctx, call.getOperand(0)});
      }
      call.replaceAllUsesWith(replacement.getResults());
      call.erase();
    });
  }

  /// Chunks of work (iterations x ops per iteration) below this run on one
  /// thread: a few microseconds, more than a parallel_for's hand-off.
  static constexpr int64_t kGrain = 32768;
  /// Chunks per worker: a few, so uneven chunks balance.
  static constexpr int64_t kChunksPerWorker = 4;

  /// launch(ctx, work, total, captures...):
  ///   if total == 0: return
  ///   G = min(max(work / grain, 1), total, workers * 4)
  ///   args = {G, captures...} (on the stack)
  ///   G == 1: thunk(&args, 0)
  ///   else:   parallel_for(pool, G, thunk, &args)
  /// with thunk(args, g) = body(g, args->G, args->captures...).
  LogicalResult defineLauncher(LLVM::LLVMFuncOp fn, StringRef bodyName) {
    ModuleOp module = getOperation();
    auto body = module.lookupSymbol<LLVM::LLVMFuncOp>(bodyName);
    LLVM::LLVMFunctionType launchType = fn.getFunctionType();
    if (!body || body.getFunctionType().getNumParams() + 1 != launchType.getNumParams() ||
        launchType.getNumParams() < 3) {
      fn.emitError() << "parallel launcher '" << fn.getName() << "' has no matching body '" << bodyName << "'";
      return failure();
    }
    MLIRContext *context = &getContext();
    Location loc = fn.getLoc();
    Type i64 = IntegerType::get(context, 64), i32 = IntegerType::get(context, 32);
    auto ptr = LLVM::LLVMPointerType::get(context);
    ArrayRef<Type> captureTypes = launchType.getParams().drop_front(3);
    SmallVector<Type> fields = {i64};
    fields.append(captureTypes.begin(), captureTypes.end());
    auto argsType = LLVM::LLVMStructType::getLiteral(context, fields);

    // The thunk parallel_for calls.
    OpBuilder mb(context);
    mb.setInsertionPoint(fn);
    auto thunk = LLVM::LLVMFuncOp::create(mb, loc, (fn.getName() + "_thunk").str(),
                                          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), {ptr, i64}));
    thunk.setLinkage(LLVM::Linkage::Internal);
    {
      OpBuilder b(context);
      Block *entry = thunk.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      Value packed = LLVM::LoadOp::create(b, loc, argsType, entry->getArgument(0));
      SmallVector<Value> operands = {entry->getArgument(1)};
      for (unsigned i = 0; i < fields.size(); ++i)
        operands.push_back(LLVM::ExtractValueOp::create(b, loc, packed, ArrayRef<int64_t>{i}));
      LLVM::CallOp::create(b, loc, body, operands);
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }

    OpBuilder b(context);
    Block *entry = fn.addEntryBlock(b);
    Region &region = fn.getBody();
    Block *run = new Block(), *inlineCall = new Block(), *pool = new Block(), *done = new Block();
    region.push_back(run);
    region.push_back(inlineCall);
    region.push_back(pool);
    region.push_back(done);
    Value ctxInt = entry->getArgument(0), work = entry->getArgument(1), total = entry->getArgument(2);
    auto captures = entry->getArguments().drop_front(3);
    auto constant = [&](int64_t v) { return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v)); };

    b.setInsertionPointToStart(entry);
    Value zero = constant(0);
    // In the entry block: a static slot, not a stack adjustment per call.
    Value storage = LLVM::AllocaOp::create(b, loc, ptr, argsType, constant(1));
    Value empty = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, total, zero);
    LLVM::CondBrOp::create(b, loc, empty, done, run);

    b.setInsertionPointToStart(run);
    Value ctx = LLVM::IntToPtrOp::create(b, loc, ptr, ctxInt);
    auto field = [&](int64_t offset, Type type) {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, b.getI8Type(), ctx, ArrayRef<LLVM::GEPArg>{offset});
      return LLVM::LoadOp::create(b, loc, type, slot).getResult();
    };
    Value workers = LLVM::ZExtOp::create(b, loc, i64, field(offsetof(lowbit_dispatch_context, num_workers), i32));
    Value groups = LLVM::UDivOp::create(b, loc, work, constant(kGrain));
    groups = LLVM::UMaxOp::create(b, loc, groups, constant(1));
    groups = LLVM::UMinOp::create(b, loc, groups, total);
    groups = LLVM::UMinOp::create(b, loc, groups, LLVM::MulOp::create(b, loc, workers, constant(kChunksPerWorker)));
    // The arguments go through the struct either way, so the body has one
    // caller (the thunk) and is inlined once, not also into the entry.
    Value packed = LLVM::UndefOp::create(b, loc, argsType);
    packed = LLVM::InsertValueOp::create(b, loc, packed, groups, ArrayRef<int64_t>{0});
    for (auto [i, v] : llvm::enumerate(captures))
      packed = LLVM::InsertValueOp::create(b, loc, packed, v, ArrayRef<int64_t>{static_cast<int64_t>(i) + 1});
    LLVM::StoreOp::create(b, loc, packed, storage);
    Value one = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ule, groups, constant(1));
    LLVM::CondBrOp::create(b, loc, one, inlineCall, pool);

    b.setInsertionPointToStart(inlineCall);
    LLVM::CallOp::create(b, loc, thunk, ValueRange{storage, constant(0)});
    LLVM::BrOp::create(b, loc, done);

    b.setInsertionPointToStart(pool);
    Value poolHandle = field(offsetof(lowbit_dispatch_context, pool), ptr);
    Value parallelFor = field(offsetof(lowbit_dispatch_context, parallel_for), ptr);
    Value thunkAddress = LLVM::AddressOfOp::create(b, loc, thunk);
    auto parallelForType =
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), {ptr, i64, ptr, ptr});
    LLVM::CallOp::create(b, loc, parallelForType, ValueRange{parallelFor, poolHandle, groups, thunkAddress, storage});
    LLVM::BrOp::create(b, loc, done);

    b.setInsertionPointToStart(done);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    fn.setLinkage(LLVM::Linkage::Internal);
    fn->removeAttr(kParallelBodyAttr);
    return success();
  }

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
