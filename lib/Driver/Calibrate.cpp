//===- Calibrate.cpp - Calibration statistics through lowbit's runtime ----===//
//
// lowbit-compile --calibrate: the float model, with every weight matmul's
// input made an extra output (lowbit-insert-observers,
// lowbit-observers-to-results), is compiled to a temporary artifact and run
// by the runtime on windows of calibration tokens; each output's rows are
// added to its input's CalibStats. The runtime already returns
// dynamic-shaped outputs, so this needs no runtime hook.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Driver/Driver.h"

#include "lowbit/Transforms/Passes.h"
#include "lowbit/runtime.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"

#include <cstring>

#include <chrono>
#include <map>

using namespace mlir;

namespace lowbit {
namespace {

/// What calibration feeds the model: one int array [samples, width] per
/// model input, by name ("" for a .npy of tokens, fed to the one input),
/// and each sample's length (its first `lengths[s]` columns are fed).
struct CalibrationInputs {
  std::map<std::string, std::vector<int64_t>> arrays;
  int64_t samples = 0, width = 0;
  std::vector<int64_t> lengths;
};

/// The int32 or int64 values and shape of an .npy (C order), as numpy
/// writes it; `fail` names what is wrong.
template <typename Fail>
LogicalResult parseNpy(StringRef bytes, std::vector<int64_t> &values, std::vector<int64_t> &shape, Fail fail) {
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return fail("not an .npy file");
  uint8_t major = bytes[6];
  size_t lengthBytes = major == 1 ? 2 : 4, headerLength = 0;
  if (bytes.size() < 8 + lengthBytes)
    return fail("truncated header");
  for (size_t i = 0; i < lengthBytes; ++i)
    headerLength |= size_t(uint8_t(bytes[8 + i])) << (8 * i);
  size_t dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.size())
    return fail("truncated header");
  StringRef header = bytes.slice(8 + lengthBytes, dataStart);
  if (header.contains("'fortran_order': True"))
    return fail("Fortran order is not supported");
  size_t width = header.contains("'<i4'") ? 4 : header.contains("'<i8'") ? 8 : 0;
  if (!width)
    return fail("token ids must be int32 or int64 (little-endian), header " + header.trim());
  shape.clear();
  size_t open = header.find("'shape': ("), close = header.find(')', open);
  if (open != StringRef::npos && close != StringRef::npos)
    for (StringRef dim : llvm::split(header.slice(open + 10, close), ','))
      if (int64_t d; !dim.trim().getAsInteger(10, d))
        shape.push_back(d);
  StringRef data = bytes.drop_front(dataStart);
  values.resize(data.size() / width);
  for (size_t i = 0; i < values.size(); ++i) {
    if (width == 4) {
      int32_t t;
      std::memcpy(&t, data.data() + 4 * i, 4);
      values[i] = t;
    } else {
      std::memcpy(&values[i], data.data() + 8 * i, 8);
    }
  }
  return success();
}

/// Token ids from a .npy file (any shape): windows of --calib-seqlen laid
/// end to end, as scripts/make-eval-data.py writes them.
LogicalResult readTokens(ModuleOp module, const CompileOptions &options, StringRef bytes, CalibrationInputs &out,
                         llvm::raw_ostream &log) {
  auto fail = [&](const Twine &why) { return module.emitError() << "--calibrate '" << options.calibrate << "': " << why; };
  std::vector<int64_t> tokens, shape;
  if (failed(parseNpy(bytes, tokens, shape, fail)))
    return failure();
  out.samples = std::min<int64_t>(options.calibSamples, int64_t(tokens.size()) / options.calibSeqLen);
  if (out.samples < 1)
    return module.emitError() << "calibration: " << tokens.size() << " tokens are fewer than one window of "
                              << options.calibSeqLen;
  if (out.samples < options.calibSamples)
    log << llvm::formatv("lowbit-compile: calibration: the tokens hold only {0} windows of {1}\n", out.samples,
                         options.calibSeqLen);
  out.width = options.calibSeqLen;
  tokens.resize(out.samples * out.width);
  out.arrays[""] = std::move(tokens);
  out.lengths.assign(out.samples, out.width);
  return success();
}

/// An .npz (numpy.savez: a zip of .npy files, stored, not compressed) with
/// one array [rows, width] per model input, named after it (an encoder's
/// input_ids, attention_mask, token_type_ids). Each of the first
/// --calib-samples rows is one sample, cut to its attention_mask length when
/// there is an attention_mask (the padding is not calibrated on).
LogicalResult readNpz(ModuleOp module, const CompileOptions &options, StringRef bytes, CalibrationInputs &out,
                      llvm::raw_ostream &log) {
  auto fail = [&](const Twine &why) { return module.emitError() << "--calibrate '" << options.calibrate << "': " << why; };
  auto u16 = [&](size_t at) { return uint32_t(uint8_t(bytes[at])) | uint32_t(uint8_t(bytes[at + 1])) << 8; };
  auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
  std::vector<int64_t> shape0;
  for (size_t at = 0; at + 30 <= bytes.size() && u32(at) == 0x04034b50;) { // local file headers
    uint32_t method = u16(at + 8), flags = u16(at + 6), size = u32(at + 18), nameLength = u16(at + 26),
             extraLength = u16(at + 28);
    size_t data = at + 30 + nameLength + extraLength;
    if (data > bytes.size() || data + size > bytes.size())
      return fail("truncated zip entry");
    StringRef name = bytes.slice(at + 30, at + 30 + nameLength);
    if (method != 0)
      return fail("'" + name + "' is compressed; write the arrays with numpy.savez, not savez_compressed");
    if (flags & 8)
      return fail("'" + name + "': zip entries with a data descriptor are not supported");
    if (!name.consume_back(".npy"))
      return fail("'" + name + "' is not an .npy array");
    std::vector<int64_t> values, shape;
    auto failArray = [&](const Twine &why) { return fail("array '" + name + "': " + why); };
    if (failed(parseNpy(bytes.slice(data, data + size), values, shape, failArray)))
      return failure();
    if (shape.size() != 2)
      return failArray("must be 2-D [samples, length]");
    if (!out.arrays.empty() && shape != shape0)
      return failArray(llvm::formatv("shape [{0}, {1}] differs from the others' [{2}, {3}]", shape[0], shape[1],
                                     shape0[0], shape0[1]));
    shape0 = shape;
    out.arrays[name.str()] = std::move(values);
    at = data + size;
  }
  if (out.arrays.empty())
    return fail("no arrays (not an .npz written by numpy.savez?)");
  out.samples = std::min<int64_t>(options.calibSamples, shape0[0]);
  out.width = shape0[1];
  if (out.samples < 1 || out.width < 1)
    return fail("the arrays are empty");
  if (out.samples < options.calibSamples)
    log << llvm::formatv("lowbit-compile: calibration: the arrays hold only {0} samples\n", out.samples);
  out.lengths.assign(out.samples, out.width);
  if (auto mask = out.arrays.find("attention_mask"); mask != out.arrays.end())
    for (int64_t s = 0; s < out.samples; ++s) {
      int64_t length = 0;
      for (int64_t t = 0; t < out.width; ++t)
        if (mask->second[s * out.width + t] != 0)
          length = t + 1;
      out.lengths[s] = std::max<int64_t>(length, 1);
    }
  return success();
}

LogicalResult readCalibrationInputs(ModuleOp module, const CompileOptions &options, CalibrationInputs &out,
                                    llvm::raw_ostream &log) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file = llvm::MemoryBuffer::getFile(options.calibrate);
  if (!file)
    return module.emitError() << "--calibrate '" << options.calibrate << "': " << file.getError().message();
  StringRef bytes = (*file)->getBuffer();
  if (bytes.starts_with("PK\x03\x04"))
    return readNpz(module, options, bytes, out, log);
  return readTokens(module, options, bytes, out, log);
}

/// The calibration model: the float module with the observed activations
/// as extra outputs; fills `inputs` with one entry per observer.
FailureOr<OwningOpRef<ModuleOp>> observedModel(ModuleOp module, const CompileOptions &options,
                                                std::vector<ObservedInput> &inputs) {
  OwningOpRef<ModuleOp> clone(module.clone());
  PassManager insert(module.getContext());
  insert.addPass(createInsertObserversPass());
  if (failed(insert.run(*clone)))
    return failure();
  LogicalResult init = success();
  clone->walk([&](ObserveOp op) {
    ObservedInput &in = inputs.emplace_back();
    in.name = op.getKey().str();
    if (auto weights = op->getAttrOfType<ArrayAttr>("lowbit.weights"))
      for (Attribute w : weights)
        in.weights.push_back(cast<StringAttr>(w).str());
    int64_t k = cast<ShapedType>(op.getType()).getShape().back();
    // X^T X is allocated when the input's chunk is calibrated.
    if (Status s = quant::initCalibStats(k, /*withGram=*/false, in.stats); s.failed())
      init = op.emitError() << "cannot calibrate '" << in.name << "': " << s.message();
  });
  PassManager results(module.getContext());
  results.addPass(createObserversToResultsPass());
  if (failed(init) || failed(results.run(*clone)))
    return failure();
  return clone;
}

/// Deletes the temporary artifact however the calibration ends.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

struct Model {
  lowbit_model *model = nullptr;
  lowbit_session *session = nullptr;
  ~Model() {
    if (session)
      lowbit_session_destroy(session);
    if (model)
      lowbit_model_close(model);
  }
};

/// Bytes of X^T X that calibrating `in` holds (8 K^2: doubles, both
/// triangles); the other statistics are O(K).
int64_t gramBytes(const ObservedInput &in, const CompileOptions &options) {
  return options.needsGram() ? 8 * in.stats.channels * in.stats.channels : 0;
}

/// Splits the inputs, in program order (so a chunk is a run of layers),
/// into runs whose X^T X fit in --calib-max-memory; an input larger than
/// the budget is a chunk of its own. One chunk when there is no bound.
std::vector<std::pair<size_t, size_t>> planChunks(const std::vector<ObservedInput> &inputs,
                                                  const CompileOptions &options) {
  std::vector<std::pair<size_t, size_t>> chunks;
  const int64_t budget = options.calibMaxMemoryMB * (int64_t(1) << 20);
  int64_t used = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    int64_t bytes = gramBytes(inputs[i], options);
    if (chunks.empty() || (budget > 0 && used + bytes > budget && used > 0)) {
      chunks.push_back({i, i});
      used = 0;
    }
    chunks.back().second = i + 1;
    used += bytes;
  }
  return chunks;
}

/// The calibration model opened in the runtime, and for each of its inputs
/// the array fed to it.
struct CalibrationRun {
  Model m;
  std::vector<lowbit_tensor_info> inputs;
  std::vector<const std::vector<int64_t> *> arrays;
  std::map<std::string, size_t> outputOf;
  /// The fed values, per input: the session reads them when it runs.
  std::vector<std::vector<int64_t>> ids64;
  std::vector<std::vector<int32_t>> ids32;
};

LogicalResult openCalibration(ModuleOp module, const CompileOptions &options, StringRef artifact,
                              const CalibrationInputs &data, CalibrationRun &run) {
  auto runtimeError = [&](const Twine &what) {
    return module.emitError() << "calibration: " << what << ": " << lowbit_last_error();
  };
  Model &m = run.m;
  if (lowbit_model_open(artifact.str().c_str(), &m.model) != LOWBIT_OK)
    return runtimeError("cannot open the calibration model");
  lowbit_session_options sessionOptions{options.threads};
  if (lowbit_session_create(m.model, &sessionOptions, &m.session) != LOWBIT_OK)
    return runtimeError("cannot create a session");
  size_t count = lowbit_model_num_inputs(m.model);
  bool tokens = data.arrays.count("");
  if (tokens && count != 1)
    return module.emitError() << "calibration: the model has " << count
                              << " inputs; a .npy of token ids feeds a model with one (input_ids); give an .npz "
                                 "with one array per input";
  for (size_t i = 0; i < count; ++i) {
    lowbit_tensor_info &info = run.inputs.emplace_back();
    (void)lowbit_model_input_info(m.model, i, &info);
    if (info.dtype != LOWBIT_I64 && info.dtype != LOWBIT_I32)
      return module.emitError() << "calibration: input '" << info.name << "' is not int64 or int32";
    auto array = data.arrays.find(tokens ? "" : info.name);
    if (array == data.arrays.end()) {
      std::string names;
      for (const auto &[name, values] : data.arrays)
        names += (names.empty() ? "" : ", ") + name;
      return module.emitError() << "calibration: '" << options.calibrate << "' has no array for the model's input '"
                                << info.name << "' (it has " << names << ")";
    }
    run.arrays.push_back(&array->second);
  }
  for (size_t i = 0; i < lowbit_model_num_outputs(m.model); ++i) {
    lowbit_tensor_info info;
    (void)lowbit_model_output_info(m.model, i, &info);
    run.outputOf[info.name] = i;
  }
  return success();
}

/// Sets every model input to sample `s` (batch 1).
bool feedSample(CalibrationRun &run, const CalibrationInputs &data, int64_t s) {
  const int64_t length = data.lengths[s];
  int64_t dims[2] = {1, length};
  run.ids64.resize(run.inputs.size());
  run.ids32.resize(run.inputs.size());
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    const int64_t *row = run.arrays[i]->data() + s * data.width;
    std::vector<int64_t> &ids64 = run.ids64[i];
    std::vector<int32_t> &ids32 = run.ids32[i];
    ids64.resize(length);
    ids32.resize(length);
    for (int64_t t = 0; t < length; ++t)
      ids32[t] = int32_t(ids64[t] = row[t]);
    const void *values = run.inputs[i].dtype == LOWBIT_I64 ? (const void *)ids64.data() : (const void *)ids32.data();
    if (lowbit_session_set_input(run.m.session, i, values, dims, 2) != LOWBIT_OK)
      return false;
  }
  return true;
}

/// One pass over the token windows, adding the rows of inputs
/// [begin, end) to their statistics; the others' outputs are ignored.
LogicalResult calibrateChunk(ModuleOp module, const CompileOptions &options, CalibrationRun &run,
                             const CalibrationInputs &data, std::vector<ObservedInput> &inputs, size_t begin,
                             size_t end, double &runSeconds, double &statSeconds, llvm::raw_ostream &log) {
  auto runtimeError = [&](const Twine &what) {
    return module.emitError() << "calibration: " << what << ": " << lowbit_last_error();
  };
  for (int64_t s = 0; s < data.samples; ++s) {
    auto t0 = std::chrono::steady_clock::now();
    if (!feedSample(run, data, s) || lowbit_session_run(run.m.session) != LOWBIT_OK)
      return runtimeError(llvm::formatv("sample {0}", s + 1));
    auto t1 = std::chrono::steady_clock::now();
    for (size_t i = begin; i < end; ++i) {
      ObservedInput &in = inputs[i];
      lowbit_tensor out;
      if (lowbit_session_output(run.m.session, run.outputOf.at("observe:" + in.name), &out) != LOWBIT_OK)
        return runtimeError("observer '" + in.name + "'");
      int64_t rows = 1;
      for (int32_t d = 0; d + 1 < out.rank; ++d)
        rows *= out.dims[d];
      if (out.dtype != LOWBIT_F32 || out.rank < 1 || out.dims[out.rank - 1] != in.stats.channels)
        return module.emitError() << "calibration: observer '" << in.name << "' returned an unexpected tensor";
      if (Status st = quant::accumulateCalibStats(in.stats, static_cast<const float *>(out.data), rows, options.threads);
          st.failed())
        return module.emitError() << "calibration: sample " << s + 1 << ", input of '" << in.name
                                  << "': " << st.message();
    }
    auto t2 = std::chrono::steady_clock::now();
    runSeconds += std::chrono::duration<double>(t1 - t0).count();
    statSeconds += std::chrono::duration<double>(t2 - t1).count();
    log << llvm::formatv("lowbit-compile: calibration sample {0}/{1}: model {2:F2} s, statistics {3:F2} s\n", s + 1,
                         data.samples, std::chrono::duration<double>(t1 - t0).count(),
                         std::chrono::duration<double>(t2 - t1).count());
  }
  return success();
}

/// Runs the calibration artifact on the token windows, one pass per chunk
/// of inputs (planChunks). With one chunk the statistics stay in memory;
/// with several, each chunk's go to `writer` as soon as it is done and its
/// X^T X are freed, so at most one chunk's are held.
LogicalResult runCalibration(ModuleOp module, const CompileOptions &options, StringRef artifact,
                             const CalibrationInputs &data, std::vector<ObservedInput> &inputs,
                             const std::vector<std::pair<size_t, size_t>> &chunks, CalibrationFileWriter *writer,
                             llvm::raw_ostream &log) {
  CalibrationRun run;
  if (failed(openCalibration(module, options, artifact, data, run)))
    return failure();
  auto start = std::chrono::steady_clock::now();
  double runSeconds = 0, statSeconds = 0;
  for (auto [index, chunk] : llvm::enumerate(chunks)) {
    auto [begin, end] = chunk;
    int64_t bytes = 0;
    for (size_t i = begin; i < end; ++i) {
      bytes += gramBytes(inputs[i], options);
      if (Status s = quant::initCalibStats(inputs[i].stats.channels, options.needsGram(), inputs[i].stats);
          s.failed())
        return module.emitError() << "cannot calibrate '" << inputs[i].name << "': " << s.message();
    }
    if (chunks.size() > 1)
      log << llvm::formatv("lowbit-compile: calibration pass {0}/{1}: inputs {2}-{3} of {4}, X^T X {5:F1} MB\n",
                           index + 1, chunks.size(), begin + 1, end, inputs.size(), double(bytes) / (1 << 20));
    if (failed(calibrateChunk(module, options, run, data, inputs, begin, end, runSeconds, statSeconds, log)))
      return failure();
    if (!writer)
      continue;
    for (size_t i = begin; i < end; ++i) {
      if (Status s = writer->append(inputs[i]); s.failed())
        return module.emitError() << "calibration: " << s.message();
      std::vector<double>().swap(inputs[i].stats.gram);
    }
  }
  int64_t tokens = 0;
  for (int64_t length : data.lengths)
    tokens += length;
  std::string what = data.arrays.count("") ? llvm::formatv("{0} x {1} tokens", data.samples, data.width).str()
                                           : llvm::formatv("{0} samples ({1} tokens)", data.samples, tokens).str();
  log << llvm::formatv("lowbit-compile: calibrated {0} inputs on {1} in {2:F1} s (model {3:F1} s, "
                       "statistics {4:F1} s){5}\n",
                       inputs.size(), what,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), runSeconds,
                       statSeconds, chunks.size() > 1 ? llvm::formatv(", {0} passes", chunks.size()).str() : "");
  return success();
}

} // namespace

FailureOr<std::shared_ptr<CalibrationData>> calibrateModel(ModuleOp module, const CompileOptions &options,
                                                           llvm::raw_ostream &log) {
  auto data = std::make_shared<CalibrationData>();
  if (options.calibrate.empty()) {
    if (options.calibStats.empty()) {
      if (options.needsCalibration())
        return module.emitError() << "--method " << options.method
                                  << " needs calibration: --calibrate TOKENS.npy or --calib-stats FILE";
      return std::shared_ptr<CalibrationData>();
    }
    // X^T X stays in the file until GPTQ or AWQ reads it, one input at a time.
    if (Status s = readCalibrationFile(options.calibStats, options.needsGram(), *data, /*lazyGram=*/true);
        s.failed())
      return module.emitError() << "--calib-stats: " << s.message();
    return data;
  }
  if (options.calibSamples < 1 || options.calibSeqLen < 1)
    return module.emitError() << "--calib-samples and --calib-seqlen must be positive";
  CalibrationInputs samples;
  if (failed(readCalibrationInputs(module, options, samples, log)))
    return failure();
  FailureOr<OwningOpRef<ModuleOp>> observed = observedModel(module, options, data->inputs);
  if (failed(observed))
    return failure();
  TempFile artifact;
  int fd;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("lowbit-calibration", "lbm", fd, artifact.path))
    return module.emitError() << "calibration: cannot create a temporary file: " << ec.message();
  llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  log << "lowbit-compile: compiling the float model with " << data->inputs.size() << " observed inputs\n";
  CompileStats ignored;
  CompileOptions floatOptions = options;
  if (failed(emitCpuArtifact(**observed, floatOptions, artifact.path.str().str(), ignored, log)))
    return failure();
  std::vector<std::pair<size_t, size_t>> chunks = planChunks(data->inputs, options);
  if (chunks.size() == 1) {
    if (failed(runCalibration(module, options, artifact.path, samples, data->inputs, chunks, nullptr, log)))
      return failure();
    if (!options.saveCalib.empty()) {
      if (Status s = writeCalibrationFile(*data, options.saveCalib, options.needsGram()); s.failed())
        return module.emitError() << "--save-calib: " << s.message();
      log << "lowbit-compile: wrote calibration statistics to " << options.saveCalib << "\n";
    }
    return data;
  }
  // Several passes: each chunk's statistics go to the file (--save-calib's,
  // or a temporary one kept as long as the statistics are) and the passes
  // read X^T X back one input at a time, as with --calib-stats.
  auto statsFile = std::make_shared<TempFile>();
  std::string path = options.saveCalib;
  if (path.empty()) {
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("lowbit-calibration", "calib", fd, statsFile->path))
      return module.emitError() << "calibration: cannot create a temporary file: " << ec.message();
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
    path = statsFile->path.str().str();
  }
  CalibrationFileWriter writer;
  if (Status s = writer.open(path, data->inputs.size(), options.needsGram()); s.failed())
    return module.emitError() << "calibration: " << s.message();
  if (failed(runCalibration(module, options, artifact.path, samples, data->inputs, chunks, &writer, log)))
    return failure();
  if (Status s = writer.finish(); s.failed())
    return module.emitError() << "calibration: " << s.message();
  if (!options.saveCalib.empty())
    log << "lowbit-compile: wrote calibration statistics to " << options.saveCalib << "\n";
  if (Status s = readCalibrationFile(path, options.needsGram(), *data, /*lazyGram=*/true); s.failed())
    return module.emitError() << "calibration: " << s.message();
  if (options.saveCalib.empty())
    data->fileOwner = statsFile;
  return data;
}

} // namespace lowbit
