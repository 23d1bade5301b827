// The neural-network families (mlp, cnn, fasttext), the image encoding, image
// folders, and the built-in planner's plans for networks.
#include <gtest/gtest.h>

#include <stb_image_write.h>

#include <cmath>
#include <random>
#include <sstream>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/image.h"
#include "automl/metrics.h"
#include "automl/model.h"
#include "automl/nn.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;

struct DataSplit {
  Table table;
  DataCard card;
  Target target;
  FeatureMatrix train_x, valid_x, test_x;
  std::vector<double> train_y, valid_y, test_y;
};

// Rows i % 5 == 0 are the test rows, i % 5 == 1 the validation rows, the rest train.
DataSplit split_table(Table table, const std::string& target, Encoding enc, const std::vector<std::string>& features) {
  DataSplit s;
  s.table = std::move(table);
  s.card = infer_data_card(s.table, target, "t");
  s.target = encode_target(s.table, s.card);
  std::vector<std::size_t> tr, va, te;
  for (std::size_t i = 0; i < s.table.n_rows; ++i) (i % 5 == 0 ? te : i % 5 == 1 ? va : tr).push_back(i);
  Preprocessor pre(enc);
  pre.fit(s.table, features, tr);
  s.train_x = pre.transform(s.table, &tr);
  s.valid_x = pre.transform(s.table, &va);
  s.test_x = pre.transform(s.table, &te);
  for (auto r : tr) s.train_y.push_back(s.target.y[r]);
  for (auto r : va) s.valid_y.push_back(s.target.y[r]);
  for (auto r : te) s.test_y.push_back(s.target.y[r]);
  return s;
}

FitContext context(const DataSplit& s, std::vector<IterationLog>* log = nullptr) {
  FitContext ctx;
  ctx.task = s.target.task;
  ctx.n_classes = s.target.n_classes();
  ctx.metric = s.card.metric;
  ctx.threads = 1;  // small networks: a second thread mostly waits (and a busy machine makes it wait longer)
  ctx.seed = 11;
  if (log) {
    ctx.on_iteration = [log](const IterationLog& it) {
      log->push_back(it);
      return true;
    };
  }
  return ctx;
}

// Saved and loaded into a fresh model of the family: the same predictions, bit for bit.
void expect_reloads_identically(const std::string& family, const nlohmann::json& params, const DataSplit& s,
                                const Model& model) {
  const ModelEntry& e = model_registry().get(family);
  auto dir = testing::temp_dir("nn-reload-" + family);
  model.save(dir);
  auto loaded = e.create(params, s.target.task);
  loaded->load(dir);
  EXPECT_EQ(loaded->predict(s.test_x), model.predict(s.test_x)) << family;
  EXPECT_EQ(loaded->iterations(), model.iterations());
  fs::remove_all(dir);
}

void expect_rows_sum_to_one(const std::vector<double>& p, std::size_t rows, std::size_t k) {
  ASSERT_EQ(p.size(), rows * k);
  for (std::size_t i = 0; i < rows; ++i) {
    double sum = 0;
    for (std::size_t c = 0; c < k; ++c) sum += p[i * k + c];
    ASSERT_NEAR(sum, 1.0, 1e-9) << "row " << i;
  }
}

// A disc: class "in" inside radius 1.6 (half the square), "out" beyond; no line separates them.
Table rings(int rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  std::ostringstream out;
  out << "x1,x2,noise,y\n";
  for (int i = 0; i < rows; ++i) {
    double a = u(rng), b = u(rng);
    out << a << "," << b << "," << u(rng) << "," << (a * a + b * b < 2.56 ? "in" : "out") << "\n";
  }
  return read_csv_buffer(out.str(), "rings.csv");
}

TEST(Mlp, LearnsANonlinearBoundaryALinearModelCannot) {
  const ModelEntry& e = model_registry().get("mlp");
  EXPECT_EQ(e.resource_param, "epochs");
  DataSplit s = split_table(rings(1500, 3), "y", Encoding::kOneHot, {"x1", "x2", "noise"});
  std::vector<IterationLog> log;
  auto ctx = context(s, &log);
  ctx.metric = "accuracy";
  auto params = with_defaults(e.params, {{"depth", 2}, {"width", 64}, {"learning_rate", 3e-3}, {"epochs", 80}});
  auto model = e.create(params, s.target.task);
  model->fit(s.train_x, s.train_y, &s.valid_x, &s.valid_y, ctx);
  auto pred = model->predict(s.test_x);
  expect_rows_sum_to_one(pred, s.test_x.rows, 2);
  const double acc = compute_metric("accuracy", s.target, s.test_y, pred);
  EXPECT_GE(acc, 0.92) << "the MLP did not learn the rings";

  auto linear = model_registry().get("linear").create(with_defaults(model_registry().get("linear").params, {}),
                                                      s.target.task);
  linear->fit(s.train_x, s.train_y, nullptr, nullptr, ctx);
  EXPECT_LT(compute_metric("accuracy", s.target, s.test_y, linear->predict(s.test_x)), 0.7)
      << "the rings should not be linearly separable";

  // One log line per epoch, train and validation accuracy; the kept epoch is the best one.
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(model->log_metric(), "accuracy");
  double best = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].iteration, static_cast<int>(i));
    EXPECT_FALSE(std::isnan(log[i].valid_metric));
    EXPECT_GE(log[i].train_metric, 0.0);
    best = std::max(best, log[i].valid_metric);
  }
  ASSERT_GE(model->iterations(), 1);
  EXPECT_DOUBLE_EQ(log[static_cast<std::size_t>(model->iterations() - 1)].valid_metric, best);
  EXPECT_DOUBLE_EQ(compute_metric("accuracy", s.target, s.valid_y, model->predict(s.valid_x)), best)
      << "the model kept is not the best epoch's";
  expect_reloads_identically("mlp", params, s, *model);
}

TEST(Mlp, EpochsAreTheResourceAndTheDeadlineStopsIt) {
  const ModelEntry& e = model_registry().get("mlp");
  DataSplit s = split_table(rings(400, 5), "y", Encoding::kOneHot, {"x1", "x2", "noise"});
  auto params = with_defaults(e.params, {{"early_stopping_epochs", 100}});
  {
    std::vector<IterationLog> log;
    auto ctx = context(s, &log);
    ctx.max_iterations = 3;  // successive halving's cap
    auto m = e.create(params, s.target.task);
    m->fit(s.train_x, s.train_y, &s.valid_x, &s.valid_y, ctx);
    EXPECT_EQ(log.size(), 3u);
    EXPECT_EQ(m->stop_reason(), FitStop::kCompleted);
  }
  {
    std::vector<IterationLog> log;
    auto ctx = context(s, &log);
    ctx.fixed_iterations = 4;  // the refit: exactly this many, no validation
    auto m = e.create(params, s.target.task);
    m->fit(s.train_x, s.train_y, &s.valid_x, &s.valid_y, ctx);
    ASSERT_EQ(log.size(), 4u);
    EXPECT_TRUE(std::isnan(log[3].valid_metric));
    EXPECT_EQ(m->iterations(), 4);
  }
  {
    auto ctx = context(s);
    ctx.deadline = Clock::now();
    auto m = e.create(params, s.target.task);
    m->fit(s.train_x, s.train_y, &s.valid_x, &s.valid_y, ctx);
    EXPECT_EQ(m->stop_reason(), FitStop::kDeadline);
  }
}

// An epoch that cannot end by the deadline is not started (it would be thrown away
// part-trained): the fit hands that time back. The pace is measured first, and the
// deadline falls halfway through the third epoch.
TEST(Mlp, AnEpochThatCannotEndByTheDeadlineIsNotStarted) {
  const ModelEntry& e = model_registry().get("mlp");
  DataSplit s = split_table(rings(6000, 7), "y", Encoding::kOneHot, {"x1", "x2", "noise"});
  auto params = with_defaults(e.params, {{"early_stopping_epochs", 100}, {"batch_size", 8}, {"width", 128}});
  std::vector<IterationLog> paced;
  {
    auto ctx = context(s, &paced);
    ctx.max_iterations = 2;
    e.create(params, s.target.task)->fit(s.train_x, s.train_y, &s.valid_x, &s.valid_y, ctx);
  }
  ASSERT_EQ(paced.size(), 2u);
  const double epoch_s = paced[1].seconds - paced[0].seconds;
  ASSERT_GT(epoch_s, 0.0);
  std::vector<IterationLog> log;
  auto ctx = context(s, &log);
  const auto start = Clock::now();
  ctx.deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(2.5 * epoch_s));
  auto m = e.create(params, s.target.task);
  m->fit(s.train_x, s.train_y, &s.valid_x, &s.valid_y, ctx);
  const auto returned = Clock::now();
  EXPECT_EQ(m->stop_reason(), FitStop::kDeadline);
  ASSERT_GE(log.size(), 1u);
  // Either the third epoch was not started and the fit came back before its deadline, or
  // (on a machine suddenly faster) it ran whole; never one started and cut.
  EXPECT_TRUE(log.size() >= 3 || returned < ctx.deadline)
      << log.size() << " epochs; came back " << std::chrono::duration<double>(returned - ctx.deadline).count()
      << " s after the deadline; an epoch took " << epoch_s << " s";
}

TEST(Cnn, ReachesATestAccuracyFloorOnDigits) {
  const fs::path dir = testing::shared_datasets() / "digits";
  if (!fs::exists(dir / "train.csv")) GTEST_SKIP() << "no " << dir;
  Table train = read_csv((dir / "train.csv").string());
  Table test = read_csv((dir / "test.csv").string());
  DataCard card = infer_data_card(train, "label", "digits");
  EXPECT_EQ(card.modality, "image");
  EXPECT_EQ(card.image_height, 8);
  EXPECT_EQ(card.image_width, 8);
  EXPECT_EQ(card.image_channels, 1);
  Target y = encode_target(train, card);
  Target ty = encode_target(test, card, true);
  std::vector<std::string> features = train.column_names();
  features.erase(std::find(features.begin(), features.end(), "label"));
  std::vector<std::size_t> fit_rows, valid_rows;
  for (std::size_t i = 0; i < train.n_rows; ++i) (i % 5 == 0 ? valid_rows : fit_rows).push_back(i);
  Preprocessor pre(Encoding::kImage);
  pre.fit(train, features, fit_rows);
  FeatureMatrix x = pre.transform(train, &fit_rows), vx = pre.transform(train, &valid_rows), tx = pre.transform(test);
  EXPECT_EQ(x.image_height, 8);
  EXPECT_EQ(x.cols, 64u);
  EXPECT_LE(*std::max_element(x.values.begin(), x.values.end()), 1.0f);
  EXPECT_EQ(*std::max_element(x.values.begin(), x.values.end()), 1.0f);
  std::vector<double> xy, vy;
  for (auto r : fit_rows) xy.push_back(y.y[r]);
  for (auto r : valid_rows) vy.push_back(y.y[r]);

  const ModelEntry& e = model_registry().get("cnn");
  auto params = with_defaults(e.params, {{"channels", 16}, {"epochs", 15}, {"shift", 1}, {"learning_rate", 2e-3},
                                         {"batch_size", 32}});
  auto model = e.create(params, y.task);
  FitContext ctx;
  ctx.task = y.task;
  ctx.n_classes = y.n_classes();
  ctx.metric = "accuracy";
  ctx.threads = 1;
  ctx.seed = 1;
  model->fit(x, xy, &vx, &vy, ctx);
  auto pred = model->predict(tx);
  expect_rows_sum_to_one(pred, tx.rows, 10);
  const double acc = compute_metric("accuracy", y, ty.y, pred);
  EXPECT_GE(acc, 0.95) << "cnn test accuracy on digits";
  EXPECT_LE(model->iterations(), 15);  // the epochs asked for bound the training, not a clock

  // Saved as parameters + architecture; the file holds about 4 bytes per parameter.
  auto saved = testing::temp_dir("nn-cnn-digits");
  model->save(saved);
  const NetworkCost cost = cnn_cost(CnnArchitecture::from_params(params), {1, 8, 8}, 10);
  const double bytes = static_cast<double>(fs::file_size(saved / "cnn.pt"));
  EXPECT_GE(bytes, cost.parameters * 4.0);
  EXPECT_LE(bytes, cost.parameters * 4.0 * 1.1 + 64 * 1024);
  auto loaded = e.create(params, y.task);
  loaded->load(saved);
  EXPECT_EQ(loaded->predict(tx), pred);
  fs::remove_all(saved);
}

TEST(Cnn, SaysWhenTheDataHasNoPixels) {
  Table t = read_csv_buffer(testing::make_csv("binary", 50, 1), "t.csv");
  Preprocessor pre(Encoding::kImage);
  try {
    pre.fit(t, {"x1", "x2", "colour"}, {0, 1, 2});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pixel_ROW_COL"), std::string::npos) << e.what();
  }
}

TEST(ImageEncoding, ChannelMajorScaledByTheTrainingMaximum) {
  // 2 channels of 1x2 pixels, columns in scrambled order.
  Table t = read_csv_buffer(
      "pixel_1_0_1,pixel_0_0_0,pixel_1_0_0,pixel_0_0_1,y\n"
      "4,1,3,2,a\n"
      "8,5,7,6,b\n"
      "16,0,0,0,a\n",
      "t.csv");
  Preprocessor pre(Encoding::kImage);
  pre.fit(t, {"pixel_1_0_1", "pixel_0_0_0", "pixel_1_0_0", "pixel_0_0_1"}, {0, 1});  // max 8
  FeatureMatrix m = pre.transform(t);
  EXPECT_EQ(m.image_channels, 2);
  EXPECT_EQ(m.image_height, 1);
  EXPECT_EQ(m.image_width, 2);
  ASSERT_EQ(m.cols, 4u);
  EXPECT_EQ(m.names, (std::vector<std::string>{"pixel_0_0_0", "pixel_0_0_1", "pixel_1_0_0", "pixel_1_0_1"}));
  EXPECT_FLOAT_EQ(m.at(0, 0), 1.0f / 8);
  EXPECT_FLOAT_EQ(m.at(0, 3), 4.0f / 8);
  EXPECT_FLOAT_EQ(m.at(2, 3), 2.0f);  // a later row may exceed the training maximum
  Preprocessor again = Preprocessor::from_json(pre.to_json());
  FeatureMatrix m2 = again.transform(t);
  EXPECT_EQ(m2.values, m.values);
  EXPECT_EQ(m2.image_channels, 2);
}

TEST(ImageShape, ReadsPixelNamesAndNamesTheMissingOne) {
  int c = -1, r = -1, x = -1;
  EXPECT_TRUE(parse_pixel_name("pixel_3_12", &c, &r, &x));
  EXPECT_EQ(c, 0);
  EXPECT_EQ(r, 3);
  EXPECT_EQ(x, 12);
  EXPECT_TRUE(parse_pixel_name("pixel_2_0_1", &c, &r, &x));
  EXPECT_EQ(c, 2);
  EXPECT_FALSE(parse_pixel_name("pixel_a_1", &c, &r, &x));
  EXPECT_FALSE(parse_pixel_name("pixels_1_1", &c, &r, &x));
  EXPECT_FALSE(parse_pixel_name("pixel_1", &c, &r, &x));
  EXPECT_EQ(image_shape({"pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_1_1", "label"}), (ImageShape{1, 2, 2}));
  EXPECT_TRUE(image_shape({"a", "b"}).empty());
  try {
    image_shape({"pixel_0_0", "pixel_0_1", "pixel_1_1"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pixel_1_0 is missing"), std::string::npos) << e.what();
  }
}

// A w x h PNG of one colour (grey, or RGB when `rgb`).
void write_png(const fs::path& path, int w, int h, int channels, const std::vector<unsigned char>& colour) {
  std::vector<unsigned char> px(static_cast<std::size_t>(w * h * channels));
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = colour[i % static_cast<std::size_t>(channels)];
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, channels, px.data(), w * channels), 0) << path;
}

TEST(ImageFolder, ReadsClassFoldersResizedToTheCommonSize) {
  auto dir = testing::temp_dir("image-folder-grey");
  fs::create_directories(dir / "dark");
  fs::create_directories(dir / "light");
  fs::create_directories(dir / "empty");  // no images: not a class
  for (int i = 0; i < 3; ++i) write_png(dir / "dark" / ("d" + std::to_string(i) + ".png"), 6, 4, 1, {20});
  for (int i = 0; i < 2; ++i) write_png(dir / "light" / ("l" + std::to_string(i) + ".png"), 6, 4, 1, {230});
  write_png(dir / "light" / "big.png", 12, 8, 1, {230});  // resized to 6x4
  testing::write_file(dir / "light" / "notes.txt", "not an image");
  EXPECT_TRUE(is_image_folder(dir));
  EXPECT_FALSE(is_image_folder(dir / "light" / "l0.png"));

  Table t = read_table(dir.string(), {});
  ASSERT_EQ(t.n_rows, 6u);
  ASSERT_EQ(t.columns.size(), 4u * 6u + 1u);
  EXPECT_EQ(t.columns[0].name, "pixel_0_0");
  EXPECT_EQ(t.columns[23].name, "pixel_3_5");
  const Column& label = t.column("label");
  EXPECT_EQ(label.type, ColumnType::kCategorical);
  EXPECT_EQ(label.levels, (std::vector<std::string>{"dark", "light"}));
  EXPECT_EQ(label.codes, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(t.column("pixel_2_3").numeric[0], 20.0);
  EXPECT_NEAR(t.column("pixel_2_3").numeric[3], 230.0, 1.0);  // big.png sorts first in light/
  EXPECT_EQ(image_shape(t.column_names()), (ImageShape{1, 4, 6}));

  DataCard card = infer_data_card(t, "label", dataset_name_from_path(dir.string() + "/"));
  EXPECT_EQ(card.modality, "image");
  EXPECT_EQ(card.image_height, 4);
  EXPECT_EQ(card.image_width, 6);
  EXPECT_EQ(card.to_json()["image"]["channels"], 1);
  EXPECT_EQ(card.name, dir.filename().string());

  // A test folder is read at the training size, whatever its own images' size.
  auto other = testing::temp_dir("image-folder-test");
  fs::create_directories(other / "dark");
  write_png(other / "dark" / "x.png", 3, 2, 1, {20});
  Table t2 = read_table(other.string(), {}, {1, 4, 6});
  EXPECT_EQ(t2.columns.size(), 25u);
  fs::remove_all(dir);
  fs::remove_all(other);
}

TEST(ImageFolder, ColourImagesAndDamagedFiles) {
  auto dir = testing::temp_dir("image-folder-rgb");
  fs::create_directories(dir / "red");
  fs::create_directories(dir / "blue");
  write_png(dir / "red" / "a.png", 2, 2, 3, {250, 10, 0});
  write_png(dir / "blue" / "b.png", 2, 2, 1, {90});  // grey read as RGB: the same value thrice
  Table t = read_image_folder(dir);
  EXPECT_EQ(image_shape(t.column_names()), (ImageShape{3, 2, 2}));
  // Rows: blue first (sorted), then red.
  EXPECT_DOUBLE_EQ(t.column("pixel_0_1_1").numeric[1], 250.0);
  EXPECT_DOUBLE_EQ(t.column("pixel_1_1_1").numeric[1], 10.0);
  EXPECT_DOUBLE_EQ(t.column("pixel_2_0_0").numeric[0], 90.0);

  testing::write_file(dir / "red" / "broken.png", "this is no PNG");
  try {
    read_image_folder(dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
  EXPECT_THROW(read_image_folder(dir), Error);  // no such folder
}

// The hard limits: a common size beyond kMaxImageValues is scaled down with its aspect
// ratio (each value is a column), a file whose header claims a giant image is refused by
// name before it is decoded, and a model's pixel columns beyond the limit are refused.
TEST(ImageFolder, LargeImagesAreScaledDownAndGiantOnesRefused) {
  auto dir = testing::temp_dir("image-folder-large");
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  write_png(dir / "a" / "x.png", 600, 300, 1, {40});
  write_png(dir / "b" / "y.png", 600, 300, 1, {200});
  Table t = read_image_folder(dir);
  const ImageShape s = image_shape(t.column_names());
  EXPECT_LE(s.pixels(), kMaxImageValues);
  EXPECT_EQ(s.width, 2 * s.height);  // 600x300 -> 362x181
  EXPECT_GT(s.height, 150);
  EXPECT_NEAR(t.column("pixel_10_10").numeric[1], 200.0, 1.0);

  // A PNG header saying 60000 x 60000 (the fuzz target's regression input).
  fs::copy_file(testing::source_dir() / "tests" / "fuzz_regressions" / "image" / "huge-png-header.png",
                dir / "b" / "huge.png");
  try {
    read_image_folder(dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    // Refused by name before decoding: as too large, or, where stb's header check already
    // rejects such a header, as unreadable.
    const std::string what = e.what();
    EXPECT_TRUE(what.find("huge.png: a 60000x60000 image is larger than this program reads") != std::string::npos ||
                what.find("huge.png: not a readable image") != std::string::npos)
        << what;
  }
  EXPECT_THROW(image_shape({"pixel_300_300"}), Error);  // 301 x 301 values
  fs::remove_all(dir);
}

// Short reviews: the label rests on single words and on a word pair ("not good").
Table reviews(int rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char* good[] = {"great", "lovely", "tasty", "excellent", "fresh"};
  const char* bad[] = {"awful", "stale", "bland", "terrible", "soggy"};
  const char* filler[] = {"the", "food", "was", "and", "service", "very", "really", "place"};
  std::ostringstream out;
  out << "review,label\n";
  for (int i = 0; i < rows; ++i) {
    const bool pos = rng() % 2;
    std::string text;
    for (int k = 0; k < 4; ++k) text += std::string(filler[rng() % 8]) + " ";
    if (rng() % 3 == 0) text += pos ? "good " : "not good ";
    else text += std::string(pos ? good[rng() % 5] : bad[rng() % 5]) + " ";
    text += filler[rng() % 8];
    out << "\"" << text << "\"," << (pos ? "pos" : "neg") << "\n";
  }
  CsvOptions o;
  o.declared_types["review"] = ColumnType::kText;
  return read_csv_buffer(out.str(), "reviews.csv", o);
}

TEST(FastText, LearnsWordsAndPairsAndReloadsIdentically) {
  const ModelEntry& e = model_registry().get("fasttext");
  EXPECT_EQ(e.encoding, Encoding::kText);
  DataSplit s = split_table(reviews(1000, 9), "label", Encoding::kText, {"review"});
  ASSERT_EQ(s.train_x.texts.size(), s.train_x.rows);
  std::vector<IterationLog> log;
  auto ctx = context(s, &log);
  auto params = with_defaults(e.params, {{"dim", 16}, {"ngram_max", 2}});
  auto model = e.create(params, s.target.task);
  model->fit(s.train_x, s.train_y, &s.valid_x, &s.valid_y, ctx);
  auto pred = model->predict(s.test_x);
  expect_rows_sum_to_one(pred, s.test_x.rows, 2);
  EXPECT_GE(compute_metric("accuracy", s.target, s.test_y, pred), 0.95);
  EXPECT_FALSE(log.empty());
  expect_reloads_identically("fasttext", params, s, *model);
}

// An 8x8 image table as the planner sees it.
DataCard image_card() {
  std::ostringstream out;
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 8; ++c) out << "pixel_" << r << "_" << c << ",";
  }
  out << "label\n";
  std::mt19937_64 rng(1);
  for (int i = 0; i < 300; ++i) {
    for (int k = 0; k < 64; ++k) out << rng() % 17 << ",";
    out << i % 10 << "\n";
  }
  Table t = read_csv_buffer(out.str(), "img.csv");
  return infer_data_card(t, "label", "img");
}

TEST(NetworkPlans, ImagesGetACheapOpeningThenACnnWithinTheLimits) {
  DataCard card = image_card();
  ASSERT_EQ(card.modality, "image");
  auto planner = make_builtin_planner();
  std::vector<const ModelEntry*> candidates;
  for (const auto* e : model_registry().entries()) candidates.push_back(e);
  auto assigned = planner->assign_models(card, candidates);
  ASSERT_FALSE(assigned.empty());
  EXPECT_EQ(assigned[0].family, "cnn");
  bool has_xgb = false;
  for (const auto& a : assigned) has_xgb = has_xgb || a.family == "xgboost";
  EXPECT_TRUE(has_xgb) << "the cheaper tabular alternative is kept";

  // A cheap model opens (a network's cost on the images is unknown until it ran), then
  // the CNN's first architecture.
  auto proposals = planner->propose(card, assigned);
  const Proposal* first = nullptr;
  const Proposal* opening = nullptr;
  for (const auto& p : proposals) {
    if (!opening && p.family != "constant") opening = &p;
    if (p.family == "cnn") {
      first = &p;
      break;
    }
  }
  ASSERT_NE(opening, nullptr);
  EXPECT_EQ(opening->family, "linear");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->family, "cnn");
  EXPECT_EQ(first->params.value("stages", 0), 2);
  EXPECT_EQ(first->params.value("flip", true), false);
  const auto& cnn = model_registry().get("cnn");
  for (const auto& p : proposals) validate_params(p.family, model_registry().get(p.family).params, p.params);

  // "model under 0.05 MB": every CNN proposal is shrunk to fit (parameters x 4 bytes).
  planner->set_limits(0.05, -1);
  int n_cnn = 0;
  for (const auto& p : planner->propose(card, assigned)) {
    if (p.family != "cnn") continue;
    ++n_cnn;
    auto cost = cnn_cost(CnnArchitecture::from_params(with_defaults(cnn.params, p.params)), {1, 8, 8}, 10);
    EXPECT_LE(cost.model_mb(), 0.05) << p.params.dump();
  }
  EXPECT_GT(n_cnn, 0);

  // The predicted log is a per-epoch curve.
  PredictedLog log = planner->predict_log(card, "cnn", first->params, -1, {});
  ASSERT_GE(log.checkpoints.size(), 3u);
  for (std::size_t i = 0; i < log.checkpoints.size(); ++i) {
    EXPECT_EQ(log.checkpoints[i], static_cast<int>(i) + 1);
    if (i > 0) {
      EXPECT_GE(log.metric[i], log.metric[i - 1]);
    }
  }
  EXPECT_GT(log.seconds, 0);
}

TEST(NetworkPlans, TablesGetAnMlpAndNoCnn) {
  Table t = read_csv_buffer(testing::make_csv("binary", 300, 2), "t.csv");
  DataCard card = infer_data_card(t, "y", "t");
  auto planner = make_builtin_planner();
  std::vector<const ModelEntry*> candidates;
  for (const auto* e : model_registry().entries()) candidates.push_back(e);
  auto assigned = planner->assign_models(card, candidates);
  bool mlp = false;
  for (const auto& a : assigned) {
    EXPECT_NE(a.family, "cnn");
    mlp = mlp || a.family == "mlp";
  }
  EXPECT_TRUE(mlp);
  bool proposed = false;
  for (const auto& p : planner->propose(card, assigned)) proposed = proposed || p.family == "mlp";
  EXPECT_TRUE(proposed);
}

}  // namespace
}  // namespace automl
