// Replays every input that once found a bug in a fuzz target (tests/fuzz_regressions/)
// and the targets' seed corpora (fuzz/corpus/) through the same code the libFuzzer
// programs run: each must be accepted or refused with automl::Error, nothing else.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "fuzz/targets.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;

void replay(const std::string& target, const std::function<void(const uint8_t*, std::size_t)>& run) {
  int n = 0;
  for (const fs::path& dir : {testing::source_dir() / "tests" / "fuzz_regressions" / target,
                              testing::source_dir() / "fuzz" / "corpus" / target}) {
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().filename() == "README.md") continue;
      const std::string bytes = testing::read_file(e.path());
      SCOPED_TRACE(e.path().string());
      EXPECT_NO_THROW(run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      ++n;
    }
  }
  EXPECT_GT(n, 0) << "no inputs for fuzz target " << target;
}

TEST(FuzzRegressions, CsvReader) { replay("csv", fuzz::csv); }
TEST(FuzzRegressions, CardReader) { replay("card", fuzz::card); }
TEST(FuzzRegressions, RequestReader) { replay("request", fuzz::request); }
TEST(FuzzRegressions, SavedPipelineLoader) { replay("pipeline", fuzz::pipeline); }
TEST(FuzzRegressions, SavedModelFiles) { replay("pipeline_model", fuzz::pipeline_model); }
TEST(FuzzRegressions, LlmReplyReader) { replay("llm_reply", fuzz::llm_reply); }
TEST(FuzzRegressions, ImageFolderReader) { replay("image", fuzz::image); }

}  // namespace
}  // namespace automl
