//===- CpuTarget.cpp - LLVM dialect to a shared object for the runtime ----===//

#include "lowbit/Target/CpuTarget.h"

#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

namespace lowbit {
namespace {

constexpr llvm::StringLiteral kEntrySymbol = "lowbit_entry";

/// void lowbit_entry(void **args): calls the entry's C interface with the
/// context loaded from args[0], the results pointer args[1] and the
/// descriptor pointers args[2...] (docs/ARTIFACT.md).
LogicalResult addPackedEntry(llvm::Module &module, StringRef entry, Location loc) {
  llvm::Function *ciface = module.getFunction(("_mlir_ciface_" + entry).str());
  if (!ciface)
    return emitError(loc) << "no C interface for the entry function '" << entry << "'";
  llvm::LLVMContext &context = module.getContext();
  auto *ptrType = llvm::PointerType::get(context, 0);
  auto *entryType = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptrType}, false);
  auto *packed = llvm::Function::Create(entryType, llvm::GlobalValue::ExternalLinkage, kEntrySymbol, module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", packed));
  llvm::Value *args = packed->getArg(0);
  auto slot = [&](unsigned i) {
    llvm::Value *address = b.CreateConstGEP1_64(ptrType, args, i);
    return b.CreateLoad(ptrType, address);
  };
  // With results, the C interface's first parameter points to them and the
  // context comes second.
  llvm::Function *function = module.getFunction(entry);
  bool hasResults = function && !function->getReturnType()->isVoidTy();
  SmallVector<llvm::Value *> callArgs;
  unsigned next = 2;
  for (unsigned i = 0; i < ciface->arg_size(); ++i) {
    llvm::Type *type = ciface->getArg(i)->getType();
    bool isContext = (hasResults && i == 1) || (!hasResults && i == 0);
    if (hasResults && i == 0)
      callArgs.push_back(slot(1));
    else if (isContext)
      callArgs.push_back(b.CreateLoad(type, slot(0)));
    else
      callArgs.push_back(slot(next++));
  }
  b.CreateCall(ciface, callArgs);
  b.CreateRetVoid();
  return success();
}

/// Internal linkage for everything but the entry, so the shared object
/// exports one symbol.
void hideAllButEntry(llvm::Module &module) {
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration() && fn.getName() != kEntrySymbol)
      fn.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &global : module.globals())
    if (!global.isDeclaration())
      global.setLinkage(llvm::GlobalValue::InternalLinkage);
}

void optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  // O2, not O3: on a whole model (one function with thousands of loops) O3's
  // extra passes took three times as long for no measurable gain; the hot
  // matmuls run in the runtime's kernels.
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(module, mam);
}

/// Links `object` into a shared object with ld.lld.
FailureOr<std::string> linkSharedObject(StringRef object, Location loc) {
  llvm::ErrorOr<std::string> lld = llvm::sys::findProgramByName("ld.lld", {LOWBIT_LLVM_TOOLS_DIR});
  if (!lld)
    return emitError(loc) << "cannot find ld.lld in " << LOWBIT_LLVM_TOOLS_DIR << " or on PATH";
  SmallString<128> objectPath, sharedPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("lowbit", "o", fd, objectPath))
    return emitError(loc) << "cannot create a temporary file";
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
  }
  if (llvm::sys::fs::createTemporaryFile("lowbit", "so", sharedPath)) {
    llvm::sys::fs::remove(objectPath);
    return emitError(loc) << "cannot create a temporary file";
  }
  std::string error;
  SmallVector<StringRef> args = {*lld, "-shared", "--hash-style=gnu", "-z", "noexecstack", "-O2",
                                 "-o", sharedPath, objectPath};
  int code = llvm::sys::ExecuteAndWait(*lld, args, std::nullopt, {}, 0, 0, &error);
  auto linked = llvm::MemoryBuffer::getFile(sharedPath);
  llvm::sys::fs::remove(objectPath);
  llvm::sys::fs::remove(sharedPath);
  if (code != 0 || !linked)
    return emitError(loc) << "ld.lld failed (exit " << code << ")" << (error.empty() ? "" : ": " + error);
  return (*linked)->getBuffer().str();
}

} // namespace

FailureOr<CpuBinary> compileForCpu(ModuleOp module, const CpuTargetOptions &options) {
  Location loc = module.getLoc();
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();

  CpuBinary binary;
  binary.cpu = options.cpu == "native" ? llvm::sys::getHostCPUName().str() : options.cpu;
  std::string features;
  if (options.cpu == "native") {
    llvm::SubtargetFeatures subtarget;
    for (const auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
      subtarget.AddFeature(feature, enabled);
    features = subtarget.getString();
  }
  llvm::Triple triple(options.triple);
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return emitError(loc) << "unknown target '" << options.triple << "': " << error;
  // An unknown CPU name would silently fall back to a generic model.
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(target->createMCSubtargetInfo(triple, binary.cpu, ""));
  if (!subtarget || !subtarget->isCPUStringValid(binary.cpu))
    return emitError(loc) << "unknown CPU '" << binary.cpu << "' for " << options.triple;
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, binary.cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));

  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context);
  if (!llvmModule)
    return emitError(loc) << "cannot translate the module to LLVM IR";
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  for (llvm::Function &fn : *llvmModule) {
    if (fn.isDeclaration())
      continue;
    fn.addFnAttr("target-cpu", binary.cpu);
    if (!features.empty())
      fn.addFnAttr("target-features", features);
  }
  if (failed(addPackedEntry(*llvmModule, options.entry, loc)))
    return failure();
  hideAllButEntry(*llvmModule);
  if (llvm::verifyModule(*llvmModule, &llvm::errs()))
    return emitError(loc) << "generated LLVM IR does not verify";
  optimize(*llvmModule, *machine);

  SmallString<0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::ObjectFile))
      return emitError(loc) << "the target cannot emit object files";
    codegen.run(*llvmModule);
  }
  FailureOr<std::string> shared = linkSharedObject(object, loc);
  if (failed(shared))
    return failure();
  binary.sharedObject = std::move(*shared);
  binary.entrySymbol = kEntrySymbol.str();
  return binary;
}

} // namespace lowbit
