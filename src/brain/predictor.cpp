// The learned training-log predictor. Its examples are the knowledge base's trials:
// the dataset's meta-features, the family and its setting (and the round cap) in,
// the relative score, the seconds per fit and the rounds kept out. The learner is
// the project's own boosted-tree family; five of them, each trained on a bootstrap
// sample of the datasets, give the guess (their mean) and its uncertainty (their
// spread): the spread is large where the known datasets disagree.
#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <cmath>
#include <numeric>
#include <random>

#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/params.h"

namespace automl {

using nlohmann::json;

namespace {

constexpr int kBags = 5;
constexpr double kBinLo = -5.0, kBinWidth = 0.5;
constexpr int kBins = 28;

double meta(const std::map<std::string, double>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0.0 : it->second;
}


// The family that learns over meta-features: the first that declares settings for it.
const ModelEntry& meta_learner() {
  for (const auto* e : model_registry().entries()) {
    if (!e->meta_learner_params.is_null() && e->supports(Task::kRegression)) return *e;
  }
  throw_internal("no registered model family declares meta_learner_params: the learned predictor needs one");
}

std::shared_ptr<Model> train(const std::vector<std::vector<float>>& rows, const std::vector<double>& y,
                             const std::vector<std::size_t>& pick, std::size_t n_features, uint64_t seed) {
  FeatureMatrix x;
  x.rows = pick.size();
  x.cols = n_features;
  x.n_categories.assign(n_features, 0);
  x.values.reserve(x.rows * x.cols);
  std::vector<double> yy;
  for (auto i : pick) {
    x.values.insert(x.values.end(), rows[i].begin(), rows[i].end());
    yy.push_back(y[i]);
  }
  const ModelEntry& e = meta_learner();
  json p = with_defaults(e.params, e.meta_learner_params);
  std::shared_ptr<Model> m = e.create(p, Task::kRegression);
  FitContext ctx;
  ctx.task = Task::kRegression;
  ctx.metric = "rmse";
  ctx.threads = 1;
  ctx.seed = seed;
  ctx.fixed_iterations = 70;
  m->fit(x, yy, nullptr, nullptr, ctx);
  return m;
}

// The relative score is learned on a scale that stretches its top: -log(1.05 - r).
// Squared error on the plain scale is ruled by the settings that fail outright on
// some tiny table (relative scores far below zero); the order among good settings,
// a few hundredths apart near 1, is what a search needs, and on this scale those
// hundredths weigh as much as the failures.
constexpr double kTopMargin = 0.05;
double stretched(double r) { return -std::log(1.0 + kTopMargin - std::min(r, 1.0)); }
double unstretched(double t) { return 1.0 + kTopMargin - std::exp(-t); }

}  // namespace

LogPredictor::~LogPredictor() = default;

std::vector<float> LogPredictor::features(const std::map<std::string, double>& m, const std::string& task,
                                          const std::string& family, const json& params, int resource) const {
  std::vector<float> f;
  auto add = [&](double v) { f.push_back(static_cast<float>(v)); };
  add(meta(m, "log_rows"));
  add(std::log2(1.0 + meta(m, "n_features")));
  add(meta(m, "share_categorical"));
  add(meta(m, "missing_share"));
  add(std::log2(1.0 + meta(m, "n_classes")));
  add(m.count("class_entropy_normalised") ? meta(m, "class_entropy_normalised") : std::nan(""));
  add(m.count("minority_class_share") ? meta(m, "minority_class_share") : std::nan(""));
  add(std::log10(1e-4 + meta(m, "features_per_row")));
  add(task == "binary" ? 0 : task == "multiclass" ? 1 : 2);
  add(resource > 0 ? std::log(static_cast<double>(resource)) : std::nan(""));
  for (const auto* e : model_registry().entries()) {
    add(e->name == family ? 1.0 : 0.0);
    json full = e->name == family ? with_defaults(e->params, params) : json::object();
    for (const auto& s : e->params) {
      if (s.type == ParamType::kInt || s.type == ParamType::kReal) {
        if (!full.contains(s.name) || !full[s.name].is_number()) {
          add(std::nan(""));
          continue;
        }
        double v = full[s.name].get<double>();
        add(s.log_scale ? std::log(std::max(v, 1e-12)) : v);
      } else if (s.type == ParamType::kChoice) {
        double code = std::nan("");
        if (full.contains(s.name) && full[s.name].is_string()) {
          auto it = std::find(s.choices.begin(), s.choices.end(), full[s.name].get<std::string>());
          if (it != s.choices.end()) code = static_cast<double>(it - s.choices.begin());
        }
        add(code);
      } else {
        add(full.contains(s.name) && full[s.name].is_boolean() ? (full[s.name].get<bool>() ? 1.0 : 0.0) : std::nan(""));
      }
    }
  }
  // The setting's data-processing variant (kPrepParam; absent: the design. Trials from
  // before designs were applied count as designs too, which on typed tables they mostly
  // equal).
  const auto& variants = prep_variants();
  const std::string prep = params.contains(kPrepParam) && params[kPrepParam].is_string()
                               ? params[kPrepParam].get<std::string>()
                               : "design";
  add(static_cast<double>(std::find(variants.begin(), variants.end(), prep) - variants.begin()));
  return f;
}

LogPredictor::LogPredictor(const KnowledgeBase& kb, uint64_t seed) {
  std::vector<std::vector<float>> rows;
  std::vector<double> rel, secs, iters;
  std::vector<std::size_t> dataset_of;
  std::vector<bool> has_iters;
  std::vector<double> progress_sum(kBins, 0.0), progress_n(kBins, 0.0);
  double start_sum = 0, start_n = 0;
  for (std::size_t di = 0; di < kb.datasets.size(); ++di) {
    const auto& d = kb.datasets[di];
    const bool informative = std::abs(d.best - d.baseline) > 1e-9;
    // At most 150 trials a dataset (evenly spread), so that quick datasets with
    // many trials do not outvote the rest.
    const std::size_t stride = std::max<std::size_t>(1, (d.trials.size() + 149) / 150);
    for (std::size_t ti = 0; ti < d.trials.size(); ti += stride) {
      const auto& t = d.trials[ti];
      if (!model_registry().has(t.family)) continue;
      rows.push_back(features(d.meta, d.task, t.family, t.params, t.resource));
      rel.push_back(stretched(informative ? std::max(d.relative(t.score), -1.0) : 0.0));  // capped at 1 by stretched()
      secs.push_back(std::log(std::max(t.seconds_per_fit, 1e-4)));
      has_iters.push_back(model_registry().get(t.family).resource_unit == ResourceUnit::kRounds && !t.capped &&
                          t.iterations > 0);
      iters.push_back(has_iters.back() ? std::log(t.iterations) : 0.0);
      dataset_of.push_back(di);
      // The curve's shape: the share of its total improvement reached by each round.
      if (t.curve.size() >= 3 && t.params.is_object()) {
        const bool up = log_metric_higher(t.curve_metric);
        double first = t.curve.front().second, best = first;
        for (const auto& [i, v] : t.curve) {
          if (std::isfinite(v)) best = up ? std::max(best, v) : std::min(best, v);
        }
        if (!std::isfinite(first) || std::abs(best - first) < 1e-9) continue;
        const double lr = with_defaults(model_registry().get(t.family).params, t.params).value("learning_rate", 0.3);
        for (const auto& [i, v] : t.curve) {
          if (!std::isfinite(v)) continue;
          int bin = static_cast<int>(std::floor((std::log(i * lr) - kBinLo) / kBinWidth));
          bin = std::clamp(bin, 0, kBins - 1);
          progress_sum[bin] += std::clamp((v - first) / (best - first), 0.0, 1.0);
          progress_n[bin] += 1;
        }
        if (log_on_metric_scale(t.curve_metric, d.metric) && informative) {
          // Where round 1 starts between the baseline and the trial's final score.
          double span = t.score - d.baseline;
          if (std::abs(span) > 1e-9) {
            start_sum += std::clamp((first - d.baseline) / span, 0.0, 1.0);
            start_n += 1;
          }
        }
      }
    }
  }
  n_examples_ = rows.size();
  if (rows.empty()) throw_invalid("the knowledge base holds no trials to learn from");
  const std::size_t nf = rows[0].size();
  std::mt19937_64 rng(seed * 7919 + 17);
  // The fits are independent: they run on the machine's cores (a second saved on a
  // short budget, where the first model waits for the predictor), each single-threaded,
  // into fixed slots so the result does not depend on which finishes first.
  std::vector<std::function<std::shared_ptr<Model>()>> fits;
  std::vector<std::shared_ptr<Model>*> slots;
  std::vector<std::shared_ptr<Model>> rel_models(kBags), sec_models(kBags), iter_models(kBags);
  for (int b = 0; b < kBags; ++b) {
    // A bootstrap sample of datasets (not of trials): the spread then says how much
    // the guess depends on which datasets happen to be known.
    std::vector<std::size_t> pick_rel, pick_iter;
    std::vector<int> weight(kb.datasets.size(), 0);
    std::uniform_int_distribution<std::size_t> u(0, kb.datasets.size() - 1);
    for (std::size_t i = 0; i < kb.datasets.size(); ++i) ++weight[u(rng)];
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (int w = 0; w < weight[dataset_of[i]]; ++w) {
        pick_rel.push_back(i);
        if (has_iters[i]) pick_iter.push_back(i);
      }
    }
    if (pick_rel.empty()) continue;
    const auto bag = static_cast<uint64_t>(b);
    fits.emplace_back([&rows, &rel, pick_rel, nf, seed, bag] { return train(rows, rel, pick_rel, nf, seed + bag); });
    slots.push_back(&rel_models[b]);
    fits.emplace_back([&rows, &secs, pick_rel, nf, seed, bag] { return train(rows, secs, pick_rel, nf, seed + 100 + bag); });
    slots.push_back(&sec_models[b]);
    if (!pick_iter.empty()) {
      fits.emplace_back([&rows, &iters, pick_iter, nf, seed, bag] { return train(rows, iters, pick_iter, nf, seed + 200 + bag); });
      slots.push_back(&iter_models[b]);
    }
  }
  {
    std::atomic<std::size_t> next{0};
    std::exception_ptr failed;
    std::mutex failed_mutex;
    auto work = [&] {
      for (std::size_t i = next++; i < fits.size(); i = next++) {
        try {
          *slots[i] = fits[i]();
        } catch (...) {
          std::lock_guard<std::mutex> lock(failed_mutex);
          if (!failed) failed = std::current_exception();
        }
      }
    };
    const std::size_t n_threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < std::min(n_threads, fits.size()); ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failed) std::rethrow_exception(failed);
  }
  for (auto* models : {&rel_models, &sec_models, &iter_models}) {
    auto& out = models == &rel_models ? relative_ : models == &sec_models ? seconds_ : iterations_;
    for (auto& m : *models) {
      if (m) out.push_back(std::move(m));
    }
  }
  progress_.assign(kBins, std::nan(""));
  double running = 0;
  for (int b = 0; b < kBins; ++b) {
    if (progress_n[b] > 0) running = std::max(running, progress_sum[b] / progress_n[b]);
    progress_[b] = running;
  }
  if (start_n > 0) curve_start_ = start_sum / start_n;
}

LogPredictor::Guess LogPredictor::guess(const DataCard& card, const std::string& family, const json& params,
                                        int resource) const {
  FeatureMatrix x;
  x.rows = 1;
  x.values = features(card.meta_features, task_name(card.task), family, params, resource);
  x.cols = x.values.size();
  x.n_categories.assign(x.cols, 0);
  auto stats = [&](const std::vector<std::shared_ptr<Model>>& models, double* mean, double* sd, bool relative = false) {
    std::vector<double> v;
    for (const auto& m : models) v.push_back(relative ? unstretched(m->predict(x)[0]) : m->predict(x)[0]);
    if (v.empty()) {
      *mean = 0;
      *sd = 1;
      return;
    }
    *mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double s = 0;
    for (double e : v) s += (e - *mean) * (e - *mean);
    *sd = v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
  };
  Guess g;
  stats(relative_, &g.relative, &g.relative_sd, true);
  stats(seconds_, &g.log_seconds, &g.log_seconds_sd);
  double sd_unused = 0;
  stats(iterations_, &g.log_iterations, &sd_unused);
  return g;
}

double LogPredictor::curve_progress(double iteration, double learning_rate) const {
  double x = std::log(std::max(iteration * learning_rate, 1e-9));
  int bin = std::clamp(static_cast<int>(std::floor((x - kBinLo) / kBinWidth)), 0, kBins - 1);
  double p = progress_[bin];
  return std::isfinite(p) ? p : 1.0;
}

}  // namespace automl
