//===- lowbit-compile.cpp - ONNX model in, compiled model out ------------===//
//
// Today: imports an ONNX model and prints it as MLIR (--emit=mlir). The
// quantization passes, code generation and the artifact arrive with the
// end-to-end issue.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/IR/Diagnostics.h"

using namespace llvm;

namespace {

cl::OptionCategory category("lowbit-compile options");
cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx>"), cl::cat(category));
cl::opt<bool> listOps("list-ops",
                      cl::desc("Print the ONNX ops the importer supports, one per line as DOMAIN:OpType "
                               "(the standard domain is empty), and exit"),
                      cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("Output file ('-' for stdout)"), cl::value_desc("file"),
                                cl::init("-"), cl::cat(category));
enum class Emit { Mlir };
cl::opt<Emit> emit("emit", cl::desc("What to produce"),
                   cl::values(clEnumValN(Emit::Mlir, "mlir", "the imported module, as MLIR text")),
                   cl::init(Emit::Mlir), cl::cat(category));
cl::list<std::string> inputShapes("input-shape",
                                  cl::desc("Fix an input's shape, e.g. input_ids=1x128 (? keeps a dimension dynamic)"),
                                  cl::value_desc("name=DxDx..."), cl::cat(category));

/// Parses "name=1x?x128" into the options; returns an error message or "".
std::string addInputShape(StringRef spec, lowbit::OnnxImportOptions &options) {
  auto [name, dims] = spec.rsplit('=');
  if (name.empty() || dims.empty() || !spec.contains('='))
    return "--input-shape expects NAME=DxD..., got '" + spec.str() + "'";
  std::vector<int64_t> shape;
  SmallVector<StringRef> parts;
  dims.split(parts, 'x');
  for (StringRef part : parts) {
    int64_t size;
    if (part == "?")
      shape.push_back(-1);
    else if (part.getAsInteger(10, size) || size < 0)
      return "--input-shape: '" + part.str() + "' in '" + spec.str() + "' is not a size";
    else
      shape.push_back(size);
  }
  options.inputShapes[name.str()] = shape;
  return "";
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "lowbit-compile: ONNX model in, compiled model out\n");

  if (listOps) {
    for (const std::string &op : lowbit::supportedOnnxOps())
      outs() << op << "\n";
    return 0;
  }
  if (inputPath.empty()) {
    WithColor::error(errs(), "lowbit-compile") << "no input model given (see --help)\n";
    return 1;
  }

  lowbit::OnnxImportOptions options;
  for (const std::string &spec : inputShapes)
    if (std::string error = addInputShape(spec, options); !error.empty()) {
      WithColor::error(errs(), "lowbit-compile") << error << "\n";
      return 1;
    }

  mlir::MLIRContext context;
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module = lowbit::importOnnxFile(context, inputPath, options);
  if (!module || failed(mlir::verify(*module)))
    return 1;
  // The importer builds shape arithmetic eagerly; tidy it before printing.
  mlir::PassManager cleanup(&context);
  cleanup.addPass(mlir::createCanonicalizerPass());
  cleanup.addPass(mlir::createCSEPass());
  if (failed(cleanup.run(*module)))
    return 1;

  Error written = writeToOutput(outputPath, [&](raw_ostream &os) {
    module->print(os);
    return Error::success();
  });
  if (written) {
    WithColor::error(errs(), "lowbit-compile") << toString(std::move(written)) << "\n";
    return 1;
  }
  return 0;
}
