// Integer columns that are codes (ids, types): the Data Card flags them as an open
// choice, the preprocessing reads them as categories when a trial's setting says so
// (fitted on the training rows only, saved with the model), and a run on a table whose
// codes carry the signal finds that reading.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include "automl/data_card.h"
#include "automl/pipeline.h"
#include "automl/run.h"
#include "automl/session.h"
#include "automl/table.h"
#include "helpers.h"

namespace automl {
namespace {

using json = nlohmann::json;

// Ratings-like rows: `levels` codes whose effects have nothing to do with their number,
// a numeric column with a small effect, and noise. The code column is named `name`.
std::string coded_csv(const std::string& name, int rows, int levels, uint64_t seed, uint64_t effects_seed = 7) {
  std::mt19937_64 effects_rng(effects_seed);
  std::normal_distribution<double> effect(0.0, 1.0);
  std::vector<double> effects(static_cast<std::size_t>(levels));
  for (auto& e : effects) e = effect(effects_rng);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> code(0, levels - 1);
  std::uniform_real_distribution<double> x(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 0.3);
  std::ostringstream out;
  out << name << ",x,y\n";
  for (int i = 0; i < rows; ++i) {
    const int c = code(rng);
    const double xv = x(rng);
    out << c * 3 + 100 << "," << xv << "," << effects[static_cast<std::size_t>(c)] + 0.5 * xv + noise(rng) << "\n";
  }
  return out.str();
}

TEST(Codes, TheDataCardFlagsIntegerColumnsWhoseReadingIsOpen) {
  Table t = read_csv_buffer("userId,hour,price,flag,y\n" + [] {
    std::string s;
    for (int i = 0; i < 400; ++i) {
      s += std::to_string(i % 40) + "," + std::to_string(i % 24) + "," + std::to_string(i * 0.37) + "," +
           std::to_string(i % 2) + "," + std::to_string(i % 7) + ".5\n";
    }
    return s;
  }(), "codes.csv");
  DataCard card = infer_data_card(t, "y", "codes");
  ASSERT_EQ(card.columns.size(), 4u);
  EXPECT_NE(card.columns[0].open_choice.find("40 distinct integer values"), std::string::npos) << card.columns[0].open_choice;
  EXPECT_TRUE(card.columns[0].id_like_name);
  EXPECT_FALSE(card.columns[1].open_choice.empty());  // hours: numbers or codes, the search decides
  EXPECT_FALSE(card.columns[1].id_like_name);
  EXPECT_TRUE(card.columns[2].open_choice.empty());  // fractions are amounts
  EXPECT_TRUE(card.columns[3].open_choice.empty());  // two values read the same either way
  // Kept in the card file; a declared type closes the choice.
  EXPECT_EQ(DataCard::from_json(card.to_json()).columns[0].open_choice, card.columns[0].open_choice);
  DataCard declared = infer_data_card(t, "y", "codes", {{"feature_types", {{"userId", "numeric"}}}});
  EXPECT_TRUE(declared.columns[0].open_choice.empty());
}

TEST(Codes, AreLevelsFittedOnTrainingRowsAndSavedWithTheModel) {
  // Rows 0..2 train; row 3 holds a code training never showed.
  Table t = read_csv_buffer("u,x,y\n7,0.5,1\n9,0.1,2\n7,,3\n11,0.2,4\n", "u.csv");
  const std::vector<std::size_t> train = {0, 1, 2};
  for (Encoding enc : {Encoding::kNative, Encoding::kOneHot}) {
    Preprocessor pre(enc);
    pre.set_codes_as_categories({"u"});
    pre.fit(t, {"u", "x"}, train);
    FeatureMatrix m = pre.transform(t);
    if (enc == Encoding::kNative) {
      ASSERT_EQ(m.cols, 2u);
      EXPECT_EQ(m.n_categories[0], 2);  // levels 7 and 9
      EXPECT_EQ(m.at(0, 0), 0.0f);      // 7, the most frequent, is level 0
      EXPECT_EQ(m.at(1, 0), 1.0f);
      EXPECT_TRUE(std::isnan(m.at(3, 0)));  // unseen: missing
    } else {
      ASSERT_EQ(m.names[0], "u=7");
      ASSERT_EQ(m.names[1], "u=9");
      EXPECT_EQ(m.at(0, 0), 1.0f);
      EXPECT_EQ(m.at(3, 0) + m.at(3, 1), 0.0f);  // unseen: all zeros
    }
    Preprocessor back = Preprocessor::from_json(json::parse(pre.to_json().dump()));
    EXPECT_EQ(back.codes_as_categories(), std::vector<std::string>{"u"});
    FeatureMatrix again = back.transform(t);
    ASSERT_EQ(again.values.size(), m.values.size());
    for (std::size_t i = 0; i < m.values.size(); ++i) {
      EXPECT_TRUE(again.values[i] == m.values[i] || (std::isnan(again.values[i]) && std::isnan(m.values[i]))) << i;
    }
    EXPECT_EQ(again.n_categories, m.n_categories);
  }
}

// A name that does not read like an identifier: the planner's design reads the codes as
// numbers, and the search's variant that reads them as categories must win.
TEST(CodesRun, ARunFindsThatIntegerCodesAreCategories) {
  auto dir = testing::temp_dir("codes-run");
  testing::write_file(dir / "train.csv", coded_csv("shop", 3000, 150, 1));
  testing::write_file(dir / "test.csv", coded_csv("shop", 1500, 150, 2));
  RunRequest r;
  r.train_path = (dir / "train.csv").string();
  r.test_path = (dir / "test.csv").string();
  r.target = "y";
  r.out_dir = (dir / "run").string();
  r.store_path = (dir / "store.sqlite").string();
  r.budget_s = 120;
  r.max_trials = 8;
  r.quiet = true;
  r.knowledge = "none";
  json summary = Session(r, std::cerr).run();
  // The codes' effects have spread 1 and the noise 0.3: a model that learned them is far
  // below 1, and the same setting does clearly better reading the codes as categories
  // (as numbers, a tree must cut 150 arbitrary intervals).
  EXPECT_LT(summary["test_score"].get<double>(), 0.45) << summary.dump(2);
  std::map<std::string, double> by_variant;  // the first xgboost setting, in each variant
  int codes_trial = -1;
  {
    Table lb = read_csv(dir / "run" / "leaderboard.csv");
    for (std::size_t i = 0; i < lb.n_rows; ++i) {
      if (lb.column("family").cell_string(i) != "xgboost") continue;
      const json params = json::parse(lb.column("hyperparameters").cell_string(i));
      const std::string variant = params.value("prep", "design");
      if (!by_variant.count(variant)) by_variant[variant] = lb.column("validation_score").numeric[i];
      if (variant == "codes" && codes_trial < 0) codes_trial = static_cast<int>(lb.column("trial_id").numeric[i]);
    }
  }
  ASSERT_TRUE(by_variant.count("design") && by_variant.count("codes")) << "both readings tried";
  EXPECT_LT(by_variant["codes"], 0.95 * by_variant["design"]);
  EXPECT_EQ(summary["ensemble"]["best_single_trial"].get<int>(), codes_trial) << summary.dump(2);
  const json plan = json::parse(testing::read_file(dir / "run" / "plan.json"));
  ASSERT_TRUE(plan.contains("open_choices"));
  EXPECT_EQ(plan["open_choices"][0]["column"], "shop");
  EXPECT_EQ(plan["prep_variants"]["xgboost"]["codes"], json({{"shop", {{"codes", true}}}}));
  EXPECT_EQ(plan["prep_variants"]["xgboost"]["design"], json::object());
  // The saved pipeline reads them as the chosen trial did, and predicts the same after reloading.
  Pipeline p = Pipeline::load(dir / "run" / "model");
  Table test = read_csv(dir / "test.csv", p.read_options({}));
  std::vector<double> pred = p.predict(test);
  const std::string saved = testing::read_file(dir / "run" / "test_predictions.csv");
  std::istringstream lines(saved);
  std::string line;
  std::getline(lines, line);  // the header
  std::size_t i = 0;
  for (; std::getline(lines, line); ++i) {
    ASSERT_LT(i, pred.size());
    EXPECT_NEAR(std::stod(line), pred[i], 1e-9 * std::max(1.0, std::abs(pred[i]))) << "row " << i;
  }
  EXPECT_EQ(i, pred.size());
}

}  // namespace
}  // namespace automl
