// A model family defined outside src/: nearest centroid, registered with the model
// registry from this one file. Nothing in src/ names it; the planners and the search
// learn everything they need from the properties its registration declares.
//
// It keeps the mean of each class's training rows (on one-hot categories and
// standardised numbers, shrunk towards the mean of all rows) and predicts the class
// probabilities softmax(-squared distance to each centroid / temperature).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/model.h"

namespace automl_example {
namespace {

using automl::FeatureMatrix;
using automl::FitContext;
using automl::Task;

class NearestCentroidModel final : public automl::Model {
 public:
  NearestCentroidModel(const nlohmann::json& params, Task task)
      : shrinkage_(params.at("shrinkage").get<double>()), temperature_(params.at("temperature").get<double>()),
        task_(task) {}

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix*, const std::vector<double>*,
           const FitContext& ctx) override {
    if (y.size() != x.rows) automl::throw_internal(fmt::format("nearest_centroid: {} rows but {} targets", x.rows, y.size()));
    classes_ = std::max(ctx.n_classes, 2);
    cols_ = x.cols;
    std::vector<double> sum(classes_ * cols_, 0.0), all(cols_, 0.0);
    std::vector<double> count(classes_, 0.0);
    for (std::size_t r = 0; r < x.rows; ++r) {
      const auto k = static_cast<std::size_t>(y[r]);
      count[k] += 1;
      for (std::size_t c = 0; c < cols_; ++c) {
        const double v = value(x, r, c);
        sum[k * cols_ + c] += v;
        all[c] += v;
      }
    }
    centroids_.assign(classes_ * cols_, 0.0);
    for (std::size_t k = 0; k < static_cast<std::size_t>(classes_); ++k) {
      for (std::size_t c = 0; c < cols_; ++c) {
        const double overall = x.rows ? all[c] / static_cast<double>(x.rows) : 0.0;
        const double own = count[k] > 0 ? sum[k * cols_ + c] / count[k] : overall;
        centroids_[k * cols_ + c] = (1.0 - shrinkage_) * own + shrinkage_ * overall;
      }
    }
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (x.cols != cols_) automl::throw_internal(fmt::format("nearest_centroid expects {} features, got {}", cols_, x.cols));
    std::vector<double> out(x.rows * classes_);
    std::vector<double> logit(classes_);
    for (std::size_t r = 0; r < x.rows; ++r) {
      double top = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < static_cast<std::size_t>(classes_); ++k) {
        double d2 = 0;
        for (std::size_t c = 0; c < cols_; ++c) {
          const double diff = value(x, r, c) - centroids_[k * cols_ + c];
          d2 += diff * diff;
        }
        logit[k] = -d2 / (temperature_ * static_cast<double>(std::max<std::size_t>(cols_, 1)));
        top = std::max(top, logit[k]);
      }
      double total = 0;
      for (auto& l : logit) total += (l = std::exp(l - top));
      for (std::size_t k = 0; k < static_cast<std::size_t>(classes_); ++k) out[r * classes_ + k] = logit[k] / total;
    }
    return out;
  }

  void save(const std::filesystem::path& dir) const override {
    std::ofstream(dir / "nearest_centroid.json")
        << nlohmann::json({{"classes", classes_}, {"cols", cols_}, {"centroids", centroids_}}).dump() << "\n";
  }

  void load(const std::filesystem::path& dir) override {
    std::ifstream in(dir / "nearest_centroid.json");
    if (!in) automl::throw_io((dir / "nearest_centroid.json").string() + " cannot be read");
    const auto j = nlohmann::json::parse(in);
    classes_ = j.at("classes").get<int>();
    cols_ = j.at("cols").get<std::size_t>();
    centroids_ = j.at("centroids").get<std::vector<double>>();
  }

 private:
  // One-hot features have no missing values; a stray NaN counts as the centre (0).
  static double value(const FeatureMatrix& x, std::size_t r, std::size_t c) {
    const double v = x.at(r, c);
    return std::isnan(v) ? 0.0 : v;
  }

  double shrinkage_, temperature_;
  Task task_;
  int classes_ = 2;
  std::size_t cols_ = 0;
  std::vector<double> centroids_;  // classes x cols, row-major
};

automl::ModelEntry nearest_centroid_entry() {
  using automl::ParamSpec;
  automl::ModelEntry e;
  // The Model Card: name, structure, description, tasks, encoding and parameters.
  e.name = "nearest_centroid";
  e.structure = "one centroid per class (shrunk towards the overall mean); softmax over negative squared distances";
  e.description =
      "Example family from examples/custom_model/: each class is the mean of its training rows on one-hot "
      "categories and standardised numbers; a row's class probabilities fall with its distance to each centroid. "
      "Tiny, fast and easy to read.";
  e.tasks = {Task::kBinary, Task::kMulticlass};
  e.encoding = automl::Encoding::kOneHot;
  e.params = {
      ParamSpec::real("shrinkage", 0.1).range(0.0, 0.99).tune(0.0, 0.9)
          .describe("share of the way each centroid is pulled towards the mean of all rows"),
      ParamSpec::real("temperature", 1.0).range(1e-3, 1e3).tune(0.05, 20.0).log()
          .describe("softness of the probabilities: larger spreads them more evenly over the classes"),
  };
  e.explainable = true;
  e.footprint = [](double, double features) {
    return automl::Footprint{features * 8.0 * 10 / (1024.0 * 1024.0), features * 1e-5};
  };
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<NearestCentroidModel>(p, task); };

  // What the planners and the search need to know.
  e.modalities = {"tabular"};  // its opening settings are for tables
  e.rank = [](const automl::DataCard&) {
    return automl::PlannerRank{1, "a nearest-centroid reference: one mean per class, cheap on any table"};
  };
  e.portfolio = [](const automl::PortfolioContext& ctx) -> std::vector<automl::PortfolioSetting> {
    if (ctx.images) return {};
    return {{35, {{"shrinkage", 0.1}, {"temperature", 1.0}}, "nearest centroid: one mean per class, cheap first"}};
  };
  e.search_lead = false;  // two knobs: a few random settings cover them
  e.random_max = 4;
  return e;
}

// Registration at static-initialisation time; whatever links this object gets the family.
const automl::ModelEntry& kRegistered = automl::model_registry().add(nearest_centroid_entry());

}  // namespace
}  // namespace automl_example
