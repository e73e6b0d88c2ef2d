//===- Driver.cpp - lowbit-compile's stages as a library ------------------===//

#include "lowbit/Driver/Driver.h"

#include "lowbit/Conversion/Passes.h"
#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Quant/Format.h"
#include "lowbit/Target/ArtifactWriter.h"
#include "lowbit/Target/CpuTarget.h"
#include "lowbit/Transforms/CalibratedPasses.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <deque>

using namespace mlir;

namespace lowbit {
namespace {

/// Tensors with at least this many elements count as weights.
constexpr int64_t kMinWeightElements = 1024;

int64_t tensorBytes(ShapedType type) {
  return type.getNumElements() * std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
}

/// The manifest dtype (ONNX numbering) of an MLIR element type; an
/// onnx.elem_type attribute, where the importer left one, wins (it knows
/// unsigned from signed).
uint32_t dtypeOf(Type type, DictionaryAttr attrs) {
  if (auto given = attrs ? attrs.getAs<IntegerAttr>("onnx.elem_type") : nullptr)
    return given.getInt();
  if (type.isF32())
    return 1;
  if (type.isF16())
    return 10;
  if (type.isBF16())
    return 16;
  if (type.isF64())
    return 11;
  switch (type.getIntOrFloatBitWidth()) {
  case 1:
    return 9;
  case 8:
    return 3;
  case 16:
    return 5;
  case 32:
    return 6;
  case 64:
    return 7;
  default:
    return 0;
  }
}

std::vector<int64_t> dimsOf(ShapedType type) {
  std::vector<int64_t> dims;
  for (int64_t d : type.getShape())
    dims.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return dims;
}

/// A weight's bytes: its blob, or its dense data (a splat expanded into
/// `storage`).
ArrayRef<char> weightBytes(ElementsAttr value, std::deque<std::string> &storage) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return resource.getRawHandle().getBlob()->getData();
  auto dense = cast<DenseElementsAttr>(value);
  if (!dense.isSplat())
    return dense.getRawData();
  ArrayRef<char> one = dense.getRawData();
  std::string &expanded = storage.emplace_back();
  for (int64_t i = 0; i < dense.getNumElements(); ++i)
    expanded.append(one.data(), one.size());
  return ArrayRef<char>(expanded.data(), expanded.size());
}

/// Reads the inputs, outputs and weights off the entry function, after
/// lowbit-lower-to-runtime gave it the runtime's convention.
void describeEntry(func::FuncOp entry, artifact::ArtifactContents &contents,
                            std::deque<std::string> &storage, CompileStats &stats) {
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    DictionaryAttr attrs = entry.getArgAttrDict(i);
    if (attrs && attrs.get(kContextAttr))
      continue;
    auto type = cast<ShapedType>(entry.getArgument(i).getType());
    if (auto name = attrs ? attrs.getAs<StringAttr>(kWeightNameAttr) : nullptr) {
      ArrayRef<char> bytes = weightBytes(attrs.getAs<ElementsAttr>(kWeightValueAttr), storage);
      contents.weights.push_back({{name.str(), dtypeOf(type.getElementType(), attrs), dimsOf(type)},
                                  bytes.data(), bytes.size()});
      stats.weightBytes += bytes.size();
      continue;
    }
    auto name = attrs ? attrs.getAs<StringAttr>("onnx.name") : nullptr;
    contents.inputs.push_back({name ? name.str() : "input" + std::to_string(contents.inputs.size()),
                               dtypeOf(type.getElementType(), attrs), dimsOf(type)});
  }
  for (unsigned i = 0; i < entry.getNumResults(); ++i) {
    DictionaryAttr attrs = entry.getResultAttrDict(i);
    auto type = cast<ShapedType>(entry.getResultTypes()[i]);
    auto name = attrs ? attrs.getAs<StringAttr>("onnx.name") : nullptr;
    contents.outputs.push_back({name ? name.str() : "output" + std::to_string(i),
                                dtypeOf(type.getElementType(), attrs), dimsOf(type)});
  }
}

/// The ONNX node name the importer put on an op's location (possibly fused).
std::string nodeNameOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string name = nodeNameOf(inner); !name.empty())
        return name;
  return "";
}

/// A quantized weight's record: its name comes from the packed constant's
/// resource key ("NAME.packed"), as the quantize pass made it.
WeightRecord describeWeight(MatmulOp op) {
  PackedType weight = op.getWeight().getType();
  WeightRecord record;
  record.node = nodeNameOf(op.getLoc());
  record.rows = weight.getNumRows();
  record.cols = weight.getRowLength();
  quant::Format format = weight.getFormat().getValue();
  record.format = quant::toString(format);
  record.bitsPerWeight = quant::bitsPerWeight(format, record.cols);
  if (auto constant = op.getWeight().getDefiningOp<ConstantOp>())
    if (auto bytes = dyn_cast<DenseResourceElementsAttr>(constant.getBytes()))
      record.name = StringRef(bytes.getRawHandle().getKey()).drop_back(StringRef(".packed").size()).str();
  if (auto error = op->getAttrOfType<FloatAttr>("lowbit.relative_error"))
    record.relativeError = error.getValueAsDouble();
  return record;
}

/// Prints a line as each stage starts and, when the next begins, how long the
/// last one took.
class Stage {
public:
  explicit Stage(llvm::raw_ostream &log) : log_(log) {}
  ~Stage() { finish(); }
  void begin(const std::string &name) {
    finish();
    name_ = name;
    start_ = std::chrono::steady_clock::now();
  }

private:
  void finish() {
    if (name_.empty())
      return;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    log_ << llvm::formatv("  {0} ({1:F2} s)\n", name_, seconds);
  }
  llvm::raw_ostream &log_;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

LogicalResult runPipeline(ModuleOp module, function_ref<void(OpPassManager &)> build) {
  PassManager pm(module.getContext());
  build(pm);
  return pm.run(module);
}

} // namespace

void registerDriverDialects(DialectRegistry &registry) {
  registerOnnxImportDialects(registry);
  registerCodegenDialects(registry);
}

OwningOpRef<ModuleOp> importModel(MLIRContext &context, StringRef path, const CompileOptions &options) {
  OwningOpRef<ModuleOp> module = importOnnxFile(context, path, options.import);
  if (!module)
    return nullptr;
  if (failed(runPipeline(*module, [](OpPassManager &pm) {
        pm.addPass(createCanonicalizerPass());
        pm.addPass(createCSEPass());
      })))
    return nullptr;
  return module;
}

/// The quantize pipeline for a calibrated compile: lowbit-gptq, or
/// lowbit-quantize-weights with the importance from `calibration`; then the
/// same tidying as buildQuantizePipeline.
static void buildCalibratedQuantizePipeline(OpPassManager &pm, const CompileOptions &options,
                                     std::shared_ptr<const CalibrationData> calibration) {
  if (options.method == "smoothquant") {
    SmoothPassOptions smooth;
    smooth.alpha = options.smoothAlpha;
    smooth.include.assign(options.include.begin(), options.include.end());
    smooth.exclude.assign(options.exclude.begin(), options.exclude.end());
    smooth.report = options.verbose;
    pm.addPass(createSmoothPass(smooth, std::move(calibration)));
  } else if (options.method == "llm-int8") {
    OutlierSplitPassOptions split;
    split.threshold = options.outlierThreshold;
    split.include.assign(options.include.begin(), options.include.end());
    split.exclude.assign(options.exclude.begin(), options.exclude.end());
    split.report = options.verbose;
    pm.addPass(createOutlierSplitPass(split, std::move(calibration)));
  } else if (options.method == "gptq") {
    GptqPassOptions gptq;
    gptq.format = options.quant;
    gptq.include.assign(options.include.begin(), options.include.end());
    gptq.exclude.assign(options.exclude.begin(), options.exclude.end());
    gptq.damp = options.gptqDamp;
    gptq.blockSize = options.gptqBlockSize;
    gptq.actOrder = options.gptqActOrder;
    gptq.staticGroups = options.gptqStaticGroups;
    gptq.importance = options.imatrix;
    gptq.threads = options.threads;
    gptq.report = true; // GPTQ takes seconds to minutes: one line per weight
    gptq.measureError = options.measureWeightError;
    pm.addPass(createGptqPass(gptq, std::move(calibration)));
  } else {
    if (options.method == "awq") {
      AwqPassOptions awq;
      awq.format = options.quant;
      awq.importance = options.imatrix;
      awq.duoScaling = true; // SmolLM2 int4 g128: 17.6 % -> 43.3 % of RTN's PPL increase removed
      awq.threads = options.threads;
      awq.report = true;
      // After AWQ the inputs it scaled are x / s: the quantize pass reads
      // their statistics from what AWQ leaves in `scaled`.
      auto scaled = std::make_shared<CalibrationData>();
      pm.addPass(createAwqPass(awq, calibration, scaled));
      calibration = std::move(scaled);
    }
    QuantizeWeightsPassOptions quantize;
    quantize.format = options.quant;
    quantize.include.assign(options.include.begin(), options.include.end());
    quantize.exclude.assign(options.exclude.begin(), options.exclude.end());
    quantize.report = options.verbose;
    quantize.measureError = options.measureWeightError;
    pm.addPass(options.imatrix ? createQuantizeWeightsPass(quantize, std::move(calibration))
                               : createQuantizeWeightsPass(quantize));
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// The W8A8 methods choose their format: --quant may only restate it.
static LogicalResult checkW8A8Format(ModuleOp module, const CompileOptions &options) {
  if (!options.isW8A8Method() || options.quant.empty())
    return success();
  std::string error;
  std::optional<quant::Format> f = quant::parseFormat(options.quant, error);
  if (!f || f->kind != quant::FormatKind::Int || f->bits != 8 || f->granularity != quant::Granularity::Channel ||
      f->offset != quant::Offset::None)
    return module.emitError() << "--method " << options.method << " quantizes to 'int8, a8' (W8A8): --quant '"
                              << options.quant << "' does not fit (leave --quant out)";
  return success();
}

LogicalResult quantizeModel(ModuleOp module, const CompileOptions &options, CompileStats &stats,
                            std::shared_ptr<const CalibrationData> calibration) {
  module.walk([&](arith::ConstantOp op) {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (type && type.hasStaticShape() && type.getNumElements() >= kMinWeightElements)
      stats.floatWeightBytes += tensorBytes(type);
  });
  QuantizePipelineOptions quantize;
  quantize.format = options.quant;
  quantize.include = options.include;
  quantize.exclude = options.exclude;
  quantize.report = options.verbose;
  quantize.measureError = options.measureWeightError;
  bool calibrated =
      (!options.quant.empty() || options.isW8A8Method()) && (calibration || options.method != "rtn");
  if (options.method != "rtn" && options.method != "gptq" && options.method != "awq" && !options.isW8A8Method())
    return module.emitError() << "--method '" << options.method << "': rtn, gptq, awq, smoothquant or llm-int8";
  if (failed(checkW8A8Format(module, options)))
    return failure();
  if (failed(runPipeline(module, [&](OpPassManager &pm) {
        if (calibrated)
          buildCalibratedQuantizePipeline(pm, options, calibration);
        else
          buildQuantizePipeline(pm, quantize);
      })))
    return failure();
  module.walk([&](MatmulOp op) {
    PackedType weight = op.getWeight().getType();
    stats.weights.push_back(describeWeight(op));
    stats.linearWeights += 1;
    stats.linearElements += weight.getNumRows() * weight.getRowLength();
    stats.linearPackedBytes += weight.getNumBytes();
    for (Value side : {op.getScales(), op.getZeroPoints(), op.getMins()})
      if (side)
        stats.linearSideBytes += tensorBytes(cast<ShapedType>(side.getType()));
  });
  return success();
}

LogicalResult emitCpuArtifact(ModuleOp module, const CompileOptions &options, const std::string &outputPath,
                              CompileStats &stats, llvm::raw_ostream &log) {
  if (options.target != "x86_64")
    return module.emitError() << "target '" << options.target << "' is not supported yet (x86_64 is)";
  std::optional<bool> interleaveRows;
  if (options.weightLayout)
    interleaveRows = *options.weightLayout == quant::Layout::Interleaved4;
  if (failed(runPipeline(module, [&](OpPassManager &pm) { buildCpuEntryPipeline(pm, interleaveRows); })))
    return failure();
  auto entry = module.lookupSymbol<func::FuncOp>("main");
  artifact::ArtifactContents contents;
  std::deque<std::string> storage;
  describeEntry(entry, contents, storage, stats);
  // The manifest has what the argument attributes said; LLVM IR has no use
  // for them (and warns about each).
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    entry.setArgAttrs(i, ArrayRef<NamedAttribute>{});
  for (unsigned i = 0; i < entry.getNumResults(); ++i)
    entry.setResultAttrs(i, ArrayRef<NamedAttribute>{});

  Stage stage(log);
  stage.begin("lowering to the LLVM dialect");
  if (failed(runPipeline(module, buildCpuLoweringPipeline)))
    return failure();
  stage.begin("generating code for " + options.cpu);
  CpuTargetOptions target;
  target.cpu = options.cpu;
  FailureOr<CpuBinary> binary = compileForCpu(module, target);
  if (failed(binary))
    return failure();
  stats.cpu = binary->cpu;

  contents.targetTriple = target.triple;
  contents.cpu = binary->cpu;
  contents.entrySymbol = binary->entrySymbol;
  contents.hostCode = binary->sharedObject.data();
  contents.hostCodeSize = binary->sharedObject.size();
  stage.begin("writing the artifact");
  if (Status status = artifact::writeArtifact(contents, outputPath); status.failed())
    return module.emitError() << "cannot write '" << outputPath << "': " << status.message();
  return success();
}

} // namespace lowbit
