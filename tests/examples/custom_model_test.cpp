// The family of examples/custom_model/, linked into this test program only: it is
// registered without any edit in src/, listed with the others, proposed by the
// built-in planner from its declared properties, trained by a run and selected when
// it is the best.
#include <gtest/gtest.h>

#include <fstream>

#include "automl/planner.h"
#include "automl/run.h"
#include "automl/session.h"
#include "helpers.h"

namespace automl {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

RunRequest penguins(const fs::path& dir) {
  RunRequest r;
  const fs::path data = testing::source_dir() / "examples" / "data" / "penguins";
  r.train_path = (data / "train.csv").string();
  r.test_path = (data / "test.csv").string();
  r.target = "species";
  r.out_dir = (dir / "run").string();
  r.store_path = (dir / "store.sqlite").string();
  r.quiet = true;
  r.knowledge = "none";
  r.threads = 2;
  return r;
}

TEST(CustomModel, IsRegisteredAndListedWithItsCard) {
  ASSERT_TRUE(model_registry().has("nearest_centroid"));
  bool listed = false;
  for (const auto* e : model_registry().entries()) listed |= e->name == "nearest_centroid";
  EXPECT_TRUE(listed);  // what `automl-gpt models` walks
  const json card = model_registry().get("nearest_centroid").card();
  EXPECT_EQ(card["name"], "nearest_centroid");
  ASSERT_EQ(card["hyperparameters"].size(), 2u);
  EXPECT_EQ(card["hyperparameters"][0]["name"], "shrinkage");
}

TEST(CustomModel, TheOpeningHoldsItsDeclaredSettingInItsPlace) {
  const auto opening = default_portfolio(Task::kMulticlass, 300, {});
  std::size_t at = opening.size(), last_linear = 0, first_boosted = opening.size();
  for (std::size_t i = 0; i < opening.size(); ++i) {
    const ModelEntry& e = model_registry().get(opening[i].family);
    if (opening[i].family == "nearest_centroid" && at == opening.size()) at = i;
    if (e.name == "linear" && i < first_boosted) last_linear = i;
    if (e.warm_start && first_boosted == opening.size()) first_boosted = i;
  }
  ASSERT_LT(at, opening.size()) << "the declared opening setting is missing";
  EXPECT_EQ(opening[at].params, json({{"shrinkage", 0.1}, {"temperature", 1.0}}));
  // Order 35: after the linear opening (30), before the small-table references (40).
  EXPECT_GT(at, last_linear);
  EXPECT_LT(at, first_boosted);
  // Not for images: its modalities say tables only, and the planner asks for a card's.
  DataCard image_card;
  image_card.modality = "image";
  PortfolioContext ctx;
  ctx.task = Task::kMulticlass;
  ctx.rows = 300;
  ctx.card = &image_card;
  for (const auto& p : family_portfolio(ctx, {"nearest_centroid", "constant"})) EXPECT_NE(p.family, "nearest_centroid");
}

TEST(CustomModel, ARunTrainsItAndSelectsItWhenItIsBest) {
  auto dir = testing::temp_dir("custom-model-select");
  RunRequest r = penguins(dir);
  r.families = {"nearest_centroid", "constant"};
  r.budget_s = 8;
  r.max_trials = 4;
  r.ensemble = false;
  json summary = Session(r, std::cerr).run();
  ASSERT_TRUE(summary.contains("model")) << summary.dump(2);
  EXPECT_EQ(summary["model"]["family"], "nearest_centroid") << summary.dump(2);
  // Three species told apart by their measurements: far above the largest class's share.
  EXPECT_GT(summary["test_score"].get<double>(), 0.8) << summary.dump(2);
  EXPECT_TRUE(fs::exists(dir / "run" / "model" / "nearest_centroid.json"));
}

TEST(CustomModel, TheBuiltinPlannerAssignsAndProposesItAmongTheOthers) {
  auto dir = testing::temp_dir("custom-model-all");
  RunRequest r = penguins(dir);
  r.budget_s = 8;
  r.max_trials = 6;
  json summary = Session(r, std::cerr).run();
  std::ifstream in(dir / "run" / "plan.json");
  const json plan = json::parse(in);
  bool assigned = false, proposed = false;
  for (const auto& a : plan["model_assignment"]) assigned |= a["family"] == "nearest_centroid";
  for (const auto& p : plan["hyperparameter_proposals"]) proposed |= p["family"] == "nearest_centroid";
  EXPECT_TRUE(assigned) << plan["model_assignment"].dump(2);
  EXPECT_TRUE(proposed) << plan["hyperparameter_proposals"].dump(2);
  // And a trial of it ran to a score.
  const std::string board = testing::read_file(dir / "run" / "leaderboard.csv");
  bool scored = false;
  std::istringstream lines(board);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(",nearest_centroid,") != std::string::npos && line.find(",finished,") != std::string::npos) scored = true;
  }
  EXPECT_TRUE(scored) << board;
}

}  // namespace
}  // namespace automl
