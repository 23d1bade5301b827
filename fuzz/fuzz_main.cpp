// One libFuzzer program per target: AUTOML_FUZZ_TARGET names the function of
// targets.h it calls (set by fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  automl::fuzz::AUTOML_FUZZ_TARGET(data, size);
  return 0;
}
