// The XGBoost family's saved file: written as UBJSON, its size known before a save,
// read back to the same predictions, checked before XGBoost trusts it, and a model
// saved as JSON by an earlier version still loads.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

#include <filesystem>
#include <fstream>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/model.h"
#include "automl/pipeline.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;

// A regression on a 40-level id column read natively: the trees split on category
// sets, the part of the file XGBoost indexes without checking.
struct Fitted {
  std::shared_ptr<Model> model;
  FeatureMatrix x;
};

Fitted fit_on_ids() {
  std::string csv = "city,x,y\n";
  for (int i = 0; i < 800; ++i) {
    const int city = (i * 7) % 40;
    csv += fmt::format("c{},{},{}\n", city, i % 13, (city % 3 == 0 ? 5.0 : 0.0) + (city % 5) + 0.1 * (i % 13));
  }
  const Table table = read_csv_buffer(csv, "ids.csv");
  const DataCard card = infer_data_card(table, "y", "ids");
  const Target target = encode_target(table, card);
  std::vector<std::size_t> rows(table.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  const ModelEntry& e = model_registry().get("xgboost");
  Preprocessor pre(e.encoding);
  pre.fit(table, {"city", "x"}, rows);
  Fitted f;
  f.x = pre.transform(table, &rows);
  auto params = with_defaults(e.params, {});
  params["n_estimators"] = 30;
  FitContext ctx;
  ctx.task = target.task;
  ctx.metric = card.metric;
  ctx.threads = 1;
  ctx.seed = 3;
  ctx.fixed_iterations = 30;
  f.model = e.create(params, target.task);
  f.model->fit(f.x, target.y, nullptr, nullptr, ctx);
  return f;
}

// An unfitted regression model of the family, to load into.
std::unique_ptr<Model> blank_model() {
  const ModelEntry& e = model_registry().get("xgboost");
  return e.create(with_defaults(e.params, {}), Task::kRegression);
}

std::string load_error(const fs::path& dir) {
  auto model = blank_model();
  try {
    model->load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The first categorical split's segment made one longer than the categories after it.
nlohmann::json with_segment_past_the_end(nlohmann::json j) {
  for (auto& tree : j["learner"]["gradient_booster"]["model"]["trees"]) {
    auto& sizes = tree["categories_sizes"];
    if (sizes.empty()) continue;
    const auto begin = tree["categories_segments"][0].get<int64_t>();
    sizes[0] = static_cast<int64_t>(tree["categories"].size()) - begin + 1;
    return j;
  }
  ADD_FAILURE() << "no tree split on a category set";
  return j;
}

TEST(XgboostFile, SavesUbjsonOfTheSizeItSaidAndReloadsToTheSamePredictions) {
  const Fitted f = fit_on_ids();
  const fs::path dir = testing::temp_dir("xgb-file");
  f.model->save(dir);
  ASSERT_TRUE(fs::exists(dir / "xgboost.ubj"));
  EXPECT_FALSE(fs::exists(dir / "xgboost.json"));
  EXPECT_EQ(f.model->saved_bytes(), static_cast<double>(fs::file_size(dir / "xgboost.ubj")));

  auto back = blank_model();
  back->load(dir);
  EXPECT_EQ(back->predict(f.x), f.model->predict(f.x));
  fs::remove_all(dir);
}

TEST(XgboostFile, AModelSavedAsJsonByAnEarlierVersionLoads) {
  const Fitted f = fit_on_ids();
  const fs::path dir = testing::temp_dir("xgb-legacy");
  f.model->save(dir);
  // XGBoost's own JSON (NaN and Infinity written bare), as `save` wrote it before.
  BoosterHandle h = nullptr;
  ASSERT_EQ(XGBoosterCreate(nullptr, 0, &h), 0);
  ASSERT_EQ(XGBoosterLoadModel(h, (dir / "xgboost.ubj").c_str()), 0);
  ASSERT_EQ(XGBoosterSaveModel(h, (dir / "xgboost.json").c_str()), 0);
  XGBoosterFree(h);
  fs::remove(dir / "xgboost.ubj");
  auto back = blank_model();
  back->load(dir);
  const auto want = f.model->predict(f.x), got = back->predict(f.x);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "row " << i;
  fs::remove_all(dir);
}

TEST(XgboostFile, ACategorySetPastTheEndIsRefusedInEitherFormat) {
  const Fitted f = fit_on_ids();
  const fs::path dir = testing::temp_dir("xgb-tampered");
  f.model->save(dir);
  const nlohmann::json bad = with_segment_past_the_end(nlohmann::json::from_ubjson(testing::read_file(dir / "xgboost.ubj")));

  const std::vector<std::uint8_t> ubj = nlohmann::json::to_ubjson(bad);
  testing::write_file(dir / "xgboost.ubj", std::string(ubj.begin(), ubj.end()));
  std::string why = load_error(dir);
  EXPECT_EQ(why.rfind((dir / "xgboost.ubj").string() + " tree 0 categories_sizes is damaged: ", 0), 0u) << why;

  fs::remove(dir / "xgboost.ubj");
  testing::write_file(dir / "xgboost.json", bad.dump());
  why = load_error(dir);
  EXPECT_EQ(why.rfind((dir / "xgboost.json").string() + " tree 0 categories_sizes is damaged: ", 0), 0u) << why;

  // Bytes that are not UBJSON at all.
  fs::remove(dir / "xgboost.json");
  testing::write_file(dir / "xgboost.ubj", "{\"learner\": 1}");
  why = load_error(dir);
  EXPECT_EQ(why.rfind((dir / "xgboost.ubj").string() + " is damaged: ", 0), 0u) << why;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace automl
