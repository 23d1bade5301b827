#include "automl/search.h"

#include <algorithm>
#include <filesystem>
#include <unistd.h>
#include <atomic>
#include <mutex>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/metrics.h"
#include "automl/networks.h"
#include "automl/parallel.h"
#include "automl/planner.h"

namespace automl {

Evaluator::Evaluator(const Table& table, const Target& target, std::vector<std::string> features,
                     ValidationPlan plan, std::string metric, int threads, uint64_t seed)
    : table_(table),
      target_(target),
      features_(std::move(features)),
      plan_(std::move(plan)),
      metric_(std::move(metric)),
      threads_(threads),
      seed_(seed) {
  if (!plan_.splits.empty()) n_rows_ = plan_.splits[0].train.size() + plan_.splits[0].valid.size();
  oof_position_.assign(table_.n_rows, -1);
  for (const auto& s : plan_.splits) {
    for (auto r : s.valid) oof_position_[r] = 0;
  }
  for (std::size_t r = 0; r < oof_position_.size(); ++r) {
    if (oof_position_[r] < 0) continue;
    oof_position_[r] = static_cast<int>(oof_rows_.size());
    oof_rows_.push_back(r);
  }
}

ColumnDesign Evaluator::design_for(const std::string& family, const nlohmann::json& params) const {
  if (!design_) return {};
  const std::string variant =
      params.contains(kPrepParam) && params[kPrepParam].is_string() ? params[kPrepParam].get<std::string>() : "design";
  return design_(family, variant);
}

const std::vector<double>* Evaluator::encoding_target() const {
  return target_.task == Task::kMulticlass ? nullptr : &target_.y;
}

const std::vector<Evaluator::FoldData>& Evaluator::folds_for(Encoding enc, int sample_rows, const ColumnDesign& design) {
  const auto key = std::make_tuple(enc, sample_rows, design_key(design));
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  if (sample_rows > 0) {
    // A sample of each fold's training rows (the same for every trial), with the
    // fold's own preprocessing (fitted on all its training rows) and validation rows.
    const auto& full = folds_for(enc, 0, design);
    std::vector<FoldData> folds;
    for (std::size_t k = 0; k < plan_.splits.size(); ++k) {
      std::vector<std::size_t> rows = plan_.splits[k].train;
      std::mt19937_64 rng(seed_ * 7919 + k);
      std::shuffle(rows.begin(), rows.end(), rng);
      rows.resize(std::min(rows.size(), static_cast<std::size_t>(sample_rows)));
      std::sort(rows.begin(), rows.end());
      FoldData d;
      d.pre = full[k].pre;
      d.train_x = d.pre->transform(table_, &rows);
      for (auto r : rows) d.train_y.push_back(target_.y[r]);
      d.valid_x = full[k].valid_x;
      d.valid_y = full[k].valid_y;
      folds.push_back(std::move(d));
    }
    return cache_.emplace(key, std::move(folds)).first->second;
  }
  std::vector<FoldData> folds;
  for (const auto& s : plan_.splits) {
    auto pre = std::make_shared<Preprocessor>(enc);
    pre->set_design(design);
    pre->fit(table_, features_, s.train, encoding_target());
    FoldData d;
    d.pre = pre;
    d.train_x = pre->transform(table_, &s.train);
    d.valid_x = pre->transform(table_, &s.valid);
    for (auto r : s.train) d.train_y.push_back(target_.y[r]);
    for (auto r : s.valid) d.valid_y.push_back(target_.y[r]);
    folds.push_back(std::move(d));
  }
  return cache_.emplace(key, std::move(folds)).first->second;
}

double Evaluator::predict_reserve_s(const std::string& family) const {
  auto it = predict_rate_.find(family);
  if (it == predict_rate_.end() || plan_.splits.empty()) return 0.0;
  return it->second * static_cast<double>(plan_.splits[0].valid.size());
}

void Evaluator::note_predict_pace(const std::string& family, double s_per_row) {
  if (!(s_per_row > 0) || !std::isfinite(s_per_row)) return;
  double& rate = predict_rate_[family];
  rate = std::max(rate, s_per_row);
}

int Evaluator::effective_sample_rows(int sample_rows) const {
  const std::size_t fold_rows = plan_.splits.empty() ? 0 : plan_.splits[0].train.size();
  return sample_rows > 0 && static_cast<std::size_t>(sample_rows) < fold_rows ? sample_rows : 0;
}

TrialResult Evaluator::evaluate(const std::string& family, const nlohmann::json& params, int resource,
                                Clock::time_point deadline, double time_box_s, int sample_rows,
                                const FoldCallback& on_fold) {
  // A network's module may still be loading (automl/networks.h): the wait is the run's,
  // not the trial's, so it stays out of the trial's time box (an image set's first cnn
  // trial at 10 s spent 0.6 s of its box waiting).
  if (model_registry().has(family) && model_registry().get(family).network) wait_for_networks();
  const auto start = Clock::now();
  TrialResult t;
  t.started = start;
  t.time_box_s = time_box_s;
  t.family = family;
  t.params = params;
  t.resource = resource;
  const std::size_t fold_rows = plan_.splits.empty() ? 0 : plan_.splits[0].train.size();
  sample_rows = effective_sample_rows(sample_rows);
  t.sample_rows = sample_rows;
  try {
    const ModelEntry& entry = model_registry().get(family);
    validate_params(family, entry.params, params);
    const auto full = with_defaults(entry.params, params);
    const auto& folds = folds_for(entry.encoding, sample_rows, design_for(family, params));
    const std::size_t n_folds = folds.size();
    const double cells = static_cast<double>(folds[0].train_x.rows) * static_cast<double>(folds[0].train_x.cols);
    const int workers = fold_workers(threads_, n_folds, cells);
    struct FoldOutcome {
      bool done = false;
      double score = 0, iterations = 0;
      FitStop stop = FitStop::kCompleted;
      std::string pruned;
      FoldLog log;
      std::string error;
      std::shared_ptr<Model> model;
      std::vector<double> pred;  // on the fold's validation rows
      double predict_s = 0;      // seconds that prediction took
      double saved_bytes = 0;    // the first fold's model, saved
    };
    std::vector<FoldOutcome> outcomes(n_folds);
    std::mutex on_fold_mutex;  // the fold callback hears one fold at a time
    // A time box shares its seconds among the folds still to train: each fold may use
    // what is left of the box divided by the rounds of folds left (folds side by side
    // make one round), so an early fold cannot starve the later ones.
    const Clock::time_point box_end =
        time_box_s > 0 ? std::min(deadline, start + std::chrono::duration_cast<Clock::duration>(
                                                        std::chrono::duration<double>(time_box_s)))
                       : deadline;
    // Training stops early enough for the fold to predict its validation rows (at the
    // pace this family predicted them before) by the end of its share.
    const auto predict_time =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(predict_reserve_s(family)));
    // Within a time box the prediction takes at most half the fold's share: the pace is
    // the family's slowest so far (its largest setting's), and a box smaller than that
    // would otherwise stop every fold after its first round. The run's deadline keeps
    // the whole reserve.
    auto fold_deadline = [&](std::size_t k) {
      const auto now = Clock::now();
      const auto hard = deadline == Clock::time_point::max() ? deadline : deadline - predict_time;
      if (box_end >= deadline) return std::max(now, hard);
      const std::size_t rounds_left = (n_folds - k + workers - 1) / workers;
      const auto share_end =
          now >= box_end ? box_end : now + (box_end - now) / static_cast<long>(std::max<std::size_t>(1, rounds_left));
      const auto hold = std::min(predict_time, std::max(Clock::duration::zero(), (share_end - now) / 2));
      return std::max(now, std::min(share_end - hold, hard));
    };
    parallel_for(n_folds, workers, [&](std::size_t k) {
      if (Clock::now() >= box_end || stop_requested()) return;
      auto& o = outcomes[k];
      try {
        const auto& d = folds[k];
        FitContext ctx;
        ctx.task = target_.task;
        ctx.n_classes = target_.n_classes();
        ctx.metric = metric_;
        ctx.threads = workers > 1 ? 1 : threads_;
        ctx.seed = seed_ + k;
        ctx.deadline = fold_deadline(k);
        ctx.predict_valid_after = predict_time == Clock::duration::zero();
        ctx.max_iterations = resource;
        o.log.fold = static_cast<int>(k);
        std::shared_ptr<Model> model = entry.create(full, target_.task);
        bool interrupted = false;  // stop_requested() ended the fit: as the deadline would
        ctx.on_iteration = [&o, &model, &interrupted, k, this](const IterationLog& it) {
          o.log.train.push_back(it.train_metric);
          o.log.valid.push_back(it.valid_metric);
          o.log.seconds.push_back(it.seconds);
          if (stop_requested()) {
            interrupted = true;
            return false;
          }
          if (pruner_ && o.log.valid.size() % 10 == 0) {
            o.pruned = pruner_(static_cast<int>(k), model->log_metric(), o.log.valid);
            if (!o.pruned.empty()) return false;
          }
          return true;
        };
        model->fit(d.train_x, d.train_y, &d.valid_x, &d.valid_y, ctx);
        // Cut before its first round or epoch ended, or before a non-iterative fit began:
        // nothing was learned, and the prior it would predict is not the setting's score
        // (it counts as a fold that never ran).
        const FitStop stop = interrupted ? FitStop::kDeadline : model->stop_reason();
        if (stop == FitStop::kDeadline &&
            (entry.resource_param.empty() ? !model->learned() : model->iterations() == 0)) {
          return;
        }
        if (k == 0) {
          o.model = model;
          o.saved_bytes = model->saved_bytes();
        }
        const auto predict_start = Clock::now();
        o.pred = model->predict(d.valid_x);
        o.predict_s = std::chrono::duration<double>(Clock::now() - predict_start).count();
        o.score = compute_metric(metric_, target_, d.valid_y, o.pred);
        o.iterations = model->iterations();
        o.stop = stop;
        o.log.metric = model->log_metric();
        o.done = true;
        if (on_fold) {
          std::lock_guard<std::mutex> lock(on_fold_mutex);
          on_fold(static_cast<int>(k), o.score, o.log);
        }
      } catch (const std::exception& e) {
        o.error = e.what();
      }
    });

    double iterations = 0;
    std::size_t not_run = 0, cut = 0;  // folds the deadline left untrained, or stopped mid-training
    int reached = 0;                   // the most rounds or epochs a cut fold trained
    std::string pruned;
    for (const auto& o : outcomes) {
      if (!o.pruned.empty() && pruned.empty()) pruned = o.pruned;
    }
    if (outcomes[0].done) {
      t.fold_model = outcomes[0].model;
      t.fold_preprocessor = folds[0].pre;
      t.predict_s_per_row = outcomes[0].predict_s / static_cast<double>(std::max<std::size_t>(1, folds[0].valid_y.size()));
      t.saved_bytes = outcomes[0].saved_bytes;
      note_predict_pace(family, t.predict_s_per_row);
    }
    for (auto& o : outcomes) {
      if (!o.error.empty()) throw Error(ErrorKind::kInternal, o.error);
      if (!o.done) {
        ++not_run;
        continue;
      }
      // A fold the deadline stopped kept its best round or epoch so far: it is scored
      // like any other, and the trial says it was cut.
      if (o.stop == FitStop::kDeadline) {
        ++cut;
        reached = std::max(reached, static_cast<int>(o.log.valid.size()));
      }
      t.fold_scores.push_back(o.score);
      iterations += o.iterations;
      if (!entry.resource_param.empty()) {
        if (o.stop == FitStop::kCompleted && pruned.empty()) t.capped = true;
        t.logs.push_back(std::move(o.log));
      }
    }
    if ((max_model_mb_ > 0 || max_predict_ms_per_row_ > 0) && outcomes[0].done) {
      std::string broken = check_limits(*outcomes[0].model, outcomes[0].saved_bytes, folds[0].valid_x);
      if (!broken.empty()) {
        t.status = TrialStatus::kFailed;
        t.stop = StopReason::kRequirementBroken;
        t.reason = "violates a requirement: " + broken;
        t.fold_scores.clear();
        t.fold_model.reset();
        t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return t;
      }
    }
    if (t.fold_scores.empty()) {
      t.status = TrialStatus::kStopped;
      t.stop = StopReason::kNoFoldRan;
      t.reason = "budget ran out before a fold started";
      t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      return t;
    }
    t.iterations = iterations / static_cast<double>(t.fold_scores.size());
    t.partial = not_run > 0;
    if (!t.partial) {
      // Out-of-fold predictions: each row by the folds that held it out, averaged.
      const std::size_t k = static_cast<std::size_t>(target_.n_outputs());
      auto oof = std::make_shared<std::vector<double>>(oof_rows_.size() * k, 0.0);
      std::vector<int> count(oof_rows_.size(), 0);
      for (std::size_t f = 0; f < n_folds; ++f) {
        const auto& valid = plan_.splits[f].valid;
        const auto& pred = outcomes[f].pred;
        if (pred.size() != valid.size() * k) continue;
        for (std::size_t i = 0; i < valid.size(); ++i) {
          const auto pos = static_cast<std::size_t>(oof_position_[valid[i]]);
          ++count[pos];
          for (std::size_t c = 0; c < k; ++c) (*oof)[pos * k + c] += pred[i * k + c];
        }
      }
      bool complete = true;
      for (std::size_t i = 0; i < count.size() && complete; ++i) {
        complete = count[i] > 0;
        for (std::size_t c = 0; c < k && complete; ++c) (*oof)[i * k + c] /= count[i];
      }
      if (complete) t.oof = std::move(oof);
    }
    double sum = 0;
    for (double s : t.fold_scores) sum += s;
    t.score = sum / static_cast<double>(t.fold_scores.size());
    if (not_run > 0 || cut > 0) {
      // The knowledge base leaves such trials out (by their stop reason).
      t.status = TrialStatus::kStopped;
      t.stop = box_end < deadline ? StopReason::kTimeBox : StopReason::kDeadline;
      t.deadline_stopped = true;
      const std::string unit = entry.resource_param == "epochs" ? "epochs" : "rounds";
      std::string at = cut == 0                     ? std::string()
                       : entry.resource_param.empty() ? std::string(" before it converged, its last state kept")
                       : reached > 0 ? fmt::format(" at {} {}, the best kept", reached, unit)
                                     : std::string(" during its first pass");
      t.reason = not_run > 0 ? fmt::format("budget ran out after {} of {} folds{}", t.fold_scores.size(), folds.size(), at)
                             : fmt::format("budget ran out{}", at);
    } else if (!pruned.empty()) {
      t.status = TrialStatus::kPruned;
      t.stop = StopReason::kPruned;
      t.reason = "pruned: " + pruned;
    } else if (t.capped && resource > 0) {
      t.status = TrialStatus::kStopped;
      t.stop = StopReason::kRoundCap;
      t.reason = fmt::format("successive halving: capped at {} rounds", resource);
    } else {
      t.status = TrialStatus::kFinished;
      t.stop = entry.resource_param.empty() ? StopReason::kFitted
               : t.capped                   ? StopReason::kCompleted
                                            : StopReason::kConverged;
      t.reason = t.stop == StopReason::kFitted      ? "fitted"
                 : t.stop == StopReason::kCompleted ? "ran every round its setting allows (early stopping did not end it)"
                                                    : "early stopping on the validation fold";
    }
    if (sample_rows > 0) {
      t.reason += fmt::format(" (trained on a sample of {} of the fold's {} training rows)", sample_rows, fold_rows);
    }
    if (std::isnan(t.score)) {
      t.status = TrialStatus::kFailed;
      t.stop = StopReason::kUndefinedScore;
      t.reason = "the validation score is undefined (a fold may hold a single class)";
    }
  } catch (const std::exception& e) {
    t.status = TrialStatus::kFailed;
    t.stop = StopReason::kError;
    t.reason = e.what();
    t.fold_scores.clear();
  }
  t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return t;
}

std::string Evaluator::check_limits(const Model& model, double saved_bytes, const FeatureMatrix& sample) const {
  if (max_model_mb_ > 0) {
    // The size its family told (XGBoost: its trees serialized, the bulk of its files),
    // else the files it saves to a temporary folder.
    double bytes = saved_bytes;
    if (bytes <= 0) {
      static std::atomic<int> counter{0};
      auto dir = std::filesystem::temp_directory_path() /
                 fmt::format("automl-size-{}-{}", ::getpid(), counter.fetch_add(1));
      std::filesystem::create_directories(dir);
      model.save(dir);
      for (const auto& f : std::filesystem::directory_iterator(dir)) bytes += static_cast<double>(f.file_size());
      std::filesystem::remove_all(dir);
    }
    double mb = bytes / (1024.0 * 1024.0);
    if (mb > max_model_mb_) return fmt::format("model is {:.2f} MB, the limit is {} MB", mb, max_model_mb_);
  }
  if (max_predict_ms_per_row_ > 0 && sample.rows > 0) {
    auto t0 = Clock::now();
    model.predict(sample);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / static_cast<double>(sample.rows);
    if (ms > max_predict_ms_per_row_) {
      return fmt::format("prediction takes {:.4f} ms per row, the limit is {} ms", ms, max_predict_ms_per_row_);
    }
  }
  return "";
}

namespace {

// Whether `family` is the registry's baseline (the model every other must beat).
bool is_baseline(const std::string& family) { return model_registry().get(family).baseline; }

}  // namespace

void expect_on_sample_rows(nlohmann::json* predicted, int sample_rows, double fold_rows,
                           const std::vector<TrialResult>& history) {
  if (sample_rows <= 0 || fold_rows <= 0 || !predicted->is_object() || !predicted->contains("final_score") ||
      !(*predicted)["final_score"].is_number())
    return;
  const TrialResult* constant = nullptr;
  for (const auto& t : history) {
    if (is_baseline(t.family) && t.usable()) constant = &t;
  }
  if (!constant) return;
  const double base = constant->score, full = (*predicted)["final_score"].get<double>();
  constexpr double kPrior = 0.15, kPriorWeight = 2.0;
  double sum = kPrior * kPriorWeight, n = kPriorWeight;
  for (const auto& t : history) {
    if (t.sample_rows <= 0 || !t.usable() || t.deadline_stopped || !t.predicted.is_object() ||
        !t.predicted.contains("all_rows_score") || !t.predicted["all_rows_score"].is_number())
      continue;
    const double p = t.predicted["all_rows_score"].get<double>(), share = t.sample_rows / fold_rows;
    if (std::abs(p - base) < 1e-12 || share >= 0.95) continue;
    const double kept = std::clamp((t.score - base) / (p - base), 0.01, 1.0);
    sum += std::clamp(std::log(kept) / std::log(share), 0.0, 2.0);
    n += 1;
  }
  const double a = sum / n, share = sample_rows / fold_rows;
  const double kept = std::pow(share, a);
  (*predicted)["all_rows_score"] = full;
  (*predicted)["final_score"] = base + (full - base) * kept;
  if (predicted->contains("basis") && (*predicted)["basis"].is_string()) {
    (*predicted)["basis"] = (*predicted)["basis"].get<std::string>() +
                            fmt::format("; on a sample of {} rows it keeps {:.2f} of the gain over the constant",
                                        sample_rows, kept);
  }
}

int fold_workers(int threads, std::size_t n_folds, double train_cells) {
  // Small data: one thread per fit and folds side by side, which keeps both cores
  // busy where a single fit cannot. Large data: one fit at a time, all threads.
  const bool side_by_side = threads >= 2 && n_folds >= 2 && train_cells <= 2e6;
  return side_by_side ? static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), n_folds)) : 1;
}

bool ranks_above(const TrialResult& a, const TrialResult& b, const std::string& metric) {
  if (a.partial != b.partial) {
    const TrialResult& complete = a.partial ? b : a;
    if (!is_baseline(complete.family)) return !a.partial;
  }
  return metric_better(metric, a.score, b.score);
}

namespace {

// Epochs a network trial over its time box should have time for: it trains on a sample
// of the rows small enough that this many epochs fit (see Search::predict).
constexpr double kEpochsInBox = 3.0;

class Search {
 public:
  Search(Evaluator& ev, const SearchOptions& opt, const TrialCallback& cb, SearchResult so_far = {})
      : ev_(ev), opt_(opt), cb_(cb), rng_(opt.seed * 1000003 + 11 + so_far.trials.size()), result_(std::move(so_far)) {
    for (const auto* e : model_registry().entries()) {
      bool wanted = opt.families.empty() ||
                    std::find(opt.families.begin(), opt.families.end(), e->name) != opt.families.end();
      if (wanted && e->supports(ev.target().task)) families_.push_back(e->name);
    }
    if (families_.empty()) throw_invalid("no model family supports this task among those asked for");
    // A family that could not be trained at all before (a continued search) stays out.
    for (const auto& t : result_.trials) drop_if_broken(t.family);
    // Most random settings go to the planner's first choice among the families that
    // can lead (a CNN for images, a text model for documents), else to the family
    // that leads by default (boosted trees: the higher ceiling on tables).
    for (const auto& f : opt.families) {
      if (supported(f) && model_registry().get(f).search_lead) {
        favourite_ = f;
        break;
      }
    }
    for (const auto* e : model_registry().entries()) {
      if (!favourite_.empty()) break;
      if (e->search_lead_by_default && supported(e->name)) favourite_ = e->name;
    }
  }

  SearchResult run() {
    // A continued search has tried its first proposals and had its refinements.
    // A resumed one (the trials came from a store) still tries the first proposals none
    // of its trials tried, and has had its refinements once it went past them.
    const bool continued = !result_.trials.empty();
    auto initial = opt_.initial.empty() ? default_portfolio(ev_.target().task, ev_.n_rows(), families_) : opt_.initial;
    auto tried = [&](const Proposal& p) {
      return std::any_of(result_.trials.begin(), result_.trials.end(),
                         [&](const TrialResult& t) { return t.family == p.family && t.params == p.params; });
    };
    std::vector<Proposal> queue;
    for (const auto& p : initial) {
      if (supported(p.family) && (!continued || (opt_.resumed && !tried(p)))) queue.push_back(p);
    }
    const bool past_initial = std::any_of(result_.trials.begin(), result_.trials.end(), [&](const TrialResult& t) {
      return std::none_of(initial.begin(), initial.end(),
                          [&](const Proposal& p) { return t.family == p.family && t.params == p.params; });
    });
    if (opt_.evaluate_batch) {
      std::vector<Pending> batch;
      while (!queue.empty()) {
        int sample = 0;
        std::optional<Proposal> p = take_next(&queue, -1, &sample);
        if (!p) break;  // none of them can finish in the time left
        batch.push_back({p->family, p->params, -1, sample});
      }
      queue.clear();  // what did not fit is not trained here either
      run_batch(batch);
    }
    while (!queue.empty() && can_continue()) {
      int sample = 0;
      std::optional<Proposal> p = take_next(&queue, -1, &sample);
      if (!p) break;  // none of them can finish in the time left
      add(trial(p->family, p->params, -1, sample));
    }
    if (!can_continue()) return std::move(result_);
    // Successive-halving brackets over random settings, each after a refinement.
    std::map<std::string, int> samples;  // random settings drawn, by family
    int refinements = continued && (!opt_.resumed || past_initial) ? opt_.max_refinements : 0;
    while (can_continue()) {
      if (opt_.refine && refinements < opt_.max_refinements) {
        ++refinements;
        double left = std::chrono::duration<double>(deadline() - Clock::now()).count();
        std::vector<Pending> batch;
        for (const auto& p : opt_.refine(result_.trials, left)) {
          if (!supported(p.family) || !can_continue()) continue;
          if (beats_constant() && !could_finish(p.family, known_cost(p, -1))) continue;
          if (opt_.evaluate_batch) {
            batch.push_back({p.family, p.params});
          } else {
            add(trial(p.family, p.params, -1));
          }
        }
        run_batch(batch);
        if (!can_continue()) break;
      }
      std::vector<int> rung;  // trial indices alive in this rung
      auto settings = bracket_settings(&samples);
      const bool drawn = !settings.empty();
      std::vector<Pending> batch;
      bool none_fits = false;
      while (!settings.empty() && can_continue()) {
        int sample = 0;
        std::optional<Proposal> p = take_next(&settings, 0, &sample);
        if (!p) {
          none_fits = true;
          break;
        }
        const ModelEntry& e = model_registry().get(p->family);
        int resource = e.resource_param.empty() ? -1 : family_resource(e, p->params, 0);
        const int rows = sample > 0 ? sample : rung_sample(*p, resource);
        if (opt_.evaluate_batch) {
          batch.push_back({p->family, p->params, resource, rows});
        } else {
          rung.push_back(add(trial(p->family, p->params, resource, rows)));
        }
      }
      if (opt_.evaluate_batch) rung = run_batch(batch);
      // Nothing a bracket draws can finish in the time left: a trial started now would
      // be cut by the deadline after a round or two and teach nothing. Those settings'
      // families sit out the rest of this search and the next bracket draws from the
      // others (an image set's tail of 13 s, whose CNN and boosted trees no longer fit,
      // ended with no trial while linear ones of 1 s could run); none left, it ends.
      if (none_fits && rung.empty()) {
        bool more = false;
        for (const auto& p : settings) more = too_dear_.insert(p.family).second || more;
        if (!more) return std::move(result_);
        continue;
      }
      if (drawn && rung.empty()) continue;  // the deadline came (can_continue decides)
      if (rung.empty()) return std::move(result_);  // nothing left worth searching
      for (int level = 1; level <= levels() && can_continue(); ++level) {
        // Promote the best 1/eta that could still improve with more rounds.
        std::vector<int> alive;
        for (int idx : rung) {
          if (result_.trials[idx].usable()) alive.push_back(idx);
        }
        std::sort(alive.begin(), alive.end(), [&](int a, int b) {
          return metric_better(ev_.metric(), result_.trials[a].score, result_.trials[b].score);
        });
        std::size_t keep = std::max<std::size_t>(1, rung.size() / opt_.eta);
        if (alive.size() > keep) alive.resize(keep);
        std::vector<int> next;
        std::vector<Pending> promoted;
        for (int idx : alive) {
          const TrialResult& t = result_.trials[idx];
          // Early stopping already ended it: more rounds change nothing (unless it saw only
          // a sample of the rows, and all of them may support more).
          if (!t.capped && t.sample_rows == 0) continue;
          if (!can_continue()) break;
          const int resource = family_resource(model_registry().get(t.family), t.params, level);
          // A promotion expected to outlast the time left is not started: the deadline
          // would stop it below the rounds its parent already reached.
          if (beats_constant() && !could_finish(t.family, known_cost({t.family, t.params, ""}, resource))) continue;
          if (opt_.evaluate_batch) {
            promoted.push_back({t.family, t.params, resource, 0, level, t.id});
          } else {
            next.push_back(add(trial(t.family, t.params, resource, 0, level, t.id)));
          }
        }
        if (opt_.evaluate_batch) next = run_batch(promoted);
        if (next.empty()) break;
        rung = next;
      }
    }
    return std::move(result_);
  }

 private:
  // One random setting of a family drawn by pick_family ("" family = none left).
  Proposal random_setting(std::map<std::string, int>* samples) {
    std::string family = pick_family(samples);
    if (family.empty()) return {};
    const ModelEntry& e = model_registry().get(family);
    auto params = sample_params(search_space(e), rng_);
    for (const auto& s : e.params) {
      if (!s.tuned) params.erase(s.name);  // leave the fixed ones at their declared defaults
    }
    const auto& variants = opt_.prep_variants;
    if (variants.size() >= 2 && (e.encoding == Encoding::kNative || e.encoding == Encoding::kOneHot)) {
      params[kPrepParam] = pick_variant(family);
    }
    return {family, params, "random"};
  }

  // The family's tuned parameters as this data lets the search draw them
  // (ModelEntry::narrow_search), worked out once per family.
  const std::vector<ParamSpec>& search_space(const ModelEntry& e) {
    auto it = spaces_.find(e.name);
    if (it != spaces_.end()) return it->second;
    std::vector<ParamSpec> specs = e.params;
    if (e.narrow_search) {
      SearchData d;
      const Target& t = ev_.target();
      d.task = t.task;
      double train = 0;
      for (const auto& sp : ev_.plan().splits) train += static_cast<double>(sp.train.size());
      d.fit_rows = ev_.plan().splits.empty() ? static_cast<double>(ev_.n_rows())
                                             : train / static_cast<double>(ev_.plan().splits.size());
      if (is_classification(t.task) && t.n_classes() > 0) {
        std::vector<double> count(static_cast<std::size_t>(t.n_classes()), 0.0);
        double n = 0;
        for (double v : t.y) {
          if (std::isnan(v) || v < 0 || v >= static_cast<double>(count.size())) continue;
          count[static_cast<std::size_t>(v)] += 1;
          n += 1;
        }
        if (n > 0) {
          for (double c : count) d.class_shares.push_back(c / n);
        }
      }
      e.narrow_search(d, specs);
    }
    return spaces_.emplace(e.name, std::move(specs)).first->second;
  }

  // The data-processing variant of a random setting: the one whose trials of this family
  // scored best so far (the planner's design until some other has run) 80% of the time,
  // the readings of the open integer columns in turn the rest, so the search exploits the
  // better reading of the data and keeps checking the others. "plain" (the family's fixed
  // encoding) is drawn only once one of its trials leads.
  std::string pick_variant(const std::string& family) {
    const auto& variants = opt_.prep_variants;
    std::string lead = variants[0];
    double lead_score = std::nan("");
    for (const auto& t : result_.trials) {
      if (t.family != family || !t.usable() || t.partial || t.sample_rows > 0) continue;
      const std::string v = t.params.contains(kPrepParam) && t.params[kPrepParam].is_string()
                                ? t.params[kPrepParam].get<std::string>()
                                : variants[0];
      if (std::isnan(lead_score) || metric_better(ev_.metric(), t.score, lead_score)) {
        lead_score = t.score;
        lead = v;
      }
    }
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<std::string> others;
    for (const auto& v : variants) {
      if (v != lead && v != "plain") others.push_back(v);
    }
    if (others.empty() || u(rng_) < 0.8) return lead;
    return others[prep_turn_++ % others.size()];
  }

  // The settings a bracket starts: random ones, or, when the planner ranks them,
  // the most useful of a larger random pool (a third still purely random, so the
  // search keeps exploring where the planner is wrong).
  std::vector<Proposal> bracket_settings(std::map<std::string, int>* samples) {
    std::vector<Proposal> out;
    if (!opt_.rank) {
      for (int i = 0; i < opt_.bracket_size; ++i) {
        auto p = random_setting(samples);
        if (p.family.empty()) break;
        out.push_back(p);
      }
      return out;
    }
    std::vector<Proposal> pool;
    for (int i = 0; i < opt_.bracket_size * opt_.rank_pool; ++i) {
      auto p = random_setting(samples);
      if (p.family.empty()) break;
      pool.push_back(p);
    }
    if (pool.empty()) return out;
    const int ranked = opt_.bracket_size - opt_.bracket_size / 3;
    std::vector<double> utility = opt_.rank(pool, rung_resource(0), result_.trials);
    std::vector<std::size_t> order(pool.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return utility[a] > utility[b]; });
    std::vector<bool> used(pool.size(), false);
    for (std::size_t i = 0; i < order.size() && static_cast<int>(out.size()) < ranked; ++i) {
      used[order[i]] = true;
      pool[order[i]].why = "ranked by predicted improvement per second";
      out.push_back(pool[order[i]]);
    }
    for (std::size_t i = 0; i < pool.size() && static_cast<int>(out.size()) < opt_.bracket_size; ++i) {
      if (!used[i]) out.push_back(pool[i]);
    }
    return out;
  }

  bool supported(const std::string& f) const { return std::find(families_.begin(), families_.end(), f) != families_.end(); }

  // The planner's prediction first, from the trials so far; then the real training,
  // in its time box. The trial gets the next id (add() gives it).
  TrialResult trial(const std::string& family, const nlohmann::json& params, int resource, int sample_rows = 0,
                    int rung = 0, int parent = -1) {
    nlohmann::json predicted = predict(family, params, resource, &sample_rows);
    const int id = static_cast<int>(result_.trials.size());
    const double box = time_box(family);
    if (opt_.on_start) {
      TrialResult proposed;
      proposed.id = id;
      proposed.family = family;
      proposed.params = params;
      proposed.rung = rung;
      proposed.parent = parent;
      proposed.resource = resource;
      proposed.sample_rows = ev_.effective_sample_rows(sample_rows);
      proposed.predicted = predicted;
      opt_.on_start(proposed);
    }
    Evaluator::FoldCallback on_fold;
    if (opt_.on_fold) {
      on_fold = [this, id](int fold, double score, const FoldLog& log) { opt_.on_fold(id, fold, score, log); };
    }
    TrialResult t = ev_.evaluate(family, params, resource, deadline(), box, sample_rows, on_fold);
    t.predicted = std::move(predicted);
    t.rung = rung;
    t.parent = parent;
    return t;
  }

  // A trial to hand over with others (SearchOptions::evaluate_batch).
  struct Pending {
    std::string family;
    nlohmann::json params;
    int resource = -1, sample_rows = 0, rung = 0, parent = -1;
  };

  // Hands `pending` over as one batch (cut to max_trials) and adds the results in
  // order: their ids. Each trial's predicted log is the planner's, from the trials
  // before the batch.
  std::vector<int> run_batch(std::vector<Pending> pending) {
    if (opt_.max_trials >= 0) {
      const int room = std::max(0, opt_.max_trials - static_cast<int>(result_.trials.size()));
      if (static_cast<int>(pending.size()) > room) pending.resize(static_cast<std::size_t>(room));
    }
    if (pending.empty() || !can_continue()) return {};
    std::vector<TrialResult> proposed;
    std::vector<double> boxes;
    for (const auto& p : pending) {
      TrialResult t;
      t.id = static_cast<int>(result_.trials.size() + proposed.size());
      t.family = p.family;
      t.params = p.params;
      t.rung = p.rung;
      t.parent = p.parent;
      t.resource = p.resource;
      int sample_rows = p.sample_rows;
      t.predicted = predict(p.family, p.params, p.resource, &sample_rows);
      t.sample_rows = ev_.effective_sample_rows(sample_rows);
      proposed.push_back(std::move(t));
      boxes.push_back(time_box(p.family));
    }
    std::vector<TrialResult> results = opt_.evaluate_batch(proposed, boxes, deadline());
    if (results.size() != proposed.size()) throw_internal("evaluate_batch returned a result per trial it was not given");
    std::vector<int> ids;
    for (std::size_t k = 0; k < results.size(); ++k) {
      TrialResult t = std::move(results[k]);
      t.predicted = proposed[k].predicted;
      t.rung = proposed[k].rung;
      t.parent = proposed[k].parent;
      ids.push_back(add(std::move(t)));
    }
    return ids;
  }

  // The planner's prediction for a trial, from the trials so far. A setting the planner
  // expects to take longer than its time box trains on a sample of the rows it can
  // finish in the box (*sample_rows when it was 0, at least SearchOptions::min_sample_rows):
  // a boosted model cut after a round or a network before its first epoch teaches less
  // than the same setting finished on part of the rows. The prediction is then for that
  // sample.
  nlohmann::json predict(const std::string& family, const nlohmann::json& params, int resource, int* sample_rows) {
    nlohmann::json predicted = opt_.predict ? opt_.predict(family, params, resource, result_.trials) : nlohmann::json();
    const double box = time_box(family);
    if (*sample_rows == 0 && box > 0 && predicted.is_object() && predicted.contains("seconds") &&
        predicted["seconds"].is_number()) {
      double expected = predicted["seconds"].get<double>();
      // A network's box stops it after its last whole epoch, its best epoch kept: the rows
      // it can afford are those of a few epochs in the box, not of every epoch it might run
      // (28x28 images at 60 s: nine epochs of a 2,000-row sample scored 0.917, four epochs
      // of 5,559 rows 0.933).
      const auto& checkpoints = predicted.value("checkpoints", nlohmann::json::array());
      if (model_registry().get(family).resource_unit == ResourceUnit::kEpochs && !checkpoints.empty() &&
          checkpoints.back().is_number()) {
        const double epochs = checkpoints.back().get<double>();
        if (epochs > kEpochsInBox) expected *= kEpochsInBox / epochs;
      }
      if (expected > box) *sample_rows = std::max(sample_that_fits(expected, box), box_sample_floor());
    }
    expect_on_sample(&predicted, ev_.effective_sample_rows(*sample_rows));
    return predicted;
  }

  // The prediction for a setting on a sample of this run's fold rows (expect_on_sample_rows,
  // learning from this run's sampled trials).
  void expect_on_sample(nlohmann::json* predicted, int sample_rows) const {
    if (ev_.plan().splits.empty()) return;
    expect_on_sample_rows(predicted, sample_rows, static_cast<double>(ev_.plan().splits[0].train.size()),
                          result_.trials);
  }

  // The training rows per fold a bracket's first rung trains on (0 = all): on a large
  // table whose family is known to be dear here, a sample small enough that the
  // bracket's settings could all run in half the time left (a third of the rows at
  // most, and at least SearchOptions::min_sample_rows).
  int rung_sample(const Proposal& p, int resource) const {
    const auto& splits = ev_.plan().splits;
    if (splits.empty() || opt_.min_sample_rows <= 0) return 0;
    const double rows = static_cast<double>(splits[0].train.size());
    if (rows < 2.0 * opt_.min_sample_rows) return 0;
    const double cost = known_cost(p, resource);
    const double left = std::chrono::duration<double>(deadline() - Clock::now()).count();
    if (cost <= 0 || cost * opt_.bracket_size <= 0.5 * left) return 0;
    const double share = std::min(1.0 / opt_.eta, 0.5 * left / (cost * opt_.bracket_size));
    return static_cast<int>(std::max<double>(opt_.min_sample_rows, share * rows));
  }

  // Training rows per fold (a sample) on which a trial that would take `cost` seconds
  // on all rows is expected to finish in `left` seconds, with a fifth to spare; 0 when
  // that sample would be under SearchOptions::min_sample_rows (or the table is small).
  int sample_that_fits(double cost, double left) const {
    const auto& splits = ev_.plan().splits;
    if (splits.empty() || opt_.min_sample_rows <= 0 || cost <= 0 || left < min_start_s()) return 0;
    const double rows = static_cast<double>(splits[0].train.size());
    const double share = 0.8 * left / cost;
    if (share >= 1.0) return 0;
    const double n = share * rows;
    return n >= opt_.min_sample_rows ? static_cast<int>(n) : 0;
  }

  // Whether a trial of `family` expected to take `cost` seconds (< 0: not known) can
  // finish in the time left, its folds' prediction included.
  bool could_finish(const std::string& family, double cost) const {
    const double usable = std::chrono::duration<double>(deadline() - Clock::now()).count() - fold_reserve(family);
    return usable > 0 && cost <= usable;
  }

  // The seconds a fold of `family` stops training before the deadline to predict its
  // validation rows (Evaluator::predict_reserve_s), for families that train in rounds or
  // epochs; another family's predicted cost already holds its prediction.
  double fold_reserve(const std::string& family) const {
    return model_registry().get(family).resource_param.empty() ? 0.0 : ev_.predict_reserve_s(family);
  }

  // Seconds below which no trial starts on a sample once a model beats the constant: a
  // trial has costs no sample shrinks (its folds' data, its first round), and one started
  // in the last instant scores near the constant.
  double min_start_s() const { return std::max(0.25, 0.005 * opt_.budget_s); }

  // The smallest sample a trial over its box trains on: min_sample_rows, when the
  // folds are at least twice that (0: no sample).
  int box_sample_floor() const {
    const auto& splits = ev_.plan().splits;
    if (splits.empty() || opt_.min_sample_rows <= 0) return 0;
    return splits[0].train.size() >= 2 * static_cast<std::size_t>(opt_.min_sample_rows) ? opt_.min_sample_rows : 0;
  }

  // Seconds a trial may use (0 = up to the deadline); see SearchOptions::budget_s.
  double time_box(const std::string& family) const {
    if (opt_.budget_s <= 0 || is_baseline(family)) return 0;
    const double left = std::chrono::duration<double>(deadline() - Clock::now()).count();
    if (!beats_constant()) {
      const double until = std::chrono::duration<double>(opt_.start - Clock::now()).count() +
                           opt_.first_model_share * opt_.budget_s;
      return std::max(until, opt_.min_box_share * opt_.budget_s);
    }
    return std::max(opt_.max_trial_share * left, opt_.min_box_share * opt_.budget_s);
  }

  // Whether some usable trial other than the constant scores better than the constant.
  bool beats_constant() const {
    const TrialResult* constant = nullptr;
    for (const auto& t : result_.trials) {
      if (is_baseline(t.family) && t.usable()) constant = &t;
    }
    for (const auto& t : result_.trials) {
      if (is_baseline(t.family) || !t.usable()) continue;
      if (!constant || metric_better(ev_.metric(), t.score, constant->score)) return true;
    }
    return false;
  }

  // The predicted seconds of a setting whose family already ran in this run (so the
  // planner's guess is calibrated on this data); -1 when unknown.
  double known_cost(const Proposal& p, int resource) const {
    if (!opt_.predict || opt_.budget_s <= 0) return -1;
    bool ran = false;
    for (const auto& t : result_.trials) ran = ran || (t.family == p.family && t.status != TrialStatus::kFailed && t.seconds > 0);
    if (!ran) return -1;
    const nlohmann::json j = opt_.predict(p.family, p.params, resource, result_.trials);
    return j.is_object() && j.contains("seconds") && j["seconds"].is_number() ? j["seconds"].get<double>() : -1;
  }

  // The first setting of `queue` expected to finish in the time left (removed from it);
  // settings expected not to finish wait behind it. When none fits, the one expected to
  // be cheapest runs on a sample of the rows it can finish (*sample_rows, at least
  // SearchOptions::min_sample_rows), or nothing runs (nullopt, the queue kept): a trial
  // the deadline stops after a round or two is time lost and a score that misleads.
  // Until some model beats the constant every setting may run: its time box stops it
  // and its best round or epoch is kept.
  std::optional<Proposal> take_next(std::vector<Proposal>* queue, int level, int* sample_rows) {
    *sample_rows = 0;
    // A family left out since the queue was made (drop_if_broken) is not tried again.
    queue->erase(std::remove_if(queue->begin(), queue->end(), [this](const Proposal& p) { return !supported(p.family); }),
                 queue->end());
    if (queue->empty()) return std::nullopt;
    const double left = std::chrono::duration<double>(deadline() - Clock::now()).count();
    std::size_t pick = 0;
    if (beats_constant()) {
      double cheapest = std::numeric_limits<double>::infinity(), cheapest_left = 0;
      std::size_t fits = queue->size();
      for (std::size_t i = 0; i < queue->size(); ++i) {
        const Proposal& p = (*queue)[i];
        const ModelEntry& e = model_registry().get(p.family);
        const int resource = level < 0 || e.resource_param.empty() ? -1 : family_resource(e, p.params, level);
        // Each fold stops early enough to predict its validation rows at the family's
        // slowest pace so far: a trial with less than that left would stop after its
        // first round.
        const double usable = left - fold_reserve(p.family);
        if (usable <= 0) continue;
        const double cost = known_cost(p, resource);
        if (cost < 0 || cost <= usable) {
          fits = i;
          break;
        }
        if (cost < cheapest) {
          cheapest = cost;
          cheapest_left = usable;
          pick = i;
        }
      }
      if (fits < queue->size()) {
        pick = fits;
      } else {
        const int sample = sample_that_fits(cheapest, cheapest_left);
        if (sample <= 0) return std::nullopt;
        *sample_rows = sample;
      }
      if (pick > 0) ++result_.deferred;
    }
    Proposal p = (*queue)[pick];
    queue->erase(queue->begin() + static_cast<std::ptrdiff_t>(pick));
    return p;
  }

  Clock::time_point deadline() const { return opt_.deadline_fn ? opt_.deadline_fn() : opt_.deadline; }

  bool can_continue() {
    if (opt_.max_trials >= 0 && static_cast<int>(result_.trials.size()) >= opt_.max_trials) return false;
    const Clock::time_point d = deadline();
    if (Clock::now() < d) return true;
    // At the deadline the run may find that it kept back more than it needs (asked
    // once per deadline it sets).
    if (!opt_.at_deadline || d == asked_at_) return false;
    asked_at_ = d;
    return opt_.at_deadline(result_.trials) && Clock::now() < deadline();
  }

  int levels() const {
    int n = 0;
    for (int b = opt_.bracket_size; b > 1; b /= opt_.eta) ++n;
    return n;
  }

  // The rung's cap in the family's own unit: boosting rounds as they are; a family
  // whose resource runs to fewer (a network's epochs) gets the same share of its own.
  int family_resource(const ModelEntry& e, const nlohmann::json& params, int level) const {
    const ParamSpec* spec = e.param(e.resource_param);
    const double full = params.contains(e.resource_param) ? params[e.resource_param].get<double>()
                        : spec ? spec->default_value.get<double>() : opt_.max_resource;
    if (full >= opt_.max_resource) return rung_resource(level);
    double r = opt_.max_resource;
    for (int l = levels(); l > level; --l) r /= opt_.eta;
    return std::max(1, static_cast<int>(std::lround(full * r / opt_.max_resource)));
  }

  int rung_resource(int level) const {
    int r = opt_.max_resource;
    for (int l = levels(); l > level; --l) r /= opt_.eta;
    return std::max(10, r);
  }

  // A family for the next random setting: the lead its declared share of the time,
  // else any sampled family, each until its declared cap on random settings.
  std::string pick_family(std::map<std::string, int>* samples) {
    std::vector<std::string> pool;
    for (const auto& f : families_) {
      const ModelEntry& e = model_registry().get(f);
      if (!e.random_search) continue;
      if (e.random_max >= 0 && (*samples)[f] >= e.random_max) continue;
      if (too_dear_.count(f)) continue;
      pool.push_back(f);
    }
    if (pool.empty()) return "";
    std::uniform_real_distribution<double> u(0.0, 1.0);
    bool has_favourite = std::find(pool.begin(), pool.end(), favourite_) != pool.end();
    const double share = has_favourite ? model_registry().get(favourite_).search_lead_share : 0.0;
    std::string pick = has_favourite && u(rng_) < share ? favourite_ : pool[static_cast<std::size_t>(u(rng_) * pool.size()) % pool.size()];
    ++(*samples)[pick];
    return pick;
  }

  int add(TrialResult t) {
    t.id = static_cast<int>(result_.trials.size());
    result_.trials.push_back(std::move(t));
    TrialResult& added = result_.trials.back();
    if (added.usable() && (result_.best < 0 || ranks_above(added, result_.trials[result_.best], ev_.metric()))) {
      result_.best = added.id;
    }
    keep_top_predictions();
    drop_if_broken(added.family);
    if (cb_) cb_(added, result_.best >= 0 ? &result_.trials[result_.best] : nullptr);
    return added.id;
  }

  // A family whose trials failed twice with the same error and never trained is left
  // out of the rest of the search: its model cannot be made here (a network whose
  // module cannot be loaded failed every one of its trials, and took their places).
  void drop_if_broken(const std::string& family) {
    if (!supported(family)) return;
    std::map<std::string, int> errors;
    int most = 0;
    for (const auto& t : result_.trials) {
      if (t.family != family) continue;
      if (t.status != TrialStatus::kFailed || t.stop != StopReason::kError) {
        if (t.status != TrialStatus::kFailed) return;  // it trained, or the deadline stopped it
        continue;
      }
      most = std::max(most, ++errors[t.reason]);
    }
    if (most < 2) return;
    families_.erase(std::find(families_.begin(), families_.end(), family));
    if (std::find(result_.left_out.begin(), result_.left_out.end(), family) == result_.left_out.end()) {
      result_.left_out.push_back(family);
    }
    if (favourite_ == family) favourite_.clear();
  }

  // Out-of-fold predictions stay with the top keep_predictions trials by score and
  // the best trial of each family: the ensemble's candidates, in bounded memory.
  void keep_top_predictions() {
    std::vector<int> with;
    for (auto& t : result_.trials) {
      if (t.oof && !t.usable()) t.oof.reset();
      if (t.oof) with.push_back(t.id);
    }
    const auto limit = static_cast<std::size_t>(std::max(0, opt_.keep_predictions));
    if (with.size() > limit) {
      std::stable_sort(with.begin(), with.end(), [&](int a, int b) {
        return metric_better(ev_.metric(), result_.trials[a].score, result_.trials[b].score);
      });
      std::vector<std::string> families_seen;
      for (std::size_t i = 0; i < with.size(); ++i) {
        TrialResult& t = result_.trials[with[i]];
        const bool first_of_family =
            std::find(families_seen.begin(), families_seen.end(), t.family) == families_seen.end();
        if (first_of_family) families_seen.push_back(t.family);
        if (i >= limit && !first_of_family) t.oof.reset();
      }
    }
    // Fitted fold models stay with the best trial (the fallback when no time is left
    // to refit it) and with the ensemble's candidates (the same, for its members).
    for (auto& t : result_.trials) {
      if (t.id != result_.best && !t.oof && !(opt_.keep_fold_model && opt_.keep_fold_model(t.id))) release(&t);
    }
  }

  static void release(TrialResult* t) {
    t->fold_model.reset();
    t->fold_preprocessor.reset();
  }

  Evaluator& ev_;
  SearchOptions opt_;
  const TrialCallback& cb_;
  std::mt19937_64 rng_;
  std::vector<std::string> families_;
  // Families none of whose drawn settings could finish in the time left (run()): no more
  // random settings of theirs in this search.
  std::set<std::string> too_dear_;
  std::string favourite_;  // the family most random settings are drawn from (pick_family)
  std::map<std::string, std::vector<ParamSpec>> spaces_;  // search_space, by family
  std::size_t prep_turn_ = 0;  // the next non-design data-processing variant (random_setting)
  Clock::time_point asked_at_ = Clock::time_point::min();  // the deadline at_deadline last saw
  SearchResult result_;
};

}  // namespace

SearchResult run_search(Evaluator& evaluator, const SearchOptions& options, const TrialCallback& on_trial) {
  return Search(evaluator, options, on_trial).run();
}

SearchResult continue_search(Evaluator& evaluator, const SearchOptions& options, const TrialCallback& on_trial,
                             SearchResult so_far) {
  return Search(evaluator, options, on_trial, std::move(so_far)).run();
}

}  // namespace automl
