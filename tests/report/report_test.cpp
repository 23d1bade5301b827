// The HTML report: what it gathers from a run folder (in-process), and real runs'
// reports opened in headless Chromium with the network off (tests/report/check_in_browser.py):
// no console error, no request, every plot drawn with data points.
#include <gtest/gtest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "automl/error.h"
#include "automl/report.h"
#include "helpers.h"
#include "report/browser.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::read_file;
using testing::run_cli;
using testing::write_file;

// A small run folder written by hand: two trials, one with two folds' curves.
fs::path tiny_run(const std::string& name) {
  fs::path dir = testing::temp_dir(name);
  write_file(dir / "summary.json", json({{"dataset", "tiny"}, {"metric", "roc_auc"}, {"higher_is_better", true},
                                         {"task", "binary"}, {"time", {{"search", 1.5}, {"refit", 0.2}}}})
                                       .dump());
  write_file(dir / "data_card.json",
             json({{"name", "tiny"}, {"task", "binary"}, {"positive_class", "yes"},
                   {"label_space", {{{"class", "no"}, {"count", 3}}, {{"class", "yes"}, {"count", 3}}}}})
                 .dump());
  write_file(dir / "leaderboard.csv",
             "trial_id,family,hyperparameters,validation_score,seconds,status,ended_s\n"
             "0,a,\"{\"\"x\"\":1}\",0.7,0.5,finished,0.6\n1,b,\"{}\",0.9,0.4,finished,1.1\n");
  write_file(dir / "predicted_logs.jsonl",
             "{\"trial_id\":0,\"family\":\"a\",\"predicted\":{\"final_score\":0.6,\"checkpoints\":[1,2],\"metric\":[0.5,0.6]},"
             "\"real_score\":0.7}\n"
             "{\"trial_id\":1,\"family\":\"b\",\"predicted\":{\"final_score\":0.8},\"real_score\":0.9}\n"
             "{\"trial_id\":2,\"family\":\"b\",\"predicted\":{\"final_score\":0.85},\"real_score\":0.95}\n");
  write_file(dir / "training_logs.jsonl",
             "{\"trial_id\":0,\"family\":\"a\",\"fold\":0,\"metric\":\"auc\",\"valid\":[0.5,0.7],\"train\":[],\"seconds\":[]}\n"
             "{\"trial_id\":0,\"family\":\"a\",\"fold\":1,\"metric\":\"auc\",\"valid\":[0.7,0.9,0.95],\"train\":[],\"seconds\":[]}\n");
  // Six test rows: the positive class's probabilities rank every "yes" above every "no".
  write_file(dir / "test_predictions.csv",
             "prediction,proba_no,proba_yes\nno,0.9,0.1\nno,0.8,0.2\nyes,0.45,0.55\nyes,0.3,0.7\nyes,0.2,0.8\nno,0.6,0.4\n");
  write_file(dir / "test_labels.csv", "actual\nno\nno\nno\nyes\nyes\nyes\n");
  return dir;
}

TEST(Report, GathersCurvesScatterAndTheTestSetFromTheRunFolder) {
  const fs::path dir = tiny_run("report-gather");
  const json d = report_data(dir);
  // Trial 0's real curve: the folds' mean per round; the fold that stopped after two
  // rounds holds its last value (0.7) in the third.
  const json& c0 = d["curves"][0];
  EXPECT_EQ(c0["trial"], 0);
  EXPECT_EQ(c0["real"]["x"], json({1, 2, 3}));
  EXPECT_NEAR(c0["real"]["y"][0].get<double>(), 0.6, 1e-12);
  EXPECT_NEAR(c0["real"]["y"][1].get<double>(), 0.8, 1e-12);
  EXPECT_NEAR(c0["real"]["y"][2].get<double>(), (0.7 + 0.95) / 2, 1e-12);
  EXPECT_EQ(c0["predicted"]["x"], json({1, 2}));
  // Predicted and real final scores in the same order: rank correlation 1.
  EXPECT_EQ(d["scatter"]["n"], 3);
  EXPECT_NEAR(d["scatter"]["spearman"].get<double>(), 1.0, 1e-12);
  // The test set: rows are true no,no,no,yes,yes,yes; predicted no,no,yes,yes,yes,no.
  const json& t = d["test"];
  EXPECT_EQ(t["kind"], "classification");
  EXPECT_EQ(t["classes"], json({"no", "yes"}));
  EXPECT_EQ(t["confusion"], json({{2, 1}, {1, 2}}));
  ASSERT_EQ(t["curves"].size(), 1u);  // binary: the positive class's curves
  EXPECT_EQ(t["curves"][0]["class"], "yes");
  // P(yes) ranks the rows 0.8 yes, 0.7 yes, 0.55 no, 0.4 yes, 0.2 no, 0.1 no: 8 of 9 pairs in order.
  EXPECT_NEAR(t["curves"][0]["auc"].get<double>(), 8.0 / 9.0, 1e-12);
  EXPECT_TRUE(d["importance"].is_null());
  fs::remove_all(dir);
}

TEST(Report, FeatureImportanceIsReadSortedWithEmptyMeasuresAsNull) {
  const fs::path dir = tiny_run("report-importance");
  write_file(dir / "feature_importance.csv",
             "feature,importance_mean,importance_std,gain,shap_abs_mean\nx1,0.01,0.002,,\nx2,0.2,0.03,5.5,\n");
  const json imp = report_data(dir)["importance"];
  ASSERT_EQ(imp.size(), 2u);
  EXPECT_EQ(imp[0]["feature"], "x2");
  EXPECT_DOUBLE_EQ(imp[0]["gain"].get<double>(), 5.5);
  EXPECT_TRUE(imp[0]["shap_abs_mean"].is_null());
  EXPECT_TRUE(imp[1]["gain"].is_null());
  fs::remove_all(dir);
}

TEST(Report, RegressionTestSetGivesActualAndPredicted) {
  const fs::path dir = tiny_run("report-regression");
  write_file(dir / "test_predictions.csv", "prediction\n1.5\n2.5\n");
  write_file(dir / "test_labels.csv", "actual\n1\n3\n");
  const json t = report_data(dir)["test"];
  EXPECT_EQ(t["kind"], "regression");
  EXPECT_EQ(t["actual"], json({1.0, 3.0}));
  EXPECT_EQ(t["predicted"], json({1.5, 2.5}));
  fs::remove_all(dir);
}

TEST(Report, ThePageIsOneFileThatFetchesNothingAndDataCannotEndItsScript) {
  const fs::path dir = tiny_run("report-page");
  // A column name that would end a <script> element if written as it is.
  write_file(dir / "data_card.json", json({{"name", "</script><script>alert(1)</script>"}}).dump());
  const fs::path page_path = write_report(dir);
  EXPECT_EQ(page_path, dir / "report.html");
  const std::string page = read_file(page_path);
  // Three script elements (Chart.js, the data, the page's script) and no fourth.
  std::size_t closes = 0;
  for (auto at = page.find("</script>"); at != std::string::npos; at = page.find("</script>", at + 1)) ++closes;
  EXPECT_EQ(closes, 3u);
  EXPECT_NE(page.find("\\u003c/script\\u003e"), std::string::npos);
  // Nothing is loaded from anywhere: no src or href to another file, no CSS import or URL.
  for (const char* link : {"src=\"", "src='", "href=\"http", "@import", "url(http"}) {
    EXPECT_EQ(page.find(link), std::string::npos) << link;
  }
  EXPECT_NE(page.find("Chart.js v4"), std::string::npos);  // inlined, not linked
  fs::remove_all(dir);
}

TEST(Report, AFolderWithoutASummaryIsNotFoundAndMismatchedTestFilesAreNamed) {
  const fs::path dir = testing::temp_dir("report-errors");
  try {
    write_report(dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("summary.json"), std::string::npos);
  }
  fs::remove_all(dir);
  const fs::path run = tiny_run("report-mismatch");
  write_file(run / "test_labels.csv", "actual\nno\n");
  try {
    report_data(run);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("test_labels.csv"), std::string::npos);
  }
  fs::remove_all(run);
}

// ---------------------------------------------------------------------------------------
// Real runs, their reports opened in Chromium.

using testing::open_in_browser;

const std::string kClassificationPlots = "plot-classes,plot-pred-scatter,plot-best,plot-families,plot-time,plot-roc,plot-pr";
const std::string kRegressionPlots = "plot-pred-scatter,plot-best,plot-families,plot-time,plot-pred-actual,plot-residuals";

// Runs a dataset folder (train.csv, test.csv) and opens its report in Chromium.
void run_and_open(const fs::path& data, const std::string& target, const std::string& budget, const std::string& plots,
                  const std::string& name) {
  if (!fs::exists(data / "train.csv")) GTEST_SKIP() << "no " << data << " (the shared datasets)";
  const fs::path dir = testing::temp_dir("report-" + name);
  auto r = run_cli("run " + (data / "train.csv").string() + " --target " + target + " --test " +
                   (data / "test.csv").string() + " --budget " + budget + " --out " + (dir / "run").string() +
                   " --store " + (dir / "store.sqlite").string() + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(fs::exists(dir / "run" / "report.html"));
  const json summary = json::parse(read_file(dir / "run" / "summary.json"));
  EXPECT_TRUE(summary["time"].contains("report")) << "the report's seconds belong in the time breakdown";
  EXPECT_TRUE(fs::exists(dir / "run" / "test_labels.csv"));
  const auto v = open_in_browser(dir / "run" / "report.html", plots);
  if (v.exit_code == 77) GTEST_SKIP() << v.out;
  EXPECT_EQ(v.exit_code, 0) << v.out;
  fs::remove_all(dir);
}

const fs::path kShared = testing::shared_datasets();

TEST(ReportRun, BinaryReportOpensInChromiumWithEveryPlot) {
  run_and_open(kShared / "pima", "diabetes", "8s", kClassificationPlots, "binary");
}

TEST(ReportRun, MulticlassReportOpensInChromiumWithEveryPlot) {
  run_and_open(testing::source_dir() / "examples" / "data" / "penguins", "species", "8s", kClassificationPlots,
               "multiclass");
}

TEST(ReportRun, RegressionReportOpensInChromiumWithEveryPlot) {
  run_and_open(kShared / "boston_housing", "medv", "8s", kRegressionPlots, "regression");
}

TEST(ReportRun, ImageReportOpensInChromiumWithEveryPlot) {
  run_and_open(kShared / "digits", "label", "12s", kClassificationPlots, "image");
}

TEST(ReportRun, TextReportOpensInChromiumWithEveryPlot) {
  run_and_open(kShared / "reuters_grain", "label", "12s", kClassificationPlots, "text");
}

// The control: the same check fails a page that logs an error or asks for a file, so a
// passing report is not a check that cannot fail. `report` rewrites a folder's report.
TEST(ReportCli, ReportCommandWritesThePageAndTheBrowserCheckCatchesErrorsAndRequests) {
  const fs::path data = testing::source_dir() / "examples" / "data" / "penguins";
  const fs::path dir = testing::temp_dir("report-control");
  auto r = run_cli("run " + (data / "train.csv").string() + " --target species --budget 8s --no-report --out " +
                   (dir / "run").string() + " --store " + (dir / "store.sqlite").string() + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(dir / "run" / "report.html")) << "--no-report";
  EXPECT_FALSE(json::parse(read_file(dir / "run" / "summary.json"))["time"].contains("report"));
  r = run_cli("report " + (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("report.html"), std::string::npos);
  ASSERT_TRUE(fs::exists(dir / "run" / "report.html"));
  EXPECT_EQ(run_cli("report " + (dir / "nothing").string()).exit_code, 3);

  // Without a test file the page says so, and still draws the rest.
  auto good = open_in_browser(dir / "run" / "report.html", "plot-classes,plot-best");
  if (good.exit_code == 77) GTEST_SKIP() << good.out;
  EXPECT_EQ(good.exit_code, 0) << good.out;

  std::string page = read_file(dir / "run" / "report.html");
  const std::string bad = "<script>console.error('planted error')</script><img alt=x src=\"https://example.invalid/x.png\">";
  page.insert(page.find("</body>"), bad);
  write_file(dir / "bad.html", page);
  auto caught = open_in_browser(dir / "bad.html", "plot-classes");
  EXPECT_EQ(caught.exit_code, 1) << caught.out;
  EXPECT_NE(caught.out.find("planted error"), std::string::npos) << caught.out;
  EXPECT_NE(caught.out.find("example.invalid"), std::string::npos) << caught.out;
  // A plot asked for and not drawn fails too.
  auto missing = open_in_browser(dir / "run" / "report.html", "plot-roc");
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace automl
