//===- lowbit-compile.cpp - ONNX model in, compiled model out ------------===//
//
// Imports an ONNX model, quantizes its weights, generates code for the CPU
// and writes one artifact (.lbm) that lowbit-run and the C runtime load.
// --emit=mlir stops after the import, --emit=quantized after quantization.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Driver/Driver.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/IR/Diagnostics.h"

#include <chrono>
#include <cstdio>

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
enum class Emit { Mlir, Quantized, Artifact };
cl::opt<Emit> emit("emit", cl::desc("What to produce"),
                   cl::values(clEnumValN(Emit::Mlir, "mlir", "the imported module, as MLIR text"),
                              clEnumValN(Emit::Quantized, "quantized", "the module after quantization, as MLIR text"),
                              clEnumValN(Emit::Artifact, "lbm", "the compiled artifact (the default with -o FILE.lbm)")),
                   cl::init(Emit::Mlir), cl::cat(category));
cl::opt<std::string> quant("quant", cl::desc("Weight format: q4_0, q4_k, q8_0, 'int4, group = 128', ...; "
                                             "without it the weights stay float"),
                           cl::value_desc("format"), cl::cat(category));
cl::list<std::string> includeWeights("include", cl::desc("Quantize only weights whose name matches this regex"),
                                     cl::value_desc("regex"), cl::cat(category));
cl::list<std::string> excludeWeights("exclude", cl::desc("Leave weights whose name matches this regex in float"),
                                     cl::value_desc("regex"), cl::cat(category));
cl::opt<std::string> target("target", cl::desc("Target architecture"), cl::init("x86_64"), cl::cat(category));
cl::opt<std::string> cpu("cpu", cl::desc("CPU to generate code for (znver4, x86-64-v3, ...; native: this machine)"),
                         cl::init("native"), cl::cat(category));
cl::opt<lowbit::quant::Layout> weightLayout(
    "weight-layout",
    cl::desc("How the artifact stores the packed weights' rows (docs/FORMATS.md, \"Row layouts\")"),
    cl::values(clEnumValN(lowbit::quant::Layout::Rows, "rows", "row after row, as packed (GGUF's order)"),
               clEnumValN(lowbit::quant::Layout::Interleaved4, "interleaved",
                          "tiles of 4 rows taking turns every 128 weights (or 256-weight block), which the "
                          "CPU kernels read as one stream; codebook, ternary and a8 formats stay rows")),
    cl::init(lowbit::quant::Layout::Interleaved4), cl::cat(category));
cl::opt<bool> verbose("v", cl::desc("Print a line per quantized weight"), cl::cat(category));
cl::opt<std::string> weightStats("weight-stats",
                                 cl::desc("Write each quantized weight's shape, format, bits per weight and "
                                          "relative error (||W - decoded|| / ||W||) to this JSON file"),
                                 cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> calibrate("calibrate",
                               cl::desc("Calibrate on these token ids (.npy, int32 or int64): run the float model "
                                        "and gather each weight input's statistics (docs/CALIBRATION.md)"),
                               cl::value_desc("tokens.npy"), cl::cat(category));
cl::opt<int64_t> calibSamples("calib-samples", cl::desc("Calibration windows (batch 1)"), cl::init(128),
                              cl::cat(category));
cl::opt<int64_t> calibSeqLen("calib-seqlen", cl::desc("Tokens per calibration window"), cl::init(512),
                             cl::cat(category));
cl::opt<std::string> saveCalib("save-calib", cl::desc("Write the calibration statistics to this file"),
                               cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> calibStats("calib-stats", cl::desc("Read calibration statistics (--save-calib) from this file"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<int64_t> calibMaxMemory("calib-max-memory",
                                cl::desc("Accumulate at most this many MiB of X^T X at once while calibrating: "
                                         "past it, calibrate the layers in chunks, one pass over the tokens "
                                         "each (same statistics; 0: no bound)"),
                                cl::value_desc("MiB"), cl::init(1024), cl::cat(category));
cl::opt<std::string> method("method",
                            cl::desc("How weights are rounded: rtn (round to nearest), gptq or awq; or W8A8 "
                                     "(int8 weights, per-token int8 activations): smoothquant or llm-int8. All "
                                     "but rtn need calibration"),
                            cl::init("rtn"), cl::cat(category));
cl::opt<double> smoothAlpha("smooth-alpha",
                            cl::desc("--method smoothquant: migration strength in [0, 1] (0.5 as in the paper)"),
                            cl::init(0.5), cl::cat(category));
cl::opt<double> outlierThreshold("outlier-threshold",
                                 cl::desc("--method llm-int8: input channels whose calibration max |x| reaches "
                                          "this stay in float"),
                                 cl::init(6.0), cl::cat(category));
cl::opt<bool> imatrix("imatrix",
                      cl::desc("With calibration statistics, weight each quantizer's error by its input's mean "
                               "x^2 (llama.cpp's importance matrix); --imatrix=false turns it off"),
                      cl::init(true), cl::cat(category));
cl::opt<int> threads("calib-threads", cl::desc("Threads for calibration statistics and GPTQ (0: one per core)"), cl::init(2),
                     cl::cat(category));
cl::opt<double> gptqDamp("gptq-damp", cl::desc("GPTQ damping, a fraction of the mean Hessian diagonal"),
                         cl::init(0.01), cl::cat(category));
cl::opt<bool> gptqActOrder("gptq-act-order", cl::desc("GPTQ: columns by decreasing Hessian diagonal"), cl::init(true),
                           cl::cat(category));
cl::list<std::string> inputShapes("input-shape",
                                  cl::desc("Fix an input's shape, e.g. input_ids=1x128 (? keeps a dimension dynamic)"),
                                  cl::value_desc("name=DxDx..."), cl::cat(category));

/// The W8A8 methods' options: each option only with its method, the method
/// only with calibration; their format is `int8, a8` unless --quant restates
/// it (the driver refuses any other). Returns an error message or "".
std::string checkW8A8Options(lowbit::CompileOptions &compile) {
  if (smoothAlpha.getNumOccurrences() && compile.method != "smoothquant")
    return "--smooth-alpha needs --method smoothquant";
  if (outlierThreshold.getNumOccurrences() && compile.method != "llm-int8")
    return "--outlier-threshold needs --method llm-int8";
  if (!compile.isW8A8Method())
    return "";
  if (compile.calibrate.empty() && compile.calibStats.empty())
    return "--method " + compile.method + " needs calibration: --calibrate TOKENS.npy or --calib-stats FILE";
  if (!(smoothAlpha >= 0.0 && smoothAlpha <= 1.0))
    return "--smooth-alpha must be in [0, 1], got " + std::to_string(smoothAlpha);
  if (!(outlierThreshold > 0.0))
    return "--outlier-threshold must be positive, got " + std::to_string(outlierThreshold);
  compile.smoothAlpha = smoothAlpha;
  compile.outlierThreshold = outlierThreshold;
  if (quant.empty())
    quant.setValue("int8, a8");
  compile.quant = quant;
  return "";
}

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

/// Times the stages for the progress lines.
class Stopwatch {
public:
  std::string lap() {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return formatSeconds(seconds);
  }
  double total() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  static std::string formatSeconds(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f s", s);
    return text;
  }

private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

/// --weight-stats: the quantized weights and the summary's totals, as JSON
/// (written through a temporary file, so a failed run leaves no half file).
int writeWeightStats(const lowbit::CompileStats &stats) {
  json::Array weights;
  for (const lowbit::WeightRecord &w : stats.weights)
    weights.push_back(json::Object{{"name", w.name},
                                   {"node", w.node},
                                   {"rows", w.rows},
                                   {"cols", w.cols},
                                   {"format", w.format},
                                   {"bits_per_weight", w.bitsPerWeight},
                                   {"relative_error", w.relativeError}});
  json::Object root{{"model", inputPath},
                    {"quant", quant},
                    {"float_weight_bytes", stats.floatWeightBytes},
                    {"linear_weights", stats.linearWeights},
                    {"linear_elements", stats.linearElements},
                    {"linear_packed_bytes", stats.linearPackedBytes},
                    {"linear_side_bytes", stats.linearSideBytes},
                    {"weights", std::move(weights)}};
  Error written = writeToOutput(weightStats, [&](raw_ostream &os) {
    os << formatv("{0:2}", json::Value(std::move(root))) << "\n";
    return Error::success();
  });
  if (written) {
    WithColor::error(errs(), "lowbit-compile") << "--weight-stats: " << toString(std::move(written)) << "\n";
    return 1;
  }
  return 0;
}

int printModule(mlir::ModuleOp module) {
  Error written = writeToOutput(outputPath, [&](raw_ostream &os) {
    module.print(os);
    return Error::success();
  });
  if (written) {
    WithColor::error(errs(), "lowbit-compile") << toString(std::move(written)) << "\n";
    return 1;
  }
  return 0;
}

void printSummary(const lowbit::CompileStats &stats, double seconds) {
  auto mb = [](int64_t bytes) { return formatv("{0:F2} MB", bytes / 1e6).str(); };
  errs() << "lowbit-compile: summary: weights " << mb(stats.floatWeightBytes) << " -> " << mb(stats.weightBytes);
  if (stats.weightBytes > 0 && stats.floatWeightBytes > 0)
    errs() << formatv(" ({0:F1}x smaller)", double(stats.floatWeightBytes) / stats.weightBytes);
  if (stats.linearElements > 0)
    errs() << formatv("; {0} matmul weights at {1:F3} bits per weight ({2:F3} with scales)", stats.linearWeights,
                      8.0 * stats.linearPackedBytes / stats.linearElements,
                      8.0 * (stats.linearPackedBytes + stats.linearSideBytes) / stats.linearElements);
  if (stats.linearWeights > 0)
    errs() << (weightLayout == lowbit::quant::Layout::Interleaved4 ? ", rows interleaved by 4" : ", row after row");
  errs() << "; code for " << stats.cpu << "; " << Stopwatch::formatSeconds(seconds) << "\n";
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

  lowbit::CompileOptions compile;
  compile.import = options;
  compile.quant = quant;
  compile.include.assign(includeWeights.begin(), includeWeights.end());
  compile.exclude.assign(excludeWeights.begin(), excludeWeights.end());
  compile.target = target;
  compile.cpu = cpu;
  compile.weightLayout = weightLayout;
  compile.verbose = verbose;
  compile.measureWeightError = verbose || !weightStats.empty();
  compile.calibrate = calibrate;
  compile.calibSamples = calibSamples;
  compile.calibSeqLen = calibSeqLen;
  compile.saveCalib = saveCalib;
  compile.calibStats = calibStats;
  compile.calibMaxMemoryMB = calibMaxMemory;
  compile.method = method;
  compile.imatrix = imatrix;
  compile.threads = threads;
  compile.gptqDamp = gptqDamp;
  compile.gptqActOrder = gptqActOrder;
  if (!calibrate.empty() && !calibStats.empty()) {
    WithColor::error(errs(), "lowbit-compile") << "--calibrate and --calib-stats exclude each other\n";
    return 1;
  }
  if (calibMaxMemory < 0) {
    WithColor::error(errs(), "lowbit-compile") << "--calib-max-memory must be 0 (no bound) or a positive MiB count\n";
    return 1;
  }
  if (std::string error = checkW8A8Options(compile); !error.empty()) {
    WithColor::error(errs(), "lowbit-compile") << error << "\n";
    return 1;
  }
  bool toArtifact = emit == Emit::Artifact || (emit.getNumOccurrences() == 0 && StringRef(outputPath).ends_with(".lbm"));

  // The layout is applied where the weights leave the IR, so IR output
  // keeps the quantizers' rows whatever the flag says.
  if (weightLayout.getNumOccurrences() > 0 && !toArtifact)
    WithColor::warning(errs(), "lowbit-compile")
        << "--weight-layout applies to artifacts only; the IR written here keeps its rows as packed\n";

  if (!weightStats.empty() && emit == Emit::Mlir && !toArtifact) {
    WithColor::error(errs(), "lowbit-compile")
        << "--weight-stats needs the weights quantized: use --emit=quantized or write an artifact\n";
    return 1;
  }

  mlir::DialectRegistry registry;
  lowbit::registerDriverDialects(registry);
  mlir::MLIRContext context(registry);
  // A diagnostic names the problem; the whole module printed after it (MLIR's
  // default "see current operation" note) buries it for a command-line user.
  context.printOpOnDiagnostic(false);
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  Stopwatch clock;
  lowbit::CompileStats stats;

  auto progress = [&](StringRef stage) { errs() << "lowbit-compile: " << stage << " (" << clock.lap() << ")\n"; };
  mlir::OwningOpRef<mlir::ModuleOp> module = lowbit::importModel(context, inputPath, compile);
  if (!module)
    return 1;
  if (toArtifact)
    progress("imported " + inputPath);
  if (emit == Emit::Mlir && !toArtifact)
    return printModule(*module);
  auto calibration = lowbit::calibrateModel(*module, compile, errs());
  if (failed(calibration))
    return 1;
  if (*calibration)
    progress(compile.calibrate.empty() ? "read calibration statistics from " + compile.calibStats
                                       : std::string("calibrated"));
  if (failed(lowbit::quantizeModel(*module, compile, stats, *calibration)))
    return 1;
  if (!weightStats.empty() && writeWeightStats(stats) != 0)
    return 1;
  if (!quant.empty() && stats.linearWeights == 0)
    WithColor::warning(errs(), "lowbit-compile")
        << "no weight was quantized to '" << quant
        << "': every matmul weight stays float (-v says why: its rows do not fit the format, or the mix keeps it)\n";
  if (!toArtifact)
    return printModule(*module);
  progress(quant.empty() ? std::string("kept float weights") : "quantized weights to " + quant);
  if (outputPath == "-") {
    WithColor::error(errs(), "lowbit-compile") << "an artifact needs an output file: -o MODEL.lbm\n";
    return 1;
  }
  if (failed(lowbit::emitCpuArtifact(*module, compile, outputPath, stats, errs())))
    return 1;
  progress("wrote " + outputPath);
  printSummary(stats, clock.total());
  return 0;
}
