// Kernel support vector machines through libsvm (Debian's libsvm-dev): C-SVC with
// Platt-scaled class probabilities (libsvm's internal 5-fold cross-validation),
// epsilon-SVR on the standardised target for numbers. Training time grows with
// the square of the rows or worse, so the family is for small tables: at most
// `max_rows` training rows (a seeded random subset beyond that).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <mutex>
#include <numeric>
#include <random>

#include <unistd.h>

#include <fmt/format.h>
#include <libsvm/svm.h>

#include "automl/error.h"
#include "automl/saved_json.h"
#include "automl/model.h"
#include "family_plans.h"

namespace automl {
namespace {

constexpr const char* kModelFile = "svm.model";
constexpr const char* kInfoFile = "svm.json";

// libsvm draws its probability folds from the C library's rand() and brackets its
// file input/output with setlocale(): both process-wide. Training with
// probabilities, saving and loading hold this lock, so a seed gives the same model
// even when folds train side by side.
std::mutex& libsvm_lock() {
  static std::mutex m;
  return m;
}

// libsvm's solver reports progress through its print hook every thousand
// iterations or so; the hook is where a fit learns that its deadline has passed.
// The deadline is the calling thread's (folds train side by side), and the way out
// is an exception thrown through libsvm's C++ frames: its kernel cache is freed on
// the way, a few arrays the size of the training rows are not.
struct SvmOutOfTime {};
thread_local Clock::time_point svm_deadline = Clock::time_point::max();

void quiet_until_deadline(const char*) {
  if (Clock::now() >= svm_deadline) throw SvmOutOfTime{};
}

// A libsvm model with its one owner (libsvm frees through the pointer's address).
struct ModelDeleter {
  void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};
using SvmPtr = std::unique_ptr<svm_model, ModelDeleter>;

// Trains with the deadline armed; a fit still running at the deadline throws Error(kBudget).
SvmPtr train_until(const svm_problem& problem, const svm_parameter& p, Clock::time_point deadline) {
  svm_deadline = deadline;
  try {
    SvmPtr m(svm_train(&problem, &p));
    svm_deadline = Clock::time_point::max();
    return m;
  } catch (const SvmOutOfTime&) {
    svm_deadline = Clock::time_point::max();
    throw Error(ErrorKind::kBudget, "svm: the deadline passed during training");
  }
}

// A row as libsvm's sparse nodes (zeros left out; 1-based indices; -1 ends it).
void append_row(const FeatureMatrix& x, std::size_t r, std::vector<svm_node>* nodes) {
  for (std::size_t j = 0; j < x.cols; ++j) {
    float v = x.at(r, j);
    if (std::isnan(v) || v == 0.0f) continue;
    nodes->push_back({static_cast<int>(j) + 1, static_cast<double>(v)});
  }
  nodes->push_back({-1, 0.0});
}

// libsvm's reader trusts the counts a model file states: it allocates by nr_class and
// total_sv, reads that many values and lines, and prediction indexes the support vectors
// by nr_sv. A damaged file is checked here first, so that it is refused in one line
// instead of being read out of bounds.
void check_libsvm_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw_io("cannot read the libsvm model " + path.string());
  auto damaged = [&](const std::string& why) { throw_invalid(fmt::format("{} is damaged: {}", path.string(), why)); };
  auto number = [&](const std::string& v) {
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !std::isfinite(d)) damaged(fmt::format("\"{}\" is not a number", v.substr(0, 40)));
    return d;
  };
  auto whole = [&](const std::string& v, double lo, double hi) {
    const double d = number(v);
    if (d != std::floor(d) || d < lo || d > hi) damaged(fmt::format("{} is not a count from {} to {}", v, lo, hi));
    return static_cast<long>(d);
  };
  std::map<std::string, std::vector<std::string>> fields;
  std::string line;
  bool sv = false;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "SV") {
      sv = true;
      break;
    }
    static const std::set<std::string> kKnown = {"svm_type", "kernel_type", "degree", "gamma", "coef0", "nr_class",
                                                 "total_sv", "rho", "label", "probA", "probB", "nr_sv",
                                                 "prob_density_marks"};
    if (!kKnown.count(key) || fields.count(key)) damaged(fmt::format("unexpected line \"{}\"", line.substr(0, 40)));
    for (std::string v; words >> v;) fields[key].push_back(v);
  }
  auto one = [&](const std::string& key) -> const std::string& {
    if (!fields.count(key) || fields[key].size() != 1) damaged("no single " + key);
    return fields[key][0];
  };
  static const std::set<std::string> kTypes = {"c_svc", "nu_svc", "one_class", "epsilon_svr", "nu_svr"};
  static const std::set<std::string> kKernels = {"linear", "polynomial", "rbf", "sigmoid"};
  if (!sv || !kTypes.count(one("svm_type")) || !kKernels.count(one("kernel_type"))) damaged("not a libsvm model");
  for (const char* key : {"degree", "gamma", "coef0"}) {
    if (fields.count(key)) number(one(key));
  }
  if (fields.count("degree")) whole(one("degree"), 0, 100);
  const long nr_class = whole(one("nr_class"), 1, 1 << 16), total_sv = whole(one("total_sv"), 1, 1e9);
  const auto pairs = static_cast<std::size_t>(nr_class * (nr_class - 1) / 2);
  auto counted = [&](const std::string& key, std::size_t n) {
    if (fields.count(key) && fields[key].size() != n) damaged(fmt::format("{} holds {} values, not {}", key, fields[key].size(), n));
    for (const auto& v : fields[key]) number(v);
  };
  counted("rho", pairs);
  if (!fields.count("rho")) damaged("no rho");
  counted("label", static_cast<std::size_t>(nr_class));
  counted("probA", pairs);
  counted("probB", pairs);
  counted("prob_density_marks", 10);
  if (fields.count("nr_sv")) {
    counted("nr_sv", static_cast<std::size_t>(nr_class));
    long sum = 0;
    for (const auto& v : fields["nr_sv"]) sum += whole(v, 0, 1e9);
    if (sum != total_sv) damaged(fmt::format("nr_sv adds up to {}, total_sv is {}", sum, total_sv));
  }
  // Each support vector: nr_class - 1 coefficients, then index:value pairs, indexes rising.
  long rows = 0;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> tokens;
    for (std::string t; words >> t;) tokens.push_back(t);
    if (tokens.empty()) continue;
    if (++rows > total_sv || static_cast<long>(tokens.size()) < nr_class - 1) damaged("more or shorter support vectors than stated");
    long last = 0;
    for (std::size_t k = 0; k < tokens.size(); ++k) {
      if (static_cast<long>(k) < nr_class - 1) {
        number(tokens[k]);
        continue;
      }
      const auto colon = tokens[k].find(':');
      if (colon == std::string::npos) damaged(fmt::format("\"{}\" is not index:value", tokens[k].substr(0, 40)));
      const long index = whole(tokens[k].substr(0, colon), 1, INT32_MAX);
      number(tokens[k].substr(colon + 1));
      if (index <= last) damaged("support vector indexes do not rise");
      last = index;
    }
  }
  if (rows != total_sv) damaged(fmt::format("{} support vectors, total_sv is {}", rows, total_sv));
}

SvmPtr load_svm(const std::filesystem::path& path) {
  check_libsvm_file(path);
  svm_model* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(libsvm_lock());
    m = svm_load_model(path.c_str());
  }
  if (!m) throw_io("cannot read the libsvm model " + path.string());
  return SvmPtr(m);
}

void save_svm(const svm_model* m, const std::filesystem::path& path) {
  int rc;
  {
    std::lock_guard<std::mutex> lock(libsvm_lock());
    rc = svm_save_model(path.c_str(), m);
  }
  if (rc != 0) throw_io("cannot write the libsvm model " + path.string());
}

class SvmModel final : public Model {
 public:
  SvmModel(nlohmann::json params, Task task) : params_(std::move(params)), task_(task) {}

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix*, const std::vector<double>*,
           const FitContext& ctx) override {
    if (Clock::now() >= ctx.deadline) {
      throw Error(ErrorKind::kBudget, "svm: the deadline passed before training could start");
    }
    if (x.rows == 0) throw_invalid("svm needs at least one training row");
    cols_ = x.cols;
    n_outputs_ = is_classification(task_) ? static_cast<std::size_t>(std::max(ctx.n_classes, 2)) : 1;
    // Rows used: all, or a seeded random subset of max_rows.
    std::vector<std::size_t> rows(x.rows);
    std::iota(rows.begin(), rows.end(), 0);
    const auto max_rows = static_cast<std::size_t>(param_int(params_, "max_rows"));
    if (rows.size() > max_rows) {
      std::mt19937_64 rng(ctx.seed * 7919 + 3);
      std::shuffle(rows.begin(), rows.end(), rng);
      rows.resize(max_rows);
      std::sort(rows.begin(), rows.end());
    }
    const std::size_t n = rows.size();
    // libsvm cannot be stopped midway: a fit that clearly cannot end in time (at an
    // optimistic 2 ns per kernel term, six fits with probabilities) is refused.
    const double need = (is_classification(task_) ? 6.0 : 1.0) * static_cast<double>(n) * static_cast<double>(n) *
                        static_cast<double>(std::max<std::size_t>(x.cols, 1)) * 2e-9;
    const double left = std::chrono::duration<double>(ctx.deadline - Clock::now()).count();
    if (need > left) {
      throw Error(ErrorKind::kBudget,
                  fmt::format("svm: about {:.0f} s needed for {} rows, {:.0f} s left before the deadline", need, n, left));
    }

    std::vector<double> target(n);
    y_mean_ = 0;
    y_sd_ = 1;
    if (task_ == Task::kRegression) {
      for (std::size_t i = 0; i < n; ++i) y_mean_ += y[rows[i]];
      y_mean_ /= static_cast<double>(n);
      double ss = 0;
      for (std::size_t i = 0; i < n; ++i) ss += (y[rows[i]] - y_mean_) * (y[rows[i]] - y_mean_);
      y_sd_ = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : 0.0;
      if (!(y_sd_ > 1e-12)) y_sd_ = 1.0;
      for (std::size_t i = 0; i < n; ++i) target[i] = (y[rows[i]] - y_mean_) / y_sd_;
    } else {
      for (std::size_t i = 0; i < n; ++i) target[i] = y[rows[i]];
    }
    // A single class (a tiny fold): nothing to separate, the answer is that class.
    constant_class_ = -1;
    if (is_classification(task_) &&
        std::all_of(target.begin(), target.end(), [&](double v) { return v == target[0]; })) {
      constant_class_ = static_cast<int>(target[0]);
      model_.reset();
      return;
    }

    // "scale": gamma = factor / (features x variance of all feature values).
    double sum = 0, sum2 = 0;
    for (std::size_t r : rows) {
      for (std::size_t j = 0; j < x.cols; ++j) {
        float v = x.at(r, j);
        double d = std::isnan(v) ? 0.0 : v;
        sum += d;
        sum2 += d * d;
      }
    }
    const double cells = static_cast<double>(n) * static_cast<double>(std::max<std::size_t>(x.cols, 1));
    const double var = sum2 / cells - (sum / cells) * (sum / cells);
    const double scale = var > 1e-12 ? 1.0 / (static_cast<double>(std::max<std::size_t>(x.cols, 1)) * var) : 1.0;

    std::vector<svm_node> nodes;
    std::vector<std::size_t> starts;
    for (std::size_t r : rows) {
      starts.push_back(nodes.size());
      append_row(x, r, &nodes);
    }
    std::vector<svm_node*> row_ptrs;
    for (std::size_t s : starts) row_ptrs.push_back(&nodes[s]);
    svm_problem problem{static_cast<int>(n), target.data(), row_ptrs.data()};

    svm_parameter p{};
    const std::string kernel = param_str(params_, "kernel");
    p.svm_type = task_ == Task::kRegression ? EPSILON_SVR : C_SVC;
    p.kernel_type = kernel == "poly" ? POLY : RBF;
    p.degree = static_cast<int>(param_int(params_, "degree"));
    p.gamma = param_real(params_, "gamma_factor") * scale;
    p.coef0 = 1.0;
    p.cache_size = 200;
    p.eps = 1e-3;
    p.C = param_real(params_, "C");
    p.p = param_real(params_, "epsilon");
    p.shrinking = 1;
    p.probability = is_classification(task_) ? 1 : 0;
    if (const char* err = svm_check_parameter(&problem, &p)) throw_invalid(std::string("svm: ") + err);

    static std::once_flag silence;
    std::call_once(silence, [] { svm_set_print_string_function(quiet_until_deadline); });
    SvmPtr fresh;
    if (p.probability) {
      std::lock_guard<std::mutex> lock(libsvm_lock());
      if (Clock::now() >= ctx.deadline) {
        throw Error(ErrorKind::kBudget, "svm: the deadline passed while waiting to train");
      }
      std::srand(static_cast<unsigned>(ctx.seed * 2654435761u + 17));
      fresh = train_until(problem, p, ctx.deadline);
    } else {
      fresh = train_until(problem, p, ctx.deadline);
    }
    if (!fresh) throw_internal("svm: libsvm returned no model");
    // The trained model points into `nodes`; and its file stores support vectors
    // with fewer digits than memory holds. Going through the file once makes the
    // model self-contained and gives exactly the predictions a reload will give.
    static std::atomic<int> counter{0};
    const auto tmp = std::filesystem::temp_directory_path() /
                     fmt::format("automl-svm-{}-{}.model", ::getpid(), counter.fetch_add(1));
    save_svm(fresh.get(), tmp);
    fresh.reset();
    try {
      model_ = load_svm(tmp);
    } catch (...) {
      std::filesystem::remove(tmp);
      throw;
    }
    std::filesystem::remove(tmp);
    read_labels();
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (n_outputs_ == 0) throw_internal("svm model used before fit or load");
    if (x.cols != cols_) throw_internal(fmt::format("svm model expects {} features, got {}", cols_, x.cols));
    std::vector<double> out(x.rows * n_outputs_, 0.0);
    if (constant_class_ >= 0) {
      for (std::size_t i = 0; i < x.rows; ++i) out[i * n_outputs_ + static_cast<std::size_t>(constant_class_)] = 1.0;
      return out;
    }
    std::vector<svm_node> nodes;
    std::vector<double> prob(labels_.size());
    for (std::size_t i = 0; i < x.rows; ++i) {
      nodes.clear();
      append_row(x, i, &nodes);
      if (task_ == Task::kRegression) {
        out[i] = y_mean_ + y_sd_ * svm_predict(model_.get(), nodes.data());
        continue;
      }
      svm_predict_probability(model_.get(), nodes.data(), prob.data());
      for (std::size_t c = 0; c < labels_.size(); ++c) {
        auto cls = static_cast<std::size_t>(labels_[c]);
        if (cls < n_outputs_) out[i * n_outputs_ + cls] = prob[c];
      }
    }
    return out;
  }

  void save(const std::filesystem::path& dir) const override {
    nlohmann::json info = {{"task", task_name(task_)}, {"cols", cols_},           {"outputs", n_outputs_},
                           {"y_mean", y_mean_},        {"y_sd", y_sd_},           {"constant_class", constant_class_}};
    std::ofstream out(dir / kInfoFile);
    out << info.dump() << "\n";
    if (!out) throw_io("cannot write " + (dir / kInfoFile).string());
    if (model_) save_svm(model_.get(), dir / kModelFile);
  }

  void load(const std::filesystem::path& dir) override {
    std::ifstream in(dir / kInfoFile);
    if (!in) throw_io("cannot read " + (dir / kInfoFile).string());
    auto info = nlohmann::json::parse(in);
    if (info.at("task").get<std::string>() != task_name(task_)) {
      throw_io(fmt::format("{} was saved for task {}, not {}", (dir / kInfoFile).string(),
                           info.at("task").get<std::string>(), task_name(task_)));
    }
    cols_ = static_cast<std::size_t>(saved_int(info.at("cols"), 0, INT32_MAX, "the saved svm's cols"));
    n_outputs_ = static_cast<std::size_t>(saved_int(info.at("outputs"), 1, 1 << 20, "the saved svm's outputs"));
    y_mean_ = info.at("y_mean").get<double>();
    y_sd_ = info.at("y_sd").get<double>();
    constant_class_ = static_cast<int>(saved_int(info.at("constant_class"), -1, 1 << 20, "the saved svm's constant_class"));
    model_.reset();
    if (constant_class_ < 0) {
      model_ = load_svm(dir / kModelFile);
      read_labels();
    }
  }

 private:
  void read_labels() {
    labels_.assign(static_cast<std::size_t>(svm_get_nr_class(model_.get())), 0);
    if (is_classification(task_)) {
      svm_get_labels(model_.get(), labels_.data());
      if (svm_check_probability_model(model_.get()) == 0) throw_io("the saved libsvm model has no probability estimates");
    }
  }

  nlohmann::json params_;
  Task task_;
  std::size_t cols_ = 0, n_outputs_ = 0;
  double y_mean_ = 0, y_sd_ = 1;  // regression: the model predicts (y - mean) / sd
  int constant_class_ = -1;       // >= 0: every training row had this class
  SvmPtr model_;
  std::vector<int> labels_;  // libsvm's class order -> our class index
};

ModelEntry svm_entry() {
  ModelEntry e;
  e.name = "svm";
  e.structure = "kernel support vector machine (libsvm): C-SVC with Platt-scaled probabilities, or epsilon-SVR";
  e.description =
      "A maximum-margin model on one-hot categories and standardised numbers, with an RBF or polynomial kernel; "
      "often the best model on small, dense numeric tables. Training time grows with the square of the rows or "
      "faster, so it is meant for up to about 10,000 rows (beyond max_rows it trains on a random subset; "
      "the built-in planner assigns it up to 3,000 rows). Class probabilities cost five extra fits (libsvm's "
      "internal cross-validation). Regression works on the standardised target, so epsilon is in its standard "
      "deviations.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kOneHot;
  // libsvm's nodes (16 bytes a cell of the rows it keeps, at most max_rows) and its
  // 200 MB kernel cache. Estimated from the data structures, not measured.
  e.memory_bytes = [](const DataShape& s) {
    return 16.0 * std::min(s.rows, 1e6) * s.columns + 200.0 * (1 << 20);
  };
  e.params = {
      ParamSpec::real("C", 1.0).range(1e-5, 1e5).tune(0.03, 300.0).log()
          .describe("penalty on margin violations; larger fits the training rows more closely (and trains slower)"),
      ParamSpec::real("gamma_factor", 1.0).range(1e-4, 1e4).tune(0.05, 20.0).log()
          .describe("RBF/poly kernel width as a multiple of the 'scale' rule gamma = 1 / (features x feature "
                    "variance); 1 = scale, larger = more local"),
      ParamSpec::choice("kernel", {"rbf", "poly"}, "rbf")
          .describe("kernel: rbf (smooth, local) or poly ((gamma u.v + 1)^degree); for a linear model use the linear "
                    "family (libsvm's linear kernel converges very slowly at large C)"),
      ParamSpec::real("epsilon", 0.1).range(0.0, 10.0).tune(0.01, 1.0).log()
          .describe("regression only: errors within epsilon (in standard deviations of the target) cost nothing"),
      ParamSpec::integer("degree", 3).range(2, 5).fixed().describe("degree of the poly kernel"),
      ParamSpec::integer("max_rows", 10000).range(10, 1000000).fixed()
          .describe("most training rows; beyond them a seeded random subset is used (training time grows as rows^2)"),
  };
  e.footprint = [](double rows, double features) {
    // Assumes a third of the rows become support vectors, about 14 bytes a value in
    // libsvm's text file, and some 2 ns per value per kernel evaluation.
    const double sv = std::min(rows, 10000.0) / 3.0;
    return Footprint{sv * features * 14.0 / (1024.0 * 1024.0), sv * features * 2e-6};
  };
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<SvmModel>(p, task); };
  // Small tables only: training time grows with rows^2.
  e.max_rows = kSmallTableRows;
  e.rank = [](const DataCard& card) {
    return PlannerRank{1, fmt::format("{:.0f} rows (up to {}): kernel SVMs are often strong on small, dense tables",
                                      card_meta(card, "n_rows"), kSmallTableRows)};
  };
  e.portfolio = [](const PortfolioContext& ctx) -> std::vector<PortfolioSetting> {
    if (ctx.images) return {};
    return {{41, {{"C", 1.0}, {"gamma_factor", 1.0}, {"kernel", "rbf"}},
             "RBF kernel SVM with the 'scale' kernel width: often strong on small, dense tables"},
            {60, {{"C", 10.0}, {"gamma_factor", 1.0}, {"kernel", "rbf"}}, "the RBF SVM, less regularised"}};
  };
  // libsvm's SMO evaluates on the order of rows^2 kernels (more with a larger C), six
  // times over with class probabilities (five internal folds for Platt scaling), on
  // at most 10,000 rows; folds as make_validation_plan chooses them, two side by side.
  e.cost_prior_seconds = [](const DataCard& card, const nlohmann::json& params) {
    const double n = card_meta(card, "n_rows");
    double d = 1;
    for (const auto& c : card.columns) {
      if (c.type == ColumnType::kNumeric) d += 1;
      if (c.type == ColumnType::kCategorical) d += std::min<double>(100.0, static_cast<double>(c.cardinality));
    }
    const double train = std::min(n * 0.8, 10000.0);
    const auto full = with_defaults(model_registry().get("svm").params, params);
    const double c = full.value("C", 1.0);
    const double per_fit = (is_classification(card.task) ? 6.0 : 1.0) * train * train * d * 4e-9 *
                           (1.0 + 0.3 * std::log(std::max(c, 1.0)));
    return 0.01 + per_fit * planned_fits_per_trial(n) / 2.0;
  };
  return e;
}

const ModelEntry& kRegistered = model_registry().add(svm_entry());

}  // namespace
}  // namespace automl
