//===- artifact_loader_fuzzer.cpp - Fuzzes the .lbm loader ----------------===//
//
// libFuzzer entry point over runtime/src/Artifact.cpp's parseArtifact: any
// bytes must give a clean error or a checked artifact whose every pointer
// and size lies inside the input, never a crash, a read out of bounds (built
// with -fsanitize=fuzzer,address: test/fuzz/CMakeLists.txt,
// -DLOWBIT_BUILD_FUZZERS=ON) or an allocation beyond the input's size.
// RuntimeTests (ArtifactLoaderFuzz.*) also calls it over a fixed set of
// mutated artifacts in every CTest run.
//
//   build/bin/artifact-loader-fuzzer -max_total_time=600 CORPUS_DIR
// Seed CORPUS_DIR with any artifact, e.g.
//   python3 test/lit/tools/lowbit-run/Inputs/make_artifact.py build/bin/lowbit-run CORPUS_DIR/add.lbm
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A private copy, so that reads past the end are caught by ASan even when
  // the fuzzer's buffer has slack after it.
  uint8_t *copy = static_cast<uint8_t *>(std::malloc(size ? size : 1));
  if (size)
    std::memcpy(copy, data, size);
  lowbit::runtime::ParsedArtifact parsed;
  lowbit::Status status = lowbit::runtime::parseArtifact(copy, size, parsed);
  if (status.isOk()) {
    // Everything the loader hands out must lie inside the input.
    const uint8_t *end = copy + size;
    if (parsed.hostCode < copy || parsed.hostCodeSize > uint64_t(end - parsed.hostCode) ||
        parsed.weights < copy || parsed.weightsSize > uint64_t(end - parsed.weights))
      std::abort();
    uint64_t sum = 0;
    for (const lowbit::runtime::WeightInfo &w : parsed.manifest.weights) {
      if (w.offset > parsed.weightsSize || w.size > parsed.weightsSize - w.offset)
        std::abort();
      if (w.size)
        sum += parsed.weights[w.offset] + parsed.weights[w.offset + w.size - 1]; // touch both ends
    }
    for (uint64_t i = 0; i < parsed.hostCodeSize; i += 4096)
      sum += parsed.hostCode[i];
    volatile uint64_t sink = sum;
    (void)sink;
  } else if (status.message().empty()) {
    std::abort(); // every failure says why
  }
  std::free(copy);
  return 0;
}
