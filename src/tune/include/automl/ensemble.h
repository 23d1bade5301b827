// Ensembles of a search's trials, built from their out-of-fold predictions
// (TrialResult::oof): greedy ensemble selection with replacement (Caruana et al.
// 2004) and stacking with a regularised linear meta-model whose member weights are never
// negative (stacked regressions, Breiman 1996). A run keeps one only when
// its honest, cross-fitted score beats picking the best single trial, judged the
// same way.
//
//   OofCandidates c = collect_candidates(result.trials, target, evaluator.oof_rows(), metric, 20);
//   EnsembleChoice choice = choose_ensemble(c, metric, {});
//   if (!choice.kept.empty()) {
//     const EnsembleCandidate& e = choice.winner();   // e.blend, e.members (trial ids)
//   }
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/pipeline.h"
#include "automl/task.h"
#include "automl/trial.h"

namespace automl {

struct TrialResult;


// The trials that can join an ensemble: out-of-fold predictions on the same rows,
// best first (the constant baseline never joins).
struct OofCandidates {
  Target target;  // task and classes; y holds the labels of the out-of-fold rows
  std::vector<int> trial_ids;
  std::vector<std::string> families;
  std::vector<double> scores;  // the metric on every out-of-fold row, pooled
  std::vector<std::shared_ptr<const std::vector<double>>> preds;

  std::size_t size() const { return trial_ids.size(); }
};

// The usable trials that kept out-of-fold predictions, best first by pooled score,
// at most `max_candidates`. `oof_rows` are Evaluator::oof_rows().
OofCandidates collect_candidates(const std::vector<TrialResult>& trials, const Target& target,
                                 const std::vector<std::size_t>& oof_rows, const std::string& metric,
                                 int max_candidates);

struct EnsembleOptions {
  int caruana_steps = 40;   // greedy additions, with replacement
  int caruana_init = 3;     // the ensemble starts from the best few candidates
  int stacking_members = 6;  // the best few candidates, plus each family's best
  double stacking_l2 = 1.0;  // pull of the meta-model's weights towards the plain average
  int honest_folds = 3;     // the out-of-fold rows are cross-fitted in this many parts
  // Choose on a seeded sample of this many out-of-fold rows when there are more
  // (0 = every row): on a large table the choice costs seconds per hundred thousand
  // rows, and blend weights need far fewer rows than that to settle.
  std::size_t max_rows = 0;
  uint64_t seed = 0;
  // The choice ends by this time: the time left is shared between the honest parts and
  // the final fit, and each greedy selection or stacking fit keeps the best state it has
  // reached when its share runs out (so a slow machine gets fewer steps, not an overrun).
  Clock::time_point deadline = Clock::time_point::max();
};

// Greedy selection with replacement over candidates' predictions on the rows
// `rows` (positions into the out-of-fold rows; empty = all): starts from the best
// `init`, then adds, `steps` times, the candidate that gives the best score. Returns
// the weights (one per candidate, counts over additions) of the best-scoring state
// met on the way, so never worse on these rows than the best single candidate.
std::vector<double> caruana_weights(const OofCandidates& c, const std::string& metric,
                                    const std::vector<std::size_t>& rows, const EnsembleOptions& options,
                                    double* score = nullptr);

// The stacking meta-model fitted on `rows` (empty = all) over the candidates
// `members` (indices into c): weights per member and biases, as a Blend.
Blend fit_stacking(const OofCandidates& c, const std::vector<std::size_t>& members,
                   const std::vector<std::size_t>& rows, const EnsembleOptions& options);

struct EnsembleCandidate {
  Blend blend;
  std::vector<int> members;  // trial ids, one per blend weight
  std::vector<std::string> families;
  double fit_score = 0;     // on all out-of-fold rows, with the blend fitted on them (optimistic)
  double honest_score = 0;  // cross-fitted: each part scored with a blend fitted on the others, averaged
  std::vector<double> part_scores;  // the cross-fitted score of each part
  std::string note;         // why it is or is not kept

  bool empty() const { return members.empty(); }
  nlohmann::json to_json() const;  // kind, members with family and weight, scores
};

struct EnsembleChoice {
  EnsembleCandidate caruana, stacking;
  int best_trial = -1;             // the best single candidate's trial id
  double best_single_score = 0;    // its pooled out-of-fold score
  double best_single_honest = 0;   // picking the best single on the other parts, cross-fitted
  std::string kept;                // "", "ensemble" or "stacking"
  std::string rule;                // the decision rule, in words
  std::size_t rows_used = 0;       // out-of-fold rows sampled for the choice (0 = all)

  const EnsembleCandidate& winner() const { return kept == "stacking" ? stacking : caruana; }
};

// Builds both ensembles and decides. The rule: an ensemble is kept when its honest
// score (cross-fitted over `honest_folds` parts of the out-of-fold rows) is strictly
// better than the honest score of the procedure it replaces, picking the best single
// trial (chosen on the other parts, scored on each part); of two such, the better.
// The kept blend itself is then refitted on all out-of-fold rows.
EnsembleChoice choose_ensemble(const OofCandidates& c, const std::string& metric, const EnsembleOptions& options);

}  // namespace automl
