//===- lowbit-quantize.cpp - llama-quantize, byte-compatible ---------------===//
//
//   lowbit-quantize IN.gguf OUT.gguf --type Q4_K_M [--imatrix FILE] [--threads N]
//   lowbit-quantize --stats IN.gguf [--reference FLOAT.gguf] [--metadata]
//
// Quantizing does what llama-quantize does: every tensor is decoded to f32
// (F32, F16, BF16 or an already-quantized type), given its type by the mix's
// per-tensor rules (lib/Gguf/Mixes), re-encoded by lib/Quant's quantizers,
// and written with the input's metadata plus general.file_type and
// general.quantization_version. The output goes through a temporary file, so
// a failure leaves no partial output behind.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Gguf/Imatrix.h"
#include "lowbit/Gguf/Mixes.h"
#include "lowbit/Gguf/Reader.h"
#include "lowbit/Gguf/TypeTable.h"
#include "lowbit/Gguf/Writer.h"
#include "lowbit/Quant/BlockQuant.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

using namespace lowbit;
using namespace lowbit::gguf;
using lowbit::quant::GgmlType;

namespace cl = llvm::cl;

namespace {

/// The command line, copied out of the llvm::cl options that main creates.
struct Settings {
  std::vector<std::string> files;
  std::string type, imatrix, reference, outputType, tokenEmbeddingType;
  int threads = 0;
  bool leaveOutput = false, pure = false, stats = false, showMetadata = false;
};
Settings settings;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr int64_t kChunkElements = int64_t(1) << 24; // 64 MiB of f32 per conversion step

int fail(const std::string &message) {
  llvm::errs() << "lowbit-quantize: error: " << message << "\n";
  return 1;
}

std::string mixList() {
  std::string s;
  for (Mix mix : allMixes())
    s += (s.empty() ? "" : ", ") + std::string(mixName(mix));
  return s;
}

/// lib/Quant's enum for a type id it can decode or encode, if any.
std::optional<GgmlType> codecType(uint32_t typeId) {
  const quant::GgmlTypeInfo *info = quant::ggmlTypeInfo(typeId);
  if (!info || !quant::canDequantize(info->type))
    return std::nullopt;
  return info->type;
}

//===----------------------------------------------------------------------===//
// Converting one tensor
//===----------------------------------------------------------------------===//

/// The importance of each column for matrix m of a tensor, from an imatrix
/// entry that holds either one set of ne[0] values or one per matrix (MoE).
Status importanceFor(const TensorInfo &t, const std::vector<float> *entry, std::vector<const float *> &perMatrix) {
  int64_t matrices = t.dim(2) * t.dim(3);
  perMatrix.assign(static_cast<size_t>(matrices), nullptr);
  if (!entry)
    return Status::ok();
  auto size = static_cast<int64_t>(entry->size());
  if (size != t.dim(0) && size != t.dim(0) * matrices)
    return Status::error("tensor '" + t.name + "': imatrix entry has " + std::to_string(size) +
                         " values, expected " + std::to_string(t.dim(0)) +
                         (matrices > 1 ? " or " + std::to_string(t.dim(0) * matrices) : std::string()));
  for (int64_t m = 0; m < matrices; ++m)
    perMatrix[static_cast<size_t>(m)] = entry->data() + (size == t.dim(0) ? 0 : m * t.dim(0));
  return Status::ok();
}

/// Decodes the tensor to f32 and encodes it as `target`, a chunk of rows at
/// a time so that memory stays bounded for large embeddings.
Status convertTensor(const GgufReader &input, const TensorInfo &t, GgmlType target, const std::vector<float> *imatrix,
                     std::vector<float> &scratch, std::vector<uint8_t> &out) {
  std::optional<GgmlType> source = codecType(t.type);
  if (!source)
    return Status::error("tensor '" + t.name + "': cannot decode type " + typeName(t.type) +
                         " (lowbit has no dequantizer for it)");
  std::vector<const float *> importance;
  if (Status s = importanceFor(t, imatrix, importance); s.failed())
    return s;

  int64_t rowLength = t.dim(0), rowsPerMatrix = t.dim(1);
  int64_t sourceRowBytes = quant::rowBytes(*source, rowLength);
  int64_t targetRowBytes = quant::rowBytes(target, rowLength);
  if (sourceRowBytes < 0 || targetRowBytes < 0)
    return Status::error("tensor '" + t.name + "': row length " + std::to_string(rowLength) + " does not fit " +
                         typeName(t.type) + " -> " + typeName(static_cast<uint32_t>(target)));
  out.resize(static_cast<size_t>(targetRowBytes * t.rowCount()));
  int64_t chunkRows = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(rowLength, 1));
  const uint8_t *src = input.tensorData(t);
  int threads = settings.threads;

  for (size_t m = 0; m < importance.size(); ++m) {
    for (int64_t r = 0; r < rowsPerMatrix; r += chunkRows) {
      int64_t rows = std::min(chunkRows, rowsPerMatrix - r);
      int64_t row = static_cast<int64_t>(m) * rowsPerMatrix + r;
      scratch.resize(static_cast<size_t>(rows * rowLength));
      if (Status s = quant::dequantizeRowsParallel(*source, src + row * sourceRowBytes, scratch.data(), rows,
                                                   rowLength, threads);
          s.failed())
        return s.context("tensor '" + t.name + "'");
      if (Status s = quant::quantizeRowsParallel(target, scratch.data(), out.data() + row * targetRowBytes, rows,
                                                 rowLength, importance[m], threads);
          s.failed())
        return s.context("tensor '" + t.name + "' rows " + std::to_string(row) + ".." +
                         std::to_string(row + rows - 1));
    }
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Quantizing a model
//===----------------------------------------------------------------------===//

struct Totals {
  double inputBytes = 0, outputBytes = 0, elements = 0;
  size_t quantized = 0, copied = 0, fellBack = 0, withoutImatrix = 0;
};

void printProgress(size_t i, size_t n, const TensorInfo &in, const TensorPlan &p, uint64_t outBytes) {
  std::string action = p.quantize ? typeName(in.type) + " -> " + typeName(p.type) : typeName(in.type) + " (copied)";
  if (p.fellBack)
    action += " (fallback)";
  std::printf("[%*zu/%zu] %-40s %-16s %-24s %9.2f MiB -> %9.2f MiB\n", static_cast<int>(std::to_string(n).size()),
              i + 1, n, in.name.c_str(), shapeString(in.shape).c_str(), action.c_str(), in.byteSize / kMiB,
              outBytes / kMiB);
  std::fflush(stdout);
}

Metadata outputMetadata(const GgufReader &input, Mix mix, const ImportanceMatrix *imatrix) {
  Metadata md = input.metadata();
  // ggml's gguf_set_val_* removes an existing key and appends it: the keys
  // llama-quantize sets always end up last, in this order.
  md.erase("general.quantization_version");
  md.set("general.quantization_version", Value::scalar<uint32_t>(2));
  md.erase("general.file_type");
  md.set("general.file_type", Value::scalar<uint32_t>(fileTypeOf(mix)));
  if (imatrix) {
    md.set("quantize.imatrix.file", Value::string(settings.imatrix));
    md.set("quantize.imatrix.entries_count", Value::scalar<int32_t>(static_cast<int32_t>(imatrix->entries.size())));
    if (!imatrix->dataset.empty())
      md.set("quantize.imatrix.dataset", Value::string(imatrix->dataset));
    if (imatrix->chunkCount > 0)
      md.set("quantize.imatrix.chunks_count", Value::scalar<int32_t>(static_cast<int32_t>(imatrix->chunkCount)));
  }
  return md;
}

void printSummary(const Totals &totals, double seconds) {
  double bitsIn = totals.elements > 0 ? totals.inputBytes * 8 / totals.elements : 0;
  double bitsOut = totals.elements > 0 ? totals.outputBytes * 8 / totals.elements : 0;
  std::printf("model size: %.2f MiB (%.4f bpw) -> %.2f MiB (%.4f bpw)\n", totals.inputBytes / kMiB, bitsIn,
              totals.outputBytes / kMiB, bitsOut);
  std::printf("tensors: %zu quantized, %zu copied, %zu with a fallback type", totals.quantized, totals.copied,
              totals.fellBack);
  if (totals.withoutImatrix)
    std::printf(", %zu without imatrix data", totals.withoutImatrix);
  std::printf("\ntime: %.2f s\n", seconds);
}

/// A ggml type name given on the command line; empty means none.
Status parseTensorType(const std::string &flag, const std::string &name, std::optional<GgmlType> &out) {
  if (name.empty())
    return Status::ok();
  out = quant::parseGgmlType(name);
  if (!out || !quant::canQuantize(*out))
    return Status::error("unknown " + flag + " '" + name + "'; expected a ggml type such as Q8_0, Q6_K or F16");
  return Status::ok();
}

Status mixOptionsFromSettings(bool haveImatrix, MixOptions &options) {
  options.haveImatrix = haveImatrix;
  options.leaveOutputTensor = settings.leaveOutput;
  options.pure = settings.pure;
  if (Status s = parseTensorType("--output-tensor-type", settings.outputType, options.outputType); s.failed())
    return s;
  return parseTensorType("--token-embedding-type", settings.tokenEmbeddingType, options.tokenEmbeddingType);
}

/// Produces the output tensors one by one for the writer, in plan order,
/// printing a progress line for each and keeping the totals.
class TensorProducer {
public:
  TensorProducer(const GgufReader &input, Mix mix, const std::vector<TensorPlan> &plan,
                 const ImportanceMatrix *imatrix)
      : input_(input), mix_(mix), plan_(plan), imatrix_(imatrix) {}

  Status operator()(size_t i, const TensorInfo &out, std::vector<uint8_t> &bytes) {
    const TensorPlan &p = plan_[i];
    const TensorInfo &in = input_.tensors()[p.index];
    if (p.quantize) {
      if (Status s = quantize(in, static_cast<GgmlType>(p.type), bytes); s.failed())
        return s;
    } else {
      bytes.assign(input_.tensorData(in), input_.tensorData(in) + in.byteSize);
    }
    count(in, out, p);
    printProgress(i, plan_.size(), in, p, out.byteSize);
    return Status::ok();
  }

  const Totals &totals() const { return totals_; }

private:
  Status quantize(const TensorInfo &in, GgmlType target, std::vector<uint8_t> &bytes) {
    const std::vector<float> *entry = imatrix_ ? imatrix_->find(in.name) : nullptr;
    totals_.withoutImatrix += imatrix_ && !entry;
    if (!entry && needsImatrix(mix_, target, in.name))
      return Status::error("tensor '" + in.name + "': " + std::string(mixName(mix_)) +
                           " needs importance data for it (--imatrix) at this bit width");
    return convertTensor(input_, in, target, entry, scratch_, bytes);
  }

  void count(const TensorInfo &in, const TensorInfo &out, const TensorPlan &p) {
    totals_.inputBytes += static_cast<double>(in.byteSize);
    totals_.outputBytes += static_cast<double>(out.byteSize);
    totals_.elements += static_cast<double>(in.elementCount());
    (p.quantize ? totals_.quantized : totals_.copied) += 1;
    totals_.fellBack += p.fellBack;
  }

  const GgufReader &input_;
  Mix mix_;
  const std::vector<TensorPlan> &plan_;
  const ImportanceMatrix *imatrix_;
  std::vector<float> scratch_; // reused across tensors
  Totals totals_;
};

/// The output tensor infos: the input's, in plan order, with the new types.
std::vector<TensorInfo> outputTensors(const GgufReader &input, const std::vector<TensorPlan> &plan) {
  std::vector<TensorInfo> outputs;
  for (const TensorPlan &p : plan) {
    TensorInfo t = input.tensors()[p.index];
    t.type = p.type;
    outputs.push_back(t);
  }
  return outputs;
}

int quantizeModel(const std::string &inPath, const std::string &outPath, Mix mix) {
  auto start = std::chrono::steady_clock::now();
  GgufReader input;
  if (Status s = GgufReader::open(inPath, input); s.failed())
    return fail(s.message());

  ModelInfo model;
  if (Status s = modelInfoFromMetadata(input.metadata(), model); s.failed())
    llvm::errs() << "lowbit-quantize: warning: " << s.message() << "; layer rules use defaults\n";

  ImportanceMatrix imatrix;
  bool haveImatrix = !settings.imatrix.empty();
  if (haveImatrix)
    if (Status s = loadImatrix(settings.imatrix, imatrix); s.failed())
      return fail(s.message());

  MixOptions options;
  std::vector<TensorPlan> plan;
  if (Status s = mixOptionsFromSettings(haveImatrix, options); s.failed())
    return fail(s.message());
  if (Status s = planMix(mix, model, input.tensors(), options, plan); s.failed())
    return fail(s.message());

  const ImportanceMatrix *importance = haveImatrix ? &imatrix : nullptr;
  TensorProducer producer(input, mix, plan, importance);
  TensorDataFn data = [&](size_t i, const TensorInfo &out, std::vector<uint8_t> &bytes) {
    return producer(i, out, bytes);
  };
  if (Status s = writeGguf(outPath, outputMetadata(input, mix, importance), outputTensors(input, plan), data);
      s.failed())
    return fail(s.message() + " (no output written)");

  printSummary(producer.totals(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

//===----------------------------------------------------------------------===//
// --stats
//===----------------------------------------------------------------------===//

struct ErrorSums {
  double squaredError = 0, squaredReference = 0;
  int64_t count = 0;
};

/// Accumulates (a - b)^2 over the tensors' elements, decoding both a chunk of
/// rows at a time.
Status compareTensors(const GgufReader &quantized, const TensorInfo &q, const GgufReader &reference,
                      const TensorInfo &r, ErrorSums &sums) {
  if (q.shape != r.shape)
    return Status::error("shape " + shapeString(q.shape) + " differs from the reference's " + shapeString(r.shape));
  std::optional<GgmlType> qType = codecType(q.type), rType = codecType(r.type);
  if (!qType || !rType)
    return Status::error("cannot decode " + typeName(qType ? r.type : q.type));
  int64_t rowLength = q.dim(0), rows = q.rowCount();
  int64_t qRowBytes = quant::rowBytes(*qType, rowLength), rRowBytes = quant::rowBytes(*rType, rowLength);
  int64_t chunkRows = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(rowLength, 1));
  std::vector<float> a, b;
  int threads = settings.threads;
  for (int64_t row = 0; row < rows; row += chunkRows) {
    int64_t n = std::min(chunkRows, rows - row);
    a.resize(static_cast<size_t>(n * rowLength));
    b.resize(a.size());
    if (Status s = quant::dequantizeRowsParallel(*qType, quantized.tensorData(q) + row * qRowBytes, a.data(), n,
                                                 rowLength, threads);
        s.failed())
      return s;
    if (Status s = quant::dequantizeRowsParallel(*rType, reference.tensorData(r) + row * rRowBytes, b.data(), n,
                                                 rowLength, threads);
        s.failed())
      return s;
    for (size_t i = 0; i < a.size(); ++i) {
      double d = static_cast<double>(a[i]) - b[i];
      sums.squaredError += d * d;
      sums.squaredReference += static_cast<double>(b[i]) * b[i];
    }
    sums.count += static_cast<int64_t>(a.size());
  }
  return Status::ok();
}

/// The header facts and the keys llama-quantize writes.
void printFileFacts(const std::string &path, const GgufReader &input) {
  std::printf("file: %s (GGUF v%u, %zu tensors, %zu metadata keys, alignment %u)\n", path.c_str(), input.version(),
              input.tensors().size(), input.metadata().size(), input.alignment());
  if (std::optional<std::string> arch = input.metadata().getString("general.architecture"))
    std::printf("general.architecture: %s\n", arch->c_str());
  if (std::optional<uint64_t> fileType = input.metadata().getUnsigned("general.file_type")) {
    std::string name = "unknown";
    for (Mix mix : allMixes())
      if (fileTypeOf(mix) == *fileType)
        name = std::string(mixName(mix));
    std::printf("general.file_type: %llu (%s)\n", static_cast<unsigned long long>(*fileType), name.c_str());
  }
  if (std::optional<uint64_t> version = input.metadata().getUnsigned("general.quantization_version"))
    std::printf("general.quantization_version: %llu\n", static_cast<unsigned long long>(*version));
  if (settings.showMetadata)
    for (const auto &[key, value] : input.metadata().entries())
      std::printf("  %s = %s\n", key.c_str(), value.toDisplayString().c_str());
}

int printStats(const std::string &path) {
  GgufReader input, reference;
  if (Status s = GgufReader::open(path, input); s.failed())
    return fail(s.message());
  bool haveReference = !settings.reference.empty();
  if (haveReference)
    if (Status s = GgufReader::open(settings.reference, reference); s.failed())
      return fail(s.message());

  printFileFacts(path, input);
  std::printf("%5s %-40s %-8s %-20s %8s", "#", "name", "type", "shape", "bpw");
  if (haveReference)
    std::printf(" %12s %10s", "rmse", "rel.rmse");
  std::printf("\n");
  double bytes = 0, elements = 0;
  ErrorSums all;
  for (size_t i = 0; i < input.tensors().size(); ++i) {
    const TensorInfo &t = input.tensors()[i];
    double n = static_cast<double>(t.elementCount());
    bytes += static_cast<double>(t.byteSize);
    elements += n;
    std::printf("%5zu %-40s %-8s %-20s %8.4f", i, t.name.c_str(), typeName(t.type).c_str(), shapeString(t.shape).c_str(),
                n > 0 ? t.byteSize * 8.0 / n : 0.0);
    if (haveReference) {
      const TensorInfo *r = reference.findTensor(t.name);
      ErrorSums sums;
      Status s = r ? compareTensors(input, t, reference, *r, sums) : Status::error("not in the reference");
      if (s.failed()) {
        std::printf("  (%s)", s.message().c_str());
      } else {
        std::printf(" %12.6g %10.6f", std::sqrt(sums.squaredError / std::max<int64_t>(sums.count, 1)),
                    sums.squaredReference > 0 ? std::sqrt(sums.squaredError / sums.squaredReference) : 0.0);
        all.squaredError += sums.squaredError;
        all.squaredReference += sums.squaredReference;
        all.count += sums.count;
      }
    }
    std::printf("\n");
  }
  std::printf("total: %zu tensors, %.2f MiB, %.4f bpw\n", input.tensors().size(), bytes / kMiB,
              elements > 0 ? bytes * 8 / elements : 0.0);
  if (haveReference && all.count > 0)
    std::printf("overall rmse: %.6g, relative %.6f\n", std::sqrt(all.squaredError / all.count),
                all.squaredReference > 0 ? std::sqrt(all.squaredError / all.squaredReference) : 0.0);
  return 0;
}

/// libLLVM.so registers options of its own (e.g. "threads", "stats") in the
/// same global namespace; rename those so that lowbit-quantize's flags can
/// have llama-quantize's names. Must run before our options are created.
void claimOptionNames(std::initializer_list<const char *> names) {
  auto &registered = cl::getRegisteredOptions();
  for (const char *name : names)
    if (auto it = registered.find(name); it != registered.end())
      it->second->setArgStr(registered.find(std::string("llvm-") + name) == registered.end()
                                ? "llvm-" + std::string(name)
                                : "llvm-lowbit-" + std::string(name));
}

void parseCommandLine(int argc, char **argv) {
  claimOptionNames({"type", "imatrix", "threads", "leave-output-tensor", "pure", "stats", "reference", "metadata",
                    "output-tensor-type", "token-embedding-type"});
  cl::OptionCategory category("lowbit-quantize options");
  cl::list<std::string> files(cl::Positional, cl::desc("IN.gguf OUT.gguf [TYPE]"), cl::cat(category));
  cl::opt<std::string> type("type", cl::desc("The quantization mix (Q4_K_M, Q8_0, ...)"), cl::value_desc("mix"),
                            cl::cat(category));
  cl::opt<std::string> imatrix("imatrix", cl::desc("Importance matrix: llama.cpp's imatrix.dat or GGUF imatrix"),
                               cl::value_desc("file"), cl::cat(category));
  cl::opt<unsigned> threads("threads", cl::desc("Worker threads (0: one per hardware thread)"), cl::init(0),
                            cl::cat(category));
  cl::opt<bool> leaveOutput("leave-output-tensor", cl::desc("Keep output.weight in its input type"),
                            cl::cat(category));
  cl::opt<std::string> outputType("output-tensor-type", cl::desc("The ggml type of output.weight"),
                                  cl::value_desc("type"), cl::cat(category));
  cl::opt<std::string> tokenEmbeddingType("token-embedding-type", cl::desc("The ggml type of token_embd.weight"),
                                          cl::value_desc("type"), cl::cat(category));
  cl::opt<bool> pure("pure", cl::desc("Use the mix's default type for every quantized tensor"), cl::cat(category));
  cl::opt<bool> stats("stats", cl::desc("Print each tensor's type, shape and bits per weight"), cl::cat(category));
  cl::opt<std::string> reference("reference", cl::desc("With --stats: a float model to measure the RMSE against"),
                                 cl::value_desc("file"), cl::cat(category));
  cl::opt<bool> showMetadata("metadata", cl::desc("With --stats: list every metadata key and value"),
                             cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "lowbit-quantize: quantize a GGUF model with llama.cpp's mixes\n\n"
                              "  lowbit-quantize IN.gguf OUT.gguf --type Q4_K_M [--imatrix FILE] [--threads N]\n"
                              "  lowbit-quantize --stats IN.gguf [--reference FLOAT.gguf] [--metadata]\n");
  settings.files.assign(files.begin(), files.end());
  settings.type = type;
  settings.imatrix = imatrix;
  settings.reference = reference;
  settings.outputType = outputType;
  settings.tokenEmbeddingType = tokenEmbeddingType;
  settings.threads = static_cast<int>(threads);
  settings.leaveOutput = leaveOutput;
  settings.pure = pure;
  settings.stats = stats;
  settings.showMetadata = showMetadata;
}

} // namespace

int main(int argc, char **argv) {
  parseCommandLine(argc, argv);
  const std::vector<std::string> &files = settings.files;
  if (settings.stats) {
    if (files.size() != 1)
      return fail("--stats takes exactly one input file");
    return printStats(files[0]);
  }
  if (!settings.reference.empty())
    return fail("--reference is only meaningful with --stats");

  // llama-quantize's form "IN OUT TYPE" is accepted too.
  std::string typeName = settings.type;
  if (files.size() == 3 && typeName.empty())
    typeName = files[2];
  else if (files.size() != 2)
    return fail("expected IN.gguf OUT.gguf (got " + std::to_string(files.size()) + " file arguments)");
  if (typeName.empty())
    return fail("no --type given; expected one of: " + mixList());
  std::optional<Mix> mix = parseMix(typeName);
  if (!mix)
    return fail("unknown --type '" + typeName + "'; expected one of: " + mixList());
  return quantizeModel(files[0], files[1], *mix);
}
