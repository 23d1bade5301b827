#include <gtest/gtest.h>

#include "automl/data_card.h"
#include "automl/error.h"
#include "helpers.h"

namespace automl {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DataCard, InfersTaskLabelSpaceMetricAndProfile) {
  Table t = read_csv_buffer(testing::make_csv("binary", 300, 1), "toy.csv");
  DataCard c = infer_data_card(t, "y", "toy");
  EXPECT_EQ(c.name, "toy");
  EXPECT_EQ(c.task, Task::kBinary);
  EXPECT_EQ(c.metric, "roc_auc");
  EXPECT_EQ(c.positive_class, "yes");
  ASSERT_EQ(c.classes.size(), 2u);
  EXPECT_EQ(c.classes[0].first, "no");
  EXPECT_EQ(c.classes[0].second + c.classes[1].second, 300u);
  ASSERT_EQ(c.columns.size(), 3u);
  EXPECT_EQ(c.columns[2].name, "colour");
  EXPECT_EQ(c.columns[2].type, ColumnType::kCategorical);
  EXPECT_EQ(c.columns[2].cardinality, 3u);
  EXPECT_GT(c.columns[0].missing_share, 0.0);
  EXPECT_EQ(c.meta_features.at("n_rows"), 300);
  EXPECT_EQ(c.meta_features.at("n_categorical"), 1);
  EXPECT_GT(c.meta_features.at("class_entropy"), 0.5);
  EXPECT_EQ(c.modality, "tabular");

  Table m = read_csv_buffer(testing::make_csv("multiclass", 300, 1), "toy.csv");
  EXPECT_EQ(infer_data_card(m, "y", "toy").task, Task::kMulticlass);
  EXPECT_EQ(infer_data_card(m, "y", "toy").metric, "accuracy");
  Table r = read_csv_buffer(testing::make_csv("regression", 300, 1), "toy.csv");
  DataCard rc = infer_data_card(r, "y", "toy");
  EXPECT_EQ(rc.task, Task::kRegression);
  EXPECT_EQ(rc.metric, "rmse");
  EXPECT_GT(rc.target_stats.at("std"), 1.0);
}

TEST(DataCard, RoundTripsThroughJson) {
  Table t = read_csv_buffer(testing::make_csv("multiclass", 200, 2), "toy.csv");
  DataCard c = infer_data_card(t, "y", "toy");
  DataCard back = DataCard::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
}

TEST(DataCard, OverridesWin) {
  Table t = read_csv_buffer("a,b,y\n1,2,0\n2,3,1\n3,4,2\n4,5,1\n5,6,0\n", "t.csv");
  nlohmann::json o = {{"task", "regression"}, {"metric", "mae"}, {"name", "given"}, {"description", "d"}};
  DataCard c = infer_data_card(t, "y", "t", o);
  EXPECT_EQ(c.task, Task::kRegression);
  EXPECT_EQ(c.metric, "mae");
  EXPECT_EQ(c.name, "given");
  EXPECT_EQ(c.description, "d");
  EXPECT_NE(error_of([&] { infer_data_card(t, "y", "t", {{"task", "multiclass"}, {"metric", "rmse"}}); })
                .find("metric rmse does not apply"),
            std::string::npos);
}

TEST(DataCard, MissingTargetSuggestsCloseColumns) {
  Table t = read_csv_buffer("income,age\n1,2\n0,3\n", "adult.csv");
  auto msg = error_of([&] { infer_data_card(t, "incme", "adult"); });
  EXPECT_NE(msg.find("incme"), std::string::npos) << msg;
  EXPECT_NE(msg.find("income"), std::string::npos) << msg;
}

TEST(DataCard, SingleClassTargetIsAnError) {
  Table t = read_csv_buffer("a,y\n1,x\n2,x\n3,x\n", "one.csv");
  auto msg = error_of([&] { infer_data_card(t, "y", "one"); });
  EXPECT_NE(msg.find("single class"), std::string::npos) << msg;
  EXPECT_NE(msg.find("one.csv"), std::string::npos) << msg;
}

TEST(DataCard, ReadsCardFilesInJsonAndYaml) {
  auto dir = testing::temp_dir("cards");
  testing::write_file(dir / "c.json", R"({"task": "binary", "positive_class": "no", "feature_types": {"a": "categorical"}})");
  testing::write_file(dir / "c.yaml", "task: binary\npositive_class: \"no\"\nfeature_types:\n  a: categorical\n");
  for (const char* f : {"c.json", "c.yaml"}) {
    auto j = load_card_file((dir / f).string());
    EXPECT_EQ(j["task"], "binary") << f;
    EXPECT_EQ(j["positive_class"], "no") << f;
    EXPECT_EQ(declared_feature_types(j).at("a"), ColumnType::kCategorical) << f;
  }
  EXPECT_NE(error_of([&] { load_card_file((dir / "nope.json").string()); }).find("no such card file"), std::string::npos);
  testing::write_file(dir / "bad.json", "{\"task\": ");
  EXPECT_NE(error_of([&] { load_card_file((dir / "bad.json").string()); }).find("bad.json"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(DataCard, SharedDatasetCardOverridesInference) {
  auto dir = testing::shared_datasets() / "ames";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no shared datasets";
  auto overrides = load_card_file((dir / "card.json").string());
  CsvOptions o;
  o.missing_tokens = {""};
  o.declared_types = declared_feature_types(overrides);
  Table t = read_csv((dir / "train.csv").string(), o);
  DataCard c = infer_data_card(t, overrides["target"], "ames", overrides);
  EXPECT_EQ(c.task, Task::kRegression);
  EXPECT_EQ(c.meta_features.at("n_categorical"), 40);
  EXPECT_EQ(c.meta_features.at("missing_share"), 0.0);  // "None" is a real category here
}

// A YAML card is a graph once aliases are read: one that refers to itself, or aliases of
// aliases that expand a billion-fold, is refused by name instead of recursing until the
// stack or the memory runs out (both found by the card fuzz target's inputs).
TEST(DataCard, YamlAliasesThatLoopOrExplodeAreRefusedByName) {
  auto error_of = [](const std::string& text) {
    try {
      parse_card_text(text, "card.yaml");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("&zt\ne: *zt\nb"), "card.yaml: nested deeper than 64 levels (a YAML alias that refers to itself?)");
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int k = 0; k < 10; ++k) laughs += std::string(k ? ", " : "") + "*" + static_cast<char>(c - 1);
    laughs += "]\n";
  }
  EXPECT_EQ(error_of(laughs), "card.yaml: more than 100000 values once its YAML aliases are expanded");
  // An ordinary alias still reads.
  const auto j = parse_card_text("name: &n iris\ndescription: *n\n", "card.yaml");
  EXPECT_EQ(j.at("description"), "iris");
}

}  // namespace
}  // namespace automl
