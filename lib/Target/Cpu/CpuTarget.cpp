//===- CpuTarget.cpp - LLVM dialect to a shared object for the runtime ----===//

#include "lowbit/Target/CpuTarget.h"

#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/ValueMapper.h"
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

#include <atomic>
#include <thread>

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

/// Links `objects` into a shared object with ld.lld.
FailureOr<std::string> linkSharedObject(ArrayRef<SmallString<0>> objects, Location loc) {
  llvm::ErrorOr<std::string> lld = llvm::sys::findProgramByName("ld.lld", {LOWBIT_LLVM_TOOLS_DIR});
  if (!lld)
    return emitError(loc) << "cannot find ld.lld in " << LOWBIT_LLVM_TOOLS_DIR << " or on PATH";
  SmallVector<SmallString<128>> objectPaths;
  auto removeObjects = [&] {
    for (const SmallString<128> &path : objectPaths)
      llvm::sys::fs::remove(path);
  };
  for (const SmallString<0> &object : objects) {
    int fd;
    SmallString<128> objectPath;
    if (llvm::sys::fs::createTemporaryFile("lowbit", "o", fd, objectPath)) {
      removeObjects();
      return emitError(loc) << "cannot create a temporary file";
    }
    objectPaths.push_back(objectPath);
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
  }
  SmallString<128> sharedPath;
  if (llvm::sys::fs::createTemporaryFile("lowbit", "so", sharedPath)) {
    removeObjects();
    return emitError(loc) << "cannot create a temporary file";
  }
  std::string error;
  SmallVector<StringRef> args = {*lld, "-shared", "--hash-style=gnu", "-z", "noexecstack", "-O2", "-o", sharedPath};
  for (const SmallString<128> &path : objectPaths)
    args.push_back(path);
  int code = llvm::sys::ExecuteAndWait(*lld, args, std::nullopt, {}, 0, 0, &error);
  auto linked = llvm::MemoryBuffer::getFile(sharedPath);
  removeObjects();
  llvm::sys::fs::remove(sharedPath);
  if (code != 0 || !linked)
    return emitError(loc) << "ld.lld failed (exit " << code << ")" << (error.empty() ? "" : ": " + error);
  return (*linked)->getBuffer().str();
}


/// Partitions code is generated in (their number does not depend on the
/// machine, so the output does not either); as many run at once as there
/// are CPUs.
constexpr unsigned kPartitions = 4;

/// Splits `module` for parallel optimization and codegen: partition 0 keeps
/// the entry and everything but the parallel loop bodies
/// (lowbit-outline-parallel-loops); each thunk goes with the functions only
/// it reaches (its body) to the lightest partition, by instruction count.
/// Symbols used across partitions get external linkage with hidden
/// visibility (the shared object still exports only the entry). Returns
/// each partition as bitcode, to be read into its own LLVMContext.
std::vector<SmallString<0>> splitForCodegen(llvm::Module &module) {
  // Owner of each function: the thunk whose call graph reaches it alone,
  // or partition 0.
  llvm::DenseMap<const llvm::Function *, unsigned> group; // function -> thunk group + 1 (0: partition 0)
  std::vector<const llvm::Function *> thunks;
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration() && fn.getName().starts_with("__lowbit_parallel_launch_") &&
        fn.getName().ends_with("_thunk"))
      thunks.push_back(&fn);
  if (thunks.empty())
    return {};
  // A function called only from within one thunk's group joins it.
  for (auto [i, thunk] : llvm::enumerate(thunks)) {
    SmallVector<const llvm::Function *> work = {thunk};
    group[thunk] = i + 1;
    while (!work.empty()) {
      const llvm::Function *fn = work.pop_back_val();
      for (const llvm::BasicBlock &bb : *fn)
        for (const llvm::Instruction &inst : bb)
          if (auto *call = llvm::dyn_cast<llvm::CallBase>(&inst))
            if (const llvm::Function *callee = call->getCalledFunction();
                callee && !callee->isDeclaration() && callee->hasLocalLinkage() && !group.count(callee) &&
                llvm::all_of(callee->users(), [&](const llvm::User *user) {
                  auto *userCall = llvm::dyn_cast<llvm::CallBase>(user);
                  return userCall && userCall->getFunction() == fn;
                })) {
              group[callee] = i + 1;
              work.push_back(callee);
            }
    }
  }
  auto size = [](const llvm::Function &fn) {
    uint64_t n = 0;
    for (const llvm::BasicBlock &bb : fn)
      n += bb.size();
    return n;
  };
  std::vector<uint64_t> groupSize(thunks.size() + 1, 0);
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration())
      groupSize[group.lookup(&fn)] += size(fn);
  // Largest groups first onto the lightest partition.
  std::vector<unsigned> order(thunks.size());
  for (unsigned i = 0; i < order.size(); ++i)
    order[i] = i + 1;
  llvm::stable_sort(order, [&](unsigned a, unsigned b) { return groupSize[a] > groupSize[b]; });
  std::vector<uint64_t> load(kPartitions, 0);
  load[0] = groupSize[0];
  std::vector<unsigned> partitionOfGroup(thunks.size() + 1, 0);
  for (unsigned g : order) {
    unsigned lightest = std::min_element(load.begin(), load.end()) - load.begin();
    partitionOfGroup[g] = lightest;
    load[lightest] += groupSize[g];
  }
  auto partitionOf = [&](const llvm::GlobalValue *gv) -> unsigned {
    auto *fn = llvm::dyn_cast<llvm::Function>(gv);
    return fn ? partitionOfGroup[group.lookup(fn)] : 0;
  };
  // Used from another partition: external, hidden.
  for (llvm::GlobalValue &gv : module.global_values()) {
    if (gv.isDeclaration() || !gv.hasLocalLinkage())
      continue;
    unsigned home = partitionOf(&gv);
    bool shared = llvm::any_of(gv.users(), [&](const llvm::User *user) {
      SmallVector<const llvm::User *> users = {user};
      while (!users.empty()) {
        const llvm::User *u = users.pop_back_val();
        if (auto *inst = llvm::dyn_cast<llvm::Instruction>(u)) {
          if (partitionOf(inst->getFunction()) != home)
            return true;
        } else if (llvm::isa<llvm::Constant>(u)) {
          users.append(u->user_begin(), u->user_end());
        } else {
          return true;
        }
      }
      return false;
    });
    if (shared) {
      gv.setLinkage(llvm::GlobalValue::ExternalLinkage);
      gv.setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
  }
  std::vector<SmallString<0>> partitions;
  for (unsigned p = 0; p < kPartitions; ++p) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> part =
        llvm::CloneModule(module, map, [&](const llvm::GlobalValue *gv) { return partitionOf(gv) == p; });
    // Local symbols of other partitions are unused here: drop them.
    for (llvm::Function &fn : llvm::make_early_inc_range(*part))
      if (fn.isDeclaration() && fn.hasLocalLinkage() && fn.use_empty())
        fn.eraseFromParent();
    for (llvm::GlobalVariable &gv : llvm::make_early_inc_range(part->globals()))
      if (gv.isDeclaration() && gv.hasLocalLinkage() && gv.use_empty())
        gv.eraseFromParent();
    SmallString<0> bitcode;
    llvm::raw_svector_ostream os(bitcode);
    llvm::WriteBitcodeToFile(*part, os);
    partitions.push_back(std::move(bitcode));
  }
  return partitions;
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
  auto createMachine = [&] {
    return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
        triple, binary.cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
        llvm::CodeGenOptLevel::Aggressive));
  };
  auto emitObject = [](llvm::Module &m, llvm::TargetMachine &tm, SmallString<0> &object) {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager codegen;
    if (tm.addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::ObjectFile))
      return false;
    codegen.run(m);
    return true;
  };

  // The parallel loop bodies are independent functions: optimize and emit
  // them in partitions, on as many threads as there are CPUs.
  std::vector<SmallString<0>> partitions = splitForCodegen(*llvmModule);
  std::vector<SmallString<0>> objects(std::max<size_t>(partitions.size(), 1));
  if (partitions.empty()) {
    optimize(*llvmModule, *machine);
    if (!emitObject(*llvmModule, *machine, objects[0]))
      return emitError(loc) << "the target cannot emit object files";
  } else {
    llvmModule.reset();
    std::vector<std::string> failures(partitions.size());
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t p; (p = next++) < partitions.size();) {
        llvm::LLVMContext partContext;
        llvm::Expected<std::unique_ptr<llvm::Module>> part =
            llvm::parseBitcodeFile(llvm::MemoryBufferRef(partitions[p].str(), "partition"), partContext);
        if (!part) {
          failures[p] = llvm::toString(part.takeError());
          continue;
        }
        std::unique_ptr<llvm::TargetMachine> partMachine = createMachine();
        optimize(**part, *partMachine);
        if (!emitObject(**part, *partMachine, objects[p]))
          failures[p] = "the target cannot emit object files";
      }
    };
    unsigned threads = std::min<unsigned>(partitions.size(), std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
      pool.emplace_back(worker);
    worker();
    for (std::thread &t : pool)
      t.join();
    for (const std::string &failure : failures)
      if (!failure.empty())
        return emitError(loc) << "code generation failed: " << failure;
  }
  FailureOr<std::string> shared = linkSharedObject(objects, loc);
  if (failed(shared))
    return failure();
  binary.sharedObject = std::move(*shared);
  binary.entrySymbol = kEntrySymbol.str();
  return binary;
}

} // namespace lowbit
