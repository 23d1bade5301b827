// What each fuzz target does with one input, shared by the libFuzzer programs
// (fuzz/fuzz_main.cpp) and the test that replays the regression corpus
// (tests/fuzz/fuzz_regressions_test.cpp). A target returns normally for input the
// program accepts or refuses with automl::Error; anything else (another exception,
// a crash, a sanitizer report) is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace automl::fuzz {

// The CSV reader: the bytes as a file, with the default options, then with a declared
// numeric and a declared text column; and the record splitter used for leaderboards.
void csv(const uint8_t* data, std::size_t size);

// The card reader (JSON or YAML), then a Data Card inferred for a small fixed table
// with the card's fields as overrides.
void card(const uint8_t* data, std::size_t size);

// The request reader (`run --request FILE`): the bytes as request.yaml, each task as
// run_request records it, the files its words mention and the built-in planner's
// decomposition of them; and the request's header scanner on the bytes as a CSV.
void request(const uint8_t* data, std::size_t size);

// The saved-pipeline loader: the bytes as pipeline.json in a model folder that holds
// a small fitted model of the family it names (or an ensemble's member folders),
// loaded and asked to predict a small table.
void pipeline(const uint8_t* data, std::size_t size);

// The model files a family loads: byte 0 picks a small fitted model folder, byte 1
// one of its files (not pipeline.json), the rest replaces that file; then load and
// predict as above.
void pipeline_model(const uint8_t* data, std::size_t size);

// The LLM planner's reply reader and validators: the bytes as the model's reply to
// every stage (decompose, assign_models, design_preprocessing, propose with the
// predicted logs, refine), through extract_json and each stage's checks. One JSON
// object can answer them all, since each stage reads only its own key.
void llm_reply(const uint8_t* data, std::size_t size);

// The image-folder reader: the bytes as one image file in a class folder beside a
// small PNG of another size in a second class; read with the common size, then with
// a fixed grey 8x8 shape.
void image(const uint8_t* data, std::size_t size);

// Writes the generated seed inputs into DIR/<target>: for `pipeline` and `pipeline_model`
// from the small fitted models they load, for `image` one small file per format.
// (AUTOML_FUZZ_WRITE_SEEDS=DIR on any fuzz program calls it; fuzz/corpus/ holds the result.)
void write_seeds(const std::filesystem::path& dir);

}  // namespace automl::fuzz
