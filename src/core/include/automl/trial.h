// Trials as the layers share them: what the planner proposes, and what a trial of it
// produced (its status, scores and real training logs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/features.h"

namespace automl {

// Where a trial is in its life. A search sets the last four; a run store also
// records the first two, so a killed run shows what was in flight.
enum class TrialStatus {
  kProposed,  // chosen and predicted, not started
  kRunning,   // training its folds
  kFinished,  // every fold ran to its own end (early stopping, convergence, all its rounds)
  kFailed,    // no usable score: an error, a broken requirement or an undefined score
  kPruned,    // the pruner stopped its fits: its curve would not catch up with the best
  kStopped,   // cut short by the run's deadline, its time box or a successive-halving round cap
};

// Why a trial ended (its status says how). `TrialResult::reason` keeps the detail text.
enum class StopReason {
  kNone,               // not ended yet (proposed or running)
  kConverged,          // early stopping on the validation fold (an iterative family)
  kCompleted,          // ran every round its setting allows without early stopping
  kFitted,             // a family that is not iterative: fitted once
  kRoundCap,           // successive halving gave it fewer rounds than it wanted
  kDeadline,           // the run's deadline stopped a fold or left folds untrained
  kTimeBox,            // the trial's own time box did
  kNoFoldRan,          // the deadline or time box came before any fold trained
  kPruned,             // the pruner stopped it
  kRequirementBroken,  // the fitted model breaks a size or prediction-time limit
  kUndefinedScore,     // the validation score is NaN (a fold may hold a single class)
  kError,              // training threw
  kNotKept,            // a leaderboard row for an ensemble the run did not keep
};

// The readable names the leaderboard, training logs, run store and knowledge base
// use ("finished", "stopped", "round cap", ...).
const char* to_string(TrialStatus s);
const char* to_string(StopReason r);
// Back from the text. Also reads what older files wrote: "stopped early" is kStopped.
// Unknown text throws kInvalidInput naming the value and the names allowed.
TrialStatus parse_trial_status(const std::string& text);
StopReason parse_stop_reason(const std::string& text);

class Model;
class Preprocessor;

// A proposal the planner makes: which family, which setting.
struct Proposal {
  std::string family;
  nlohmann::json params;
  std::string why;
};

// One fold's real training log.
struct FoldLog {
  int fold = 0;
  std::string metric;  // the metric the executor tracked (auc, logloss, rmse, ...)
  std::vector<double> train, valid, seconds;
};

struct TrialResult {
  int id = 0;
  std::string family;
  nlohmann::json params;
  int rung = 0;
  int parent = -1;        // trial this one was promoted from
  int resource = -1;      // iteration cap given (-1 = none)
  TrialStatus status = TrialStatus::kProposed;
  StopReason stop = StopReason::kNone;  // why it ended, for control flow
  std::string reason;     // why it stopped or failed, in words (with details: rounds, folds, sample)
  double score = 0;       // mean validation score over folds
  std::vector<double> fold_scores;
  double seconds = 0;
  // When its evaluation began. A fold trains only if it starts before the trial's
  // deadline, so a trial that trained a fold started before it.
  Clock::time_point started{};
  double time_box_s = 0;  // the seconds its time box allowed (0 = none: up to the deadline)
  double predict_s_per_row = 0;  // the first fold's model predicting its validation rows, per row
  // What saving the first fold's model writes (Model::saved_bytes; 0 = small or not
  // known). Not stored: a resumed run's trials come back with 0.
  double saved_bytes = 0;
  double iterations = 0;  // mean kept iterations (boosting rounds)
  // Some fold ran every round it was allowed (a successive-halving cap or the
  // setting's own count) without early stopping: it could improve with more.
  bool capped = false;
  // The deadline (the run's, or the trial's time box) stopped a fold mid-training: its
  // best round or epoch so far was kept and scored.
  bool deadline_stopped = false;
  // Some folds never trained (the deadline came first): the score is the mean of those
  // that did, so it is noisier than a complete trial's, and there are no out-of-fold
  // predictions. Complete trials rank above partial ones (ranks_above).
  bool partial = false;
  // Trained on a sample of this many training rows per fold (0 = all): an early rung
  // of the search on a large table.
  int sample_rows = 0;
  std::vector<FoldLog> logs;
  // The training log the planner predicted before the trial ran (null if none).
  nlohmann::json predicted;
  // The model fitted on the first fold and its preprocessing, kept for the best
  // trial and the trials that keep out-of-fold predictions (the ensemble's
  // candidates): the fallback when the budget leaves no time to refit them.
  std::shared_ptr<Model> fold_model;
  std::shared_ptr<const Preprocessor> fold_preprocessor;
  // Out-of-fold predictions on Evaluator::oof_rows() (rows x n_outputs): each row
  // predicted by the fold models that did not train on it, averaged over the
  // repeats of repeated k-fold. Only for trials whose every fold finished, and the
  // search keeps them for the top trials only (SearchOptions::keep_predictions).
  std::shared_ptr<const std::vector<double>> oof;

  bool usable() const { return status != TrialStatus::kFailed && !fold_scores.empty(); }
};

}  // namespace automl
