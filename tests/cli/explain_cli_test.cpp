// End-to-end explanations: every run leaves feature_importance.csv whatever family it
// keeps, and `automl-gpt explain` writes contributions that add up to the model's
// output, or names the column a file lacks.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "automl/table.h"
#include "automl/error.h"
#include "automl/model.h"
#include "automl/run.h"
#include "automl/session.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_cli;

std::vector<std::vector<std::string>> read_rows(const fs::path& file) {
  return parse_csv_records(testing::read_file(file));
}

std::size_t column_of(const std::vector<std::string>& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  EXPECT_NE(it, header.end()) << "no column " << name;
  return static_cast<std::size_t>(it - header.begin());
}

// Each family that serves tables, alone, leaves the file with one line per input column.
TEST(ImportanceRun, EveryTableFamilyLeavesFeatureImportance) {
  auto dir = testing::temp_dir("importance-families");
  testing::write_file(dir / "train.csv", testing::make_csv("binary", 300, 41));
  int families = 0;
  for (const std::string& family : model_registry().names()) {
    const ModelEntry& e = model_registry().get(family);
    if (!e.serves("tabular") || !e.supports(Task::kBinary)) continue;
    SCOPED_TRACE(family);
    RunRequest r;
    r.train_path = (dir / "train.csv").string();
    r.target = "y";
    r.families = {family};
    r.out_dir = (dir / family).string();
    r.store_path = (dir / "store.sqlite").string();
    r.budget_s = 3;
    r.quiet = true;
    r.knowledge = "none";
    r.ensemble = false;
    json summary;
    try {
      summary = Session(r, std::cerr).run();
    } catch (const Error& e) {
      // A family that serves tables only beside text (its planner refuses it here).
      if (std::string(e.what()).find("no model family meets the request") != std::string::npos) continue;
      throw;
    }
    ++families;
    const auto rows = read_rows(dir / family / "feature_importance.csv");
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"feature", "importance_mean", "importance_std", "repeats", "gain",
                                                 "shap_abs_mean"}));
    std::set<std::string> listed;
    for (std::size_t i = 1; i < rows.size(); ++i) listed.insert(rows[i][0]);
    EXPECT_EQ(listed, (std::set<std::string>{"x1", "x2", "colour"}));
    const json& fi = summary["feature_importance"];
    EXPECT_EQ(fi["metric"], summary["metric"]);
    // How many were measured depends on the time left (the unit tests check the values).
    int measured = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) measured += !rows[i][1].empty();
    EXPECT_EQ(fi["columns_measured"].get<int>(), measured) << fi.dump();
    EXPECT_FALSE(fi["measured_on"].get<std::string>().empty());
    EXPECT_TRUE(summary["time"].contains("feature_importance"));
  }
  EXPECT_GE(families, 5);
  fs::remove_all(dir);
}

// The acceptance check from a user's side: a boosted-tree run, then `explain`: each
// row's bias and values add up to the log-odds of the probability `predict` gives.
TEST(ExplainCli, TreeShapRowsSumToTheMarginsAndAMissingColumnIsNamed) {
  auto dir = testing::temp_dir("explain-cli");
  testing::write_file(dir / "train.csv", testing::make_csv("binary", 400, 51));
  testing::write_file(dir / "new.csv", testing::make_csv("binary", 60, 52));
  auto run = run_cli("run " + (dir / "train.csv").string() + " --target y --models xgboost --no-ensemble --budget 20s --max-trials 2" +
                     " --out " + (dir / "run").string() + " --store " + (dir / "s.sqlite").string() + " --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  ASSERT_TRUE(fs::exists(dir / "run" / "feature_importance.csv"));
  const json summary = json::parse(testing::read_file(dir / "run" / "summary.json"));
  ASSERT_EQ(summary["model"]["family"], "xgboost") << summary.dump(2);

  auto r = run_cli("explain " + (dir / "run").string() + " " + (dir / "new.csv").string() + " --out " +
                   (dir / "c.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_NE(r.out.find("tree SHAP"), std::string::npos) << r.out;
  auto p = run_cli("predict " + (dir / "run").string() + " " + (dir / "new.csv").string() + " --out " +
                   (dir / "p.csv").string());
  ASSERT_EQ(p.exit_code, 0) << p.out;
  const auto c = read_rows(dir / "c.csv");
  const auto pred = read_rows(dir / "p.csv");
  ASSERT_EQ(c.size(), 61u);
  ASSERT_EQ(pred.size(), 61u);
  EXPECT_EQ(c[0], (std::vector<std::string>{"row", "output", "x1", "x2", "colour", "bias", "total"}));
  const std::string positive = c[1][1];
  const std::size_t proba = column_of(pred[0], "proba_" + positive);
  for (std::size_t i = 1; i < c.size(); ++i) {
    double sum = 0;
    for (std::size_t j = 2; j <= 5; ++j) sum += std::stod(c[i][j]);
    EXPECT_NEAR(sum, std::stod(c[i][6]), 1e-6) << "row " << i;
    EXPECT_NEAR(1.0 / (1.0 + std::exp(-sum)), std::stod(pred[i][proba]), 1e-5) << "row " << i;
  }

  // The model-agnostic method on the same run: the values add up to the probability.
  r = run_cli("explain " + (dir / "run").string() + " " + (dir / "new.csv").string() + " --method sampling" +
              " --permutations 4 --background " + (dir / "train.csv").string() + " --out " + (dir / "s.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto s = read_rows(dir / "s.csv");
  ASSERT_EQ(s.size(), 61u);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_NEAR(std::stod(s[i][6]), std::stod(pred[i][proba]), 1e-6);

  // A file without a column the model was trained on: one line naming it.
  testing::write_file(dir / "lacking.csv", "x1,colour\n0.3,red\n");
  r = run_cli("explain " + (dir / "run").string() + " " + (dir / "lacking.csv").string());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("automl-gpt: error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"x2\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lacking.csv"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace automl
