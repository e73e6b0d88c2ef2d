//===- Runtime.cpp - lowbit's C runtime API -------------------------------===//
//
// A model is the mapped artifact plus its code loaded on the CPU device;
// a session is a stream (a thread pool) plus the run's bindings and
// outputs. A run builds one memref descriptor per input (contiguous,
// row-major) and per weight (into the mapped Weights section), calls the
// entry function as docs/ARTIFACT.md describes, and takes over the output
// buffers.
//
//===----------------------------------------------------------------------===//

#include "lowbit/runtime.h"
#include "lowbit/ArtifactFormat.h"

#include "Artifact.h"
#include "CpuDevice.h"
#include "Device.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

using namespace lowbit;
using namespace lowbit::runtime;

namespace {

thread_local std::string tlsLastError;

/// More threads than any machine has cores: a typo, not a request.
constexpr int32_t kMaxThreads = 4096;

lowbit_status fail(lowbit_status status, std::string message) {
  tlsLastError = std::move(message);
  return status;
}

std::string dimsText(const int64_t *dims, size_t rank) {
  std::string s = "[";
  for (size_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

/// Words of a rank-R memref descriptor: allocated, aligned, offset, sizes, strides.
size_t descriptorWords(size_t rank) { return 3 + 2 * rank; }

/// Writes a contiguous row-major descriptor of `data` shaped `dims`.
void fillDescriptor(int64_t *d, const void *data, const std::vector<int64_t> &dims) {
  const size_t rank = dims.size();
  d[0] = d[1] = static_cast<int64_t>(reinterpret_cast<uintptr_t>(data));
  d[2] = 0;
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    d[3 + i] = dims[i];
    d[3 + rank + i] = stride;
    stride *= dims[i];
  }
}

} // namespace

struct lowbit_model {
  std::atomic<int> references{1}; // the opener's, plus one per session
  std::unique_ptr<Artifact> artifact;
  std::unique_ptr<Device> device;
  std::unique_ptr<Module> module;
  std::vector<lowbit_tensor_info> inputs, outputs;

  void release() {
    if (references.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }
};

struct lowbit_session {
  lowbit_model *model = nullptr;
  std::unique_ptr<Stream> stream;

  struct Binding {
    const void *data = nullptr;
    std::vector<int64_t> dims;
    bool bound = false;
  };
  std::vector<Binding> inputs;
  std::vector<std::vector<int64_t>> weightDescriptors;

  struct Output {
    lowbit_dtype dtype = LOWBIT_F32;
    std::vector<int64_t> dims;
    const void *data = nullptr;
  };
  std::vector<Output> outputs;
  std::vector<void *> owned; // buffers freed before the next run
  bool haveOutputs = false;

  void releaseOutputs() {
    // Through the stream's allocator, which keeps the large blocks it handed
    // out for the next run (and frees any other).
    const lowbit_dispatch_context *ctx = stream ? stream->dispatchContext() : nullptr;
    for (void *p : owned)
      if (ctx && ctx->dealloc)
        ctx->dealloc(ctx, p);
      else
        std::free(p);
    owned.clear();
    outputs.clear();
    haveOutputs = false;
  }
};

namespace {

/// Takes over the outputs the entry function left in `results`; `inputs`
/// are the run's input ranges (an output must not be one of them).
lowbit_status takeOutputs(lowbit_session *s, const std::vector<int64_t> &results) {
  const Manifest &m = s->model->artifact->manifest();
  const Artifact &artifact = *s->model->artifact;
  // Every distinct allocated pointer is freed once, whatever happens below.
  std::set<void *> toFree;
  size_t at = 0;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    const size_t rank = m.outputs[i].dims.size();
    void *allocated = reinterpret_cast<void *>(static_cast<uintptr_t>(results[at]));
    if (allocated && !artifact.contains(allocated))
      toFree.insert(allocated);
    at += descriptorWords(rank);
  }
  for (const lowbit_session::Binding &b : s->inputs)
    toFree.erase(const_cast<void *>(b.data));
  s->owned.assign(toFree.begin(), toFree.end());

  at = 0;
  s->outputs.resize(m.outputs.size());
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    const TensorInfo &info = m.outputs[i];
    const size_t rank = info.dims.size();
    const int64_t *d = results.data() + at;
    at += descriptorWords(rank);
    const std::string what = "output " + std::to_string(i) + " ('" + info.name + "')";
    const uint64_t elementSize = lowbit::artifact::dtypeSize(info.dtype);
    lowbit_session::Output &out = s->outputs[i];
    out.dtype = info.dtype;
    out.dims.assign(d + 3, d + 3 + rank);
    uint64_t elements = 1;
    bool contiguous = true;
    int64_t expectedStride = 1;
    for (size_t k = rank; k-- > 0;) {
      const int64_t size = d[3 + k], stride = d[3 + rank + k];
      if (size < 0 || (info.dims[k] >= 0 && size != info.dims[k]))
        return fail(LOWBIT_ERROR_RUNTIME, "the model returned " + what + " shaped " +
                                              dimsText(d + 3, rank) + ", but it is declared " +
                                              dimsText(info.dims.data(), rank));
      if (size && elements > (UINT64_MAX / elementSize) / static_cast<uint64_t>(size))
        return fail(LOWBIT_ERROR_RUNTIME, "the model returned " + what + " with an impossible size");
      elements *= static_cast<uint64_t>(size);
      if (size != 1 && stride != expectedStride)
        contiguous = false;
      expectedStride *= size;
    }
    const uint8_t *aligned = reinterpret_cast<const uint8_t *>(static_cast<uintptr_t>(d[1]));
    const uint8_t *data = aligned + d[2] * static_cast<int64_t>(elementSize);
    const bool owned = std::find(s->owned.begin(), s->owned.end(), reinterpret_cast<void *>(d[0])) != s->owned.end();
    if (elements == 0) {
      out.data = nullptr;
      continue;
    }
    if (contiguous && owned) {
      out.data = data;
      continue;
    }
    // Not a buffer we own (a weight or an input passed through) or not
    // row-major: copy it into one that is.
    void *copy = std::malloc(elements * elementSize);
    if (!copy)
      return fail(LOWBIT_ERROR_RUNTIME, "out of memory copying " + what);
    s->owned.push_back(copy);
    std::vector<int64_t> index(rank, 0);
    uint8_t *dst = static_cast<uint8_t *>(copy);
    for (uint64_t e = 0; e < elements; ++e) {
      int64_t offset = 0;
      for (size_t k = 0; k < rank; ++k)
        offset += index[k] * d[3 + rank + k];
      std::memcpy(dst + e * elementSize, data + offset * static_cast<int64_t>(elementSize), elementSize);
      for (size_t k = rank; k-- > 0;) {
        if (++index[k] < d[3 + k])
          break;
        index[k] = 0;
      }
    }
    out.data = copy;
  }
  s->haveOutputs = true;
  return LOWBIT_OK;
}

} // namespace

extern "C" {

const char *lowbit_last_error(void) { return tlsLastError.c_str(); }

size_t lowbit_dtype_size(lowbit_dtype dtype) { return static_cast<size_t>(lowbit::artifact::dtypeSize(dtype)); }

lowbit_status lowbit_model_open(const char *path, lowbit_model **model) {
  if (!path || !model)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_model_open: null path or model pointer");
  *model = nullptr;
  std::unique_ptr<lowbit_model> m(new lowbit_model());
  bool ioError = false;
  if (Status s = Artifact::open(path, m->artifact, ioError); s.failed())
    return fail(ioError ? LOWBIT_ERROR_IO : LOWBIT_ERROR_FORMAT, s.message());
  m->device = createCpuDevice();
  bool unsupported = false;
  if (Status s = m->device->loadModule(m->artifact->parsed(), m->module, unsupported); s.failed())
    return fail(unsupported ? LOWBIT_ERROR_UNSUPPORTED : LOWBIT_ERROR_FORMAT, std::string(path) + ": " + s.message());
  const Manifest &manifest = m->artifact->manifest();
  for (const TensorInfo &t : manifest.inputs)
    m->inputs.push_back({t.name.c_str(), t.dtype, static_cast<int32_t>(t.dims.size()), t.dims.data()});
  for (const TensorInfo &t : manifest.outputs)
    m->outputs.push_back({t.name.c_str(), t.dtype, static_cast<int32_t>(t.dims.size()), t.dims.data()});
  *model = m.release();
  return LOWBIT_OK;
}

void lowbit_model_close(lowbit_model *model) {
  if (model)
    model->release();
}

size_t lowbit_model_num_inputs(const lowbit_model *model) { return model ? model->inputs.size() : 0; }
size_t lowbit_model_num_outputs(const lowbit_model *model) { return model ? model->outputs.size() : 0; }

lowbit_status lowbit_model_input_info(const lowbit_model *model, size_t index, lowbit_tensor_info *info) {
  if (!model || !info)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_model_input_info: null model or info");
  if (index >= model->inputs.size())
    return fail(LOWBIT_ERROR_ARGUMENT, "input index " + std::to_string(index) + " is out of range: the model has " +
                                           std::to_string(model->inputs.size()) + " inputs");
  *info = model->inputs[index];
  return LOWBIT_OK;
}

lowbit_status lowbit_model_output_info(const lowbit_model *model, size_t index, lowbit_tensor_info *info) {
  if (!model || !info)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_model_output_info: null model or info");
  if (index >= model->outputs.size())
    return fail(LOWBIT_ERROR_ARGUMENT, "output index " + std::to_string(index) +
                                           " is out of range: the model has " +
                                           std::to_string(model->outputs.size()) + " outputs");
  *info = model->outputs[index];
  return LOWBIT_OK;
}

lowbit_status lowbit_session_create(lowbit_model *model, const lowbit_session_options *options,
                                    lowbit_session **session) {
  if (!model || !session)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_session_create: null model or session pointer");
  *session = nullptr;
  const int32_t threads = options ? options->num_threads : 0;
  if (threads < 0 || threads > kMaxThreads)
    return fail(LOWBIT_ERROR_ARGUMENT, "num_threads is " + std::to_string(threads) + ", not in [0, " +
                                           std::to_string(kMaxThreads) + "] (0: one per core)");
  std::unique_ptr<lowbit_session> s(new lowbit_session());
  if (Status st = model->device->createStream(static_cast<unsigned>(threads), s->stream); st.failed())
    return fail(LOWBIT_ERROR_RUNTIME, st.message());
  const Manifest &m = model->artifact->manifest();
  s->stream->limitKernelsTo(m.cpu);
  s->inputs.resize(m.inputs.size());
  const uint8_t *weights = model->artifact->parsed().weights;
  for (const WeightInfo &w : m.weights) {
    std::vector<int64_t> d(descriptorWords(w.tensor.dims.size()));
    fillDescriptor(d.data(), weights + w.offset, w.tensor.dims);
    s->weightDescriptors.push_back(std::move(d));
  }
  model->references.fetch_add(1, std::memory_order_relaxed);
  s->model = model;
  *session = s.release();
  return LOWBIT_OK;
}

void lowbit_session_destroy(lowbit_session *session) {
  if (!session)
    return;
  session->releaseOutputs();
  lowbit_model *model = session->model;
  delete session; // stops the pool before the code it may run is unloaded
  model->release();
}

lowbit_status lowbit_session_set_input(lowbit_session *session, size_t index, const void *data,
                                       const int64_t *dims, int32_t rank) {
  if (!session)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_session_set_input: null session");
  const Manifest &m = session->model->artifact->manifest();
  if (index >= m.inputs.size())
    return fail(LOWBIT_ERROR_ARGUMENT, "input index " + std::to_string(index) + " is out of range: the model has " +
                                           std::to_string(m.inputs.size()) + " inputs");
  const TensorInfo &info = m.inputs[index];
  const std::string what = "input " + std::to_string(index) + " ('" + info.name + "')";
  if (rank < 0 || static_cast<size_t>(rank) != info.dims.size())
    return fail(LOWBIT_ERROR_ARGUMENT, what + " has rank " + std::to_string(info.dims.size()) + ", got " +
                                           std::to_string(rank));
  if (rank > 0 && !dims)
    return fail(LOWBIT_ERROR_ARGUMENT, what + ": dims is null");
  uint64_t elements = 1;
  for (int32_t k = 0; k < rank; ++k) {
    if (dims[k] < 0 || (info.dims[k] >= 0 && dims[k] != info.dims[k]))
      return fail(LOWBIT_ERROR_ARGUMENT, what + " is shaped " + dimsText(info.dims.data(), info.dims.size()) +
                                             " (-1: any), got " + dimsText(dims, rank));
    if (dims[k] && elements > (UINT64_MAX / 16) / static_cast<uint64_t>(dims[k]))
      return fail(LOWBIT_ERROR_ARGUMENT, what + ": the shape " + dimsText(dims, rank) + " is too large");
    elements *= static_cast<uint64_t>(dims[k]);
  }
  if (!data && elements)
    return fail(LOWBIT_ERROR_ARGUMENT, what + ": data is null");
  lowbit_session::Binding &b = session->inputs[index];
  b.data = data;
  b.dims.assign(dims, dims + rank);
  b.bound = true;
  return LOWBIT_OK;
}

lowbit_status lowbit_session_run(lowbit_session *session) {
  if (!session)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_session_run: null session");
  lowbit_model *model = session->model;
  const Manifest &m = model->artifact->manifest();
  for (size_t i = 0; i < session->inputs.size(); ++i)
    if (!session->inputs[i].bound)
      return fail(LOWBIT_ERROR_ARGUMENT,
                  "input " + std::to_string(i) + " ('" + m.inputs[i].name + "') is not set");
  session->releaseOutputs();

  std::vector<std::vector<int64_t>> inputDescriptors;
  inputDescriptors.reserve(session->inputs.size());
  for (const lowbit_session::Binding &b : session->inputs) {
    std::vector<int64_t> d(descriptorWords(b.dims.size()));
    fillDescriptor(d.data(), b.data, b.dims);
    inputDescriptors.push_back(std::move(d));
  }
  size_t resultWords = 0;
  for (const TensorInfo &t : m.outputs)
    resultWords += descriptorWords(t.dims.size());
  std::vector<int64_t> results(resultWords ? resultWords : 1, 0);

  int64_t context = static_cast<int64_t>(reinterpret_cast<uintptr_t>(session->stream->dispatchContext()));
  std::vector<void *> args;
  args.reserve(2 + inputDescriptors.size() + session->weightDescriptors.size());
  args.push_back(&context);
  args.push_back(results.data());
  for (std::vector<int64_t> &d : inputDescriptors)
    args.push_back(d.data());
  for (std::vector<int64_t> &d : session->weightDescriptors)
    args.push_back(d.data());

  (void)session->stream->takeKernelError();
  model->module->entry()(args.data());
  // takeOutputs claims every returned buffer before it checks anything, so
  // releaseOutputs frees them on every failure below.
  const lowbit_status taken = takeOutputs(session, results);
  const std::string why = taken == LOWBIT_OK ? std::string() : tlsLastError;
  if (const std::string kernelError = session->stream->takeKernelError(); !kernelError.empty()) {
    session->releaseOutputs();
    return fail(LOWBIT_ERROR_RUNTIME, "the model failed: " + kernelError);
  }
  if (taken != LOWBIT_OK) {
    session->releaseOutputs();
    return fail(taken, why);
  }
  return LOWBIT_OK;
}

lowbit_status lowbit_session_output(lowbit_session *session, size_t index, lowbit_tensor *output) {
  if (!session || !output)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_session_output: null session or output");
  if (!session->haveOutputs)
    return fail(LOWBIT_ERROR_ARGUMENT, "lowbit_session_output: the session has not run successfully");
  if (index >= session->outputs.size())
    return fail(LOWBIT_ERROR_ARGUMENT, "output index " + std::to_string(index) +
                                           " is out of range: the model has " +
                                           std::to_string(session->outputs.size()) + " outputs");
  const lowbit_session::Output &o = session->outputs[index];
  output->dtype = o.dtype;
  output->rank = static_cast<int32_t>(o.dims.size());
  output->dims = o.dims.data();
  output->data = o.data;
  return LOWBIT_OK;
}

} // extern "C"
