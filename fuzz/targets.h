// What each fuzz target does with one input, shared by the libFuzzer programs
// (fuzz/fuzz_main.cpp) and the test that replays the regression corpus
// (tests/fuzz/fuzz_regressions_test.cpp). A target returns normally for input the
// program accepts or refuses with automl::Error; anything else (another exception,
// a crash, a sanitizer report) is a bug.
#pragma once

#include <cstddef>
#include <cstdint>

namespace automl::fuzz {

// The CSV reader: the bytes as a file, with the default options, then with a declared
// numeric and a declared text column; and the record splitter used for leaderboards.
void csv(const uint8_t* data, std::size_t size);

// The card reader (JSON or YAML), then a Data Card inferred for a small fixed table
// with the card's fields as overrides.
void card(const uint8_t* data, std::size_t size);

}  // namespace automl::fuzz
