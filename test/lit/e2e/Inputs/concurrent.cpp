// concurrent MODEL.lbm THREADS RUNS: runs one compiled model from several
// threads at once through the C runtime API, each thread with its own
// session (and its own pool of 1 to 3 workers), RUNS times each, all threads
// released together, and compares every output bit for bit with one run of
// one session made first. Inputs are made up here: f32 values from a fixed
// formula, integer inputs i % 50; each dynamic dimension is 5.
#include "lowbit/runtime.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Input {
  std::vector<unsigned char> bytes;
  std::vector<int64_t> dims;
};

using Outputs = std::vector<std::vector<unsigned char>>;

bool runOnce(lowbit_model *model, lowbit_session *session, const std::vector<Input> &inputs, Outputs &out,
             std::string &error) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (lowbit_session_set_input(session, i, inputs[i].bytes.data(), inputs[i].dims.data(),
                                 static_cast<int32_t>(inputs[i].dims.size())) != LOWBIT_OK) {
      error = lowbit_last_error();
      return false;
    }
  if (lowbit_session_run(session) != LOWBIT_OK) {
    error = lowbit_last_error();
    return false;
  }
  out.assign(lowbit_model_num_outputs(model), {});
  for (size_t i = 0; i < out.size(); ++i) {
    lowbit_tensor t;
    if (lowbit_session_output(session, i, &t) != LOWBIT_OK) {
      error = lowbit_last_error();
      return false;
    }
    size_t n = lowbit_dtype_size(t.dtype);
    for (int32_t d = 0; d < t.rank; ++d)
      n *= static_cast<size_t>(t.dims[d]);
    const auto *p = static_cast<const unsigned char *>(t.data);
    out[i].assign(p, p + n);
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: concurrent MODEL.lbm THREADS RUNS\n");
    return 2;
  }
  const int threads = std::atoi(argv[2]), runs = std::atoi(argv[3]);
  lowbit_model *model = nullptr;
  if (lowbit_model_open(argv[1], &model) != LOWBIT_OK) {
    std::fprintf(stderr, "%s\n", lowbit_last_error());
    return 1;
  }
  std::vector<Input> inputs(lowbit_model_num_inputs(model));
  for (size_t i = 0; i < inputs.size(); ++i) {
    lowbit_tensor_info info;
    lowbit_model_input_info(model, i, &info);
    size_t count = 1;
    for (int32_t d = 0; d < info.rank; ++d) {
      inputs[i].dims.push_back(info.dims[d] < 0 ? 5 : info.dims[d]);
      count *= static_cast<size_t>(inputs[i].dims.back());
    }
    inputs[i].bytes.resize(count * lowbit_dtype_size(info.dtype));
    for (size_t k = 0; k < count; ++k) {
      if (info.dtype == LOWBIT_F32) {
        float v = std::sin(0.37f * static_cast<float>(k) + static_cast<float>(i)) * 2.f;
        std::memcpy(&inputs[i].bytes[k * 4], &v, 4);
      } else if (info.dtype == LOWBIT_I64) {
        int64_t v = static_cast<int64_t>(k % 50);
        std::memcpy(&inputs[i].bytes[k * 8], &v, 8);
      } else {
        std::fprintf(stderr, "input %zu: dtype %d not made up here\n", i, info.dtype);
        return 1;
      }
    }
  }

  lowbit_session_options one{1};
  lowbit_session *session = nullptr;
  Outputs expected;
  std::string error;
  if (lowbit_session_create(model, &one, &session) != LOWBIT_OK || !runOnce(model, session, inputs, expected, error)) {
    std::fprintf(stderr, "reference run: %s\n", error.empty() ? lowbit_last_error() : error.c_str());
    return 1;
  }
  lowbit_session_destroy(session);

  std::atomic<int> ready{0};
  std::vector<int> mismatches(threads, 0), failures(threads, 0);
  std::vector<std::string> errors(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      lowbit_session_options options{1 + t % 3};
      lowbit_session *s = nullptr;
      if (lowbit_session_create(model, &options, &s) != LOWBIT_OK) {
        failures[t] = runs;
        errors[t] = lowbit_last_error();
        return;
      }
      ++ready;
      while (ready.load() < threads) // start together
        std::this_thread::yield();
      for (int r = 0; r < runs; ++r) {
        Outputs got;
        if (!runOnce(model, s, inputs, got, errors[t]))
          ++failures[t];
        else if (got != expected)
          ++mismatches[t];
      }
      lowbit_session_destroy(s);
    });
  for (std::thread &t : pool)
    t.join();
  int bad = 0;
  for (int t = 0; t < threads; ++t) {
    if (failures[t] || mismatches[t])
      std::printf("thread %d: %d failed runs (%s), %d runs differ\n", t, failures[t], errors[t].c_str(),
                  mismatches[t]);
    bad += failures[t] + mismatches[t];
  }
  lowbit_model_close(model);
  std::printf("%d threads x %d runs: %s\n", threads, runs, bad ? "DIFFERENT" : "all bit-identical to one run");
  return bad ? 1 : 0;
}
