// The baseline every run includes: class shares, or the mean. Any model worth
// keeping beats it.
#include <fstream>

#include "automl/model.h"

namespace automl {
namespace {

class ConstantModel final : public Model {
 public:
  explicit ConstantModel(Task task) : task_(task) {}

  void fit(const FeatureMatrix&, const std::vector<double>& y, const FeatureMatrix*, const std::vector<double>*,
           const FitContext& ctx) override {
    if (task_ == Task::kRegression) {
      double s = 0;
      for (double v : y) s += v;
      value_ = {y.empty() ? 0.0 : s / static_cast<double>(y.size())};
      return;
    }
    value_.assign(ctx.n_classes, 0.0);
    for (double v : y) value_[static_cast<int>(v)] += 1.0;
    for (double& v : value_) v = (v + 0.5) / (static_cast<double>(y.size()) + 0.5 * ctx.n_classes);
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    std::vector<double> out;
    out.reserve(x.rows * value_.size());
    for (std::size_t i = 0; i < x.rows; ++i) out.insert(out.end(), value_.begin(), value_.end());
    return out;
  }

  void save(const std::filesystem::path& dir) const override {
    std::ofstream(dir / "constant.json") << nlohmann::json({{"value", value_}}).dump() << "\n";
  }

  void load(const std::filesystem::path& dir) override {
    std::ifstream in(dir / "constant.json");
    value_ = nlohmann::json::parse(in).at("value").get<std::vector<double>>();
  }

 private:
  Task task_;
  std::vector<double> value_;
};

ModelEntry constant_entry() {
  ModelEntry e;
  e.name = "constant";
  e.structure = "no features: the training class shares, or the training mean";
  e.description = "Baseline that ignores the features; a run's models must beat it to be worth anything.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kNative;
  // A class count or a mean: nothing that grows with the data.
  e.memory_bytes = [](const DataShape&) { return 1.0 * (1 << 20); };
  e.explainable = true;
  e.baseline = true;
  e.create = [](const nlohmann::json&, Task task) { return std::make_unique<ConstantModel>(task); };
  // The planner's and the search's view: ranked last, run first, never sampled.
  e.rank = [](const DataCard&) { return PlannerRank{3, "the baseline every model must beat"}; };
  e.portfolio = [](const PortfolioContext&) {
    return std::vector<PortfolioSetting>{{0, nlohmann::json::object(), "baseline every model must beat"}};
  };
  e.random_search = false;
  e.search_lead = false;
  return e;
}

const ModelEntry& kRegistered = model_registry().add(constant_entry());

}  // namespace
}  // namespace automl
