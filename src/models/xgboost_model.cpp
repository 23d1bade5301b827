// Gradient-boosted trees through XGBoost's C API: native categorical splits,
// a training log of every iteration's train and validation metric, early stopping
// on the validation set, and a deadline checked between iterations.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <limits>
#include <numeric>
#include <optional>

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include "automl/error.h"
#include "automl/saved_json.h"
#include "automl/metrics.h"
#include "automl/model.h"
#include "automl/handle.h"

namespace automl {
namespace {

void check(int rc, const char* what) {
  if (rc != 0) throw Error(ErrorKind::kInternal, fmt::format("xgboost {} failed: {}", what, XGBGetLastError()));
}

// The metric XGBoost tracks while boosting: the run's own when XGBoost has it,
// otherwise the smooth loss that best follows it.
std::string eval_metric_for(const std::string& metric, Task task) {
  if (metric == "roc_auc") return "auc";
  if (metric == "rmse" || metric == "r2") return "rmse";
  if (metric == "mae") return "mae";
  return task == Task::kMulticlass ? "mlogloss" : "logloss";
}

bool eval_higher_is_better(const std::string& m) { return m == "auc"; }

// XGBoost trusts its model file: a tree whose arrays disagree (a child index past the
// end, a categories segment longer than the categories) is read out of bounds inside
// XGBoosterLoadModel or at prediction. So the saved trees are checked against each
// other first, the way svm.model is checked before libsvm reads it. What is checked is
// what XGBoost 1.7's RegTree::LoadModel and LoadCategoricalSplit index without checking.
// The model is saved as UBJSON (binary JSON, `xgboost.ubj`): on integer ids with
// thousands of levels a member's trees held 9.7 million category entries, which XGBoost
// wrote as 43 MB of JSON in 0.46 s and read back in 1.45 s; as UBJSON, 40 MB in 0.19 s
// and 0.10 s. Models saved as `xgboost.json` by earlier versions still load.
nlohmann::json read_saved_trees(const std::filesystem::path& file, const std::string& bytes) {
  const std::string where = file.string();
  if (file.extension() == ".ubj") {
    try {
      return nlohmann::json::from_ubjson(bytes);
    } catch (const nlohmann::json::exception& e) {
      throw_invalid(fmt::format("{} is damaged: {}", where, e.what()));
    }
  }
  std::string text = bytes;
  // XGBoost writes NaN, Infinity and -Infinity bare, which JSON lacks; the checks read no
  // float, so outside strings each becomes a 0 padded to the same length.
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    for (std::string_view word : {std::string_view("NaN"), std::string_view("Infinity"), std::string_view("Inf")}) {
      if (text.compare(i, word.size(), word) == 0) {
        text.replace(i, word.size(), std::string(word.size(), ' '));
        text[i] = '0';
        i += word.size() - 1;
        break;
      }
    }
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(fmt::format("{} is damaged: {}", where, e.what()));
  }
}

void check_saved_trees(const std::filesystem::path& file, const std::string& bytes) {
  const std::string where = file.string();
  const nlohmann::json j = read_saved_trees(file, bytes);
  auto damaged = [&](const std::string& why) { throw_invalid(fmt::format("{} is damaged: {}", where, why)); };
  // XGBoost writes its parameters as strings ("num_nodes": "85") and its arrays as numbers.
  auto whole = [&](const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& what) {
    if (v.is_string()) {
      const std::string& t = v.get_ref<const std::string&>();
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(t.c_str(), &end, 10);
      if (t.empty() || *end != '\0' || errno != 0 || n < lo || n > hi) {
        damaged(fmt::format("{} should be a whole number from {} to {}", what, lo, hi));
      }
      return static_cast<int64_t>(n);
    }
    return saved_int(v, lo, hi, where + " " + what);
  };
  auto array = [&](const nlohmann::json& o, const char* key, std::size_t size, const std::string& tree) -> const nlohmann::json& {
    if (!o.is_object() || !o.contains(key) || !o[key].is_array()) damaged(fmt::format("{} has no array \"{}\"", tree, key));
    const nlohmann::json& a = o[key];
    if (size != std::string::npos && a.size() != size) {
      damaged(fmt::format("{} \"{}\" has {} entries for {} nodes", tree, key, a.size(), size));
    }
    return a;
  };
  constexpr int64_t kMaxNodes = int64_t{1} << 30;
  constexpr int64_t kMaxCategory = int64_t{1} << 24;  // categories are floats in XGBoost: exact below 2^24
  try {
    const nlohmann::json& learner = j.at("learner");
    const int64_t n_features = whole(learner.at("learner_model_param").at("num_feature"), 0, kMaxNodes, "num_feature");
    // A tree's output group indexes the prediction: one per class, or one.
    const int64_t n_groups = std::max<int64_t>(1, whole(learner.at("learner_model_param").at("num_class"), 0, kMaxNodes, "num_class"));
    const nlohmann::json* booster = &learner.at("gradient_booster");
    if (booster->value("name", "") == "gblinear") return;  // no trees
    if (booster->contains("gbtree")) booster = &booster->at("gbtree");  // dart wraps a gbtree
    const nlohmann::json& model = booster->at("model");
    const nlohmann::json& trees = model.at("trees");
    if (!trees.is_array()) damaged("\"trees\" is not an array");
    const nlohmann::json& info = array(model, "tree_info", trees.size(), "the model");
    for (const auto& t : info) whole(t, 0, n_groups - 1, "tree_info");
    for (std::size_t k = 0; k < trees.size(); ++k) {
      const nlohmann::json& tree = trees[k];
      const std::string name = fmt::format("tree {}", k);
      const auto n = static_cast<std::size_t>(whole(tree.at("tree_param").at("num_nodes"), 1, kMaxNodes, name + " num_nodes"));
      for (const char* key : {"base_weights", "loss_changes", "sum_hessian", "parents", "split_conditions", "default_left"}) {
        array(tree, key, n, name);
      }
      const nlohmann::json& left = array(tree, "left_children", n, name);
      const nlohmann::json& right = array(tree, "right_children", n, name);
      const nlohmann::json& feature = array(tree, "split_indices", n, name);
      const nlohmann::json& split_type = array(tree, "split_type", std::string::npos, name);
      if (!split_type.empty() && split_type.size() != n) damaged(fmt::format("{} \"split_type\" has {} entries for {} nodes", name, split_type.size(), n));
      // Nodes are numbered parent before child, so a child's index is above its parent's:
      // that also rules out a cycle, which prediction would follow for ever.
      for (std::size_t i = 0; i < n; ++i) {
        const int64_t l = whole(left[i], -1, kMaxNodes, name + " left_children");
        const int64_t r = whole(right[i], -1, kMaxNodes, name + " right_children");
        const bool leaf = l == -1 && r == -1;
        if (!leaf && (l <= static_cast<int64_t>(i) || r <= static_cast<int64_t>(i) || l >= static_cast<int64_t>(n) ||
                      r >= static_cast<int64_t>(n))) {
          damaged(fmt::format("{} node {} has children {} and {} (of {} nodes)", name, i, l, r, n));
        }
        const int64_t f = whole(feature[i], 0, kMaxNodes, name + " split_indices");
        if (!leaf && f >= n_features) damaged(fmt::format("{} node {} splits on feature {} of {}", name, i, f, n_features));
      }
      if (split_type.empty()) continue;
      const nlohmann::json& cats = array(tree, "categories", std::string::npos, name);
      const nlohmann::json& nodes = array(tree, "categories_nodes", std::string::npos, name);
      const nlohmann::json& segments = array(tree, "categories_segments", nodes.size(), name);
      const nlohmann::json& sizes = array(tree, "categories_sizes", nodes.size(), name);
      int64_t previous = -1;
      for (std::size_t c = 0; c < nodes.size(); ++c) {
        const int64_t node = whole(nodes[c], 0, static_cast<int64_t>(n) - 1, name + " categories_nodes");
        if (node <= previous) damaged(fmt::format("{} categories_nodes are not increasing at entry {}", name, c));
        previous = node;
        const int64_t begin = whole(segments[c], 0, static_cast<int64_t>(cats.size()), name + " categories_segments");
        const int64_t count = whole(sizes[c], 1, static_cast<int64_t>(cats.size()) - begin, name + " categories_sizes");
        for (int64_t m = begin; m < begin + count; ++m) whole(cats[static_cast<std::size_t>(m)], 0, kMaxCategory, name + " categories");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    damaged(e.what());
  }
}

// The library's handles (both void*), each with its one owner.
using Booster = CHandle<void, XGBoosterFree>;
using DMatrixOwner = CHandle<void, XGDMatrixFree>;

// A booster with nothing in it yet (throws when XGBoost cannot make one).
Booster create_booster(const DMatrixHandle* cache, bst_ulong n_cache) {
  BoosterHandle raw = nullptr;
  check(XGBoosterCreate(cache, n_cache, &raw), "booster creation");
  return Booster(raw);
}

// The rows as an XGBoost matrix, with the feature types and (when given) the labels.
// Owned from the moment XGBoost makes it, so a failure setting its info frees it too.
class DMatrix {
 public:
  DMatrix(const FeatureMatrix& x, const std::vector<double>* y, int threads) {
    DMatrixHandle raw = nullptr;
    check(XGDMatrixCreateFromMat_omp(x.values.data(), x.rows, x.cols, std::numeric_limits<float>::quiet_NaN(), &raw,
                                     threads),
          "DMatrix creation");
    handle_.reset(raw);
    std::vector<const char*> types;
    for (std::size_t j = 0; j < x.cols; ++j) types.push_back(x.n_categories[j] > 0 ? "c" : "q");
    if (!types.empty()) check(XGDMatrixSetStrFeatureInfo(get(), "feature_type", types.data(), types.size()), "feature types");
    if (y) {
      std::vector<float> labels(y->begin(), y->end());
      check(XGDMatrixSetFloatInfo(get(), "label", labels.data(), labels.size()), "labels");
    }
  }
  DMatrixHandle get() const { return handle_.get(); }

 private:
  DMatrixOwner handle_;
};

// More boosting rounds or classes than any saved model holds: the file is damaged.
constexpr int kMaxSavedRounds = 10'000'000;

class XgboostModel final : public Model {
 public:
  XgboostModel(nlohmann::json params, Task task) : params_(std::move(params)), task_(task) {}
  // The booster has one owner; nothing copies a fitted model (models live behind pointers).
  XgboostModel(const XgboostModel&) = delete;
  XgboostModel& operator=(const XgboostModel&) = delete;

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix* valid_x,
           const std::vector<double>* valid_y, const FitContext& ctx) override {
    const auto start = Clock::now();
    n_classes_ = ctx.n_classes;
    threads_ = ctx.threads;
    DMatrix train(x, &y, ctx.threads);
    std::unique_ptr<DMatrix> valid;
    if (valid_x && valid_y && ctx.fixed_iterations < 0) valid = std::make_unique<DMatrix>(*valid_x, valid_y, ctx.threads);

    DMatrixHandle cache[2] = {train.get(), valid ? valid->get() : nullptr};
    booster_.reset();  // a refit frees the old booster first, as it did
    booster_ = create_booster(cache, valid ? 2 : 1);
    eval_metric_ = eval_metric_for(ctx.metric, task_);
    auto set = [&](const char* k, const std::string& v) { check(XGBoosterSetParam(booster_.get(), k, v.c_str()), k); };
    set("tree_method", "hist");
    set("nthread", std::to_string(ctx.threads));
    set("seed", std::to_string(ctx.seed % 2147483647));
    set("verbosity", "0");
    if (task_ == Task::kRegression) {
      set("objective", "reg:squarederror");
      double mean = y.empty() ? 0.0 : std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(y.size());
      set("base_score", fmt::format("{:.17g}", mean));
    } else if (task_ == Task::kBinary) {
      set("objective", "binary:logistic");
    } else {
      set("objective", "multi:softprob");
      set("num_class", std::to_string(ctx.n_classes));
    }
    set("eval_metric", eval_metric_);
    for (const char* key : {"learning_rate", "min_child_weight", "subsample", "colsample_bytree", "reg_lambda",
                            "reg_alpha", "gamma"}) {
      set(key, fmt::format("{:.17g}", param_real(params_, key)));
    }
    for (const char* key : {"max_depth", "max_bin", "max_cat_to_onehot"}) set(key, std::to_string(param_int(params_, key)));

    int rounds = static_cast<int>(param_int(params_, "n_estimators"));
    if (ctx.max_iterations > 0) rounds = std::min(rounds, ctx.max_iterations);
    if (ctx.fixed_iterations > 0) rounds = ctx.fixed_iterations;
    const int patience = static_cast<int>(param_int(params_, "early_stopping_rounds"));
    const bool higher = eval_higher_is_better(eval_metric_);

    const char* names[2] = {"train", "valid"};
    double best = std::numeric_limits<double>::quiet_NaN();
    best_iteration_ = -1;
    stop_reason_ = FitStop::kCompleted;
    int it = 0;
    for (; it < rounds; ++it) {
      check(XGBoosterUpdateOneIter(booster_.get(), it, train.get()), "boosting");
      const char* out = nullptr;
      check(XGBoosterEvalOneIter(booster_.get(), it, cache, names, valid ? 2 : 1, &out), "evaluation");
      IterationLog log;
      log.iteration = it;
      parse_eval(out, &log);
      log.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (valid) {
        // An improvement must be worth a tree: near-separable data lets log loss creep
        // down for thousands of rounds without changing any prediction that matters.
        double v = log.valid_metric;
        double tol = std::isnan(best) ? 0.0 : min_delta(best);
        if (std::isnan(best) || (higher ? v > best + tol : v < best - tol)) {
          best = v;
          best_iteration_ = it;
        }
      } else {
        best_iteration_ = it;
      }
      bool go_on = !ctx.on_iteration || ctx.on_iteration(log);
      if (!go_on) {
        stop_reason_ = FitStop::kCaller;
        ++it;
        break;
      }
      if (valid && it - best_iteration_ >= patience) {
        stop_reason_ = FitStop::kEarlyStopping;
        ++it;
        break;
      }
      if (Clock::now() >= ctx.deadline) {
        stop_reason_ = FitStop::kDeadline;
        ++it;
        break;
      }
    }
    if (best_iteration_ < 0) best_iteration_ = std::max(0, it - 1);
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (!booster_) throw_internal("xgboost model used before fit or load");
    DMatrix d(x, nullptr, threads_);
    std::string config = fmt::format(
        R"({{"type": 0, "training": false, "iteration_begin": 0, "iteration_end": {}, "strict_shape": false}})",
        best_iteration_ + 1);
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    check(XGBoosterPredictFromDMatrix(booster_.get(), d.get(), config.c_str(), &shape, &dim, &result), "prediction");
    std::size_t total = 1;
    for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
    std::vector<double> out;
    if (task_ == Task::kBinary) {
      out.resize(x.rows * 2);
      for (std::size_t i = 0; i < x.rows; ++i) {
        out[i * 2 + 1] = result[i];
        out[i * 2] = 1.0 - static_cast<double>(result[i]);
      }
    } else {
      out.assign(result, result + total);
    }
    return out;
  }

  void save(const std::filesystem::path& dir) const override {
    check(XGBoosterSaveModel(booster_.get(), (dir / "xgboost.ubj").c_str()), "saving");
    nlohmann::json meta = {{"best_iteration", best_iteration_}, {"n_classes", n_classes_},
                           {"eval_metric", eval_metric_}};
    std::ofstream(dir / "xgboost_meta.json") << meta.dump(2) << "\n";
  }

  // Serialized to memory (UBJSON, as save writes it): about 2 ns a byte, a fifth of a
  // save, and exact. A large model's size is mostly category sets (see read_saved_trees).
  double saved_bytes() const override {
    if (!booster_) return 0;
    bst_ulong len = 0;
    const char* buf = nullptr;
    if (XGBoosterSaveModelToBuffer(booster_.get(), R"({"format": "ubj"})", &len, &buf) != 0) return 0;
    return static_cast<double>(len);
  }

  void load(const std::filesystem::path& dir) override {
    booster_.reset();
    booster_ = create_booster(nullptr, 0);
    // An earlier version's JSON only when there is no UBJSON file.
    const bool legacy = !std::filesystem::exists(dir / "xgboost.ubj") && std::filesystem::exists(dir / "xgboost.json");
    const auto model_file = dir / (legacy ? "xgboost.json" : "xgboost.ubj");
    std::string bytes;
    {
      std::ifstream in(model_file, std::ios::binary);
      if (!in) throw_invalid(fmt::format("cannot read {}", model_file.string()));
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    check_saved_trees(model_file, bytes);
    if (XGBoosterLoadModelFromBuffer(booster_.get(), bytes.data(), bytes.size()) != 0) {
      // XGBoost's message: a timestamp, the reason, then the text around the fault and a stack trace.
      std::string why = XGBGetLastError();
      why = why.substr(0, why.find('\n'));
      if (auto pos = why.find(": ", why.find(']')); why.front() == '[' && pos != std::string::npos) why = why.substr(pos + 2);
      throw_invalid(fmt::format("{} is damaged: {}", model_file.string(), why));
    }
    const auto meta_file = dir / "xgboost_meta.json";
    try {
      std::ifstream in(meta_file);
      auto meta = nlohmann::json::parse(in);
      best_iteration_ = static_cast<int>(saved_int(meta.at("best_iteration"), 0, kMaxSavedRounds - 1, meta_file.string() + " \"best_iteration\""));
      n_classes_ = static_cast<int>(saved_int(meta.at("n_classes"), 0, kMaxSavedRounds, meta_file.string() + " \"n_classes\""));
      eval_metric_ = meta.at("eval_metric").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      throw_invalid(fmt::format("{} is damaged: {}", meta_file.string(), e.what()));
    }
    if (best_iteration_ < 0 || best_iteration_ >= kMaxSavedRounds || n_classes_ < 0 || n_classes_ > kMaxSavedRounds) {
      throw_invalid(fmt::format("{} is damaged: best_iteration {}, n_classes {}", meta_file.string(), best_iteration_,
                                n_classes_));
    }
  }

  // Tree SHAP (XGBoost's exact path-dependent algorithm, prediction type 2) over the
  // trees a prediction uses, and the margin (type 1) the contributions sum to.
  std::optional<Contributions> contributions(const FeatureMatrix& x) const override {
    if (!booster_) throw_internal("xgboost model used before fit or load");
    DMatrix d(x, nullptr, threads_);
    auto run = [&](int type, std::vector<bst_ulong>* shape_out) {
      const std::string config = fmt::format(
          R"({{"type": {}, "training": false, "iteration_begin": 0, "iteration_end": {}, "strict_shape": true}})",
          type, best_iteration_ + 1);
      const bst_ulong* shape = nullptr;
      bst_ulong dim = 0;
      const float* result = nullptr;
      check(XGBoosterPredictFromDMatrix(booster_.get(), d.get(), config.c_str(), &shape, &dim, &result),
            type == 2 ? "contributions" : "margin prediction");
      shape_out->assign(shape, shape + dim);
      std::size_t total = 1;
      for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
      return std::vector<double>(result, result + total);
    };
    Contributions c;
    std::vector<bst_ulong> shape;
    c.values = run(2, &shape);  // strict shape: rows x groups x (features + 1)
    if (shape.size() != 3 || shape[0] != x.rows || shape[2] != x.cols + 1) {
      throw_internal(fmt::format("xgboost contributions came back in an unexpected shape ({} dimensions)", shape.size()));
    }
    c.rows = x.rows;
    c.features = x.cols;
    c.outputs = static_cast<int>(shape[1]);
    c.margin = run(1, &shape);  // rows x groups
    c.scale = task_ == Task::kRegression ? "predicted value"
              : task_ == Task::kBinary   ? "log-odds of class index 1"
                                         : "raw score of each class before the softmax";
    return c;
  }

  // XGBoost's total gain per feature, over the trees up to the kept round (a slice of
  // the booster: rounds after early stopping's best are not part of the model's answer).
  std::vector<double> feature_gain(std::size_t n_features) const override {
    if (!booster_) throw_internal("xgboost model used before fit or load");
    BoosterHandle raw = nullptr;
    Booster sliced;
    if (XGBoosterSlice(booster_.get(), 0, best_iteration_ + 1, 1, &raw) == 0) sliced.reset(raw);
    nlohmann::json names = nlohmann::json::array();
    for (std::size_t j = 0; j < n_features; ++j) names.push_back(fmt::format("f{}", j));
    const std::string config = nlohmann::json{{"importance_type", "total_gain"}, {"feature_names", names}}.dump();
    bst_ulong n_out = 0, dim = 0;
    const char** out_names = nullptr;
    const bst_ulong* shape = nullptr;
    const float* scores = nullptr;
    check(XGBoosterFeatureScore(sliced ? sliced.get() : booster_.get(), config.c_str(), &n_out, &out_names, &dim,
                                &shape, &scores),
          "feature scores");
    std::vector<double> gain(n_features, 0.0);
    for (bst_ulong i = 0; i < n_out; ++i) {
      const std::size_t j = std::strtoul(out_names[i] + 1, nullptr, 10);  // "f12" -> 12
      if (j < n_features) gain[j] += scores[i];
    }
    return gain;
  }

  int iterations() const override { return best_iteration_ + 1; }
  FitStop stop_reason() const override { return stop_reason_; }
  std::string log_metric() const override { return eval_metric_; }

 private:
  double min_delta(double best) const {
    if (eval_metric_ == "auc" || eval_metric_ == "logloss" || eval_metric_ == "mlogloss") return 1e-4;
    return 1e-5 * std::abs(best);  // rmse, mae: relative to the error's own scale
  }

  // "[3]\ttrain-auc:0.91\tvalid-auc:0.88"
  static void parse_eval(const char* text, IterationLog* log) {
    log->valid_metric = std::numeric_limits<double>::quiet_NaN();
    std::string s(text);
    std::size_t pos = 0;
    while ((pos = s.find('\t', pos)) != std::string::npos) {
      ++pos;
      auto colon = s.find(':', pos);
      if (colon == std::string::npos) break;
      std::string name = s.substr(pos, colon - pos);
      double v = std::strtod(s.c_str() + colon + 1, nullptr);
      if (name.rfind("train-", 0) == 0) log->train_metric = v;
      if (name.rfind("valid-", 0) == 0) log->valid_metric = v;
    }
  }

  nlohmann::json params_;
  Task task_;
  Booster booster_;
  int best_iteration_ = -1;
  int n_classes_ = 0;
  int threads_ = 2;  // for prediction: as many as training used (2 after a load)
  std::string eval_metric_;
  FitStop stop_reason_ = FitStop::kCompleted;
};

ModelEntry xgboost_entry() {
  ModelEntry e;
  e.name = "xgboost";
  e.structure = "gradient-boosted decision trees (histogram method, native categorical splits)";
  e.description =
      "XGBoost: strong default for tabular data of any size; handles missing values and categories natively; "
      "trained with early stopping on a validation fold.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kNative;
  // Its own copy of the matrix (an 8-byte entry a cell), the histogram index (a byte or
  // two a cell), gradients and prediction caches a row, and its threads' buffers.
  // Estimated from the library's data structures: runs measured on 2026-11-30 on a busy
  // machine ended before a first trial finished, so they bound nothing (see
  // bench/results/memory-2026-11-30.md for the peaks against this estimate).
  e.memory_bytes = [](const DataShape& s) { return 12.0 * s.rows * s.columns + 48.0 * s.rows + 64.0 * (1 << 20); };
  e.resource_param = "n_estimators";
  e.params = {
      ParamSpec::integer("n_estimators", 2000).range(1, 20000).fixed()
          .describe("most boosting rounds; early stopping usually ends sooner (the successive-halving resource)"),
      ParamSpec::real("learning_rate", 0.1).range(1e-4, 1.0).tune(0.01, 0.3).log()
          .describe("shrinkage of each new tree: lower needs more rounds but often generalises better"),
      ParamSpec::integer("max_depth", 6).range(1, 32).tune(2, 10).describe("deepest a tree may grow"),
      ParamSpec::real("min_child_weight", 1.0).range(0.0, 1e4).tune(0.1, 50.0).log()
          .describe("least hessian weight in a leaf: higher makes smoother, more conservative trees (the search "
                    "draws at most a quarter of what a validation fold's rows weigh: few trees split above it)"),
      ParamSpec::real("subsample", 1.0).range(0.1, 1.0).tune(0.5, 1.0).describe("share of rows sampled for each tree"),
      ParamSpec::real("colsample_bytree", 1.0).range(0.1, 1.0).tune(0.3, 1.0)
          .describe("share of columns sampled for each tree"),
      ParamSpec::real("reg_lambda", 1.0).range(0.0, 1e4).tune(1e-3, 100.0).log()
          .describe("L2 penalty on leaf weights"),
      ParamSpec::real("reg_alpha", 0.0).range(0.0, 1e4).tune(1e-3, 10.0).log().describe("L1 penalty on leaf weights"),
      ParamSpec::real("gamma", 0.0).range(0.0, 1e4).fixed().describe("least loss reduction needed to split a leaf"),
      ParamSpec::integer("max_bin", 256).range(2, 4096).fixed().describe("histogram bins per numeric feature"),
      ParamSpec::integer("max_cat_to_onehot", 4).range(1, 1000).fixed()
          .describe("categorical features with fewer categories than this split one-vs-rest, others partition"),
      ParamSpec::integer("early_stopping_rounds", 50).range(1, 10000).fixed()
          .describe("stop after this many rounds without improvement on the validation fold"),
  };
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<XgboostModel>(p, task); };
  // A leaf needs min_child_weight of hessian: a row weighs 1 under squared error and
  // p(1 - p) under the logistic and softmax losses (at the class shares, before the
  // trees sharpen it; the largest class's trees weigh most). A split needs two such
  // leaves, and a subsample of half the rows halves the weight: above a quarter of what
  // a fold's rows weigh, few trees split at all. sonar's folds (125 rows, 0.25 a row)
  // made the constant in 246 of 425 trials drawn from the fixed range up to 50.
  e.narrow_search = [](const SearchData& d, std::vector<ParamSpec>& specs) {
    double per_row = 1.0;
    if (is_classification(d.task) && !d.class_shares.empty()) {
      per_row = 0;
      for (double p : d.class_shares) per_row = std::max(per_row, p * (1.0 - p));
    }
    for (auto& s : specs) {
      if (s.name != "min_child_weight" || d.fit_rows <= 0) continue;
      s.tune_hi = std::clamp(d.fit_rows * per_row / 4.0, std::min(s.tune_hi, 4.0 * s.tune_lo), s.tune_hi);
    }
  };
  // Boosted trees: first among the table families, the search's usual lead (the
  // highest ceiling on tables), warm-started from the knowledge base, refined at half
  // the learning rate, the brain's own learner.
  e.rank = [](const DataCard&) {
    return PlannerRank{0, "boosted trees handle mixed types, missing values and interactions; the usual best on tables"};
  };
  e.portfolio = [](const PortfolioContext& ctx) -> std::vector<PortfolioSetting> {
    if (ctx.images) {
      return {{50, {{"learning_rate", 0.1}, {"max_depth", 6}, {"colsample_bytree", 0.5}},
               "boosted trees on the pixels: the tabular alternative"}};
    }
    std::vector<PortfolioSetting> out = {
        {50, {{"learning_rate", 0.1}, {"max_depth", 6}}, "XGBoost defaults with early stopping"},
        {50,
         {{"learning_rate", 0.05}, {"max_depth", 4}, {"subsample", 0.8}, {"colsample_bytree", 0.8},
          {"min_child_weight", 1.0}},
         "shallow, sampled trees: robust on noisy data"},
        {50,
         {{"learning_rate", 0.05}, {"max_depth", 8}, {"subsample", 0.8}, {"colsample_bytree", 0.6},
          {"min_child_weight", 3.0}, {"reg_lambda", 5.0}},
         "deeper trees for interactions, with more regularisation"},
        {50, {{"learning_rate", 0.1}, {"max_depth", 3}, {"colsample_bytree", 0.5}, {"min_child_weight", 0.5}},
         "stumps-like boosting: strong when effects are mostly additive"}};
    if (ctx.rows <= 20000) {
      out.push_back({50,
                     {{"learning_rate", 0.02}, {"max_depth", 5}, {"subsample", 0.7}, {"colsample_bytree", 0.7},
                      {"min_child_weight", 2.0}},
                     "slow learning rate: more rounds, often the best final score"});
    }
    return out;
  };
  e.warm_start = true;
  e.resource_unit = ResourceUnit::kRounds;
  e.step_param = "learning_rate";
  e.search_lead_by_default = true;
  e.meta_learner_params = {{"learning_rate", 0.15}, {"max_depth", 5}, {"subsample", 0.8}, {"colsample_bytree", 0.8},
                           {"min_child_weight", 3.0}};
  // XGBoost's eval_metric names: those on a run metric's own scale, and those that grow upwards.
  e.log_metric_scale = {{"auc", "roc_auc"}, {"rmse", "rmse"}, {"logloss", "log_loss"}, {"mlogloss", "log_loss"},
                        {"mae", "mae"}};
  e.log_metrics_higher = {"auc", "aucpr", "map", "ndcg"};
  return e;
}

const ModelEntry& kRegistered = model_registry().add(xgboost_entry());

}  // namespace
}  // namespace automl
