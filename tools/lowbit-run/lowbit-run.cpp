//===- lowbit-run.cpp - Runs a compiled lowbit artifact -------------------===//
//
//   lowbit-run MODEL.lbm --input NAME=FILE.npy ... [--output-dir D] [--threads N]
//   lowbit-run MODEL.lbm --input NAME=FILE.npy ... --benchmark N [--threads N]
//   lowbit-run MODEL.lbm --info
//
// Runs the model once and writes each output to D/NAME.npy (D defaults to
// the current directory and is created if missing, one level), or runs it once to warm up and then N times and
// prints {"median_ms":...,"min_ms":...,"max_ms":...,"runs":N}, or lists the
// inputs and outputs. A thin main over the C runtime API: it links only the
// runtime, nothing from LLVM.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include "lowbit/runtime.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace {

const char kUsage[] =
    "usage: lowbit-run MODEL.lbm [--input NAME=FILE.npy]... [--output-dir DIR] [--threads N]\n"
    "       lowbit-run MODEL.lbm [--input NAME=FILE.npy]... --benchmark N [--threads N]\n"
    "       lowbit-run MODEL.lbm --info\n"
    "\n"
    "Runs a compiled lowbit artifact on the CPU.\n"
    "  --input NAME=FILE   bind the model input NAME to a .npy array (C order, little-endian)\n"
    "  --output-dir DIR    write each output to DIR/NAME.npy (default: the current directory)\n"
    "                      (characters other than A-Z a-z 0-9 . _ - in NAME become _)\n"
    "  --threads N         worker threads, the caller's included (default 0: one per core)\n"
    "  --benchmark N       run once to warm up, then N times; print the times as one JSON line\n"
    "  --info              print the model's inputs and outputs\n";

int fail(const std::string &message) {
  std::fprintf(stderr, "lowbit-run: error: %s\n", message.c_str());
  return 1;
}

int usage(const std::string &message) {
  std::fprintf(stderr, "lowbit-run: error: %s\n%s", message.c_str(), kUsage);
  return 2;
}

bool parseCount(const std::string &text, long long max, long long &out) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoll(text);
  return out <= max;
}

std::string shapeText(const int64_t *dims, int32_t rank) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

/// A file name for an output: characters other than [A-Za-z0-9._-] become _.
std::string fileNameFor(const std::string &name) {
  std::string s = name;
  for (char &c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      c = '_';
  if (s.empty() || s[0] == '.')
    s = "_" + s;
  return s;
}

struct Options {
  std::string model, outputDir;
  std::vector<std::pair<std::string, std::string>> inputs; // name, file
  long long threads = 0, benchmark = -1;
  bool info = false, outputDirGiven = false;
};

/// Parses argv; returns -1 to go on, or the exit code.
int parseArgs(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    bool hasValue = false;
    if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        hasValue = true;
      }
    }
    auto takeValue = [&]() -> bool {
      if (hasValue)
        return true;
      if (i + 1 >= argc)
        return false;
      value = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--info") {
      o.info = true;
    } else if (arg == "--input") {
      if (!takeValue())
        return usage("--input needs NAME=FILE.npy");
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == value.size())
        return usage("--input needs NAME=FILE.npy, got '" + value + "'");
      o.inputs.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    } else if (arg == "--output-dir") {
      if (!takeValue() || value.empty())
        return usage("--output-dir needs a directory");
      o.outputDir = value;
      o.outputDirGiven = true;
    } else if (arg == "--threads") {
      if (!takeValue() || !parseCount(value, 4096, o.threads))
        return usage("--threads needs a number from 0 to 4096");
    } else if (arg == "--benchmark") {
      if (!takeValue() || !parseCount(value, 100000000, o.benchmark) || o.benchmark < 1)
        return usage("--benchmark needs a positive number of runs");
    } else if (arg.rfind("-", 0) == 0 && arg != "-") {
      return usage("unknown option '" + arg + "'");
    } else if (o.model.empty()) {
      o.model = arg;
    } else {
      return usage("more than one model given ('" + o.model + "', '" + arg + "')");
    }
  }
  if (o.model.empty())
    return usage("no model given");
  return -1;
}

int printInfo(lowbit_model *model) {
  for (int pass = 0; pass < 2; ++pass) {
    const size_t n = pass ? lowbit_model_num_outputs(model) : lowbit_model_num_inputs(model);
    for (size_t i = 0; i < n; ++i) {
      lowbit_tensor_info info;
      if ((pass ? lowbit_model_output_info(model, i, &info) : lowbit_model_input_info(model, i, &info)) != LOWBIT_OK)
        return fail(lowbit_last_error());
      std::printf("%s %zu: %s %s %s\n", pass ? "output" : "input", i, info.name, lowbit::npy::dtypeName(info.dtype),
                  shapeText(info.dims, info.rank).c_str());
    }
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (int code = parseArgs(argc, argv, o); code >= 0)
    return code;

  lowbit_model *model = nullptr;
  if (lowbit_model_open(o.model.c_str(), &model) != LOWBIT_OK)
    return fail(lowbit_last_error());
  struct CloseModel {
    lowbit_model *m;
    ~CloseModel() { lowbit_model_close(m); }
  } closeModel{model};
  if (o.info)
    return printInfo(model);

  // Bind every input by name, exactly once, with its dtype.
  const size_t inputCount = lowbit_model_num_inputs(model);
  std::vector<lowbit::npy::Array> arrays(inputCount);
  std::vector<bool> bound(inputCount, false);
  for (const auto &[name, file] : o.inputs) {
    size_t index = inputCount;
    lowbit_tensor_info info{};
    for (size_t i = 0; i < inputCount; ++i)
      if (lowbit_model_input_info(model, i, &info) == LOWBIT_OK && name == info.name) {
        index = i;
        break;
      }
    if (index == inputCount) {
      std::string names;
      for (size_t i = 0; i < inputCount; ++i)
        if (lowbit_model_input_info(model, i, &info) == LOWBIT_OK)
          names += std::string(names.empty() ? "" : ", ") + info.name;
      return fail("the model has no input '" + name + "' (its inputs: " + (names.empty() ? "none" : names) + ")");
    }
    if (bound[index])
      return fail("input '" + name + "' is given twice");
    std::string error;
    if (!lowbit::npy::read(file, arrays[index], error))
      return fail(error);
    if (arrays[index].dtype != info.dtype)
      return fail("input '" + name + "' is " + lowbit::npy::dtypeName(info.dtype) + ", but " + file + " holds " +
                  lowbit::npy::dtypeName(arrays[index].dtype) + " values");
    bound[index] = true;
  }
  for (size_t i = 0; i < inputCount; ++i)
    if (!bound[i]) {
      lowbit_tensor_info info{};
      lowbit_model_input_info(model, i, &info);
      return fail("input '" + std::string(info.name) + "' (" + lowbit::npy::dtypeName(info.dtype) + " " +
                  shapeText(info.dims, info.rank) + ") is not given: use --input " + info.name + "=FILE.npy");
    }

  lowbit_session_options options{static_cast<int32_t>(o.threads)};
  lowbit_session *session = nullptr;
  if (lowbit_session_create(model, &options, &session) != LOWBIT_OK)
    return fail(lowbit_last_error());
  struct DestroySession {
    lowbit_session *s;
    ~DestroySession() { lowbit_session_destroy(s); }
  } destroySession{session};
  for (size_t i = 0; i < inputCount; ++i) {
    const lowbit::npy::Array &a = arrays[i];
    if (lowbit_session_set_input(session, i, a.data.empty() ? nullptr : a.data.data(), a.shape.data(),
                                 static_cast<int32_t>(a.shape.size())) != LOWBIT_OK)
      return fail(lowbit_last_error());
  }

  if (lowbit_session_run(session) != LOWBIT_OK)
    return fail(lowbit_last_error());
  if (o.benchmark > 0) {
    std::vector<double> ms;
    ms.reserve(static_cast<size_t>(o.benchmark));
    for (long long r = 0; r < o.benchmark; ++r) {
      const auto start = std::chrono::steady_clock::now();
      if (lowbit_session_run(session) != LOWBIT_OK)
        return fail(lowbit_last_error());
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    std::printf("{\"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, \"runs\": %lld}\n", median,
                sorted.front(), sorted.back(), o.benchmark);
    if (!o.outputDirGiven)
      return 0;
  }

  const std::string dir = o.outputDirGiven ? o.outputDir : ".";
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return fail("cannot create the output directory " + dir + ": " + std::strerror(errno));
  for (size_t i = 0; i < lowbit_model_num_outputs(model); ++i) {
    lowbit_tensor_info info;
    lowbit_tensor out;
    if (lowbit_model_output_info(model, i, &info) != LOWBIT_OK || lowbit_session_output(session, i, &out) != LOWBIT_OK)
      return fail(lowbit_last_error());
    uint64_t elements = 1;
    for (int32_t k = 0; k < out.rank; ++k)
      elements *= static_cast<uint64_t>(out.dims[k]);
    const std::string path = dir + "/" + fileNameFor(info.name) + ".npy";
    std::string error;
    if (!lowbit::npy::write(path, out.dtype, out.dims, out.rank, out.data, elements * lowbit_dtype_size(out.dtype),
                            error))
      return fail("output '" + std::string(info.name) + "': " + error);
  }
  return 0;
}
