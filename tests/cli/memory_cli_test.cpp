// The memory promise end to end: `run --memory` leaves out what would not fit or
// subsamples the rows, saying why, and still saves a model; a limit the reading alone
// breaks fails at once; a bad value is a clear error.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;

// 60,000 rows: four numbers, a ten-level category and a binary target, from a fixed generator.
std::string wide_table() {
  std::string s = "a,b,c,d,k,y\n";
  uint64_t state = 11;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  char line[128];
  for (int i = 0; i < 60000; ++i) {
    const double a = next(), b = next(), c = next(), d = next();
    const int k = static_cast<int>(next() * 10);
    std::snprintf(line, sizeof line, "%.4f,%.4f,%.4f,%.4f,k%d,%s\n", a, b, c, d, k,
                  a + 0.5 * b + 0.1 * k + 0.3 * next() > 1.2 ? "yes" : "no");
    s += line;
  }
  return s;
}

class MemoryCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::temp_dir("memory");
    testing::write_file(dir_ / "wide.csv", wide_table());
  }
  static fs::path dir_;
};
fs::path MemoryCli::dir_;

nlohmann::json summary_of(const std::string& out) {
  const auto open = out.find("{\n");
  return open == std::string::npos ? nlohmann::json() : nlohmann::json::parse(out.substr(open), nullptr, false);
}

TEST_F(MemoryCli, ASmallLimitLeavesOutOrSubsamplesWithTheReasonAndStillSavesAModel) {
  // A first run with room to spare gives what the table takes once read and what the
  // families would need beside it.
  const std::string common = "run '" + (dir_ / "wide.csv").string() +
                             "' --target y --budget 6s --models xgboost,linear,constant --no-report --quiet --json "
                             "--store '" + (dir_ / "store.sqlite").string() + "'";
  const auto roomy = testing::run_cli(common + " --memory 64GB --out '" + (dir_ / "roomy").string() + "'");
  ASSERT_EQ(roomy.exit_code, 0) << roomy.out;
  const auto m = summary_of(roomy.out).at("memory");
  EXPECT_EQ(m.at("limit_source"), "--memory");
  EXPECT_DOUBLE_EQ(m.at("limit_mb").get<double>(), 64.0 * 1024);
  EXPECT_FALSE(m.contains("families_left_out"));
  EXPECT_FALSE(m.contains("subsampled_rows"));
  const double held = m.at("after_read_mb"), need = m.at("estimate_mb").get<double>() - held;
  ASSERT_GT(need, 1.0);

  // Then a limit that leaves 80% of that need: something must give.
  const long limit_mb = static_cast<long>(held + 0.8 * need);
  const auto r = testing::run_cli(common + " --memory " + std::to_string(limit_mb) + "MB --out '" +
                                  (dir_ / "tight").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto s = summary_of(r.out);
  const auto& tight = s.at("memory");
  EXPECT_LE(tight.at("estimate_mb").get<double>(), static_cast<double>(limit_mb));
  const bool left_out = tight.contains("families_left_out"), subsampled = tight.contains("subsampled_rows");
  ASSERT_TRUE(left_out || subsampled) << tight.dump(1);
  // Each decision is in the Data Card's notes with its reason, naming the limit.
  const auto card = nlohmann::json::parse(testing::read_file(dir_ / "tight" / "data_card.json"));
  const std::string limit_words = "the memory limit of " + std::to_string(limit_mb) + " MB (--memory)";
  std::string notes;
  for (const auto& n : card.at("notes")) notes += n.get<std::string>() + "\n";
  if (left_out) {
    for (const auto& f : tight.at("families_left_out")) {
      const std::string why = f.at("reason");
      EXPECT_EQ(why.rfind("model family " + f.at("family").get<std::string>() + " left out: training it", 0), 0u) << why;
      EXPECT_NE(why.find(limit_words), std::string::npos) << why;
      EXPECT_NE(notes.find(why), std::string::npos) << notes;
    }
  }
  if (subsampled) {
    const std::string why = tight.at("subsampled_rows").at("reason");
    EXPECT_EQ(why.rfind("training rows subsampled to ", 0), 0u) << why;
    EXPECT_NE(why.find(" of 60000 (seeded): " + limit_words), std::string::npos) << why;
    EXPECT_NE(notes.find(why), std::string::npos) << notes;
    EXPECT_LT(tight.at("subsampled_rows").at("kept").get<int>(), 60000);
  }
  // plan.json holds the same decisions (the summary adds the sizes, the limit and the peak).
  nlohmann::json decided = nlohmann::json::object();
  for (const char* key : {"families_left_out", "subsampled_rows"}) {
    if (tight.contains(key)) decided[key] = tight.at(key);
  }
  EXPECT_EQ(nlohmann::json::parse(testing::read_file(dir_ / "tight" / "plan.json")).at("memory"), decided);
  // And the run still returns a model that predicts.
  const auto p = testing::run_cli("predict '" + (dir_ / "tight").string() + "' '" + (dir_ / "wide.csv").string() +
                                  "' --out '" + (dir_ / "pred.csv").string() + "'");
  EXPECT_EQ(p.exit_code, 0) << p.out;
  EXPECT_TRUE(fs::exists(dir_ / "pred.csv"));
}

TEST_F(MemoryCli, ALimitTheReadingAloneBreaksFailsAtOnceNamingBoth) {
  const auto r = testing::run_cli("run '" + (dir_ / "wide.csv").string() + "' --target y --memory 1MB --out '" +
                                  (dir_ / "never").string() + "'");
  EXPECT_EQ(r.exit_code, 6) << r.out;
  const std::string prefix = "automl-gpt: error: reading " + (dir_ / "wide.csv").string() + " would need about ";
  EXPECT_NE(r.out.find(prefix), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("more than the memory limit of 1 MB (--memory): give a larger --memory, or train on a sample "
                       "of the rows"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "never"));  // nothing written
}

TEST_F(MemoryCli, ABadMemoryValueIsAClearError) {
  for (const std::string bad : {"4XB", "0", "2.5QB", "plenty"}) {
    const auto r = testing::run_cli("run '" + (dir_ / "wide.csv").string() + "' --target y --memory " + bad);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("automl-gpt: error: cannot read memory size \"" + bad +
                         "\"; write it like 4GB, 512MB or 1.5G (K, M, G and T count in 1024s), above 0\n"),
              std::string::npos)
        << r.out;
  }
}

}  // namespace
}  // namespace automl
