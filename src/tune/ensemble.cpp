// Ensembles from out-of-fold predictions: Caruana's greedy selection and stacking,
// each judged by a cross-fitted (honest) score against picking the best single trial.
#include "automl/ensemble.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <new>
#include <numeric>
#include <random>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <lbfgs.h>

#include "automl/error.h"
#include "automl/metrics.h"
#include "automl/search.h"
#include "automl/handle.h"

namespace automl {
namespace {

std::vector<std::size_t> all_rows(std::size_t n) {
  std::vector<std::size_t> r(n);
  std::iota(r.begin(), r.end(), 0);
  return r;
}

std::size_t n_oof_rows(const OofCandidates& c) { return c.target.y.size(); }

// The candidates' predictions and the labels restricted to some out-of-fold rows.
struct View {
  std::vector<double> y;
  std::vector<std::vector<double>> p;  // one per candidate, rows x k
};

View make_view(const OofCandidates& c, const std::vector<std::size_t>& rows, const std::vector<std::size_t>& which) {
  const std::size_t k = static_cast<std::size_t>(c.target.n_outputs());
  View v;
  v.y.reserve(rows.size());
  for (auto r : rows) v.y.push_back(c.target.y[r]);
  for (auto j : which) {
    std::vector<double> p;
    p.reserve(rows.size() * k);
    const auto& full = *c.preds[j];
    for (auto r : rows) p.insert(p.end(), full.begin() + r * k, full.begin() + (r + 1) * k);
    v.p.push_back(std::move(p));
  }
  return v;
}

double score_of(const OofCandidates& c, const std::string& metric, const std::vector<double>& y,
                const std::vector<double>& pred) {
  return compute_metric(metric, c.target, y, pred);
}

// Indices of the candidates sorted best first by their score on `v`.
std::vector<std::size_t> ranked(const OofCandidates& c, const std::string& metric, const View& v,
                                std::vector<double>* scores = nullptr) {
  std::vector<double> s;
  for (const auto& p : v.p) s.push_back(score_of(c, metric, v.y, p));
  std::vector<std::size_t> order = all_rows(s.size());
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return metric_better(metric, s[a], s[b]); });
  if (scores) *scores = std::move(s);
  return order;
}

std::vector<double> caruana_on_view(const OofCandidates& c, const std::string& metric, const View& v,
                                    const EnsembleOptions& opt, double* score) {
  const std::size_t n_cand = v.p.size();
  std::vector<double> weights(n_cand, 0.0);
  if (n_cand == 0) return weights;
  const std::size_t cells = v.y.size() * static_cast<std::size_t>(c.target.n_outputs());
  const auto order = ranked(c, metric, v);
  std::vector<double> sum(cells, 0.0), trial(cells);
  std::vector<int> counts(n_cand, 0), best_counts;
  int total = 0;
  double best_score = std::nan("");
  auto mean_with = [&](std::size_t j) {  // the ensemble if candidate j were added
    const double inv = 1.0 / (total + 1);
    const auto& p = v.p[j];
    for (std::size_t i = 0; i < cells; ++i) trial[i] = (sum[i] + p[i]) * inv;
    return score_of(c, metric, v.y, trial);
  };
  auto add = [&](std::size_t j, double s) {
    for (std::size_t i = 0; i < cells; ++i) sum[i] += v.p[j][i];
    ++counts[j];
    ++total;
    if (best_counts.empty() || metric_better(metric, s, best_score)) {
      best_score = s;
      best_counts = counts;
    }
  };
  const int init = std::clamp(opt.caruana_init, 1, static_cast<int>(n_cand));
  for (int i = 0; i < init; ++i) add(order[i], mean_with(order[i]));
  for (int step = init; step < opt.caruana_steps; ++step) {
    if (Clock::now() >= opt.deadline) break;  // the best state met so far stands
    std::size_t pick = order[0];
    double pick_score = std::nan("");
    bool first = true;
    for (std::size_t j : order) {  // best candidates first: ties go to the better one alone
      double s = mean_with(j);
      if (first || metric_better(metric, s, pick_score)) {
        pick = j;
        pick_score = s;
        first = false;
      }
    }
    add(pick, pick_score);
  }
  int kept = std::accumulate(best_counts.begin(), best_counts.end(), 0);
  for (std::size_t j = 0; j < n_cand; ++j) weights[j] = static_cast<double>(best_counts[j]) / kept;
  if (score) *score = best_score;
  return weights;
}

// The stacking members on `v`: the best `n` candidates plus each family's best.
std::vector<std::size_t> stacking_members(const OofCandidates& c, const std::string& metric, const View& v, int n) {
  const auto order = ranked(c, metric, v);
  std::vector<std::size_t> out;
  std::vector<std::string> families;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string& f = c.families[order[i]];
    const bool new_family = std::find(families.begin(), families.end(), f) == families.end();
    if (new_family) families.push_back(f);
    if (static_cast<int>(i) < n || new_family) out.push_back(order[i]);
  }
  return out;
}

// Softmax log-opinion pool: parameters are member weights then class biases.
struct PoolProblem {
  std::size_t n = 0, m = 0, k = 0;
  std::vector<double> logp;  // n x m x k
  std::vector<int> y;
  double l2 = 1, prior = 0;
  Clock::time_point deadline = Clock::time_point::max();
};

// liblbfgs calls this after each iteration; non-zero stops it with x at that iterate.
int pool_progress(void* instance, const lbfgsfloatval_t*, const lbfgsfloatval_t*, lbfgsfloatval_t, lbfgsfloatval_t,
                  lbfgsfloatval_t, lbfgsfloatval_t, int, int, int) {
  return Clock::now() >= static_cast<const PoolProblem*>(instance)->deadline ? 1 : 0;
}

// The member weights are exp(u) for the first m parameters u (never negative, see
// stacking_on_view); the gradient is taken in w and carried to u at the end.
lbfgsfloatval_t pool_objective(void* instance, const lbfgsfloatval_t* u, lbfgsfloatval_t* g, int n_params,
                               lbfgsfloatval_t) {
  const auto& pr = *static_cast<const PoolProblem*>(instance);
  std::fill(g, g + n_params, 0.0);
  std::vector<double> x(u, u + n_params);
  for (std::size_t j = 0; j < pr.m; ++j) x[j] = std::exp(std::min(u[j], 30.0));
  double loss = 0;
  std::vector<double> z(pr.k);
  for (std::size_t i = 0; i < pr.n; ++i) {
    const double* l = pr.logp.data() + i * pr.m * pr.k;
    double zmax = -1e300;
    for (std::size_t c = 0; c < pr.k; ++c) {
      double s = x[pr.m + c];
      for (std::size_t j = 0; j < pr.m; ++j) s += x[j] * l[j * pr.k + c];
      z[c] = s;
      zmax = std::max(zmax, s);
    }
    double norm = 0;
    for (std::size_t c = 0; c < pr.k; ++c) norm += std::exp(z[c] - zmax);
    const double lse = zmax + std::log(norm);
    loss += lse - z[static_cast<std::size_t>(pr.y[i])];
    for (std::size_t c = 0; c < pr.k; ++c) {
      const double d = std::exp(z[c] - lse) - (static_cast<int>(c) == pr.y[i] ? 1.0 : 0.0);
      g[pr.m + c] += d;
      for (std::size_t j = 0; j < pr.m; ++j) g[j] += d * l[j * pr.k + c];
    }
  }
  for (std::size_t j = 0; j < pr.m; ++j) {
    loss += pr.l2 * (x[j] - pr.prior) * (x[j] - pr.prior);
    g[j] += 2 * pr.l2 * (x[j] - pr.prior);
  }
  for (std::size_t c = 0; c < pr.k; ++c) {  // the biases are defined up to a shift: pin them gently
    loss += 1e-4 * x[pr.m + c] * x[pr.m + c];
    g[pr.m + c] += 2e-4 * x[pr.m + c];
  }
  for (std::size_t j = 0; j < pr.m; ++j) g[j] *= x[j];
  return loss;
}

Blend stacking_on_view(const OofCandidates& c, const View& v, const EnsembleOptions& opt) {
  const std::size_t n = v.y.size(), m = v.p.size(), k = static_cast<std::size_t>(c.target.n_outputs());
  Blend b;
  b.kind = "stacking";
  if (m == 0) throw_internal("stacking needs at least one member");
  if (is_classification(c.target.task)) {
    // A few parameters need few rows: large tables fit on every stride-th row, so one
    // objective evaluation stays near a million terms.
    const std::size_t stride = std::max<std::size_t>(1, n * m * k / 1000000);
    PoolProblem pr;
    pr.n = (n + stride - 1) / stride;
    pr.m = m;
    pr.k = k;
    pr.l2 = opt.stacking_l2;
    pr.prior = 1.0 / static_cast<double>(m);
    pr.logp.resize(pr.n * m * k);
    for (std::size_t s = 0; s < pr.n; ++s) {
      const std::size_t i = s * stride;
      pr.y.push_back(static_cast<int>(v.y[i]));
      for (std::size_t j = 0; j < m; ++j) {
        for (std::size_t cl = 0; cl < k; ++cl) {
          pr.logp[(s * m + j) * k + cl] = std::log(std::max(v.p[j][i * k + cl], kMinProba));
        }
      }
    }
    const int n_params = static_cast<int>(m + k);
    CHandle<lbfgsfloatval_t, lbfgs_free> owner(lbfgs_malloc(n_params));
    if (!owner) throw std::bad_alloc();
    lbfgsfloatval_t* x = owner.get();
    for (std::size_t j = 0; j < m; ++j) x[j] = std::log(pr.prior);
    for (std::size_t cl = 0; cl < k; ++cl) x[m + cl] = 0;
    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.max_iterations = 100;
    param.epsilon = 1e-6;
    lbfgsfloatval_t fx = 0;
    pr.deadline = opt.deadline;
    // A partial solution (the iteration limit or the deadline reached) is still a fine one.
    lbfgs(n_params, x, &fx, pool_objective, pool_progress, &pr, &param);
    for (std::size_t j = 0; j < m; ++j) b.weights.push_back(std::exp(std::min(x[j], 30.0)));
    b.bias.assign(x + m, x + m + k);
    return b;
  }
  // Regression: ridge towards the plain average, on centred predictions.
  Eigen::MatrixXd xm(n, m);
  Eigen::VectorXd yv(n);
  for (std::size_t i = 0; i < n; ++i) {
    yv(i) = v.y[i];
    for (std::size_t j = 0; j < m; ++j) xm(i, j) = v.p[j][i];
  }
  Eigen::RowVectorXd xmean = xm.colwise().mean();
  const double ymean = yv.mean();
  Eigen::MatrixXd xc = xm.rowwise() - xmean;
  Eigen::VectorXd yc = yv.array() - ymean;
  const Eigen::MatrixXd gram = xc.transpose() * xc;
  const Eigen::VectorXd xy = xc.transpose() * yc;
  const double lambda = std::max(1e-12, 0.01 * opt.stacking_l2 * gram.trace() / static_cast<double>(m));
  const double prior = 1.0 / static_cast<double>(m);
  // Never a negative weight: the ridge is solved on the members still in, and the most
  // negative one is left out (weight 0) until none is.
  std::vector<std::size_t> in(m);
  for (std::size_t j = 0; j < m; ++j) in[j] = j;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(m);
  while (!in.empty()) {
    const auto q = static_cast<Eigen::Index>(in.size());
    Eigen::MatrixXd a(q, q);
    Eigen::VectorXd rhs(q);
    for (Eigen::Index i = 0; i < q; ++i) {
      rhs(i) = xy(in[i]) + lambda * prior;
      for (Eigen::Index j = 0; j < q; ++j) a(i, j) = gram(in[i], in[j]) + (i == j ? lambda : 0.0);
    }
    const Eigen::VectorXd sol = a.ldlt().solve(rhs);
    Eigen::Index worst = 0;
    for (Eigen::Index i = 1; i < q; ++i) {
      if (sol(i) < sol(worst)) worst = i;
    }
    if (sol(worst) >= 0) {
      for (Eigen::Index i = 0; i < q; ++i) w(in[i]) = sol(i);
      break;
    }
    in.erase(in.begin() + worst);
  }
  b.weights.assign(w.data(), w.data() + m);
  b.bias = {ymean - xmean.dot(w.transpose())};
  return b;
}

std::vector<double> apply_on_view(const OofCandidates& c, const Blend& b, const View& v) {
  std::vector<const std::vector<double>*> ptrs;
  for (const auto& p : v.p) ptrs.push_back(&p);
  return b.apply(ptrs, c.target.task, c.target.n_outputs());
}

// Keeps the members with a non-zero weight.
EnsembleCandidate make_candidate(const OofCandidates& c, const std::vector<std::size_t>& which, const Blend& b) {
  EnsembleCandidate e;
  e.blend.kind = b.kind;
  e.blend.bias = b.bias;
  for (std::size_t i = 0; i < which.size(); ++i) {
    if (b.weights[i] == 0) continue;
    e.blend.weights.push_back(b.weights[i]);
    e.members.push_back(c.trial_ids[which[i]]);
    e.families.push_back(c.families[which[i]]);
  }
  return e;
}

}  // namespace

OofCandidates collect_candidates(const std::vector<TrialResult>& trials, const Target& target,
                                 const std::vector<std::size_t>& oof_rows, const std::string& metric,
                                 int max_candidates) {
  OofCandidates c;
  c.target = target;
  c.target.y.clear();
  for (auto r : oof_rows) c.target.y.push_back(target.y[r]);
  const std::size_t cells = oof_rows.size() * static_cast<std::size_t>(target.n_outputs());
  std::vector<std::pair<double, const TrialResult*>> found;
  for (const auto& t : trials) {
    // A constant adds nothing a blend's weights cannot, and would cost a refit.
    if (!t.usable() || !t.oof || t.oof->size() != cells || is_baseline_family(t.family)) continue;
    double s = compute_metric(metric, c.target, c.target.y, *t.oof);
    if (!std::isnan(s)) found.emplace_back(s, &t);
  }
  std::stable_sort(found.begin(), found.end(), [&](const auto& a, const auto& b) { return metric_better(metric, a.first, b.first); });
  if (max_candidates >= 0 && found.size() > static_cast<std::size_t>(max_candidates)) found.resize(max_candidates);
  for (const auto& [s, t] : found) {
    c.trial_ids.push_back(t->id);
    c.families.push_back(t->family);
    c.scores.push_back(s);
    c.preds.push_back(t->oof);
  }
  return c;
}

std::vector<double> caruana_weights(const OofCandidates& c, const std::string& metric,
                                    const std::vector<std::size_t>& rows, const EnsembleOptions& options,
                                    double* score) {
  const auto use = rows.empty() ? all_rows(n_oof_rows(c)) : rows;
  return caruana_on_view(c, metric, make_view(c, use, all_rows(c.size())), options, score);
}

Blend fit_stacking(const OofCandidates& c, const std::vector<std::size_t>& members,
                   const std::vector<std::size_t>& rows, const EnsembleOptions& options) {
  const auto use = rows.empty() ? all_rows(n_oof_rows(c)) : rows;
  return stacking_on_view(c, make_view(c, use, members), options);
}

nlohmann::json EnsembleCandidate::to_json() const {
  nlohmann::json members_j = nlohmann::json::array();
  for (std::size_t i = 0; i < members.size(); ++i) {
    members_j.push_back({{"trial", members[i]}, {"family", families[i]}, {"weight", blend.weights[i]}});
  }
  nlohmann::json j = {{"kind", blend.kind}, {"members", members_j}, {"fit_score", fit_score},
                      {"honest_score", honest_score}};
  if (!blend.bias.empty()) j["bias"] = blend.bias;
  return j;
}

EnsembleChoice choose_ensemble(const OofCandidates& c, const std::string& metric, const EnsembleOptions& opt) {
  EnsembleChoice out;
  out.rule = fmt::format(
      "an ensemble is kept when its score cross-fitted over {} parts of the out-of-fold rows (each part predicted by a "
      "blend fitted on the other parts, the parts' scores averaged) is strictly better than picking the best single "
      "trial judged the same way",
      opt.honest_folds);
  if (c.size() == 0) return out;
  out.best_trial = c.trial_ids[0];
  out.best_single_score = c.scores[0];
  out.best_single_honest = c.scores[0];
  if (c.size() < 2) {
    out.caruana.note = out.stacking.note = "not built: fewer than two trials kept out-of-fold predictions";
    return out;
  }
  const std::size_t k = static_cast<std::size_t>(c.target.n_outputs());
  const auto everyone = all_rows(c.size());
  std::mt19937_64 rng(opt.seed * 6151 + 3);
  // The rows the choice is made on: all of them, or a seeded sample (sorted).
  std::vector<std::size_t> pool = all_rows(n_oof_rows(c));
  if (opt.max_rows > 0 && pool.size() > opt.max_rows) {
    std::shuffle(pool.begin(), pool.end(), rng);
    pool.resize(opt.max_rows);
    std::sort(pool.begin(), pool.end());
    out.rows_used = opt.max_rows;
  }
  const std::size_t n = pool.size();

  // The honest estimates: each part predicted by what was chosen on the other parts.
  // Positions below index `pool`.
  const int parts = std::clamp(opt.honest_folds, 2, static_cast<int>(std::max<std::size_t>(2, n / 10)));
  std::vector<std::size_t> perm = all_rows(n);
  std::shuffle(perm.begin(), perm.end(), rng);
  const std::size_t n_all = n_oof_rows(c);
  std::vector<double> single_pred(n_all * k), caruana_pred(n_all * k), stack_pred(n_all * k);
  std::vector<std::vector<std::size_t>> held_parts;
  // Each part, and the final fit after them, gets an equal share of the time left.
  const auto choice_start = Clock::now();
  // Within a stage the greedy selection gets the first half, stacking the rest.
  auto share_end = [&](double stage) {
    if (opt.deadline == Clock::time_point::max()) return opt.deadline;
    const auto left = std::max(Clock::duration::zero(), opt.deadline - choice_start);
    return choice_start + std::chrono::duration_cast<Clock::duration>(left * ((stage + 1.0) / (parts + 1.0)));
  };
  EnsembleOptions part_opt = opt, greedy_opt = opt;
  for (int part = 0; part < parts; ++part) {
    greedy_opt.deadline = share_end(part - 0.5);
    part_opt.deadline = share_end(part);
    std::vector<std::size_t> fit_rows, held;
    for (std::size_t i = 0; i < n; ++i) (static_cast<int>(i % parts) == part ? held : fit_rows).push_back(pool[perm[i]]);
    std::sort(fit_rows.begin(), fit_rows.end());
    std::sort(held.begin(), held.end());
    held_parts.push_back(held);
    const View fit_view = make_view(c, fit_rows, everyone), held_view = make_view(c, held, everyone);
    const auto order = ranked(c, metric, fit_view);
    Blend caruana{"ensemble", caruana_on_view(c, metric, fit_view, greedy_opt, nullptr), {}};
    const auto members = stacking_members(c, metric, fit_view, opt.stacking_members);
    const Blend stack = stacking_on_view(c, make_view(c, fit_rows, members), part_opt);
    const auto caruana_held = apply_on_view(c, caruana, held_view);
    const auto stack_held = apply_on_view(c, stack, make_view(c, held, members));
    for (std::size_t i = 0; i < held.size(); ++i) {
      for (std::size_t cl = 0; cl < k; ++cl) {
        single_pred[held[i] * k + cl] = held_view.p[order[0]][i * k + cl];
        caruana_pred[held[i] * k + cl] = caruana_held[i * k + cl];
        stack_pred[held[i] * k + cl] = stack_held[i * k + cl];
      }
    }
  }
  const auto& y = c.target.y;
  // Each part is scored on its own and the parts averaged: pooling the parts would mix
  // predictions of different blends (or single trials), whose scales differ, and
  // ranking metrics such as roc_auc punish that.
  std::vector<double> single_parts, caruana_parts, stacking_parts;
  for (const auto& held : held_parts) {
    std::vector<double> yp, sp, cp, tp;
    for (auto r : held) {
      yp.push_back(y[r]);
      sp.insert(sp.end(), single_pred.begin() + r * k, single_pred.begin() + (r + 1) * k);
      cp.insert(cp.end(), caruana_pred.begin() + r * k, caruana_pred.begin() + (r + 1) * k);
      tp.insert(tp.end(), stack_pred.begin() + r * k, stack_pred.begin() + (r + 1) * k);
    }
    single_parts.push_back(score_of(c, metric, yp, sp));
    caruana_parts.push_back(score_of(c, metric, yp, cp));
    stacking_parts.push_back(score_of(c, metric, yp, tp));
  }
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); };
  out.best_single_honest = mean(single_parts);

  // The ensembles themselves, fitted on every out-of-fold row.
  double caruana_fit = 0;
  greedy_opt.deadline = share_end(parts - 0.5);
  const auto w = caruana_weights(c, metric, pool, greedy_opt, &caruana_fit);
  out.caruana = make_candidate(c, everyone, Blend{"ensemble", w, {}});
  out.caruana.fit_score = caruana_fit;
  out.caruana.part_scores = caruana_parts;
  out.caruana.honest_score = mean(caruana_parts);
  const View all_view = make_view(c, pool, everyone);
  const auto members = stacking_members(c, metric, all_view, opt.stacking_members);
  const Blend stack = fit_stacking(c, members, pool, opt);
  out.stacking = make_candidate(c, members, stack);
  out.stacking.fit_score = score_of(c, metric, all_view.y, apply_on_view(c, stack, make_view(c, pool, members)));
  out.stacking.part_scores = stacking_parts;
  out.stacking.honest_score = mean(stacking_parts);

  auto judge = [&](EnsembleCandidate& e, const char* name) {
    const bool beats = metric_better(metric, e.honest_score, out.best_single_honest);
    if (e.members.size() < 2) {
      e.note = fmt::format("not kept: the {} uses a single trial", name);
      return false;
    }
    e.note = fmt::format("{}: honest {} {:.6g} vs {:.6g} for the best single trial picked the same way",
                         beats ? "beats the best single trial" : "not kept", metric, e.honest_score,
                         out.best_single_honest);
    return beats;
  };
  const bool caruana_ok = judge(out.caruana, "selection");
  const bool stacking_ok = judge(out.stacking, "stacking");
  if (caruana_ok && (!stacking_ok || !metric_better(metric, out.stacking.honest_score, out.caruana.honest_score))) {
    out.kept = "ensemble";
  } else if (stacking_ok) {
    out.kept = "stacking";
  }
  if (!out.kept.empty()) {
    EnsembleCandidate& win = out.kept == "stacking" ? out.stacking : out.caruana;
    win.note = "kept: " + win.note.substr(win.note.find(':') + 2);
    EnsembleCandidate& other = out.kept == "stacking" ? out.caruana : out.stacking;
    if (other.note.rfind("beats", 0) == 0) other.note = "not kept: the " + out.kept + " scores better; " + other.note;
  }
  return out;
}

}  // namespace automl
