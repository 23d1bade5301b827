// Regularised linear models on one-hot, standardised features: multinomial
// logistic regression (L2, minimised with libLBFGS) for classes, ridge regression
// (closed form, Eigen) for numbers. Fast, stable on small data, and often the
// best choice there.
#include <cmath>
#include <fstream>
#include <new>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <lbfgs.h>

#include "automl/error.h"
#include "automl/saved_json.h"
#include "automl/model.h"
#include "automl/handle.h"
#include "family_plans.h"

namespace automl {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// L-BFGS's own vector (lbfgs_malloc aligns it for SSE), freed with lbfgs_free.
using LbfgsVector = CHandle<lbfgsfloatval_t, lbfgs_free>;

Matrix to_eigen(const FeatureMatrix& x) {
  Matrix a(x.rows, x.cols);
  for (std::size_t i = 0; i < x.rows; ++i) {
    for (std::size_t j = 0; j < x.cols; ++j) {
      float v = x.at(i, j);
      a(i, j) = std::isnan(v) ? 0.0 : v;
    }
  }
  return a;
}

// Row-wise softmax of scores, in place.
void softmax_rows(Matrix* s) {
  for (Eigen::Index i = 0; i < s->rows(); ++i) {
    double m = s->row(i).maxCoeff();
    s->row(i) = (s->row(i).array() - m).exp();
    s->row(i) /= s->row(i).sum();
  }
}

// C * sum of log losses + ||W||^2 / 2; the intercepts are not penalised. With two
// classes one row of weights suffices (the logistic loss); with k > 2, one per class.
struct SoftmaxProblem {
  const Matrix* x;
  const std::vector<double>* y;
  int rows;  // rows of weights: 1 for two classes, k otherwise
  double c;
  Clock::time_point deadline;
  bool out_of_time = false;
};

lbfgsfloatval_t softmax_objective(void* instance, const lbfgsfloatval_t* w, lbfgsfloatval_t* g, int, lbfgsfloatval_t) {
  const auto& p = *static_cast<SoftmaxProblem*>(instance);
  const Eigen::Index d = p.x->cols(), k = p.rows, n = p.x->rows();
  Eigen::Map<const Matrix> weights(w, k, d + 1);  // last column: intercepts
  Eigen::Map<Matrix> grad(g, k, d + 1);
  double loss = 0;
  if (k == 1) {
    Eigen::VectorXd s = (*p.x) * weights.row(0).head(d).transpose();
    s.array() += weights(0, d);
    Eigen::VectorXd r(n);  // d loss / d score
    for (Eigen::Index i = 0; i < n; ++i) {
      double z = (*p.y)[i] > 0.5 ? s(i) : -s(i);  // margin of the true class
      loss += z > 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z));
      double prob1 = 1.0 / (1.0 + std::exp(-s(i)));
      r(i) = prob1 - ((*p.y)[i] > 0.5 ? 1.0 : 0.0);
    }
    grad.row(0).head(d) = p.c * (p.x->transpose() * r).transpose() + weights.row(0).head(d);
    grad(0, d) = p.c * r.sum();
  } else {
    Matrix scores = (*p.x) * weights.leftCols(d).transpose();
    scores.rowwise() += weights.col(d).transpose();
    for (Eigen::Index i = 0; i < n; ++i) {
      double m = scores.row(i).maxCoeff();
      scores.row(i) = (scores.row(i).array() - m).exp();
      double total = scores.row(i).sum();
      auto yi = static_cast<Eigen::Index>((*p.y)[i]);
      loss += std::log(total) - std::log(std::max(scores(i, yi), 1e-300));
      scores.row(i) /= total;
      scores(i, yi) -= 1.0;
    }
    grad.leftCols(d) = p.c * scores.transpose() * (*p.x) + weights.leftCols(d);
    grad.col(d) = p.c * scores.colwise().sum().transpose();
  }
  // Divided by C * n: the same minimum, but a gradient on the scale of a mean loss, so
  // the stopping tolerance means the same thing for 100 rows and for 100,000.
  const double scale = 1.0 / (p.c * static_cast<double>(n));
  grad *= scale;
  return scale * (p.c * loss + 0.5 * weights.leftCols(d).squaredNorm());
}

int softmax_progress(void* instance, const lbfgsfloatval_t*, const lbfgsfloatval_t*, const lbfgsfloatval_t,
                     const lbfgsfloatval_t, const lbfgsfloatval_t, const lbfgsfloatval_t, int, int, int) {
  auto& p = *static_cast<SoftmaxProblem*>(instance);
  p.out_of_time = Clock::now() >= p.deadline;
  return p.out_of_time ? 1 : 0;  // non-zero stops L-BFGS where it is
}

class LinearModel final : public Model {
 public:
  LinearModel(nlohmann::json params, Task task) : params_(std::move(params)), task_(task) {}

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix*, const std::vector<double>*,
           const FitContext& ctx) override {
    cols_ = x.cols;
    const double c = param_real(params_, "C");
    Matrix a = to_eigen(x);
    if (task_ == Task::kRegression) {
      fit_ridge(a, y, 1.0 / c);
    } else {
      fit_softmax(a, y, ctx.n_classes, c, static_cast<int>(param_int(params_, "max_iterations")), ctx.deadline);
    }
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (x.cols != cols_) throw_internal(fmt::format("linear model expects {} features, got {}", cols_, x.cols));
    const Eigen::Index k = weights_.rows();
    if (k == 0) throw_internal("linear model used before fit or load");
    Matrix a = to_eigen(x);
    Matrix s = a * weights_.leftCols(cols_).transpose();
    s.rowwise() += weights_.col(cols_).transpose();
    if (task_ == Task::kRegression) return std::vector<double>(s.data(), s.data() + s.size());
    if (k == 1) {  // two classes: the row holds the score of the second
      std::vector<double> out(x.rows * 2);
      for (std::size_t i = 0; i < x.rows; ++i) {
        out[i * 2 + 1] = 1.0 / (1.0 + std::exp(-s(static_cast<Eigen::Index>(i), 0)));
        out[i * 2] = 1.0 - out[i * 2 + 1];
      }
      return out;
    }
    softmax_rows(&s);
    return std::vector<double>(s.data(), s.data() + s.size());
  }

  void save(const std::filesystem::path& dir) const override {
    nlohmann::json j = {{"rows", weights_.rows()}, {"cols", cols_},
                        {"weights", std::vector<double>(weights_.data(), weights_.data() + weights_.size())}};
    std::ofstream out(dir / "linear.json");
    out << j.dump() << "\n";
    if (!out) throw_io("cannot write " + (dir / "linear.json").string());
  }

  void load(const std::filesystem::path& dir) override {
    std::ifstream in(dir / "linear.json");
    if (!in) throw_io("cannot read " + (dir / "linear.json").string());
    auto j = nlohmann::json::parse(in);
    cols_ = static_cast<std::size_t>(saved_int(j.at("cols"), 0, INT32_MAX, (dir / "linear.json").string() + " \"cols\""));
    auto w = j.at("weights").get<std::vector<double>>();
    const auto rows = static_cast<Eigen::Index>(saved_int(j.at("rows"), 1, INT32_MAX, (dir / "linear.json").string() + " \"rows\""));
    // rows x (cols + 1) weights, else the file is damaged (and the map would read past them).
    if (rows <= 0 || cols_ > w.size() || w.size() % (cols_ + 1) != 0 ||
        w.size() / (cols_ + 1) != static_cast<std::size_t>(rows)) {
      throw_invalid(fmt::format("{} is damaged: {} weights for {} rows of {} features and a bias",
                                (dir / "linear.json").string(), w.size(), rows, cols_));
    }
    weights_ = Eigen::Map<Matrix>(w.data(), rows, static_cast<Eigen::Index>(cols_) + 1);
  }

  FitStop stop_reason() const override { return stop_reason_; }

 private:
  void fit_softmax(const Matrix& a, const std::vector<double>& y, int k, double c, int max_iterations,
                   Clock::time_point deadline) {
    if (task_ == Task::kBinary || k == 2) k = 1;
    const int n = k * (static_cast<int>(a.cols()) + 1);
    LbfgsVector owner(lbfgs_malloc(n));
    if (!owner) throw std::bad_alloc();
    lbfgsfloatval_t* w = owner.get();
    for (int i = 0; i < n; ++i) w[i] = 0.0;
    SoftmaxProblem problem{&a, &y, k, c, deadline};
    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.max_iterations = max_iterations;
    param.epsilon = 1e-4;
    param.past = 3;
    param.delta = 1e-5;
    lbfgsfloatval_t fx = 0;
    int rc = lbfgs(n, w, &fx, softmax_objective, softmax_progress, &problem, &param);
    stop_reason_ = problem.out_of_time                  ? FitStop::kDeadline
                   : rc == LBFGSERR_MAXIMUMITERATION ? FitStop::kIterationLimit
                                                     : FitStop::kConverged;
    weights_ = Eigen::Map<Matrix>(w, k, a.cols() + 1);
  }

  void fit_ridge(Matrix a, const std::vector<double>& y, double alpha) {
    Eigen::VectorXd b = Eigen::Map<const Eigen::VectorXd>(y.data(), static_cast<Eigen::Index>(y.size()));
    // Centre so the intercept is not penalised.
    Eigen::RowVectorXd mean_x = a.colwise().mean();
    double mean_y = b.mean();
    a.rowwise() -= mean_x;
    b.array() -= mean_y;
    Eigen::MatrixXd gram = a.transpose() * a;
    gram.diagonal().array() += alpha;
    Eigen::VectorXd w = gram.ldlt().solve(a.transpose() * b);
    weights_.resize(1, a.cols() + 1);
    weights_.leftCols(a.cols()) = w.transpose();
    weights_(0, a.cols()) = mean_y - mean_x.dot(w);
    stop_reason_ = FitStop::kConverged;
  }

  nlohmann::json params_;
  Task task_;
  std::size_t cols_ = 0;
  Matrix weights_;  // one row per output; the last column holds the intercepts
  FitStop stop_reason_ = FitStop::kCompleted;
};

ModelEntry linear_entry() {
  ModelEntry e;
  e.name = "linear";
  e.structure = "L2-regularised linear model: multinomial logistic regression, or ridge regression";
  e.description =
      "A regularised linear model on one-hot categories and standardised numbers; fast and hard to overfit, "
      "often the best model on small or wide data.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kOneHot;
  // The solver's working copy: about one float a cell. Measured on 2026-11-30 (GNU
  // time, bench/memory.py's generated table, 1,000,000 rows, 126 one-hot columns,
  // `--models linear`, 2 trials and the refit): peak 1,638 MB less 340 MB after reading
  // = 1.3 GB, 2.6 times the 504 MB matrix; the run's estimate (its matrices, three
  // copies, and this) says 2.0 GB.
  e.memory_bytes = [](const DataShape& s) { return 4.0 * s.rows * s.columns + 32.0 * (1 << 20); };
  e.params = {
      ParamSpec::real("C", 1.0).range(1e-6, 1e6).tune(1e-3, 100.0).log()
          .describe("inverse regularisation strength (ridge uses alpha = 1/C); larger fits the data more closely"),
      ParamSpec::integer("max_iterations", 500).range(10, 100000).fixed()
          .describe("most L-BFGS iterations for logistic regression"),
  };
  e.explainable = true;
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<LinearModel>(p, task); };
  e.rank = [](const DataCard& card) {
    const double rows = card_meta(card, "n_rows"), width = card_meta(card, "features_per_row");
    const bool small = rows < 2000 || width > 0.1;
    return PlannerRank{small ? 0 : 1, small ? fmt::format("{:.0f} rows: a regularised linear model often wins on small "
                                                          "or wide data", rows)
                                            : "a fast, well-calibrated reference"};
  };
  e.portfolio = [](const PortfolioContext& ctx) -> std::vector<PortfolioSetting> {
    // On images it comes right after the baseline: a network's cost there is unknown
    // until it has run, and a run must hold a model better than the constant early.
    if (ctx.images) return {{30, {{"C", 0.1}}, "a regularised linear model on the pixels: a cheap, fast reference"}};
    return {{30, {{"C", 1.0}}, "regularised linear model: strong on small and wide data"},
            {30, {{"C", 0.1}}, "the same, more regularised"},
            {70, {{"C", 10.0}}, "the linear model, less regularised"}};
  };
  // One knob: a few random samples cover it, and it never leads the search.
  e.search_lead = false;
  e.random_max = 6;
  return e;
}

const ModelEntry& kRegistered = model_registry().add(linear_entry());

}  // namespace
}  // namespace automl
