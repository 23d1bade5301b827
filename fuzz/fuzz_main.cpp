// One libFuzzer program per target: AUTOML_FUZZ_TARGET names the function of
// targets.h it calls (set by fuzz/CMakeLists.txt). With AUTOML_FUZZ_WRITE_SEEDS=DIR
// the program writes the generated seed inputs (targets.h: write_seeds) and exits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("AUTOML_FUZZ_WRITE_SEEDS")) {
    automl::fuzz::write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  automl::fuzz::AUTOML_FUZZ_TARGET(data, size);
  return 0;
}
