// Regularised linear models on one-hot, standardised features: L2 logistic
// regression through liblinear for classes, ridge regression (closed form,
// Eigen) for numbers. Fast, stable on small data, and often the best choice there.
#include <cmath>
#include <fstream>
#include <mutex>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <linear.h>

#include "automl/error.h"
#include "automl/model.h"

namespace automl {
namespace {

void silent(const char*) {}

class LinearModel final : public Model {
 public:
  LinearModel(nlohmann::json params, Task task) : params_(std::move(params)), task_(task) {}
  ~LinearModel() override { free_model(); }

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix*, const std::vector<double>*,
           const FitContext& ctx) override {
    n_classes_ = ctx.n_classes;
    cols_ = x.cols;
    const double c = param_real(params_, "C");
    if (task_ == Task::kRegression) {
      fit_ridge(x, y, 1.0 / c);
    } else {
      fit_logistic(x, y, c);
    }
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (x.cols != cols_) throw_internal(fmt::format("linear model expects {} features, got {}", cols_, x.cols));
    if (task_ == Task::kRegression) {
      std::vector<double> out(x.rows);
      for (std::size_t i = 0; i < x.rows; ++i) {
        double s = intercept_;
        for (std::size_t j = 0; j < x.cols; ++j) s += coef_[j] * x.at(i, j);
        out[i] = s;
      }
      return out;
    }
    if (!model_) throw_internal("linear model used before fit or load");
    const int k = n_classes_;
    std::vector<double> out(x.rows * k, 0.0);
    std::vector<feature_node> row;
    std::vector<double> prob(get_nr_class(model_));
    std::vector<int> labels(get_nr_class(model_));
    get_labels(model_, labels.data());
    for (std::size_t i = 0; i < x.rows; ++i) {
      to_nodes(x, i, &row);
      predict_probability(model_, row.data(), prob.data());
      for (std::size_t c = 0; c < labels.size(); ++c) out[i * k + labels[c]] = prob[c];
    }
    return out;
  }

  void save(const std::filesystem::path& dir) const override {
    nlohmann::json meta = {{"n_classes", n_classes_}, {"cols", cols_}};
    if (task_ == Task::kRegression) {
      meta["intercept"] = intercept_;
      meta["coef"] = coef_;
    } else if (save_model((dir / "liblinear.model").c_str(), model_) != 0) {
      throw_io("cannot write " + (dir / "liblinear.model").string());
    }
    std::ofstream(dir / "linear_meta.json") << meta.dump() << "\n";
  }

  void load(const std::filesystem::path& dir) override {
    std::ifstream in(dir / "linear_meta.json");
    auto meta = nlohmann::json::parse(in);
    n_classes_ = meta.at("n_classes").get<int>();
    cols_ = meta.at("cols").get<std::size_t>();
    if (task_ == Task::kRegression) {
      intercept_ = meta.at("intercept").get<double>();
      coef_ = meta.at("coef").get<std::vector<double>>();
    } else {
      free_model();
      model_ = load_model((dir / "liblinear.model").c_str());
      if (!model_) throw_io("cannot read " + (dir / "liblinear.model").string());
    }
  }

 private:
  void free_model() {
    if (model_) free_and_destroy_model(&model_);
  }

  static void to_nodes(const FeatureMatrix& x, std::size_t i, std::vector<feature_node>* row) {
    row->clear();
    for (std::size_t j = 0; j < x.cols; ++j) {
      float v = x.at(i, j);
      if (v != 0.0f && !std::isnan(v)) row->push_back({static_cast<int>(j) + 1, v});
    }
    row->push_back({static_cast<int>(x.cols) + 1, 1.0});  // bias feature
    row->push_back({-1, 0.0});
  }

  void fit_logistic(const FeatureMatrix& x, const std::vector<double>& y, double c) {
    static std::once_flag quiet;
    std::call_once(quiet, [] { set_print_string_function(silent); });
    std::vector<std::vector<feature_node>> rows(x.rows);
    std::vector<feature_node*> ptrs(x.rows);
    for (std::size_t i = 0; i < x.rows; ++i) {
      to_nodes(x, i, &rows[i]);
      ptrs[i] = rows[i].data();
    }
    std::vector<double> labels(y.begin(), y.end());
    problem prob{};
    prob.l = static_cast<int>(x.rows);
    prob.n = static_cast<int>(x.cols) + 1;
    prob.y = labels.data();
    prob.x = ptrs.data();
    prob.bias = -1;  // the bias is already an explicit feature
    parameter param{};
    param.solver_type = L2R_LR;
    param.eps = 1e-3;
    param.C = c;
    if (const char* err = check_parameter(&prob, &param)) throw_internal(std::string("liblinear: ") + err);
    free_model();
    model_ = train(&prob, &param);
  }

  void fit_ridge(const FeatureMatrix& x, const std::vector<double>& y, double alpha) {
    const auto n = static_cast<Eigen::Index>(x.rows), p = static_cast<Eigen::Index>(x.cols);
    Eigen::MatrixXd a(n, p);
    Eigen::VectorXd b(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      b(i) = y[i];
      for (Eigen::Index j = 0; j < p; ++j) {
        float v = x.at(i, j);
        a(i, j) = std::isnan(v) ? 0.0 : v;
      }
    }
    // Centre so the intercept is not penalised.
    Eigen::RowVectorXd mean_x = a.colwise().mean();
    double mean_y = b.mean();
    a.rowwise() -= mean_x;
    b.array() -= mean_y;
    Eigen::MatrixXd gram = a.transpose() * a;
    gram.diagonal().array() += alpha;
    Eigen::VectorXd w = gram.ldlt().solve(a.transpose() * b);
    coef_.assign(w.data(), w.data() + w.size());
    intercept_ = mean_y - mean_x.dot(w);
  }

  nlohmann::json params_;
  Task task_;
  int n_classes_ = 0;
  std::size_t cols_ = 0;
  model* model_ = nullptr;
  std::vector<double> coef_;
  double intercept_ = 0;
};

ModelEntry linear_entry() {
  ModelEntry e;
  e.name = "linear";
  e.structure = "L2-regularised linear model: logistic regression (liblinear) or ridge regression";
  e.description =
      "A regularised linear model on one-hot categories and standardised numbers; fast and hard to overfit, "
      "often the best model on small or wide data.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kOneHot;
  e.params = {
      ParamSpec::real("C", 1.0).range(1e-6, 1e6).tune(1e-3, 100.0).log()
          .describe("inverse regularisation strength (ridge uses alpha = 1/C); larger fits the data more closely"),
  };
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<LinearModel>(p, task); };
  return e;
}

const ModelEntry& kRegistered = model_registry().add(linear_entry());

}  // namespace
}  // namespace automl
