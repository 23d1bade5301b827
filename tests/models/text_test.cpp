// Text support end to end: the tokenizer and TF-IDF vectorizer (text.h), the kText
// preprocessing, the tfidf_linear family, the planner's assignment for text data, the
// shared text datasets (score floors) and a whole `automl-gpt run` + `predict`.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "automl/data_card.h"
#include "automl/metrics.h"
#include "automl/model.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "automl/text.h"
#include "helpers.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

// ---------------------------------------------------------------- tokenizer

TEST(Tokenizer, SplitsWordsFoldsCaseAndDropsShortWords) {
  TokenizerOptions o;
  EXPECT_EQ(tokenize("Don't PANIC: 42 towels, I say!", o), (Strings{"don", "panic", "42", "towels", "say"}));
  EXPECT_EQ(tokenize("  'quoted'  --dash-- end.  ", o), (Strings{"quoted", "dash", "end"}));
  EXPECT_EQ(tokenize("", o), Strings{});
  o.lowercase = false;
  o.keep_apostrophes = true;
  o.min_length = 1;
  EXPECT_EQ(tokenize("Don't PANIC, I say", o), (Strings{"Don't", "PANIC", "I", "say"}));
}

TEST(Tokenizer, PunctuationAndNumbersAreOptions) {
  TokenizerOptions o;
  o.strip_punctuation = false;
  o.min_length = 1;
  EXPECT_EQ(tokenize("Great!! 5 stars, really?", o), (Strings{"great", "!", "!", "5", "stars", ",", "really", "?"}));
  o.strip_punctuation = true;
  o.strip_numbers = true;
  EXPECT_EQ(tokenize("Great!! 5 stars in 2024, 3rd time", o), (Strings{"great", "stars", "in", "3rd", "time"}));
}

TEST(Tokenizer, ReadsUtf8WordsAndUnicodePunctuation) {
  TokenizerOptions o;
  o.keep_apostrophes = true;
  // Accented letters stay in their word (ASCII case folding only); dashes, curly
  // quotes and ellipses separate words; a curly apostrophe inside a word becomes '.
  EXPECT_EQ(tokenize("Café crème\xE2\x80\x94" "fin \xE2\x80\x9CWow\xE2\x80\xA6\xE2\x80\x9D it\xE2\x80\x99s", o),
            (Strings{"café", "crème", "fin", "wow", "it's"}));
  EXPECT_EQ(tokenize("\xE6\x97\xA5\xE6\x9C\xAC\xE3\x80\x82\xE8\xAA\x9E", o),  // 日本。語
            (Strings{"\xE6\x97\xA5\xE6\x9C\xAC", "\xE8\xAA\x9E"}));
  o.strip_punctuation = false;
  EXPECT_EQ(tokenize("ab\xE2\x80\x94" "cd", o), (Strings{"ab", "\xE2\x80\x94", "cd"}));
}

TEST(Tokenizer, WordAndCharacterNgrams) {
  Strings out;
  append_word_ngrams({"a", "b", "c"}, 2, &out);
  EXPECT_EQ(out, (Strings{"a", "b", "c", "a b", "b c"}));
  out.clear();
  append_word_ngrams({"a", "b", "c"}, 3, &out);
  EXPECT_EQ(out.back(), "a b c");
  EXPECT_EQ(out.size(), 6u);
  out.clear();
  append_char_ngrams({"cat"}, 3, 3, &out);
  EXPECT_EQ(out, (Strings{" ca", "cat", "at "}));
  out.clear();
  append_char_ngrams({"n\xC3\xA9"}, 2, 2, &out);  // "né": n-grams count code points, not bytes
  EXPECT_EQ(out, (Strings{" n", "n\xC3\xA9", "\xC3\xA9 "}));
}

// ---------------------------------------------------------------- TF-IDF

TEST(Tfidf, VocabularyIdfAndUnitRows) {
  TfidfOptions opt;
  opt.word_ngram_max = 1;
  opt.min_df = 2;
  TfidfVectorizer v(opt);
  Strings docs = {"apple banana apple", "banana cherry", "apple date", "banana"};
  SparseRows x = v.fit_transform(docs);
  // cherry and date occur once: below min_df.
  EXPECT_EQ(v.terms(), (Strings{"apple", "banana"}));
  ASSERT_EQ(x.rows, 4u);
  EXPECT_NEAR(v.idf()[0], std::log(5.0 / 3.0) + 1.0, 1e-12);  // apple in 2 of 4 documents
  EXPECT_NEAR(v.idf()[1], std::log(5.0 / 4.0) + 1.0, 1e-12);  // banana in 3 of 4
  for (std::size_t i = 0; i < x.rows; ++i) {
    double sq = 0;
    for (std::size_t k = x.offsets[i]; k < x.offsets[i + 1]; ++k) sq += x.value[k] * x.value[k];
    EXPECT_NEAR(sq, 1.0, 1e-12) << "row " << i;
  }
  // Row 0: apple twice (sublinear: 1 + ln 2) and banana once, before normalising.
  ASSERT_EQ(x.row_size(0), 2u);
  EXPECT_NEAR(x.value[0] / x.value[1], (1.0 + std::log(2.0)) * v.idf()[0] / v.idf()[1], 1e-12);
  // Unseen words are ignored; a document with none is an empty row.
  SparseRows t = v.transform({"kiwi apple", "kiwi"});
  EXPECT_EQ(t.row_size(0), 1u);
  EXPECT_EQ(t.row_size(1), 0u);
}

TEST(Tfidf, MaxFeaturesKeepsTheMostFrequentAndJsonRoundTrips) {
  TfidfOptions opt;
  opt.min_df = 1;
  opt.max_features = 2;
  opt.char_ngrams = true;
  TfidfVectorizer v(opt);
  Strings docs = {"red fish blue fish", "red fish", "one fish", "blue sky"};
  SparseRows x = v.fit_transform(docs);
  // Words: fish (4 documents), then red and blue (2 each, alphabetical tie-break).
  ASSERT_GE(v.terms().size(), 2u);
  EXPECT_EQ(v.terms()[0], "blue");
  EXPECT_EQ(v.terms()[1], "fish");
  EXPECT_EQ(v.terms().size(), 4u);  // two word terms and two character terms
  EXPECT_EQ(v.terms()[2].rfind("c:", 0), 0u);
  TfidfVectorizer back = TfidfVectorizer::from_json(nlohmann::json::parse(v.to_json().dump()));
  SparseRows y = back.transform(docs);
  EXPECT_EQ(y.index, x.index);
  EXPECT_EQ(y.value, x.value);
  nlohmann::json damaged = v.to_json();
  damaged["idf"].erase(0);
  EXPECT_THROW(TfidfVectorizer::from_json(damaged), Error);
}

// ---------------------------------------------------------------- data

const Strings kGood = {"excellent", "delicious", "love", "perfect", "fresh", "wonderful", "tasty", "recommend"};
const Strings kBad = {"awful", "stale", "broken", "refund", "disappointed", "bland", "worst", "expired"};
const char* const kTopics[3][4] = {{"wheat", "corn", "harvest", "grain"},
                               {"shares", "profit", "dividend", "quarter"},
                               {"match", "goal", "season", "coach"}};

// A CSV with a free-text "review", a numeric "price" and a categorical "shop": the
// label lives in the words (binary: two sentiment vocabularies; multiclass: three
// topics; regression: the count of good minus bad words), diluted by filler words
// and by one word in five drawn from the wrong side.
std::string make_text_csv(const std::string& task, int rows, uint64_t seed, bool other_columns = true) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> filler(0, 299), coin(0, 4), pick(0, 7);
  std::ostringstream out;
  out << (other_columns ? "review,price,shop,label\n" : "review,label\n");
  for (int i = 0; i < rows; ++i) {
    int cls = static_cast<int>(rng() % (task == "multiclass" ? 3 : 2));
    std::string doc;
    double score = 0;
    for (int w = 0; w < 14; ++w) {
      doc += (doc.empty() ? "" : " ") + std::string("w") + std::to_string(filler(rng));
      if (w % 4 == 1) {
        bool wrong = coin(rng) == 0;
        if (task == "multiclass") {
          int t = wrong ? static_cast<int>(rng() % 3) : cls;
          doc += std::string(" ") + kTopics[t][pick(rng) % 4];
        } else {
          bool good = (cls == 1) != wrong;
          doc += " " + (good ? kGood : kBad)[static_cast<std::size_t>(pick(rng))];
          score += good ? 1.0 : -1.0;
        }
      }
    }
    if (i % 3 == 0) doc[0] = static_cast<char>(std::toupper(doc[0]));
    out << '"' << doc << (i % 2 ? "!" : ".") << "\",";
    if (other_columns) out << (10 + i % 7) << "," << (i % 3 == 0 ? "north" : "south") << ",";
    if (task == "binary") out << (cls == 1 ? "good" : "bad");
    else if (task == "multiclass") out << (cls == 0 ? "grain" : cls == 1 ? "money" : "sport");
    else out << score * 2.0 + 5.0;
    out << "\n";
  }
  return out.str();
}

struct Split {
  Table table;
  DataCard card;
  Target target;
  FeatureMatrix train_x, test_x;
  std::vector<double> train_y, test_y;
};

Split split_text(const std::string& task, int rows, uint64_t seed, const Strings& features = {"review", "price", "shop"}) {
  Split s;
  CsvOptions o;
  o.declared_types["review"] = ColumnType::kText;
  s.table = read_csv_buffer(make_text_csv(task, rows, seed), "reviews.csv", o);
  s.card = infer_data_card(s.table, "label", "reviews",
                           task == "regression" ? nlohmann::json{{"task", "regression"}} : nlohmann::json::object());
  s.target = encode_target(s.table, s.card);
  std::vector<std::size_t> train, test;
  for (std::size_t i = 0; i < s.table.n_rows; ++i) (i % 4 == 0 ? test : train).push_back(i);
  Preprocessor pre(Encoding::kText);
  pre.fit(s.table, features, train);
  s.train_x = pre.transform(s.table, &train);
  s.test_x = pre.transform(s.table, &test);
  for (auto r : train) s.train_y.push_back(s.target.y[r]);
  for (auto r : test) s.test_y.push_back(s.target.y[r]);
  return s;
}

FitContext context_for(const Split& s) {
  FitContext ctx;
  ctx.task = s.target.task;
  ctx.n_classes = s.target.n_classes();
  ctx.metric = s.card.metric;
  ctx.threads = 1;
  return ctx;
}

TEST(TextPreprocessing, DocumentsBesideOneHotColumns) {
  CsvOptions o;
  o.declared_types = {{"title", ColumnType::kText}, {"body", ColumnType::kText}};
  Table t = read_csv_buffer("title,n,body,c\nGood pie,1,Very tasty indeed,x\n,3,Only a body,y\nA title,,,x\n", "t.csv", o);
  Preprocessor pre(Encoding::kText);
  pre.fit(t, {"title", "n", "body", "c"}, {0, 1, 2});
  FeatureMatrix m = pre.transform(t);
  EXPECT_EQ(m.texts, (Strings{"Good pie\nVery tasty indeed", "Only a body", "A title"}));
  // The other columns as for one-hot: n (+ its missing indicator), c=x, c=y.
  ASSERT_EQ(m.cols, 4u);
  EXPECT_EQ(m.names, (Strings{"n", "n=missing", "c=x", "c=y"}));
  EXPECT_FLOAT_EQ(m.at(2, 1), 1.0f);
  EXPECT_FLOAT_EQ(m.at(1, 3), 1.0f);
  // Saved and reloaded, the same matrix.
  nlohmann::json j = pre.to_json();
  EXPECT_EQ(j["encoding"], "text");
  FeatureMatrix again = Preprocessor::from_json(nlohmann::json::parse(j.dump())).transform(t);
  EXPECT_EQ(again.texts, m.texts);
  EXPECT_EQ(again.values, m.values);
  // The other encodings leave text out.
  Preprocessor one_hot(Encoding::kOneHot);
  one_hot.fit(t, {"title", "n", "body", "c"}, {0, 1, 2});
  FeatureMatrix oh = one_hot.transform(t);
  EXPECT_TRUE(oh.texts.empty());
  EXPECT_EQ(oh.cols, 4u);
  // A column that reads differently at predict time is named.
  Table other = read_csv_buffer("title,n,body,c\nx,1,y,x\n", "new.csv");
  try {
    pre.transform(other);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("new.csv"), std::string::npos) << e.what();
  }
}

TEST(TextDataCard, LengthsVocabularyAndModality) {
  CsvOptions o;
  o.declared_types["review"] = ColumnType::kText;
  Table t = read_csv_buffer("review,label\n\"Tasty, tasty pie!\",a\nBad pie,b\n\"The pie was bad\",a\n", "r.csv", o);
  DataCard card = infer_data_card(t, "label", "r");
  EXPECT_EQ(card.modality, "text");
  ASSERT_EQ(card.columns.size(), 1u);
  const ColumnProfile& p = card.columns[0];
  EXPECT_EQ(p.max_length, 17u);
  EXPECT_NEAR(p.mean_length, (17.0 + 7.0 + 15.0) / 3.0, 1e-9);
  EXPECT_NEAR(p.mean_words, (3.0 + 2.0 + 4.0) / 3.0, 1e-9);
  EXPECT_EQ(p.vocabulary, 5u);  // tasty, pie, bad, the, was
  EXPECT_EQ(card.meta_features.at("text_vocabulary"), 5.0);
  EXPECT_EQ(card.meta_features.at("text_max_chars"), 17.0);
  auto back = DataCard::from_json(card.to_json());
  EXPECT_EQ(back.columns[0].vocabulary, 5u);
  EXPECT_EQ(back.columns[0].max_length, 17u);
}

// ---------------------------------------------------------------- the family

TEST(TfidfLinear, LearnsGeneratedTextWellAboveChance) {
  const ModelEntry& e = model_registry().get("tfidf_linear");
  EXPECT_EQ(e.encoding, Encoding::kText);
  for (const char* task : {"binary", "multiclass", "regression"}) {
    Split s = split_text(task, 800, 11);
    auto model = e.create(with_defaults(e.params, {}), s.target.task);
    model->fit(s.train_x, s.train_y, &s.test_x, &s.test_y, context_for(s));
    auto pred = model->predict(s.test_x);
    const std::size_t k = s.target.n_outputs();
    ASSERT_EQ(pred.size(), s.test_x.rows * k);
    if (std::string(task) == "binary") {
      EXPECT_GT(compute_metric("roc_auc", s.target, s.test_y, pred), 0.93) << task;
    } else if (std::string(task) == "multiclass") {
      EXPECT_GT(compute_metric("accuracy", s.target, s.test_y, pred), 0.8) << task;  // chance: 1/3
    } else {
      EXPECT_GT(compute_metric("r2", s.target, s.test_y, pred), 0.6) << task;
    }
    if (is_classification(s.target.task)) {
      for (std::size_t i = 0; i < s.test_x.rows; ++i) {
        double sum = 0;
        for (std::size_t c = 0; c < k; ++c) {
          EXPECT_GE(pred[i * k + c], 0.0);
          sum += pred[i * k + c];
        }
        EXPECT_NEAR(sum, 1.0, 1e-12) << task << " row " << i;
      }
    }
  }
}

TEST(TfidfLinear, UsesTheNonTextColumnsToo) {
  // The label is the shop alone: only the one-hot columns carry it.
  CsvOptions o;
  o.declared_types["review"] = ColumnType::kText;
  std::ostringstream csv;
  csv << "review,shop,label\n";
  std::mt19937_64 rng(3);
  for (int i = 0; i < 400; ++i) {
    bool north = rng() % 2;
    csv << "\"w" << rng() % 50 << " w" << rng() % 50 << " w" << rng() % 50 << "\"," << (north ? "north" : "south") << ","
        << (north ? "yes" : "no") << "\n";
  }
  Table t = read_csv_buffer(csv.str(), "shops.csv", o);
  DataCard card = infer_data_card(t, "label", "shops");
  Target y = encode_target(t, card);
  std::vector<std::size_t> rows(t.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Preprocessor pre(Encoding::kText);
  pre.fit(t, {"review", "shop"}, rows);
  FeatureMatrix x = pre.transform(t);
  const ModelEntry& e = model_registry().get("tfidf_linear");
  auto model = e.create(with_defaults(e.params, {}), y.task);
  FitContext ctx;
  ctx.task = y.task;
  ctx.n_classes = 2;
  model->fit(x, y.y, nullptr, nullptr, ctx);
  EXPECT_GT(compute_metric("accuracy", y, y.y, model->predict(x)), 0.99);
}

TEST(TfidfLinear, SavedModelPredictsIdentically) {
  const ModelEntry& e = model_registry().get("tfidf_linear");
  for (const char* task : {"binary", "multiclass", "regression"}) {
    Split s = split_text(task, 300, 5);
    auto params = with_defaults(e.params, {{"char_ngrams", true}, {"word_ngram_max", 3}, {"class_weight", "balanced"},
                                           {"strip_punctuation", false}, {"min_df", 1}});
    auto model = e.create(params, s.target.task);
    model->fit(s.train_x, s.train_y, nullptr, nullptr, context_for(s));
    auto pred = model->predict(s.test_x);
    auto dir = testing::temp_dir(std::string("tfidf-save-") + task);
    model->save(dir);
    auto loaded = e.create(params, s.target.task);
    loaded->load(dir);
    EXPECT_EQ(loaded->predict(s.test_x), pred) << task;
    // Refitting the same data gives the same model (no randomness in the solver).
    auto again = e.create(params, s.target.task);
    again->fit(s.train_x, s.train_y, nullptr, nullptr, context_for(s));
    EXPECT_EQ(again->predict(s.test_x), pred) << task;
    fs::remove_all(dir);
  }
}

TEST(TfidfLinear, PastDeadlineStillGivesProperProbabilities) {
  const ModelEntry& e = model_registry().get("tfidf_linear");
  Split s = split_text("multiclass", 200, 9);
  auto ctx = context_for(s);
  ctx.deadline = Clock::now() - std::chrono::seconds(1);
  auto model = e.create(with_defaults(e.params, {}), s.target.task);
  model->fit(s.train_x, s.train_y, nullptr, nullptr, ctx);
  EXPECT_EQ(model->stop_reason(), FitStop::kDeadline);
  // It learned nothing (each class holds its share), and says so: the search then counts
  // the fold as one that never ran instead of scoring the prior as the setting's.
  EXPECT_FALSE(model->learned());
  auto pred = model->predict(s.test_x);
  for (std::size_t i = 0; i < s.test_x.rows; ++i) EXPECT_NEAR(pred[i * 3] + pred[i * 3 + 1] + pred[i * 3 + 2], 1.0, 1e-12);
  model->fit(s.train_x, s.train_y, nullptr, nullptr, context_for(s));
  EXPECT_TRUE(model->learned());
}

TEST(TfidfLinear, DeclaresItsSearchSpace) {
  const ModelEntry& e = model_registry().get("tfidf_linear");
  for (const char* key : {"C", "word_ngram_max", "min_df", "max_features", "lowercase", "strip_punctuation",
                          "strip_numbers", "char_ngrams"}) {
    ASSERT_NE(e.param(key), nullptr) << key;
    EXPECT_TRUE(e.param(key)->tuned) << key;
  }
  EXPECT_TRUE(e.param("C")->log_scale);
  EXPECT_EQ(e.param("word_ngram_max")->valid_lo, 1);
  EXPECT_EQ(e.param("word_ngram_max")->valid_hi, 3);
  EXPECT_THROW(validate_params("tfidf_linear", e.params, {{"word_ngram_max", 4}}), Error);
  EXPECT_EQ(e.card()["preprocessing"].get<std::string>().rfind("raw documents", 0), 0u);
}

// ---------------------------------------------------------------- planning

std::vector<std::string> assigned(const DataCard& card) {
  std::vector<const ModelEntry*> candidates;
  for (const auto* e : model_registry().entries()) candidates.push_back(e);
  auto planner = make_builtin_planner();
  std::vector<std::string> out;
  for (const auto& a : planner->assign_models(card, candidates)) out.push_back(a.family);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(TextPlanning, TextFamiliesForTextAndTableFamiliesOnlyWithOtherColumns) {
  CsvOptions o;
  o.declared_types["review"] = ColumnType::kText;
  Table t = read_csv_buffer(make_text_csv("binary", 60, 1), "r.csv", o);
  // Text only: the text family first, the baseline kept, the table families out.
  Table text_only = read_csv_buffer(make_text_csv("binary", 60, 1, false), "r.csv", o);
  auto families = assigned(infer_data_card(text_only, "label", "r"));
  ASSERT_FALSE(families.empty());
  EXPECT_EQ(families.front(), "tfidf_linear");
  EXPECT_TRUE(has(families, "constant"));
  EXPECT_FALSE(has(families, "xgboost"));
  EXPECT_FALSE(has(families, "linear"));
  // Text beside other columns: every family has something to read.
  families = assigned(infer_data_card(t, "label", "r"));
  EXPECT_TRUE(has(families, "tfidf_linear"));
  EXPECT_TRUE(has(families, "xgboost"));
  // A table without text: no text family.
  Table plain = read_csv_buffer(testing::make_csv("binary", 60, 1), "p.csv");
  families = assigned(infer_data_card(plain, "y", "p"));
  EXPECT_FALSE(has(families, "tfidf_linear"));
  EXPECT_TRUE(has(families, "xgboost"));
  const DataCard text_card = infer_data_card(text_only, "label", "r");
  EXPECT_NE(family_unusable_reason(model_registry().get("xgboost"), text_card).find("text"), std::string::npos);
  EXPECT_EQ(family_unusable_reason(model_registry().get("constant"), text_card), "");
}

// ---------------------------------------------------------------- shared text datasets

// The default setting, trained on the training file and scored on the test file.
double default_test_auc(const std::string& name) {
  const fs::path dir = testing::shared_datasets() / name;
  CsvOptions o;
  o.declared_types["text"] = ColumnType::kText;
  Table train = read_csv((dir / "train.csv").string(), o);
  Table test = read_csv((dir / "test.csv").string(), o);
  DataCard card = infer_data_card(train, "label", name, load_card_file((dir / "card.json").string()));
  Target y_train = encode_target(train, card);
  Target y_test = encode_target(test, card, true);
  std::vector<std::size_t> rows(train.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Preprocessor pre(Encoding::kText);
  pre.fit(train, {"text"}, rows);
  const ModelEntry& e = model_registry().get("tfidf_linear");
  auto model = e.create(with_defaults(e.params, {}), card.task);
  FitContext ctx;
  ctx.task = card.task;
  ctx.n_classes = 2;
  model->fit(pre.transform(train), y_train.y, nullptr, nullptr, ctx);
  return compute_metric("roc_auc", y_test, y_test.y, model->predict(pre.transform(test)));
}

TEST(TextDatasets, ReutersGrainDefaultsScoreWell) {
  if (!fs::exists(testing::shared_datasets() / "reuters_grain")) GTEST_SKIP() << "no shared datasets";
  EXPECT_GE(default_test_auc("reuters_grain"), 0.985);  // the linear peer: 0.992
}

TEST(TextDatasets, FineFoodsDefaultsScoreWell) {
  if (!fs::exists(testing::shared_datasets() / "fine_foods")) GTEST_SKIP() << "no shared datasets";
  EXPECT_GE(default_test_auc("fine_foods"), 0.85);  // the linear peer: 0.859
}

// ---------------------------------------------------------------- the program

TEST(TextCli, RunPicksTheTextFamilyAndPredictReloadsIt) {
  auto dir = testing::temp_dir("text-cli");
  // The review column only (plus the label): text data.
  testing::write_file(dir / "train.csv", make_text_csv("binary", 300, 21, false));
  testing::write_file(dir / "test.csv", make_text_csv("binary", 100, 22, false));
  auto r = testing::run_cli("run " + (dir / "train.csv").string() + " --target label --test " +
                            (dir / "test.csv").string() + " --budget 8s --knowledge none --no-ensemble --out " + (dir / "run").string() +
                            " --store " + (dir / "store.sqlite").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto summary = nlohmann::json::parse(testing::read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(summary["model"]["family"], "tfidf_linear") << summary.dump(2);
  EXPECT_GT(summary["test_score"].get<double>(), 0.9) << summary.dump(2);
  auto card = nlohmann::json::parse(testing::read_file(dir / "run" / "data_card.json"));
  EXPECT_EQ(card["modality"], "text");
  EXPECT_GT(card["meta_features"]["text_vocabulary"].get<double>(), 300);
  auto plan = nlohmann::json::parse(testing::read_file(dir / "run" / "plan.json"));
  EXPECT_EQ(plan["model_assignment"][0]["family"], "tfidf_linear") << plan["model_assignment"].dump();
  for (const auto& a : plan["model_assignment"]) EXPECT_NE(a["family"], "xgboost");
  std::string board = testing::read_file(dir / "run" / "leaderboard.csv");
  EXPECT_NE(board.find(",tfidf_linear,"), std::string::npos);

  auto p = testing::run_cli("predict " + (dir / "run").string() + " " + (dir / "test.csv").string() + " --out " +
                            (dir / "pred.csv").string());
  ASSERT_EQ(p.exit_code, 0) << p.out;
  EXPECT_EQ(testing::read_file(dir / "pred.csv"), testing::read_file(dir / "run" / "test_predictions.csv"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace automl
