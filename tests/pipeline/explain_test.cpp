// Explanations: exact tree SHAP values that sum to the model's margin, sampled Shapley
// values that sum to the prediction and fold one-hot levels back onto their column,
// permutation importance that finds a planted column, and the errors a user sees.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/explain.h"
#include "automl/pipeline.h"
#include "helpers.h"

namespace automl {
namespace {

using nlohmann::json;

struct Fixture {
  Table table;
  DataCard card;
  Target y;
};

Fixture toy(const std::string& task, int rows, uint64_t seed) {
  Fixture f;
  f.table = read_csv_buffer(testing::make_csv(task, rows, seed), "toy.csv");
  f.card = infer_data_card(f.table, "y", "toy");
  f.y = encode_target(f.table, f.card);
  return f;
}

// A pipeline of `family` fitted on `rows` of the table (all rows when empty).
Pipeline fitted(const Table& table, const Target& y, const DataCard& card, const std::string& family,
                const std::vector<std::string>& features, std::vector<std::size_t> rows = {}) {
  Pipeline p;
  p.family = family;
  p.params = json::object();
  p.target = y;
  p.target.y.clear();
  p.schema = card.feature_types();
  p.features = features;
  const ModelEntry& e = model_registry().get(family);
  if (rows.empty()) {
    rows.resize(table.n_rows);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  }
  std::vector<double> ys;
  for (auto r : rows) ys.push_back(y.y[r]);
  p.preprocessor = Preprocessor(e.encoding);
  p.preprocessor.fit(table, p.features, rows);
  FitContext ctx;
  ctx.task = y.task;
  ctx.n_classes = y.n_classes();
  ctx.metric = card.metric;
  ctx.fixed_iterations = 40;
  ctx.threads = 1;
  ctx.seed = 7;
  p.model = e.create(with_defaults(e.params, json::object()), y.task);
  p.model->fit(p.preprocessor.transform(table, &rows), ys, nullptr, nullptr, ctx);
  return p;
}

const std::vector<std::string> kToyColumns = {"x1", "x2", "colour"};

class TreeShap : public ::testing::TestWithParam<std::string> {};

// The acceptance check of `explain` on boosted trees: per row (and per class), the bias
// and the columns' values add up to the margin XGBoost itself predicts, and that margin
// is the model's prediction through its link.
TEST_P(TreeShap, ValuesSumToTheMargin) {
  const std::string task = GetParam();
  Fixture f = toy(task, 400, 11);
  Pipeline p = fitted(f.table, f.y, f.card, "xgboost", kToyColumns);
  ColumnContributions c = explain_rows(p, f.table);
  ASSERT_EQ(c.method, "tree_shap");
  EXPECT_EQ(c.columns, kToyColumns);
  ASSERT_EQ(c.rows, f.table.n_rows);
  const std::size_t k = task == "multiclass" ? 3 : 1;
  ASSERT_EQ(c.outputs.size(), k);

  std::optional<Contributions> raw = p.model->contributions(p.preprocessor.transform(f.table));
  ASSERT_TRUE(raw.has_value());
  const double sign = task == "binary" && p.target.positive != 1 ? -1.0 : 1.0;
  const std::vector<double> pred = p.predict(f.table);
  const std::size_t n_out = static_cast<std::size_t>(p.target.n_outputs());
  for (std::size_t r = 0; r < c.rows; ++r) {
    double norm = 0;
    for (std::size_t o = 0; o < k; ++o) norm += std::exp(c.total(r, o));
    for (std::size_t o = 0; o < k; ++o) {
      const double total = c.total(r, o);
      ASSERT_NEAR(total, sign * raw->margin[r * k + o], 1e-4) << "row " << r << " output " << o;
      if (task == "regression") {
        ASSERT_NEAR(total, pred[r], 1e-4) << "row " << r;
      } else if (task == "binary") {
        ASSERT_NEAR(1.0 / (1.0 + std::exp(-total)), pred[r * n_out + static_cast<std::size_t>(p.target.positive)], 1e-5);
      } else {
        ASSERT_NEAR(std::exp(total) / norm, pred[r * n_out + o], 1e-5) << "row " << r << " class " << o;
      }
    }
  }
  // The informative columns carry weight; the bias is the same for every row.
  double x1 = 0;
  for (std::size_t r = 0; r < c.rows; ++r) x1 += std::abs(c.at(r, 0, 0));
  EXPECT_GT(x1 / static_cast<double>(c.rows), 0.05);
  EXPECT_NEAR(c.bias(0, 0), c.bias(c.rows - 1, 0), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Explain, TreeShap, ::testing::Values("binary", "multiclass", "regression"),
                         [](const auto& info) { return info.param; });

// The model-agnostic path: one-hot levels come back as their column, and the values
// plus the bias give the prediction itself, for a single model and for an ensemble.
TEST(Explain, SamplingShapleySumsToThePredictionOnTheInputColumns) {
  Fixture f = toy("multiclass", 300, 5);
  auto lin = std::make_shared<const Pipeline>(fitted(f.table, f.y, f.card, "linear", kToyColumns));
  auto xgb = std::make_shared<const Pipeline>(fitted(f.table, f.y, f.card, "xgboost", kToyColumns));
  Pipeline ens;
  ens.family = "ensemble";
  ens.target = lin->target;
  ens.schema = lin->schema;
  ens.features = lin->features;
  ens.members = {lin, xgb};
  ens.blend = {"ensemble", {0.6, 0.4}, {}};

  std::vector<std::size_t> some = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  Table rows;  // a few rows to explain, the training file as the background
  rows.source = "rows.csv";
  rows.n_rows = some.size();
  for (const auto& col : f.table.columns) {
    Column c = col;
    if (c.type == ColumnType::kNumeric) c.numeric.resize(some.size());
    if (c.type == ColumnType::kCategorical) c.codes.resize(some.size());
    rows.columns.push_back(std::move(c));
  }
  for (const Pipeline* p : std::vector<const Pipeline*>{lin.get(), &ens}) {
    ExplainOptions opt;
    opt.background = &f.table;
    opt.permutations = 6;
    ColumnContributions c = explain_rows(*p, rows, opt);
    EXPECT_EQ(c.method, "sampling_shapley");
    EXPECT_EQ(c.columns, kToyColumns);  // colour's one-hot levels folded back
    ASSERT_EQ(c.outputs, f.y.classes);
    const std::vector<double> pred = p->predict(rows);
    for (std::size_t r = 0; r < c.rows; ++r) {
      for (std::size_t o = 0; o < c.outputs.size(); ++o) ASSERT_NEAR(c.total(r, o), pred[r * 3 + o], 1e-9);
    }
  }
  // A boosted-tree model too, when asked for the agnostic method.
  ExplainOptions sampled;
  sampled.method = "sampling";
  EXPECT_EQ(explain_rows(*xgb, rows, sampled).method, "sampling_shapley");

  // Permutation importance takes an ensemble like any pipeline (no gain or SHAP of its own).
  std::vector<std::size_t> all;
  std::vector<double> ys;
  for (std::size_t i = 0; i < f.table.n_rows; ++i) {
    all.push_back(i);
    ys.push_back(f.y.y[i]);
  }
  FeatureImportance fi = permutation_importance(ens, f.table, all, ys, f.card.metric);
  EXPECT_EQ(fi.columns_measured, 3u);
  EXPECT_EQ(fi.repeats, 5);
  for (const auto& c : fi.columns) {
    EXPECT_FALSE(std::isnan(c.importance_mean)) << c.column;
    EXPECT_TRUE(std::isnan(c.gain)) << c.column;
  }
}

TEST(Explain, AFileWithoutATrainedColumnIsRefusedByName) {
  Fixture f = toy("binary", 200, 3);
  Pipeline p = fitted(f.table, f.y, f.card, "xgboost", kToyColumns);
  Table lacking = read_csv_buffer("x1,colour\n0.5,red\n-1,blue\n", "lacking.csv");
  try {
    explain_rows(p, lacking);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    const std::string m = e.what();
    EXPECT_NE(m.find("lacking.csv"), std::string::npos) << m;
    EXPECT_NE(m.find("\"x2\""), std::string::npos) << m;
  }
}

// Data with one informative column among noise: numeric noise, categorical noise and a
// weakly informative column.
Table planted(int rows, uint64_t seed, const std::string& task) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::ostringstream out;
  out << "noise_a,signal,noise_b,weak,noise_cat,y\n";
  const char* cats[] = {"p", "q", "r", "s"};
  for (int i = 0; i < rows; ++i) {
    const double s = n01(rng), w = n01(rng);
    const double v = 2.0 * s + 0.3 * w + 0.3 * n01(rng);
    out << n01(rng) << "," << s << "," << n01(rng) << "," << w << "," << cats[rng() % 4] << ",";
    if (task == "binary") out << (v > 0 ? "pos" : "neg") << "\n";
    else out << v << "\n";
  }
  return read_csv_buffer(out.str(), "planted.csv");
}

class PlantedImportance : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(PlantedImportance, RanksThePlantedColumnAboveTheNoise) {
  const auto& [family, task] = GetParam();
  Table table = planted(900, 17, task);
  DataCard card = infer_data_card(table, "y", "planted");
  Target y = encode_target(table, card);
  const std::vector<std::string> features = {"noise_a", "signal", "noise_b", "weak", "noise_cat"};
  std::vector<std::size_t> train, valid;
  for (std::size_t i = 0; i < table.n_rows; ++i) (i % 3 == 0 ? valid : train).push_back(i);
  Pipeline p = fitted(table, y, card, family, features, train);
  std::vector<double> yv;
  for (auto r : valid) yv.push_back(y.y[r]);
  ImportanceOptions opt;
  opt.seed = 3;
  FeatureImportance fi = permutation_importance(p, table, valid, yv, card.metric, opt);
  ASSERT_EQ(fi.columns.size(), features.size());
  EXPECT_EQ(fi.columns[0].column, "signal");
  EXPECT_EQ(fi.columns[1].column, "weak");
  EXPECT_EQ(fi.repeats, 5);
  EXPECT_EQ(fi.columns_measured, features.size());
  EXPECT_EQ(fi.rows, valid.size());
  EXPECT_TRUE(fi.cut.empty()) << fi.cut;
  const ColumnImportance& top = fi.columns[0];
  EXPECT_EQ(top.repeats, 5);
  ASSERT_FALSE(std::isnan(top.importance_std));
  for (std::size_t j = 2; j < fi.columns.size(); ++j) {
    const ColumnImportance& c = fi.columns[j];
    EXPECT_GT(top.importance_mean, c.importance_mean + 5 * (top.importance_std + c.importance_std)) << c.column;
    EXPECT_LT(std::abs(c.importance_mean), 0.2 * top.importance_mean) << c.column;
  }
  // Boosted trees also give gain and |SHAP| per column, and they agree on the leader.
  const bool trees = static_cast<bool>(p.model->contributions(p.preprocessor.transform(table, &valid)));
  for (const auto& c : fi.columns) {
    EXPECT_EQ(std::isnan(c.gain), !trees) << c.column;
    EXPECT_EQ(std::isnan(c.shap_abs_mean), !trees) << c.column;
    if (trees && c.column != "signal") {
      EXPECT_GT(top.gain, c.gain);
      EXPECT_GT(top.shap_abs_mean, c.shap_abs_mean);
    }
  }

  // The file: one line per input column, in the same order, empty cells where not applicable.
  auto dir = testing::temp_dir("importance-" + family + "-" + task);
  write_feature_importance(dir / "feature_importance.csv", fi);
  std::istringstream lines(testing::read_file(dir / "feature_importance.csv"));
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "feature,importance_mean,importance_std,repeats,gain,shap_abs_mean");
  std::getline(lines, line);
  EXPECT_EQ(line.rfind("signal,", 0), 0u) << line;
  if (!trees) EXPECT_EQ(line.substr(line.size() - 2), ",,") << line;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Explain, PlantedImportance,
                         ::testing::Values(std::make_pair(std::string("xgboost"), std::string("binary")),
                                           std::make_pair(std::string("xgboost"), std::string("regression")),
                                           std::make_pair(std::string("linear"), std::string("binary")),
                                           std::make_pair(std::string("knn"), std::string("regression"))),
                         [](const auto& info) { return info.param.first + "_" + info.param.second; });

// A run's importance pass scores every row of the toy table: the rows and their targets.
std::pair<std::vector<std::size_t>, std::vector<double>> every_row(const Fixture& f) {
  std::pair<std::vector<std::size_t>, std::vector<double>> out;
  for (std::size_t i = 0; i < f.table.n_rows; ++i) {
    out.first.push_back(i);
    out.second.push_back(f.y.y[i]);
  }
  return out;
}

// A deadline already past still lists every column (unmeasured) and says what it cut.
TEST(Explain, ImportanceWithNoTimeLeftListsTheColumnsAndSaysSo) {
  Fixture f = toy("binary", 200, 9);
  Pipeline p = fitted(f.table, f.y, f.card, "linear", kToyColumns);
  const auto [rows, ys] = every_row(f);
  ImportanceOptions opt;
  opt.deadline = Clock::now() - std::chrono::seconds(1);
  FeatureImportance fi = permutation_importance(p, f.table, rows, ys, f.card.metric, opt);
  EXPECT_EQ(fi.columns.size(), 3u);
  EXPECT_EQ(fi.columns_measured, 0u);
  EXPECT_FALSE(fi.cut.empty());
  for (const auto& c : fi.columns) EXPECT_TRUE(std::isnan(c.importance_mean));
  EXPECT_EQ(fi.to_json()["columns_measured"], 0);
}

// Time to spare after the asked repeats goes to more whole repeats, up to max_repeats;
// every column gets the same number and the summary says how many were asked.
TEST(Explain, ImportanceTakesMoreRepeatsWhenTimeIsLeft) {
  Fixture f = toy("binary", 200, 9);
  Pipeline p = fitted(f.table, f.y, f.card, "linear", kToyColumns);
  const auto [rows, ys] = every_row(f);
  ImportanceOptions opt;
  opt.repeats = 3;
  opt.deadline = Clock::now() + std::chrono::seconds(60);
  FeatureImportance asked = permutation_importance(p, f.table, rows, ys, f.card.metric, opt);
  EXPECT_EQ(asked.repeats, 3);  // no max_repeats: what was asked
  opt.max_repeats = 12;
  FeatureImportance more = permutation_importance(p, f.table, rows, ys, f.card.metric, opt);
  EXPECT_EQ(more.repeats, 12);
  EXPECT_EQ(more.repeats_asked, 3);
  EXPECT_TRUE(more.cut.empty()) << more.cut;
  for (const auto& c : more.columns) EXPECT_EQ(c.repeats, 12) << c.column;
  EXPECT_EQ(more.to_json()["repeats_asked"], 3);
  EXPECT_LT(more.seconds, 60.0);
}

// A model whose first predictions are slow (a member warming up) and the rest quick.
class SlowAtFirst : public Model {
 public:
  explicit SlowAtFirst(std::shared_ptr<Model> inner) : inner_(std::move(inner)) {}
  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix* vx, const std::vector<double>* vy,
           const FitContext& ctx) override {
    inner_->fit(x, y, vx, vy, ctx);
  }
  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (calls_++ < 2) std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return inner_->predict(x);
  }
  void save(const std::filesystem::path& dir) const override { inner_->save(dir); }
  void load(const std::filesystem::path& dir) override { inner_->load(dir); }

 private:
  std::shared_ptr<Model> inner_;
  mutable int calls_ = 0;
};

// The first timings say a repeat takes most of the time left, so the plan is cut to one;
// the repeats then go quickly, and the time left goes to the repeats asked.
TEST(Explain, ImportanceRepeatsAtThePaceTheRepeatsTook) {
  Fixture f = toy("binary", 200, 9);
  Pipeline p = fitted(f.table, f.y, f.card, "linear", kToyColumns);
  p.model = std::make_shared<SlowAtFirst>(p.model);
  const auto [rows, ys] = every_row(f);
  ImportanceOptions opt;
  opt.repeats = 5;
  opt.deadline = Clock::now() + std::chrono::seconds(2);
  FeatureImportance fi = permutation_importance(p, f.table, rows, ys, f.card.metric, opt);
  EXPECT_EQ(fi.repeats, 5);
  EXPECT_TRUE(fi.cut.empty()) << fi.cut;
  for (const auto& c : fi.columns) EXPECT_EQ(c.repeats, 5) << c.column;
}

}  // namespace
}  // namespace automl
