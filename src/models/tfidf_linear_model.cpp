// TF-IDF + liblinear: the documents of each row (FeatureMatrix::texts) become sparse
// TF-IDF vectors of word n-grams (and optionally character n-grams), the row's other
// columns join them one-hot encoded, and liblinear fits an L2-regularised logistic
// regression per class (one-vs-rest) or an L2-regularised least-squares regression.
// The classic strong baseline for text, fast on sparse data with many features.
#include <cmath>
#include <fstream>
#include <memory>
#include <mutex>

#include <fmt/format.h>
#include <linear.h>

#include "automl/error.h"
#include "automl/saved_json.h"
#include "automl/model.h"
#include "automl/text.h"

namespace automl {
namespace {

constexpr double kBias = 1.0;  // the constant feature liblinear's bias weight multiplies

void silent(const char*) {}

// A trained liblinear model, with its one owner (liblinear frees through the pointer's address).
struct LiblinearFree {
  void operator()(model* m) const { free_and_destroy_model(&m); }
};
using LiblinearModel = std::unique_ptr<model, LiblinearFree>;

// Features for liblinear: 1-based indices, the bias node, then the -1 terminator.
struct LiblinearRows {
  std::vector<feature_node> nodes;
  std::vector<feature_node*> rows;
  int n = 0;  // features including the bias
};

LiblinearRows to_liblinear(const SparseRows& text, const FeatureMatrix& x) {
  LiblinearRows out;
  const std::size_t n_text = text.cols;
  out.n = static_cast<int>(n_text + x.cols + 1);
  std::vector<std::size_t> start;
  for (std::size_t i = 0; i < x.rows; ++i) {
    start.push_back(out.nodes.size());
    if (i < text.rows) {
      for (std::size_t k = text.offsets[i]; k < text.offsets[i + 1]; ++k) {
        out.nodes.push_back({static_cast<int>(text.index[k]) + 1, text.value[k]});
      }
    }
    for (std::size_t j = 0; j < x.cols; ++j) {
      const float v = x.at(i, j);
      if (v != 0.0f && !std::isnan(v)) out.nodes.push_back({static_cast<int>(n_text + j) + 1, v});
    }
    out.nodes.push_back({out.n, kBias});
    out.nodes.push_back({-1, 0.0});
  }
  for (auto s : start) out.rows.push_back(out.nodes.data() + s);
  return out;
}

class TfidfLinearModel final : public Model {
 public:
  TfidfLinearModel(nlohmann::json params, Task task) : params_(std::move(params)), task_(task) {}

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix*, const std::vector<double>*,
           const FitContext& ctx) override {
    static std::once_flag quiet;
    std::call_once(quiet, [] { set_print_string_function(silent); });
    stop_reason_ = FitStop::kCompleted;
    vectorizer_ = TfidfVectorizer(tfidf_options());
    const SparseRows text = vectorizer_.fit_transform(documents(x));
    n_dense_ = x.cols;
    LiblinearRows rows = to_liblinear(text, x);
    weights_.clear();
    trained_ = 0;
    n_classes_ = task_ == Task::kRegression ? 0 : std::max(ctx.n_classes, 2);
    if (task_ == Task::kRegression) {
      fit_regression(rows, y, ctx.deadline);
    } else {
      fit_classes(rows, y, ctx.deadline);
    }
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (weights_.empty()) throw_internal("tfidf_linear model used before fit or load");
    if (x.cols != n_dense_) throw_internal(fmt::format("tfidf_linear expects {} non-text features, got {}", n_dense_, x.cols));
    const SparseRows text = vectorizer_.transform(documents(x));
    const LiblinearRows rows = to_liblinear(text, x);
    const std::size_t k = weights_.size();
    std::vector<double> scores(k);
    const int n_out = task_ == Task::kRegression ? 1 : n_classes_;
    std::vector<double> out(x.rows * static_cast<std::size_t>(n_out));
    for (std::size_t i = 0; i < x.rows; ++i) {
      for (std::size_t c = 0; c < k; ++c) {
        double s = 0;
        for (const feature_node* f = rows.rows[i]; f->index != -1; ++f) s += weights_[c][f->index - 1] * f->value;
        scores[c] = s;
      }
      double* o = out.data() + i * static_cast<std::size_t>(n_out);
      if (task_ == Task::kRegression) {
        o[0] = y_mean_ + y_scale_ * scores[0];
      } else if (k == 1) {  // two classes: the score of the second
        o[1] = 1.0 / (1.0 + std::exp(-scores[0]));
        o[0] = 1.0 - o[1];
      } else {  // one-vs-rest: each class's logistic probability, normalised to sum to 1
        double total = 0;
        for (std::size_t c = 0; c < k; ++c) total += o[c] = 1.0 / (1.0 + std::exp(-scores[c]));
        for (std::size_t c = 0; c < k; ++c) o[c] /= total;
      }
    }
    return out;
  }

  void save(const std::filesystem::path& dir) const override {
    nlohmann::json j = {{"format", "automl-gpt tfidf_linear 1"}, {"vectorizer", vectorizer_.to_json()},
                        {"n_dense", n_dense_}, {"n_classes", n_classes_}, {"y_mean", y_mean_},
                        {"y_scale", y_scale_}, {"weights", weights_}};
    const auto path = dir / "tfidf_linear.json";
    std::ofstream out(path);
    out << j.dump() << "\n";
    if (!out) throw_io("cannot write " + path.string());
  }

  void load(const std::filesystem::path& dir) override {
    const auto path = dir / "tfidf_linear.json";
    std::ifstream in(path);
    if (!in) throw_io("cannot read " + path.string());
    try {
      auto j = nlohmann::json::parse(in);
      vectorizer_ = TfidfVectorizer::from_json(j.at("vectorizer"));
      n_dense_ = static_cast<std::size_t>(saved_int(j.at("n_dense"), 0, INT32_MAX, path.string() + " \"n_dense\""));
      n_classes_ = static_cast<int>(saved_int(j.at("n_classes"), 0, 1 << 20, path.string() + " \"n_classes\""));
      y_mean_ = j.at("y_mean").get<double>();
      y_scale_ = j.at("y_scale").get<double>();
      weights_ = j.at("weights").get<std::vector<std::vector<double>>>();
    } catch (const nlohmann::json::exception& e) {
      throw_invalid(path.string() + " is damaged: " + e.what());
    }
    const std::size_t n = vectorizer_.n_features() + n_dense_ + 1;
    for (const auto& w : weights_) {
      if (w.size() != n) {
        throw_invalid(fmt::format("{} is damaged: a weight vector has {} entries, the vocabulary needs {}",
                                  path.string(), w.size(), n));
      }
    }
  }

  FitStop stop_reason() const override { return stop_reason_; }
  bool learned() const override { return stop_reason_ != FitStop::kDeadline || trained_ > 0; }

 private:
  TfidfOptions tfidf_options() const {
    TfidfOptions o;
    o.tokenizer.lowercase = params_.at("lowercase").get<bool>();
    o.tokenizer.strip_punctuation = params_.at("strip_punctuation").get<bool>();
    o.tokenizer.strip_numbers = params_.at("strip_numbers").get<bool>();
    o.word_ngram_max = static_cast<int>(param_int(params_, "word_ngram_max"));
    o.char_ngrams = params_.at("char_ngrams").get<bool>();
    o.min_df = static_cast<int>(param_int(params_, "min_df"));
    o.max_features = static_cast<std::size_t>(param_int(params_, "max_features"));
    o.sublinear_tf = params_.at("sublinear_tf").get<bool>();
    return o;
  }

  // The rows' documents; a matrix without documents (no text column) reads as empty ones.
  static const std::vector<std::string>& documents(const FeatureMatrix& x) {
    static const std::vector<std::string> kNone;
    if (x.texts.empty()) return kNone;
    if (x.texts.size() != x.rows) {
      throw_internal(fmt::format("feature matrix holds {} documents for {} rows", x.texts.size(), x.rows));
    }
    return x.texts;
  }

  // One liblinear fit; the weights (bias last) of the decision function for label +1
  // (classes) or of the prediction (regression).
  std::vector<double> train_one(LiblinearRows& rows, std::vector<double>& labels, int solver, double pos_weight,
                                double neg_weight) const {
    problem prob{};
    prob.l = static_cast<int>(labels.size());
    prob.n = rows.n;
    prob.y = labels.data();
    prob.x = rows.rows.data();
    prob.bias = kBias;
    int weight_label[2] = {+1, -1};
    double weight[2] = {pos_weight, neg_weight};
    parameter param{};
    param.solver_type = solver;
    param.C = param_real(params_, "C");
    param.eps = param_real(params_, "tolerance");
    param.p = 0.0;  // regression: squared loss on every residual (no insensitive zone)
    param.nr_weight = solver == L2R_LR ? 2 : 0;
    param.weight_label = weight_label;
    param.weight = weight;
    param.init_sol = nullptr;
    if (const char* bad = check_parameter(&prob, &param)) throw_internal(std::string("liblinear refused: ") + bad);
    const LiblinearModel m(train(&prob, &param));
    if (!m) throw_internal("liblinear trained no model");
    std::vector<double> w(m->w, m->w + rows.n);
    // A two-class liblinear model scores its first label; ours must score +1.
    if (solver == L2R_LR && m->label[0] != +1) {
      for (double& v : w) v = -v;
    }
    return w;
  }

  // One logistic regression for two classes, one per class (one-vs-rest) for more.
  // The deadline is checked before each fit; a class not reached in time keeps a
  // weight-free model at its training share.
  void fit_classes(LiblinearRows& rows, const std::vector<double>& y, Clock::time_point deadline) {
    const int k = n_classes_;
    const int fits = k == 2 ? 1 : k;
    const bool balanced = param_str(params_, "class_weight") == "balanced";
    const double n = static_cast<double>(y.size());
    std::vector<double> labels(y.size());
    for (int c = 0; c < fits; ++c) {
      const int positive = k == 2 ? 1 : c;
      double n_pos = 0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        labels[i] = static_cast<int>(y[i]) == positive ? +1.0 : -1.0;
        n_pos += labels[i] > 0;
      }
      const bool out_of_time = Clock::now() >= deadline;
      if (out_of_time) stop_reason_ = FitStop::kDeadline;
      if (n_pos == 0 || n_pos == n || out_of_time) {
        // Nothing to separate (or no time): the class's smoothed share as a constant.
        std::vector<double> w(static_cast<std::size_t>(rows.n), 0.0);
        w.back() = std::log((n_pos + 0.5) / (n - n_pos + 0.5)) / kBias;
        weights_.push_back(std::move(w));
        continue;
      }
      const double pos_weight = balanced ? n / (2.0 * n_pos) : 1.0;
      const double neg_weight = balanced ? n / (2.0 * (n - n_pos)) : 1.0;
      weights_.push_back(train_one(rows, labels, L2R_LR, pos_weight, neg_weight));
      ++trained_;
    }
  }

  // Least squares on the standardised target (so the penalised bias starts near its optimum).
  void fit_regression(LiblinearRows& rows, const std::vector<double>& y, Clock::time_point deadline) {
    double s = 0, s2 = 0;
    for (double v : y) {
      s += v;
      s2 += v * v;
    }
    const double n = static_cast<double>(std::max<std::size_t>(1, y.size()));
    y_mean_ = s / n;
    const double var = s2 / n - y_mean_ * y_mean_;
    y_scale_ = var > 1e-24 ? std::sqrt(var) : 1.0;
    if (Clock::now() >= deadline || y.empty()) {
      stop_reason_ = FitStop::kDeadline;
      weights_.push_back(std::vector<double>(static_cast<std::size_t>(rows.n), 0.0));
      return;
    }
    std::vector<double> z(y.size());
    for (std::size_t i = 0; i < y.size(); ++i) z[i] = (y[i] - y_mean_) / y_scale_;
    weights_.push_back(train_one(rows, z, L2R_L2LOSS_SVR, 1.0, 1.0));
    ++trained_;
  }

  nlohmann::json params_;
  Task task_;
  TfidfVectorizer vectorizer_;
  std::size_t n_dense_ = 0;
  int n_classes_ = 0;
  double y_mean_ = 0, y_scale_ = 1;
  // One weight vector per fit (text terms, then the non-text columns, then the bias).
  std::vector<std::vector<double>> weights_;
  FitStop stop_reason_ = FitStop::kCompleted;
  int trained_ = 0;  // fits that ran (the rest, cut by the deadline, hold a class's share)
};

ModelEntry tfidf_linear_entry() {
  ModelEntry e;
  e.name = "tfidf_linear";
  e.structure = "TF-IDF word (and character) n-grams + L2-regularised logistic or least-squares regression (liblinear)";
  e.description =
      "Free text as sparse TF-IDF n-gram features (sublinear term frequency, unit-length rows), with the other "
      "columns one-hot encoded beside them, and a liblinear model: one-vs-rest logistic regression for classes, "
      "least squares for numbers. The strong, fast baseline for text.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kText;
  // The vocabulary, the sparse TF-IDF matrix and the solver's copy, about three times
  // the text. Estimated from the data structures, not measured.
  e.memory_bytes = [](const DataShape& s) { return 3.0 * s.text_bytes + 32.0 * s.rows + 32.0 * (1 << 20); };
  e.params = {
      ParamSpec::real("C", 3.0).range(1e-4, 1e4).tune(0.3, 100.0).log()
          .describe("inverse regularisation strength; larger fits the training documents more closely"),
      ParamSpec::integer("word_ngram_max", 2).range(1, 3)
          .describe("longest word n-gram: 1 = single words, 2 = also word pairs, 3 = also triples"),
      ParamSpec::boolean("char_ngrams", false)
          .describe("also character 2- to 5-grams of each word (helps with typos and word forms; slower)"),
      ParamSpec::integer("min_df", 2).range(1, 1000).tune(1, 5)
          .describe("a term must occur in at least this many training documents"),
      ParamSpec::integer("max_features", 300000).range(100, 10000000).tune(20000, 1000000).log()
          .describe("most terms kept per block (word n-grams, character n-grams), the most frequent first"),
      ParamSpec::boolean("lowercase", true).describe("fold ASCII letters to lower case before tokenising"),
      ParamSpec::boolean("strip_punctuation", true)
          .describe("punctuation only separates words; false keeps each mark as a token of its own"),
      ParamSpec::boolean("strip_numbers", false).describe("drop tokens made only of digits"),
      ParamSpec::choice("class_weight", {"none", "balanced"}, "none")
          .describe("classes: 'balanced' weighs each fit's two sides equally (rare classes count more)"),
      ParamSpec::boolean("sublinear_tf", true).fixed()
          .describe("term frequency as 1 + ln(count) rather than the raw count"),
      ParamSpec::real("tolerance", 1e-3).range(1e-6, 0.1).fixed().log()
          .describe("liblinear's stopping tolerance on the gradient norm, relative to its start"),
  };
  e.explainable = true;
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<TfidfLinearModel>(p, task); };
  // Assigned only when the data has free text (its encoding reads it): first among
  // the text families.
  e.modalities = {"tabular", "text"};
  e.text_rank = 0;
  e.portfolio = [](const PortfolioContext&) -> std::vector<PortfolioSetting> {
    return {{10, nlohmann::json::object(), "TF-IDF word 1-2 grams + logistic regression: the strong, fast baseline for text"},
            {20, {{"char_ngrams", true}}, "with character 2-5 grams: robust to typos and word forms"},
            {20, {{"C", 20.0}}, "less regularised: many distinctive words per document"},
            {20, {{"word_ngram_max", 1}, {"min_df", 1}, {"C", 30.0}}, "single words, every one kept, lightly regularised"}};
  };
  return e;
}

const ModelEntry& kRegistered = model_registry().add(tfidf_linear_entry());

}  // namespace
}  // namespace automl
