// The budgeted search: a portfolio of proven settings first, then random search
// over the families' declared spaces with successive halving on boosting rounds.
// Every trial is evaluated on the same folds; preprocessing is fitted on each
// training fold only.
//
//   Evaluator ev(table, target, features, splits, "roc_auc", threads);
//   SearchOptions opt;  opt.deadline = Clock::now() + 50s;
//   SearchResult r = run_search(ev, opt, [](const TrialResult& t, const TrialResult* best) { ... });
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/model.h"
#include "automl/trial.h"
#include "automl/pipeline.h"
#include "automl/table.h"
#include "automl/task.h"

namespace automl {

// Rows to train on and rows to score on, indices into the table.
struct Split {
  std::vector<std::size_t> train, valid;
};

struct ValidationPlan {
  std::string method;  // "holdout" or "k-fold"
  int folds = 1;
  int repeats = 1;
  double holdout_share = 0.2;
  std::vector<Split> splits;
};

// Chooses the scheme by size (small data gets repeated k-fold, large data a
// holdout, unless a binary target's rarer class has under 1,000 rows: 3 folds)
// unless `folds` forces it (1 = holdout); stratified for classes.
ValidationPlan make_validation_plan(const Target& target, const std::vector<std::size_t>& rows, int folds,
                                    uint64_t seed);

// How many of a trial's folds train side by side, one thread each (1 = one fold at a
// time with every thread): side by side on small data, whose fold's training matrix
// holds at most 2e6 cells, where one fit cannot keep the cores busy. The evaluator
// trains its folds so, and the run prices its refits by the same rule.
int fold_workers(int threads, std::size_t n_folds, double train_cells);

class Evaluator {
 public:
  Evaluator(const Table& table, const Target& target, std::vector<std::string> features, ValidationPlan plan,
            std::string metric, int threads, uint64_t seed);

  // Called as each fold is scored, with its index, score and training log. Folds may
  // train on threads: the calls come from them, but never two at once.
  using FoldCallback = std::function<void(int fold, double score, const FoldLog& log)>;
  // Trains and scores one setting on every fold, stopping at `deadline`, or sooner
  // when `time_box_s` > 0 (the folds share the box). A fold the deadline stops keeps its
  // best round or epoch and is scored. sample_rows > 0 trains each fold on a fixed
  // sample of that many of its training rows (scored on all its validation rows).
  TrialResult evaluate(const std::string& family, const nlohmann::json& params, int resource,
                       Clock::time_point deadline, double time_box_s = 0, int sample_rows = 0,
                       const FoldCallback& on_fold = {});
  // The sample evaluate() trains on for `sample_rows`: 0 (all rows) when the folds
  // have no more training rows than that.
  int effective_sample_rows(int sample_rows) const;
  // Requirements every trial must meet: the fitted model's saved size and its
  // prediction time per row (<= 0 = no limit). A trial that breaks one fails.
  // Pruning: called every 10 rounds of an iterative fit with the fold and its
  // validation curve so far; a non-empty answer (the reason) stops that fit, and
  // the trial ends pruned (TrialStatus::kPruned) with the reason.
  // The data-processing design a trial of `family` applies, for its setting's variant
  // (kPrepParam; "design" when absent). Unset: every family's fixed encoding.
  using DesignFn = std::function<ColumnDesign(const std::string& family, const std::string& variant)>;
  void set_design(DesignFn f) { design_ = std::move(f); }
  ColumnDesign design_for(const std::string& family, const nlohmann::json& params) const;
  // The target by table row when target encoding may use it (regression and binary), else null.
  const std::vector<double>* encoding_target() const;
  using Pruner = std::function<std::string(int fold, const std::string& log_metric, const std::vector<double>& valid)>;
  void set_pruner(Pruner p) { pruner_ = std::move(p); }
  // When the flag is set (Ctrl-C), no fold starts and a running fit stops at its next
  // round or epoch, keeping its best so far, as if the deadline had come.
  void set_stop(const std::atomic<bool>* flag) { stop_ = flag; }
  void set_limits(double max_model_mb, double max_predict_ms_per_row) {
    max_model_mb_ = max_model_mb;
    max_predict_ms_per_row_ = max_predict_ms_per_row;
  }
  // Seconds each fold of `family` stops training before its deadline to predict its
  // validation rows: the slowest pace per row the family has predicted at so far (0
  // before its first trial). A trial started with less time left than this trains
  // for one round at most.
  double predict_reserve_s(const std::string& family) const;
  // A pace per validation row at which `family` predicted outside evaluate() (a
  // resumed run's trials, a worker's): counted as if measured here.
  void note_predict_pace(const std::string& family, double s_per_row);
  const ValidationPlan& plan() const { return plan_; }
  const std::string& metric() const { return metric_; }
  const Target& target() const { return target_; }
  // Rows used for training (all rows with a target).
  std::size_t n_rows() const { return n_rows_; }
  // The rows out-of-fold predictions are kept for, sorted: every row for k-fold,
  // the validation rows for a holdout.
  const std::vector<std::size_t>& oof_rows() const { return oof_rows_; }

 private:
  struct FoldData {
    std::shared_ptr<const Preprocessor> pre;
    FeatureMatrix train_x, valid_x;
    std::vector<double> train_y, valid_y;
  };
  // Each fold's encoded rows; sample_rows > 0: a fixed sample of that many training rows.
  const std::vector<FoldData>& folds_for(Encoding enc, int sample_rows, const ColumnDesign& design);
  // "" when `model` meets the limits, else what it breaks. saved_bytes: its size as its
  // family told it (Model::saved_bytes), 0 when it cannot (then it is saved and measured).
  std::string check_limits(const Model& model, double saved_bytes, const FeatureMatrix& sample) const;

  const Table& table_;
  const Target& target_;
  std::vector<std::string> features_;
  ValidationPlan plan_;
  std::string metric_;
  int threads_;
  uint64_t seed_;
  std::size_t n_rows_ = 0;
  std::vector<std::size_t> oof_rows_;
  std::vector<int> oof_position_;  // table row -> index into oof_rows_ (-1 = none)
  double max_model_mb_ = -1, max_predict_ms_per_row_ = -1;
  Pruner pruner_;
  const std::atomic<bool>* stop_ = nullptr;
  bool stop_requested() const { return stop_ && stop_->load(); }
  DesignFn design_;
  std::map<std::tuple<Encoding, int, std::string>, std::vector<FoldData>> cache_;  // by design_key
  // The slowest prediction per validation row seen for each family (seconds).
  std::map<std::string, double> predict_rate_;
};

struct SearchOptions {
  Clock::time_point deadline = Clock::time_point::max();  // no trial runs past this
  std::function<Clock::time_point()> deadline_fn;         // when set, re-read before each trial
  // First settings to try (empty = default_portfolio).
  std::vector<Proposal> initial;
  // Called before each trial with the trials so far: the planner's predicted log.
  std::function<nlohmann::json(const std::string& family, const nlohmann::json& params, int resource,
                               const std::vector<TrialResult>& history)> predict;
  // When set, each bracket draws `rank_pool` times more random settings than it
  // starts and keeps the ones with the highest utility (the planner's expected
  // improvement per predicted second), with a third still picked at random.
  std::function<std::vector<double>(const std::vector<Proposal>& candidates, int resource,
                                    const std::vector<TrialResult>& history)> rank;
  int rank_pool = 8;
  // Refinement: called with the real trials so far and the seconds left, after the
  // first proposals and after each successive-halving bracket; what it returns is
  // trained next (at most max_refinements calls).
  std::function<std::vector<Proposal>(const std::vector<TrialResult>& history, double seconds_left)> refine;
  int max_refinements = 3;
  uint64_t seed = 0;
  int max_trials = -1;                  // stop after this many trials (-1 = budget only)
  std::vector<std::string> families;    // empty = every registered family for the task
  int max_resource = 2000;              // most boosting rounds a trial may use
  int eta = 3;                          // successive halving keeps 1/eta of each rung
  int bracket_size = 9;                 // configurations started per bracket
  // Out-of-fold predictions are kept for this many top trials by score, plus the
  // best trial of each family (for ensembles); 0 = none.
  int keep_predictions = 20;
  // Trials whose fitted fold models stay whatever their rank (a continued search's
  // ensemble members, whose fold models importance is measured on); unset: none.
  std::function<bool(int trial_id)> keep_fold_model;
  // Anytime (budget_s > 0): until some model beats the constant, a trial may run only
  // until start + first_model_share x budget_s (at least min_box_share x budget_s), so a
  // slow first family cannot eat the budget; after that a trial's time box is
  // max_trial_share of the search time left. A fold its box stops keeps its best round
  // or epoch. A setting whose family's cost on this data is known (a trial of it ran)
  // and whose predicted seconds exceed the time left waits behind settings that fit.
  Clock::time_point start = Clock::now();
  double budget_s = 0;
  double first_model_share = 0.15;
  double min_box_share = 0.05;
  double max_trial_share = 0.5;
  // The first rung of a bracket trains on a sample of the rows when a family's known
  // cost would not let the bracket run in half the time left (folds of at least twice
  // this many training rows; 0 = never).
  int min_sample_rows = 2000;
  // Data-processing variants random settings draw from (kPrepParam): the first (the
  // planner's design) half the time, the others in turn the rest. Fewer than two: none.
  std::vector<std::string> prep_variants;
  // Called when the deadline has passed, with the trials so far: true when it moved
  // the deadline later (deadline_fn gives the new one) and the search goes on.
  std::function<bool(const std::vector<TrialResult>& history)> at_deadline;
  // continue_search's trials came from a store (a resumed run): the first proposals none
  // of them tried still run (a continued search in the same process skips them all).
  bool resumed = false;
  // Called just before a trial trains, with what is known of it then: id, family,
  // params, rung, parent, resource, sample_rows and predicted (status kProposed).
  std::function<void(const TrialResult& proposed)> on_start;
  // Called as each fold of a trial is scored (Evaluator::FoldCallback: possibly from a
  // fold's thread, one call at a time), before the trial's callback.
  std::function<void(int trial_id, int fold, double score, const FoldLog& log)> on_fold;
  // Evaluation elsewhere (workers): when set, the search hands its trials over in
  // batches (the first proposals, a refinement's settings, a bracket's first rung, each
  // promotion) instead of training them one by one, and this returns each one's result,
  // in the batch's order. `proposed` holds what on_start would get (id, family, params,
  // rung, parent, resource, sample_rows, predicted), `time_box_s` each trial's box
  // (0 = up to the deadline). on_start and on_fold are not called for these trials.
  std::function<std::vector<TrialResult>(const std::vector<TrialResult>& proposed, const std::vector<double>& time_box_s,
                                         Clock::time_point deadline)>
      evaluate_batch;
};

struct SearchResult {
  std::vector<TrialResult> trials;
  int best = -1;  // index into trials
  int deferred = 0;  // settings put back behind others because they would not finish in time
  // Families left out of the search after two of their trials failed with the same error
  // and none trained (their model cannot be made here), in the order they were dropped.
  std::vector<std::string> left_out;
};

// Whether trial a should be preferred to trial b as the run's best: complete trials
// rank above partial ones (unless the complete one is the constant baseline), then
// the better score.
bool ranks_above(const TrialResult& a, const TrialResult& b, const std::string& metric);

// The planner predicts a setting trained on all rows. On a sample of a share s of a
// fold's `fold_rows` training rows it keeps a share s^a of its predicted gain over the
// constant (history's baseline trial): a = 0.15 a priori (error falls slowly with more
// rows), and what history's sampled trials kept, counted as two of them. The prediction
// on all rows stays as "all_rows_score". Nothing changes without a sample, a scored
// constant or a "final_score".
void expect_on_sample_rows(nlohmann::json* predicted, int sample_rows, double fold_rows,
                           const std::vector<TrialResult>& history);

using TrialCallback = std::function<void(const TrialResult& trial, const TrialResult* best)>;

SearchResult run_search(Evaluator& evaluator, const SearchOptions& options, const TrialCallback& on_trial);
// Goes on with a search that stopped at its deadline, until the options' deadline: the
// trials so far are kept (ids go on from them), the first proposals and refinements are
// not repeated, and new successive-halving brackets draw settings afresh.
SearchResult continue_search(Evaluator& evaluator, const SearchOptions& options, const TrialCallback& on_trial,
                             SearchResult so_far);

}  // namespace automl
