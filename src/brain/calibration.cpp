// The learned predictor's calibration to one run (automl/calibration.h).
#include "automl/calibration.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <mutex>
#include <optional>
#include <utility>
#include <limits>
#include <map>
#include <set>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/metrics.h"
#include "automl/params.h"

namespace automl {
namespace {

// Predictors being learned in the background, by the knowledge base they learn from
// (held weakly: a finished run's knowledge base and predictor go with it).
struct BackgroundPredictor {
  std::weak_ptr<const KnowledgeBase> knowledge;
  std::shared_future<std::shared_ptr<const LogPredictor>> predictor;
};
std::mutex g_background_mutex;
// Never destroyed: a learning thread still running at exit must not outlive the map (each
// BackgroundLearning handle waits for its own before its owner returns).
std::map<const KnowledgeBase*, BackgroundPredictor>& g_background = *new std::map<const KnowledgeBase*, BackgroundPredictor>;

// The predictor learn_predictor_in_background started for `kb`, if any (the entry is
// taken: each run asks once).
std::optional<std::shared_future<std::shared_ptr<const LogPredictor>>> take_background(
    const std::shared_ptr<const KnowledgeBase>& kb) {
  std::lock_guard<std::mutex> lock(g_background_mutex);
  for (auto it = g_background.begin(); it != g_background.end();) {
    it = it->second.knowledge.expired() ? g_background.erase(it) : std::next(it);
  }
  auto it = g_background.find(kb.get());
  if (it == g_background.end() || it->second.knowledge.lock() != kb) return std::nullopt;
  auto f = it->second.predictor;
  g_background.erase(it);
  return f;
}

// Families whose resource is boosting rounds: the learned curve over rounds is theirs.
bool counts_rounds(const std::string& family) {
  return model_registry().has(family) && model_registry().get(family).resource_unit == ResourceUnit::kRounds;
}

}  // namespace

class LogCalibration::Impl {
 public:
  explicit Impl(std::shared_ptr<const KnowledgeBase> kb) : kb_(std::move(kb)) {}

  // The learned model's guess, put on this run's scale by the trials so far: the
  // relative score (0 = baseline, 1 = best known) becomes a score through the
  // baseline trial and a line fitted to the finished trials; the family's own
  // offset and slope on that line (family_lines), the residuals of nearby settings
  // (residual_correction) and an earlier run of the same setting (a
  // successive-halving parent, whose real log is this trial's partial curve)
  // correct it.
  LearnedLog predict(const LogPredictor& brain, const DataCard& card, const std::string& family,
                     const nlohmann::json& params, int resource, const std::vector<TrialResult>& history) {
    const auto& info = metric_info(card.metric);
    const LogPredictor::Guess g = brain.guess(card, family, params, resource);
    double s0 = std::nan("");
    std::vector<double> r, r_sd, y, speed;
    std::vector<const TrialResult*> pts;
    double slowest_cut = 0;  // this family's trials a box cut: their pace is at least this
    std::vector<std::pair<const TrialResult*, double>> own_pace;  // this family's uncut trials, log pace
    for (const auto& t : history) {
      if (!t.usable() || t.sample_rows > 0) continue;  // the run's scale comes from trials on all rows
      if (is_baseline_family(t.family)) {
        s0 = t.score;
        continue;
      }
      if (!known(t.family)) continue;  // the learned guess means nothing for a family it never saw
      auto it = rel_cache_.find(t.id);
      if (it == rel_cache_.end()) {
        auto gt = brain.guess(card, t.family, t.params, t.resource);
        it = rel_cache_.emplace(t.id, CachedGuess{gt.relative, gt.relative_sd, gt.log_seconds}).first;
      }
      r.push_back(it->second.relative);
      r_sd.push_back(it->second.relative_sd);
      y.push_back(t.score);
      pts.push_back(&t);
      // A trial its time box cut shows only a lower bound on the family's pace.
      const double pace = t.seconds / std::exp(it->second.log_seconds);
      if (!t.deadline_stopped) {
        speed.push_back(pace);
        if (t.family == family && pace > 0) own_pace.emplace_back(&t, std::log(pace));
      } else if (t.family == family) {
        slowest_cut = std::max(slowest_cut, pace);
      }
    }
    // A guess the bagged models disagree on is pulled towards what the family's
    // settings are guessed on average in this run: the posterior mean under a
    // prior spread of tau around the family's mean.
    double rel = g.relative;
    {
      constexpr double tau2 = 0.1 * 0.1;
      std::map<std::string, std::pair<double, double>> fam_mean;
      for (std::size_t i = 0; i < r.size(); ++i) {
        auto& [sum, n] = fam_mean[pts[i]->family];
        sum += r[i];
        n += 1;
      }
      auto shrink = [&](const std::string& f, double v, double sd) {
        auto it = fam_mean.find(f);
        if (it == fam_mean.end()) return v;
        const double m = it->second.first / it->second.second;
        return m + (v - m) * tau2 / (tau2 + sd * sd);
      };
      for (std::size_t i = 0; i < r.size(); ++i) r[i] = shrink(pts[i]->family, r[i], r_sd[i]);
      rel = shrink(family, rel, g.relative_sd);
    }
    const bool bounded = info.name == "roc_auc" || info.name == "accuracy" || info.name == "macro_f1";
    const double baseline = !std::isnan(s0) ? s0 : baseline_guess(card);
    double a = baseline;
    const double head = headroom(card);
    double prior_b = info.higher_is_better ? head * (1.0 - a) : -head * std::abs(a);
    // The slope through the baseline. The prior from the nearest datasets' headroom
    // weighs as a twentieth of a trial: it sets the scale before anything has run,
    // and the first finished trial already overrules it (a dataset's headroom is
    // hard to tell from its card, and the trials proposed next are scored on it).
    double num = 0.05 * prior_b, den = 0.05;
    for (std::size_t i = 0; i < r.size(); ++i) {
      num += r[i] * (y[i] - a);
      den += r[i] * r[i];
    }
    double b = num / den;
    // Once enough models have finished, the line is fitted to them alone: how the
    // score moves between settings matters, not the distance to the baseline, and
    // where settings barely matter the slope (and the spread of guesses) shrinks.
    if (r.size() >= 5) {
      double mr = 0, my = 0;
      for (std::size_t i = 0; i < r.size(); ++i) {
        mr += r[i];
        my += y[i];
      }
      mr /= static_cast<double>(r.size());
      my /= static_cast<double>(r.size());
      double sxx = 0.05 * 0.05 * static_cast<double>(r.size()), sxy = sxx * prior_b;  // a little ridge towards the prior
      for (std::size_t i = 0; i < r.size(); ++i) {
        sxy += (r[i] - mr) * (y[i] - my);
        sxx += (r[i] - mr) * (r[i] - mr);
      }
      b = sxy / sxx;
      a = my - b * mr;
    }
    // What this run has taught so far: the residuals of the finished trials of the
    // same family, smoothed over the settings by a Gaussian process (see
    // residual_correction), so a region of the tuning space that does better or
    // worse here than the knowledge base expected is predicted so.
    std::map<std::string, FamilyLine> lines = family_lines(pts, r, y, a, b);
    // From kOwnShapeFrom finished trials of a family on, the run's own trials shape it:
    // the learned guess keeps only what it says about the round or epoch cap (its guess
    // at this cap less its guess uncapped), and the Gaussian process below learns how
    // the settings matter here. On the 60 s sweep's runs, replayed, the learned guess
    // ranked a family's settings worse than the run's own trials did (svm's gamma on
    // boston_housing, knn's k on digits): median Spearman within a family and round cap
    // 0.60 -> 0.67, over the whole run 0.68 -> 0.70. Before that, the guess is what
    // there is.
    auto own_shape = [&](const std::string& f) {
      auto it = lines.find(f);
      return it != lines.end() && it->second.n >= kOwnShapeFrom;
    };
    std::vector<double> r_line = r;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const TrialResult& t = *pts[i];
      if (own_shape(t.family)) r_line[i] = lines[t.family].mean_rel + rel_cache_.at(t.id).relative - uncapped_guess(brain, card, t);
    }
    double rel_line = rel;
    if (own_shape(family)) {
      rel_line = lines[family].mean_rel;
      if (resource > 0) rel_line += g.relative - brain.guess(card, family, params, -1).relative;
    }
    auto line = [&](const std::string& f, double guess) {
      double v = a + b * guess;
      if (auto it = lines.find(f); it != lines.end()) v += it->second.offset + it->second.slope * (guess - it->second.mean_rel);
      return v;
    };
    double resid_all = 0;
    std::vector<double> resid(r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      resid[i] = y[i] - line(pts[i]->family, r_line[i]);
      resid_all += resid[i] * resid[i];
    }
    const double correction = residual_correction(family, params, resource, pts, clipped(family, pts, resid));
    LearnedLog p;
    p.final_score = line(family, rel_line) + correction;
    double resid_sd = r.size() >= 2 ? std::sqrt(resid_all / static_cast<double>(r.size())) : std::abs(0.15 * b);
    p.uncertainty = std::sqrt(b * g.relative_sd * b * g.relative_sd + resid_sd * resid_sd);
    p.basis = fmt::format("learned from {} known trials; {} trials of this run calibrate it", brain.n_examples(), r.size());
    for (auto it = pts.rbegin(); it != pts.rend(); ++it) {
      const TrialResult& t = **it;
      if (t.family != family || t.params != params) continue;
      if (!t.capped) {
        p.final_score = t.score;
        p.uncertainty = resid_sd * 0.1;
        p.basis = fmt::format("trial {} ran this setting and early stopping ended it", t.id);
      } else {
        p.final_score = t.score + b * (g.relative - rel_cache_.at(t.id).relative);
        p.uncertainty = std::max(resid_sd * 0.5, std::abs(p.final_score - t.score));
        p.basis = fmt::format("trial {}'s curve at {} rounds, extended by the learned gain of more rounds", t.id, t.resource);
      }
      break;
    }
    if (bounded) p.final_score = std::clamp(p.final_score, 0.0, 1.0);
    std::sort(speed.begin(), speed.end());
    // The pace: the run's median over every family, then, from two finished trials of
    // this family on, a kernel-weighted mean of their log paces around this setting
    // (the run's median weighs as one trial): what the learned seconds miss about a
    // setting (tfidf_linear's character n-grams take several times its word-only pace)
    // shows in its neighbours.
    double ratio = speed.empty() ? 3.0 : speed[speed.size() / 2];
    if (own_pace.size() >= 2) {
      const auto here = unit_params(family, params, resource);
      constexpr double kLength = 0.25;
      double num = std::log(ratio), den = 1.0;
      for (const auto& [t, log_pace] : own_pace) {
        auto at = points_.find(t->id);
        if (at == points_.end()) at = points_.emplace(t->id, unit_params(family, t->params, t->resource)).first;
        const double w = kernel(here, at->second, kLength);
        num += w * log_pace;
        den += w;
      }
      ratio = std::exp(num / den);
    }
    ratio = std::max(ratio, slowest_cut);
    p.seconds = std::exp(g.log_seconds) * ratio;
    // A family that counts boosting rounds gets the learned curve over rounds at its step size.
    if (const ModelEntry& e = model_registry().get(family); e.resource_unit == ResourceUnit::kRounds) {
      const double lr = with_defaults(e.params, params).value(e.step_param, 0.3);
      double n = std::exp(g.log_iterations) + 20;
      if (resource > 0) n = std::min(n, static_cast<double>(resource));
      n = std::max(n, 5.0);
      const double start = baseline + curve_start(brain, card, history, baseline) * (p.final_score - baseline);
      const double end_progress = std::max(brain.curve_progress(n, lr), 1e-6);
      for (double frac : {0.0, 0.1, 0.25, 0.5, 1.0}) {
        int it = std::max(1, static_cast<int>(std::lround(frac * n)));
        if (!p.checkpoints.empty() && it <= p.checkpoints.back()) continue;
        p.checkpoints.push_back(it);
        double prog = std::min(1.0, brain.curve_progress(it, lr) / end_progress);
        p.metric.push_back(start + (p.final_score - start) * prog);
      }
    }
    return p;
  }

  // The learned guess for a finished trial's setting without a round or epoch cap
  // (cached by trial): its own guess less this is what the cap alone costs.
  double uncapped_guess(const LogPredictor& brain, const DataCard& card, const TrialResult& t) {
    if (t.resource <= 0) return rel_cache_.at(t.id).relative;
    auto it = uncapped_cache_.find(t.id);
    if (it == uncapped_cache_.end()) it = uncapped_cache_.emplace(t.id, brain.guess(card, t.family, t.params, -1).relative).first;
    return it->second;
  }

  // The share of the way from the baseline to the final score that a boosted
  // model's first round already reaches: the knowledge base's average, worth two
  // curves, and the curves this run's finished boosted trials drew on its metric
  // (the first round of an easy dataset is already most of the way up).
  static double curve_start(const LogPredictor& brain, const DataCard& card, const std::vector<TrialResult>& history,
                            double baseline) {
    double sum = 2 * brain.curve_start(), n = 2;
    for (const auto& t : history) {
      if (!counts_rounds(t.family) || !t.usable() || t.sample_rows > 0 || std::abs(t.score - baseline) < 1e-12) continue;
      for (const auto& log : t.logs) {
        if (log.valid.empty() || !std::isfinite(log.valid.front()) || !log_on_metric_scale(log.metric, card.metric)) continue;
        sum += std::clamp((log.valid.front() - baseline) / (t.score - baseline), 0.0, 1.0);
        n += 1;
      }
    }
    return sum / n;
  }

  // The score the constant model will get, from the Data Card alone: what the
  // baseline is before it has run (the class shares, the target's spread).
  static double baseline_guess(const DataCard& card) {
    const std::string& m = card.metric;
    if (m == "roc_auc") return 0.5;
    if (m == "r2") return 0.0;
    if (m == "accuracy" || m == "log_loss" || m == "macro_f1") {
      double total = 0, top = 0, entropy = 0;
      for (const auto& [name, count] : card.classes) {
        total += static_cast<double>(count);
        top = std::max(top, static_cast<double>(count));
      }
      if (total <= 0) return m == "log_loss" ? 1.0 : 0.5;
      for (const auto& [name, count] : card.classes) {
        const double p = static_cast<double>(count) / total;
        if (p > 0) entropy -= p * std::log(p);
      }
      const double share = top / total;
      if (m == "accuracy") return share;
      if (m == "log_loss") return entropy;
      return 2 * share / (1 + share) / static_cast<double>(std::max<std::size_t>(card.classes.size(), 1));
    }
    auto it = card.target_stats.find("std");
    const double sd = it == card.target_stats.end() ? 1.0 : it->second;
    return m == "mae" ? 0.8 * sd : sd;  // the mean's error; a median's absolute error is near 0.8 sd
  }

  // How much of what was left to gain over the baseline the best model reached on
  // the nearest known datasets judged by the same metric: the share of the way to a
  // perfect score (higher-is-better metrics) or of the baseline's error removed
  // (errors). It sets the scale of predictions before this run's trials can.
  double headroom(const DataCard& card) {
    if (!std::isnan(headroom_)) return headroom_;
    const auto& info = metric_info(card.metric);
    headroom_ = info.higher_is_better ? 0.8 : 0.5;
    if (!kb_) return headroom_;
    double sum = 0, weight = 0;
    int used = 0;
    for (const auto& n : nearest_datasets(*kb_, card, kb_->datasets.size())) {
      const KnownDataset& d = *n.dataset;
      if (d.metric != card.metric || used == 5) continue;
      const double h = d.gap_closed(d.best);
      if (std::isnan(h)) continue;
      sum += h;
      weight += 1;
      ++used;
    }
    if (weight > 0) headroom_ = sum / weight;
    return headroom_;
  }

  // A family's own correction to the run's line: families sit at different heights
  // on a dataset than the knowledge base expects (an SVM may beat boosting on a
  // small, clean table), and the learned guesses may spread a family's settings
  // wider than this dataset does. Its residuals from the run's line are fitted by an
  // offset and a slope, both shrunk towards zero while the family has few trials;
  // the slope never turns the family's order of settings upside down.
  struct FamilyLine {
    double offset = 0, slope = 0, mean_rel = 0;
    int n = 0;  // the family's finished trials
  };
  static std::map<std::string, FamilyLine> family_lines(const std::vector<const TrialResult*>& pts,
                                                        const std::vector<double>& r, const std::vector<double>& y,
                                                        double a, double b) {
    std::map<std::string, std::vector<std::size_t>> by_family;
    for (std::size_t i = 0; i < pts.size(); ++i) by_family[pts[i]->family].push_back(i);
    std::map<std::string, FamilyLine> out;
    constexpr double k_offset = 1.0, k_slope = 3.0;  // prior weights, in trials
    for (const auto& [family, idx] : by_family) {
      const double n = static_cast<double>(idx.size());
      double mr = 0, me = 0;
      for (auto i : idx) {
        mr += r[i];
        me += y[i] - (a + b * r[i]);
      }
      mr /= n;
      FamilyLine l;
      l.mean_rel = mr;
      l.n = static_cast<int>(idx.size());
      l.offset = me / (n + k_offset);
      if (idx.size() >= 3) {
        double sxy = 0, sxx = 0;
        for (auto i : idx) {
          sxy += (r[i] - mr) * (y[i] - a - b * r[i] - me / n);
          sxx += (r[i] - mr) * (r[i] - mr);
        }
        // Ridge towards no change, worth k_slope trials spread like the whole run.
        double d = sxy / (sxx + k_slope * 0.05 * 0.05);
        const double lo = b >= 0 ? -b : 0.5 * b, hi = b >= 0 ? 0.5 * b : -b;
        l.slope = std::clamp(d, std::min(lo, hi), std::max(lo, hi));
      }
      out[family] = l;
    }
    return out;
  }

  // The residuals the Gaussian process sees, each held within 1.5 robust standard
  // deviations (1.4826 x the median absolute residual of `family`'s trials, from 5 of
  // them on) of zero. The scale is the family's own: measured over every family, a
  // family the learned model reads well (boosting) set it, and a family whose scores
  // here slope across its range (a linear model's C) lost the slope. A setting the
  // learned model badly misjudged (a huge minimum leaf weight it thinks fatal on a
  // table where it is not) leaves a residual many times the others; unclipped, the
  // process spreads it over its neighbours and lifts every nearby setting past the
  // real scores. The run's line and the family's line still see the full residuals.
  static std::vector<double> clipped(const std::string& family, const std::vector<const TrialResult*>& pts,
                                     std::vector<double> resid) {
    std::vector<double> size;
    for (std::size_t i = 0; i < resid.size(); ++i) {
      if (pts[i]->family == family) size.push_back(std::abs(resid[i]));
    }
    if (size.size() < 5) return resid;
    auto mid = size.begin() + static_cast<std::ptrdiff_t>(size.size() / 2);
    std::nth_element(size.begin(), mid, size.end());
    const double c = 1.5 * 1.4826 * *mid;
    for (double& e : resid) e = std::clamp(e, -c, c);
    return resid;
  }

  // The posterior mean, at this setting, of a Gaussian process fitted to the
  // residuals of the run's finished trials of the same family. The kernel is a
  // squared exponential over the unit cube of the tuning ranges; its length scale
  // and the noise share are chosen per run, from a small grid, by the closed-form
  // leave-one-out error of the fit, so a dataset whose scores barely depend on the
  // setting gets a flat, noisy process and one with a clear landscape a sharp one.
  // From kRelevanceFrom points on, each axis then gets its own weight (none, a
  // quarter, one or four times), one axis at a time by the same error: a setting that
  // does not matter on this dataset stops blurring the ones that do (on the 60 s
  // sweep's runs, replayed: median Spearman within a family and round cap 0.60 -> 0.62
  // alone). Last, a centred linear trend over the same cube joins the kernel when it
  // lowers that error (weights 0, 0.3, 1 or 3): without it the process falls back to
  // zero past the settings tried, and a C below the smallest so far was expected at
  // the family's level. The fit is cached until a trial finishes.
  double residual_correction(const std::string& family, const nlohmann::json& params, int resource,
                             const std::vector<const TrialResult*>& pts, const std::vector<double>& resid) {
    ResidualFit& fit = residual_fits_[family];
    if (fit.n_points != pts.size()) {
      fit.n_points = pts.size();
      fit.x.clear();
      fit.alpha.resize(0);
      std::vector<double> e;
      for (std::size_t i = 0; i < pts.size(); ++i) {
        if (pts[i]->family != family) continue;
        fit.x.push_back(unit_params(family, pts[i]->params, pts[i]->resource));
        e.push_back(resid[i]);
      }
      // The latest points only: the fit stays cheap in long runs on small data.
      constexpr std::size_t kMaxPoints = 200;
      if (e.size() > kMaxPoints) {
        fit.x.erase(fit.x.begin(), fit.x.end() - kMaxPoints);
        e.erase(e.begin(), e.end() - kMaxPoints);
      }
      const auto n = static_cast<Eigen::Index>(e.size());
      const Eigen::Map<const Eigen::VectorXd> ev(e.data(), n);
      auto gram = [&](double length, double noise) {
        Eigen::MatrixXd k(n, n);
        for (Eigen::Index i = 0; i < n; ++i) {
          for (Eigen::Index j = 0; j <= i; ++j)
            k(i, j) = k(j, i) = kernel(fit.x[i], fit.x[j], length, fit.weights) + fit.trend * trend(fit.x[i], fit.x[j], fit.weights);
        }
        k.diagonal().array() += noise;
        return k;
      };
      // The summed squared leave-one-out errors of a fit (closed form).
      auto loo_error = [&](double length, double noise) {
        const Eigen::MatrixXd inv = gram(length, noise).ldlt().solve(Eigen::MatrixXd::Identity(n, n));
        const Eigen::VectorXd alpha = inv * ev;
        double err = 0;
        for (Eigen::Index i = 0; i < n; ++i) err += std::pow(alpha(i) / inv(i, i), 2);
        return err;
      };
      if (n >= 8 && (fit.selected_at == 0 || static_cast<double>(n) >= 1.2 * static_cast<double>(fit.selected_at))) {
        fit.weights.assign(fit.x.front().size(), 1.0);
        double best = std::numeric_limits<double>::infinity();
        for (double length : {0.1, 0.2, 0.35, 0.6}) {
          for (double noise : {0.1, 0.3, 1.0, 3.0}) {
            const double err = loo_error(length, noise);
            if (err < best) {
              best = err;
              fit.length = length;
              fit.noise = noise;
            }
          }
        }
        if (n >= kRelevanceFrom) {
          for (double& w : fit.weights) {
            const double was = w;
            double chosen = was;
            for (double other : {0.0, 0.25, 4.0}) {
              w = other;
              const double err = loo_error(fit.length, fit.noise);
              if (err < best) {
                best = err;
                chosen = other;
              }
            }
            w = chosen;
          }
        }
        {  // then the weight of the linear trend, by the same error
          double chosen = 0.0;
          fit.trend = 0.0;
          best = loo_error(fit.length, fit.noise);
          for (double other : {0.3, 1.0, 3.0}) {
            fit.trend = other;
            const double err = loo_error(fit.length, fit.noise);
            if (err < best) {
              best = err;
              chosen = other;
            }
          }
          fit.trend = chosen;
        }
        fit.selected_at = static_cast<std::size_t>(n);
      }
      if (n >= 3) fit.alpha = gram(fit.length, fit.noise).ldlt().solve(ev);
    }
    if (fit.alpha.size() == 0) return 0.0;
    const auto here = unit_params(family, params, resource);
    double m = 0;
    for (Eigen::Index i = 0; i < fit.alpha.size(); ++i)
      m += (kernel(here, fit.x[i], fit.length, fit.weights) + fit.trend * trend(here, fit.x[i], fit.weights)) * fit.alpha(i);
    return m;
  }

  // A linear trend over the unit cube, centred: what lets the process carry a slope
  // past the settings tried (a linear model's C below the smallest one so far).
  static double trend(const std::vector<double>& u, const std::vector<double>& v, const std::vector<double>& weights) {
    double dot = 0;
    for (std::size_t j = 0; j < u.size(); ++j) dot += (j < weights.size() ? weights[j] : 1.0) * (u[j] - 0.5) * (v[j] - 0.5);
    return 4.0 * dot / static_cast<double>(std::max<std::size_t>(u.size(), 1));
  }

  // Squared exponential; the length is per axis in units of the tuning range,
  // scaled by sqrt(axes) so it means the same for families of different sizes. An
  // axis's weight (1 when none is given) multiplies its squared distance.
  static double kernel(const std::vector<double>& u, const std::vector<double>& v, double length,
                       const std::vector<double>& weights = {}) {
    double d2 = 0;
    for (std::size_t j = 0; j < u.size(); ++j) d2 += (j < weights.size() ? weights[j] : 1.0) * (u[j] - v[j]) * (u[j] - v[j]);
    return std::exp(-d2 / (2 * length * length * static_cast<double>(u.size())));
  }

  // A setting as a point (tuning_point: ranges, choices, booleans and the data-processing
  // variant), with the round cap as one more axis.
  static std::vector<double> unit_params(const std::string& family, const nlohmann::json& params, int resource) {
    std::vector<double> out = tuning_point(model_registry().get(family), params);
    out.push_back(resource > 0 ? std::log(static_cast<double>(resource)) / std::log(2000.0) : 1.0);
    return out;
  }

  // Whether the knowledge base holds trials of `family`: only then can the learned
  // predictor tell it apart (a family new since the last `learn` gets the running estimate).
  bool known(const std::string& family) {
    if (!kb_) return false;
    if (known_families_.empty()) {
      for (const auto* e : model_registry().entries()) {
        if (e->baseline) known_families_.insert(e->name);
      }
      for (const auto& d : kb_->datasets) {
        for (const auto& t : d.trials) known_families_.insert(t.family);
      }
    }
    return known_families_.count(family) > 0;
  }


  // Whether predictor() answers without waiting for learning started in the background.
  bool predictor_ready() {
    if (!kb_ || predictor_failed_ || predictor_) return true;
    if (!pending_) pending_ = take_background(kb_);
    return !pending_ || pending_->wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

  // Lazily, since learning takes a moment and a planner may never be asked.
  const LogPredictor* predictor() {
    if (!kb_ || predictor_failed_) return nullptr;
    if (!predictor_) {
      try {
        if (!pending_) pending_ = take_background(kb_);
        if (pending_) predictor_ = pending_->get();
        else predictor_ = std::make_shared<const LogPredictor>(*kb_);
      } catch (const Error&) {
        predictor_failed_ = true;  // an empty knowledge base: the running estimate answers
        return nullptr;
      }
    }
    return predictor_.get();
  }


  std::size_t n_examples() const { return predictor_ ? predictor_->n_examples() : 0; }

 private:
  std::shared_ptr<const KnowledgeBase> kb_;
  std::shared_ptr<const LogPredictor> predictor_;
  std::optional<std::shared_future<std::shared_ptr<const LogPredictor>>> pending_;  // learning in the background
  bool predictor_failed_ = false;
  struct CachedGuess {
    double relative, relative_sd, log_seconds;
  };
  std::map<int, CachedGuess> rel_cache_;  // trial id -> the learned guesses for its setting
  std::map<int, double> uncapped_cache_;  // trial id -> the learned guess for its setting uncapped
  static constexpr int kOwnShapeFrom = 15;  // a family's trials from which their own shape rules (predict)
  std::map<int, std::vector<double>> points_;  // trial id -> unit_params of its setting (pace neighbours)
  std::set<std::string> known_families_;  // families with trials in the knowledge base
  struct ResidualFit {
    std::size_t n_points = static_cast<std::size_t>(-1);  // finished trials the fit saw
    std::size_t selected_at = 0;                           // points when length and noise were chosen
    double length = 0.3, noise = 0.3;                      // until enough points choose them
    double trend = 0.0;                                    // weight of the linear trend (chosen like them)
    std::vector<double> weights;                           // per axis (kernel); empty: all 1
    std::vector<std::vector<double>> x;
    Eigen::VectorXd alpha;
  };
  std::map<std::string, ResidualFit> residual_fits_;  // by family
  static constexpr Eigen::Index kRelevanceFrom = 15;  // points from which each axis gets its weight
  double headroom_ = std::nan("");
};

BackgroundLearning learn_predictor_in_background(const std::shared_ptr<const KnowledgeBase>& knowledge) {
  if (!knowledge || knowledge->datasets.empty()) return {};
  std::shared_future<std::shared_ptr<const LogPredictor>> f =
      std::async(std::launch::async, [kb = knowledge] { return std::make_shared<const LogPredictor>(*kb); }).share();
  std::lock_guard<std::mutex> lock(g_background_mutex);
  g_background[knowledge.get()] = {knowledge, f};
  BackgroundLearning handle;
  handle.learning_ = std::make_shared<std::shared_future<std::shared_ptr<const LogPredictor>>>(std::move(f));
  handle.key_ = knowledge.get();
  return handle;
}

BackgroundLearning::~BackgroundLearning() { finish(); }

BackgroundLearning& BackgroundLearning::operator=(BackgroundLearning&& other) noexcept {
  if (this != &other) {
    finish();
    learning_ = std::move(other.learning_);
    key_ = std::exchange(other.key_, nullptr);
  }
  return *this;
}

void BackgroundLearning::finish() noexcept {
  if (!learning_) return;
  {
    std::lock_guard<std::mutex> lock(g_background_mutex);
    auto it = g_background.find(key_);
    if (it != g_background.end()) g_background.erase(it);
  }
  learning_->wait();  // its result (or error) stays with whoever took it
  learning_.reset();
  key_ = nullptr;
}

LogCalibration::LogCalibration(std::shared_ptr<const KnowledgeBase> knowledge)
    : impl_(std::make_unique<Impl>(std::move(knowledge))) {}
LogCalibration::~LogCalibration() = default;

const LogPredictor* LogCalibration::predictor() { return impl_->predictor(); }

bool LogCalibration::predictor_ready() { return impl_->predictor_ready(); }

double LogCalibration::baseline_guess(const DataCard& card) { return Impl::baseline_guess(card); }

std::size_t LogCalibration::n_examples() const { return impl_->n_examples(); }

bool LogCalibration::known(const std::string& family) { return impl_->known(family); }

LearnedLog LogCalibration::predict(const DataCard& card, const std::string& family, const nlohmann::json& params,
                                   int resource, const std::vector<TrialResult>& history) {
  const LogPredictor* brain = impl_->predictor();
  if (!brain) throw_internal("LogCalibration::predict without a learned predictor");
  return impl_->predict(*brain, card, family, params, resource, history);
}

}  // namespace automl
