// The data-processing operators a design applies, column by column: each learns only
// from the rows it is fitted on, and a saved and reloaded preprocessor gives the same
// matrix. The planner's vocabulary maps onto them.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "automl/data_card.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "automl/run.h"
#include "automl/session.h"
#include "automl/table.h"
#include "helpers.h"

namespace automl {
namespace {

using json = nlohmann::json;

// 40 rows: a level column with a strong target effect (of the first 30: a 8 rows, b 8,
// c 14; row 39 is a level "r" they never show), a skewed number with missing cells
// (rows 3, 10, 17, ...), and the target.
struct Data {
  Table table;
  std::vector<double> y;
};

Data data() {
  std::string csv = "lvl,amount,y\n";
  std::vector<double> y;
  for (int i = 0; i < 40; ++i) {
    const char* lvl = i == 39 ? "r" : i % 4 == 0 ? "a" : i % 4 == 1 ? "b" : "c";
    const double target = (lvl[0] == 'a' ? 1.0 : lvl[0] == 'b' ? 5.0 : 9.0) + (i % 3) * 0.1;
    const std::string amount = i % 7 == 3 ? "" : std::to_string(std::pow(2.0, i % 12));
    csv += std::string(lvl) + "," + amount + "," + std::to_string(target) + "\n";
    y.push_back(target);
  }
  return {read_csv_buffer(csv, "design.csv"), y};
}

bool same(const FeatureMatrix& a, const FeatureMatrix& b) {
  if (a.values.size() != b.values.size() || a.names != b.names || a.n_categories != b.n_categories) return false;
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    if (!(a.values[i] == b.values[i] || (std::isnan(a.values[i]) && std::isnan(b.values[i])))) return false;
  }
  return true;
}

// Fitted on the first 30 rows; the matrix of all 40 rows, and the same from the saved
// form (which has no out-of-fold values: compared on the 10 rows it was not fitted on).
FeatureMatrix fitted(Encoding enc, const ColumnDesign& design, Preprocessor* out = nullptr) {
  static const Data d = data();
  std::vector<std::size_t> train;
  for (std::size_t i = 0; i < 30; ++i) train.push_back(i);
  std::vector<std::size_t> rest;
  for (std::size_t i = 30; i < 40; ++i) rest.push_back(i);
  Preprocessor pre(enc);
  pre.set_design(design);
  pre.fit(d.table, {"lvl", "amount"}, train, &d.y);
  FeatureMatrix held_out = pre.transform(d.table, &rest);
  Preprocessor back = Preprocessor::from_json(json::parse(pre.to_json().dump()));
  EXPECT_TRUE(same(back.transform(d.table, &rest), held_out)) << pre.to_json().dump();
  EXPECT_EQ(back.design().size(), design.size());
  if (out) *out = pre;
  return pre.transform(d.table);
}

ColumnOps ops(const std::string& json_text) { return ColumnOps::from_json(json::parse(json_text)); }

TEST(Design, TargetEncodingIsOutOfFoldOnItsTrainingRowsAndSmoothed) {
  for (Encoding enc : {Encoding::kNative, Encoding::kOneHot}) {
    Preprocessor pre;
    FeatureMatrix m = fitted(enc, {{"lvl", ops(R"({"categories": "target"})")}}, &pre);
    ASSERT_EQ(m.names[0], "lvl");
    EXPECT_EQ(m.n_categories[0], 0);  // one number
    const json saved = pre.to_json()["features"][0];
    const auto values = saved["level_values"].get<std::vector<double>>();
    ASSERT_EQ(values.size(), 3u);  // a, b, c: the levels of the 30 rows fitted on
    // Level means shrunk towards the overall mean: c's (~9) above b's (~5) above a's (~1),
    // each pulled inwards.
    const auto& levels = saved["levels"];
    std::map<std::string, double> by_level;
    for (std::size_t i = 0; i < levels.size(); ++i) by_level[levels[i].get<std::string>()] = values[i];
    EXPECT_GT(by_level["c"], by_level["b"]);
    EXPECT_GT(by_level["b"], by_level["a"]);
    EXPECT_GT(by_level["a"], 1.1);
    EXPECT_LT(by_level["c"], 9.0);
    if (enc != Encoding::kNative) continue;
    // Rows it was not fitted on get the level's value; its own rows an out-of-fold one.
    EXPECT_FLOAT_EQ(m.at(32, 0), static_cast<float>(by_level["a"]));  // row 32: level a
    bool any_differs = false;
    for (std::size_t r = 0; r < 30; r += 4) any_differs = any_differs || (m.at(r, 0) != static_cast<float>(by_level["a"]));
    EXPECT_TRUE(any_differs);
    // The rare level, unseen in training, gets the overall mean.
    EXPECT_FLOAT_EQ(m.at(39, 0), static_cast<float>(saved["unseen"].get<double>()));
  }
}

TEST(Design, FrequencyOrdinalAndRareLevels) {
  FeatureMatrix f = fitted(Encoding::kNative, {{"lvl", ops(R"({"categories": "frequency"})")}});
  EXPECT_NEAR(f.at(0, 0), 8.0 / 30.0, 1e-6);   // a: rows 0, 4, ..., 28 of the first 30
  EXPECT_NEAR(f.at(2, 0), 14.0 / 30.0, 1e-6);  // c
  EXPECT_EQ(f.at(39, 0), 0.0f);                // unseen
  FeatureMatrix o = fitted(Encoding::kNative, {{"lvl", ops(R"({"categories": "ordinal"})")}});
  EXPECT_EQ(o.at(0, 0), 0.0f);  // a < b < c by name
  EXPECT_EQ(o.at(1, 0), 1.0f);
  EXPECT_EQ(o.at(2, 0), 2.0f);
  EXPECT_TRUE(std::isnan(o.at(39, 0)));
  // Levels under 10 training rows (a and b: 8 each) join "(rare)", as does the unseen "r".
  FeatureMatrix r = fitted(Encoding::kOneHot, {{"lvl", ops(R"({"rare_below": 10})")}});
  ASSERT_GE(r.names.size(), 2u);
  EXPECT_EQ(r.names[0], "lvl=c");
  EXPECT_EQ(r.names[1], "lvl=(rare)");
  EXPECT_EQ(r.at(0, 1), 1.0f);   // a
  EXPECT_EQ(r.at(39, 1), 1.0f);  // r, unseen
  EXPECT_EQ(r.at(2, 0), 1.0f);   // c
}

TEST(Design, NumbersImputedTransformedAndClipped) {
  // Row 3 is missing; the others are powers of two from 1 to 2048.
  FeatureMatrix keep = fitted(Encoding::kNative, {});
  EXPECT_TRUE(std::isnan(keep.at(3, 1)));  // trees route missing values themselves
  FeatureMatrix constant = fitted(Encoding::kNative, {{"amount", ops(R"({"impute": "constant", "missing_indicator": true})")}});
  EXPECT_EQ(constant.at(3, 1), 0.0f);
  EXPECT_EQ(constant.names[2], "amount=missing");
  EXPECT_EQ(constant.at(3, 2), 1.0f);
  EXPECT_EQ(constant.at(4, 2), 0.0f);
  FeatureMatrix logged = fitted(Encoding::kNative, {{"amount", ops(R"({"transform": "log"})")}});
  EXPECT_NEAR(logged.at(5, 1), std::log1p(32.0), 1e-5);
  FeatureMatrix quantile = fitted(Encoding::kNative, {{"amount", ops(R"({"transform": "quantile"})")}});
  EXPECT_EQ(quantile.at(0, 1), 0.0f);   // the smallest training value
  EXPECT_EQ(quantile.at(11, 1), 1.0f);  // the largest
  FeatureMatrix clipped = fitted(Encoding::kNative, {{"amount", ops(R"({"clip": true, "impute": "median"})")}});
  EXPECT_FALSE(std::isnan(clipped.at(3, 1)));
  EXPECT_LE(clipped.at(11, 1), 2048.0f);
  // One-hot families: standardised on the training rows after the transform.
  FeatureMatrix scaled = fitted(Encoding::kOneHot, {{"amount", ops(R"({"transform": "log", "impute": "mean"})")}});
  double s = 0;
  for (std::size_t r = 0; r < 30; ++r) s += scaled.at(r, scaled.cols - 2);  // amount (before its indicator)
  EXPECT_NEAR(s / 30.0, 0.0, 1e-4);
}

TEST(Design, DroppedColumnsAreLeftOut) {
  FeatureMatrix m = fitted(Encoding::kOneHot, {{"amount", ops(R"({"drop": "drop_constant"})")}});
  for (const auto& n : m.names) EXPECT_EQ(n.rfind("amount", 0), std::string::npos) << n;
}

// Feature selection by variance: a column one value fills (beyond 99.5% of the training
// rows) is left out, and the saved preprocessor says so.
TEST(Design, VarianceSelectionLeavesNearConstantColumnsOut) {
  std::string csv = "rare,x,y\n";
  for (int i = 0; i < 1000; ++i) csv += std::string(i == 500 ? "1" : "0") + "," + std::to_string(i % 17) + ",1\n";
  Table t = read_csv_buffer(csv, "v.csv");
  std::vector<std::size_t> rows(1000);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Preprocessor pre(Encoding::kOneHot);
  ColumnOps select;
  select.drop_if_near_constant = true;
  pre.set_design({{"rare", select}, {"x", select}});
  pre.fit(t, {"rare", "x"}, rows);
  EXPECT_EQ(pre.near_constant(), std::vector<std::string>{"rare"});
  FeatureMatrix m = pre.transform(t);
  EXPECT_EQ(m.names, std::vector<std::string>{"x"});
  Preprocessor back = Preprocessor::from_json(json::parse(pre.to_json().dump()));
  EXPECT_EQ(back.near_constant(), pre.near_constant());
  EXPECT_TRUE(same(back.transform(t), m));
}

// A skewed count is flagged in the Data Card, with the reason; the built-in design gives
// its logarithm to the families that weigh sizes, not to trees.
TEST(Design, SkewedCountsAreFlaggedAndLoggedForLinearModels) {
  std::string csv = "views,y\n";
  // Amounts with cents (not integer codes), a few of them huge.
  for (int i = 0; i < 300; ++i) {
    csv += std::to_string(i % 50 == 0 ? 100000.25 + i : i % 20 + 0.25) + "," + std::to_string(i % 2) + "\n";
  }
  Table t = read_csv_buffer(csv, "s.csv");
  DataCard card = infer_data_card(t, "y", "skew");
  ASSERT_EQ(card.columns.size(), 1u);
  EXPECT_EQ(card.columns[0].open_kind, "skewed");
  EXPECT_NE(card.columns[0].open_choice.find("skew"), std::string::npos) << card.columns[0].open_choice;
  auto planner = make_builtin_planner(nullptr);
  std::vector<ModelAssignment> families = {{"xgboost", ""}, {"linear", ""}};
  auto design = planner->design_preprocessing(card, families);
  EXPECT_EQ(column_design(design.at("linear")).at("views").transform, "log");
  EXPECT_EQ(column_design(design.at("xgboost")).count("views"), 0u);
}

// The linear model's first setting is tried again with its plain encoding only when the
// design could change what it learns: dropping a column with one value cannot (on an
// image set that was the same 5 s trial twice). A skewed count the design logs can.
TEST(DesignRun, ThePlainEncodingIsTriedOnlyWhenTheDesignChangesTheFit) {
  auto proposals_with_plain = [](const std::string& name, bool skewed) {
    auto dir = testing::temp_dir(name);
    std::string csv = "a,b,flat,count,y\n";
    for (int i = 0; i < 300; ++i) {
      const double a = (i * 37 % 101) / 101.0, b = (i * 53 % 97) / 97.0;
      // Amounts with cents, a few huge (skewed), or spread evenly.
      const double count = skewed ? (i % 50 == 0 ? 100000.25 + i : i % 20 + 0.25) : (i * 29 % 83) / 83.0;
      csv += std::to_string(a) + "," + std::to_string(b) + ",7," + std::to_string(count) + "," +
             std::to_string(a + b > 1.0 ? 1 : 0) + "\n";
    }
    testing::write_file(dir / "train.csv", csv);
    RunRequest r;
    r.train_path = (dir / "train.csv").string();
    r.target = "y";
    r.out_dir = (dir / "run").string();
    r.store_path = (dir / "store.sqlite").string();
    r.budget_s = 30;
    r.max_trials = 4;
    r.families = {"constant", "linear"};
    r.ensemble = false;
    r.report = false;
    r.quiet = true;
    r.knowledge = "none";
    Session(r, std::cerr).run();
    const json plan = json::parse(testing::read_file(dir / "run" / "plan.json"));
    int plain = 0;
    for (const auto& p : plan["hyperparameter_proposals"]) {
      plain += p["hyperparameters"].value("prep", "") == "plain" ? 1 : 0;
    }
    // The constant column is left out by the design either way.
    bool dropped = false;
    for (const auto& step : plan["preprocessing"]["linear"]) {
      dropped = dropped || (step["op"] == "drop_constant" && step["columns"] == json::array({"flat"}));
    }
    EXPECT_TRUE(dropped) << plan["preprocessing"].dump();
    return plain;
  };
  EXPECT_EQ(proposals_with_plain("design-plain-constant", false), 0);
  EXPECT_EQ(proposals_with_plain("design-plain-skewed", true), 1);
}

TEST(Design, TheVocabularyMapsOntoColumnOperators) {
  ColumnDesign d = column_design({{"impute_mean", {"x"}},
                                  {"missing_indicator", {"x"}},
                                  {"log_transform", {"x"}},
                                  {"target_encoding", {"c"}},
                                  {"group_rare_levels", {"c"}},
                                  {"one_hot", {"k"}},
                                  {"drop_column", {"leak"}}});
  EXPECT_EQ(d.at("x").to_json(), json::parse(R"({"impute": "mean", "missing_indicator": true, "transform": "log"})"));
  EXPECT_EQ(d.at("c").categories, "target");
  EXPECT_EQ(d.at("c").rare_below, 10);
  EXPECT_EQ(d.count("k"), 0u);  // the encoding's own: nothing beyond it
  EXPECT_TRUE(d.at("leak").drop);
  EXPECT_EQ(d.at("leak").drop_reason, "drop_column");
  // Every operator of the vocabulary is understood.
  for (const auto& [op, doc] : preprocessing_vocabulary()) EXPECT_NO_THROW(column_design({{op, {"x"}}})) << op;
  EXPECT_THROW(column_design({{"sqrt", {"x"}}}), Error);
}

}  // namespace
}  // namespace automl
