// The built-in planner's rules for the neural-network families
// (src/planner/builtin/network_plans.h).
#include "builtin/network_plans.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "automl/metrics.h"

namespace automl {
namespace {

// Floating-point operations per second one training run sustains on this kind of
// machine (forward + backward are about 3 forward passes), and steps of AdamW at
// lr 1e-3 that take a network most of the way from chance to its final score.
constexpr double kTrainFlops = 4e9;
constexpr double kStepsToLearn = 30;

double meta(const DataCard& card, const std::string& key, double fallback = 0.0) {
  auto it = card.meta_features.find(key);
  return it == card.meta_features.end() ? fallback : it->second;
}

// A setting as a point (tuning_point), and the epoch cap (log) as one more axis.
std::vector<double> setting_point(const ModelEntry& e, const nlohmann::json& params, int resource) {
  std::vector<double> out = tuning_point(e, params);
  const int cap = static_cast<int>(param_int(with_defaults(e.params, params), e.resource_param));
  const int epochs = resource > 0 ? std::min(resource, cap) : cap;
  out.push_back(std::log(1.0 + std::max(epochs, 1)) / std::log(1.0 + std::max(cap, 2)));
  return out;
}

}  // namespace

bool is_network_family(const std::string& family) {
  if (!model_registry().has(family)) return false;
  return model_registry().get(family).resource_unit == ResourceUnit::kEpochs;
}

void add_epoch_curve(const DataCard& card, const std::string& family, const nlohmann::json& params, int resource,
                     const std::vector<TrialResult>& history, PredictedLog* p) {
  const ModelEntry& e = model_registry().get(family);
  const nlohmann::json full = with_defaults(e.params, params);
  const auto& info = metric_info(card.metric);
  const bool bounded = info.name == "roc_auc" || info.name == "accuracy" || info.name == "macro_f1";
  const int epoch_cap = static_cast<int>(param_int(full, e.resource_param));
  int epochs = epoch_cap;
  if (resource > 0) epochs = std::min(epochs, resource);
  const int patience = static_cast<int>(param_int(full, "early_stopping_epochs"));

  double baseline = std::nan(""), best = std::nan("");
  std::vector<double> same, same_iters, same_seconds;
  for (const auto& t : history) {
    if (!t.usable() || t.sample_rows > 0) continue;
    if (is_baseline_family(t.family)) baseline = t.score;
    else if (std::isnan(best) || metric_better(card.metric, t.score, best)) best = t.score;
    if (t.family == family) {
      same.push_back(t.score);
      same_seconds.push_back(t.seconds);
      if (!t.capped && t.iterations > 0) same_iters.push_back(t.iterations);
    }
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
  };
  // The final score. With one finished trial of the family, that trial; with none, a
  // family that declares a prior (a convolutional network on images) is expected to
  // close its share of the gap the other models leave to a perfect score.
  if (same.size() == 1) {
    p->final_score = same[0];
    p->uncertainty = std::max(0.01, 0.1 * std::abs(same[0] - (std::isnan(baseline) ? same[0] : baseline)));
    p->basis = fmt::format("the one finished {} trial so far", family);
  } else if (same.empty() && e.gap_prior && bounded && info.higher_is_better && !std::isnan(best)) {
    p->final_score = best + e.gap_prior->over_best * (1.0 - best);
    p->uncertainty = e.gap_prior->over_best_sd * (1.0 - best) + 0.01;
    p->basis = e.gap_prior->why_best;
  } else if (same.empty() && e.gap_prior && bounded && info.higher_is_better && !std::isnan(baseline)) {
    p->final_score = baseline + e.gap_prior->over_baseline * (1.0 - baseline);
    p->uncertainty = e.gap_prior->over_baseline_sd * (1.0 - baseline);
    p->basis = e.gap_prior->why_baseline;
  }

  // With two or more finished trials of the family, the setting's neighbours among them
  // say more than their mean: a kernel-weighted mean of their scores over the tuning
  // ranges and the epoch cap (a prior worth one trial at the family's mean), and a run
  // of the same setting with fewer epochs (a successive-halving parent) is where this
  // one starts, plus what promotions of this family have gained in this run so far.
  if (same.size() >= 2) {
    const std::vector<double> here = setting_point(e, params, resource);
    const double family_mean = mean(same);
    constexpr double kLength = 0.25;
    double num = 0, den = 1.0;
    const TrialResult* parent = nullptr;
    std::vector<double> gains;
    for (const auto& t : history) {
      if (!t.usable() || t.sample_rows > 0 || t.family != family) continue;
      const std::vector<double> there = setting_point(e, t.params, t.resource);
      double d2 = 0;
      for (std::size_t j = 0; j < here.size() && j < there.size(); ++j) d2 += (here[j] - there[j]) * (here[j] - there[j]);
      const double w = std::exp(-d2 / (2 * kLength * kLength * static_cast<double>(here.size())));
      num += w * (t.score - family_mean);
      den += w;
      if (t.params == params) parent = &t;
      if (t.parent >= 0) {
        for (const auto& u : history) {
          if (u.id == t.parent && u.usable()) gains.push_back(info.higher_is_better ? t.score - u.score : u.score - t.score);
        }
      }
    }
    p->final_score = family_mean + num / den;
    p->basis = fmt::format("{} finished {} trials, weighted by how close their settings are", same.size(), family);
    if (parent) {
      double gain = 0;
      for (double g : gains) gain += g;
      gain /= static_cast<double>(gains.size()) + 1.0;  // shrunk towards no gain
      const double from_parent = parent->score + (info.higher_is_better ? 1.0 : -1.0) * std::max(0.0, gain);
      p->final_score = from_parent;
      p->basis = fmt::format("trial {} ran this setting for {} epochs; promotions here gained {:.4f} on average",
                             parent->id, parent->resource, gain);
    }
    if (bounded) p->final_score = std::clamp(p->final_score, 0.0, 1.0);
  }

  // How many epochs it will log: early stopping after the best epoch, as the family's
  // finished trials did, else a share of the cap.
  const double best_epoch = same_iters.empty() ? std::max(3.0, 0.4 * epoch_cap) : mean(same_iters);
  const int n = std::max(1, std::min(epochs, static_cast<int>(std::lround(best_epoch)) + patience));

  // The curve: most of the gain within the first steps (fast at lr 1e-3 and many steps
  // per epoch), the rest slowly until the best epoch.
  const double rows = meta(card, "n_rows");
  const double train_rows =
      rows * (planned_fits_per_trial(rows) > 1 ? 1.0 - 1.0 / std::min(5.0, planned_fits_per_trial(rows)) : 0.8);
  const double batch = static_cast<double>(param_int(full, "batch_size"));
  const double lr = param_real(full, "learning_rate");
  const double steps_per_epoch = std::max(1.0, train_rows / batch);
  const double fast = std::max(0.05, kStepsToLearn * (1e-3 / std::max(lr, 1e-6)) / steps_per_epoch);
  const double slow = std::max(1.0, std::min(static_cast<double>(n), best_epoch) / 3.0);
  double start = !std::isnan(baseline) ? baseline : info.name == "roc_auc" ? 0.5 : p->final_score;
  if (!bounded && std::isnan(baseline)) start = p->final_score;
  const double norm = 0.85 * (1.0 - std::exp(-best_epoch / fast)) + 0.15 * (1.0 - std::exp(-best_epoch / slow));
  auto at_epoch = [&](double k) {
    const double progress = 0.85 * (1.0 - std::exp(-k / fast)) + 0.15 * (1.0 - std::exp(-k / slow));
    double v = start + (p->final_score - start) * std::min(1.0, progress / std::max(norm, 1e-9));
    return bounded ? std::clamp(v, 0.0, 1.0) : v;
  };
  p->checkpoints.clear();
  p->metric.clear();
  const int step = std::max(1, n / 40);  // at most about 40 points
  for (int k = 1; k <= n; k += step) {
    p->checkpoints.push_back(k);
    p->metric.push_back(at_epoch(k));
  }
  // A setting capped before the epoch its family reaches its best at (a first rung of
  // successive halving) ends where its curve is at the cap, not at the family's final
  // score: a second network capped at 7 epochs was predicted the 0.996 its uncapped
  // first trial reached, and scored 0.89. From two finished trials of the family on, the
  // kernel-weighted mean above already has the cap as an axis (or a parent to start from).
  if (same.size() < 2 && epochs < best_epoch) {
    const double capped = at_epoch(epochs);
    p->basis += fmt::format("; capped at {} of the {:.0f} epochs its best needs, it ends on its curve there", epochs,
                            best_epoch);
    p->final_score = capped;
    if (p->checkpoints.empty() || p->checkpoints.back() != epochs) {
      p->checkpoints.push_back(epochs);
      p->metric.push_back(capped);
    }
  }

  // Seconds: the family's finished trials, else the network's cost per row.
  if (!same_seconds.empty()) {
    p->seconds = mean(same_seconds);
  } else {
    const double flops = e.flops_per_row ? e.flops_per_row(card, full) : 0.0;
    const double per_epoch = 3.0 * flops * (train_rows + rows * 0.2) / kTrainFlops;
    p->seconds = 0.05 + per_epoch * n * planned_fits_per_trial(rows) / 2.0;  // two fits side by side
  }
}

}  // namespace automl
