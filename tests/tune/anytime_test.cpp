// Anytime runs: a short budget on data whose favourite family is dear still ends with
// a model better than the constant, and the summary says where the time went.
#include <gtest/gtest.h>

#include <filesystem>

#include "automl/run.h"
#include "automl/session.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(AnytimeRun, AShortImageRunEndsWithAModelAndAccountsForItsTime) {
  auto dir = testing::temp_dir("anytime-images");
  testing::write_file(dir / "train.csv", testing::make_image_csv("multiclass", 12000, 31));
  testing::write_file(dir / "test.csv", testing::make_image_csv("multiclass", 600, 32));
  RunRequest r;
  r.train_path = (dir / "train.csv").string();
  r.test_path = (dir / "test.csv").string();
  r.target = "y";
  r.out_dir = (dir / "run").string();
  r.store_path = (dir / "store.sqlite").string();
  r.budget_s = 4;
  r.quiet = true;
  r.knowledge = "none";
  json summary = Session(r, std::cerr).run();
  ASSERT_TRUE(summary.contains("model"));
  EXPECT_NE(summary["model"].value("family", std::string("constant")), "constant") << summary.dump(2);
  // Three classes of about a third each: a model that learned the signal is far above that.
  EXPECT_GT(summary["test_score"].get<double>(), 0.6);
  // Where the time went: every phase named, and together no more than the run took.
  const json& time = summary.at("time");
  double phases = 0;
  for (const char* phase : {"reading", "planning", "search", "ensemble", "refit", "tail", "saving_and_test", "report"}) {
    ASSERT_TRUE(time.contains(phase)) << phase;
    EXPECT_GE(time[phase].get<double>(), 0.0) << phase;
    phases += time[phase].get<double>();
  }
  EXPECT_LE(phases, summary["seconds"].get<double>() + 1e-6);
  EXPECT_GT(time["search"].get<double>(), 0.0);
  EXPECT_TRUE(summary.contains("n_trials_cut_by_deadline"));
  EXPECT_TRUE(fs::exists(dir / "run" / "model"));
}

}  // namespace
}  // namespace automl
