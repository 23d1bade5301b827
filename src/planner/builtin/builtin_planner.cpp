// The built-in planner: rules over the Data Card for assignment and preprocessing,
// the portfolio for first proposals, and a running estimate from the trials already
// finished for predicted training logs. It needs no network and no knowledge base.
#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/params.h"
#include "automl/metrics.h"
#include "automl/planner.h"
#include "automl/requirements.h"
#include "util/strings.h"

namespace automl {

nlohmann::json TaskSpec::to_json() const {
  return {{"name", name}, {"train", train}, {"test", test}, {"target", target}, {"card", card},
          {"metric", metric}, {"requirements", requirements}, {"budget_s", budget_s}};
}

std::vector<std::string> files_mentioned(const std::string& text) {
  static const std::regex file_re(R"([^\s"'`,;()<>]+\.(csv|tsv|txt))", std::regex::icase);
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), file_re); it != std::sregex_iterator(); ++it) {
    std::string f = it->str();
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  }
  return out;
}

nlohmann::json PredictedLog::to_json() const {
  return {{"checkpoints", checkpoints}, {"metric", metric}, {"final_score", final_score},
          {"uncertainty", uncertainty}, {"seconds", seconds}, {"basis", basis}};
}

const std::vector<std::pair<std::string, std::string>>& preprocessing_vocabulary() {
  static const std::vector<std::pair<std::string, std::string>> v = {
      {"keep_numeric", "numbers as they are; missing stays missing for the model to route"},
      {"impute_median", "missing numbers become the training median"},
      {"missing_indicator", "a 0/1 column marking where a number was missing"},
      {"standardize", "numbers scaled to mean 0 and standard deviation 1 on the training rows"},
      {"category_codes", "categories as integer codes for native categorical splits; unseen levels are missing"},
      {"one_hot", "one 0/1 column per category (the 100 most frequent); unseen levels are all zeros"},
      {"drop_text", "free-text columns are left out (no text model in this family)"},
      {"drop_identifier", "columns with a distinct value in almost every row are left out"},
  };
  return v;
}

namespace {

std::vector<std::string> columns_of(const DataCard& card, ColumnType type) {
  std::vector<std::string> out;
  for (const auto& c : card.columns) {
    if (c.type == type) out.push_back(c.name);
  }
  return out;
}

class BuiltinPlanner final : public Planner {
 public:
  explicit BuiltinPlanner(std::shared_ptr<const KnowledgeBase> knowledge) : kb_(std::move(knowledge)) {}

  std::string name() const override { return kb_ ? "builtin+knowledge" : "builtin"; }

  nlohmann::json report() const override {
    if (!kb_) return nlohmann::json::object();
    nlohmann::json near = nlohmann::json::array();
    for (const auto& n : nearest_) {
      near.push_back({{"dataset", n.dataset->name}, {"distance", n.distance}, {"why", n.why}});
    }
    return {{"knowledge", {{"datasets", kb_->datasets.size()}, {"trials", kb_->n_trials()},
                           {"predictor_examples", predictor_ ? predictor_->n_examples() : 0},
                           {"nearest", near}}}};
  }

  std::vector<ModelAssignment> assign_models(const DataCard& card,
                                             const std::vector<const ModelEntry*>& candidates) override {
    const double rows = card.meta_features.count("n_rows") ? card.meta_features.at("n_rows") : 0.0;
    const double width = card.meta_features.count("features_per_row") ? card.meta_features.at("features_per_row") : 0.0;
    std::vector<std::pair<int, ModelAssignment>> ranked;
    for (const auto* e : candidates) {
      if (!e->supports(card.task)) continue;
      if (e->name == "xgboost") {
        ranked.push_back({0, {e->name, "boosted trees handle mixed types, missing values and interactions; the usual "
                                       "best on tables"}});
      } else if (e->name == "linear") {
        bool small = rows < 2000 || width > 0.1;
        ranked.push_back({small ? 0 : 1, {e->name, small ? fmt::format("{:.0f} rows: a regularised linear model often "
                                                                       "wins on small or wide data", rows)
                                                         : "a fast, well-calibrated reference"}});
      } else if (e->name == "constant") {
        ranked.push_back({3, {e->name, "the baseline every model must beat"}});
      } else {
        ranked.push_back({2, {e->name, "registered family that supports the task"}});
      }
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<ModelAssignment> out;
    for (auto& [r, a] : ranked) out.push_back(a);
    return out;
  }

  // Sentences that name a data file start a task; the words around the file say
  // the target ("predict income") and the requirements ("ROC AUC", "within 30s");
  // sentences without a file add requirements to the task before them, or to
  // every task when they come first.
  std::vector<TaskSpec> decompose(const std::string& text,
                                  const std::map<std::string, std::vector<std::string>>& files) override {
    std::vector<std::string> sentences;
    std::string cur;
    for (std::size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      bool end = c == '\n' || (c == '.' && (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1]))));
      if (end) {
        sentences.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    sentences.push_back(cur);
    static const std::regex target_re(
        R"((?:predict|predicting|forecast|classify|target(?:\s+column)?(?:\s+is)?|label(?:\s+is)?)\s*[:=]?\s*(?:the\s+)?(?:column\s+)?["'`]?([A-Za-z0-9_.\-]+)["'`]?)",
        std::regex::icase);
    std::vector<TaskSpec> tasks;
    std::vector<std::string> shared;  // requirements stated before the first task
    auto keep_requirements = [](const std::string& sentence) {
      std::vector<std::string> kept;
      for (const auto& part : split_any(sentence, ",;")) {
        for (const auto& clause : split_words_on(part, {" with ", " and ", " in under ", " using "})) {
          std::string c = trim(clause);
          if (c.empty()) continue;
          Requirements r;
          try {
            r = parse_requirements(c);
          } catch (const Error&) {
            continue;  // a limit with an unreadable number: the run will say so if it is kept elsewhere
          }
          bool understood = r.unrecognised.empty() &&
                            (!r.metric.empty() || r.max_train_s > 0 || r.max_model_mb > 0 ||
                             r.max_predict_ms_per_row > 0 || r.explainable);
          if (understood) kept.push_back(c);
        }
      }
      return kept;
    };
    for (const auto& s : sentences) {
      // The files this sentence names, in the order it names them.
      std::vector<std::pair<std::size_t, std::string>> named;
      for (const auto& [f, cols] : files) {
        if (auto at = s.find(f); at != std::string::npos) named.push_back({at, f});
      }
      std::sort(named.begin(), named.end());
      std::string file = named.empty() ? std::string() : named[0].second;
      if (file.empty()) {
        auto r = keep_requirements(s);
        if (tasks.empty()) shared.insert(shared.end(), r.begin(), r.end());
        else if (!r.empty()) tasks.back().requirements += (tasks.back().requirements.empty() ? "" : "; ") + join(r, "; ");
        continue;
      }
      TaskSpec t;
      t.train = file;
      if (named.size() > 1) t.test = named[1].second;  // "train on a.csv, score on b.csv"
      std::string rest = s;
      for (const auto& [at, f] : named) {
        if (auto pos = rest.find(f); pos != std::string::npos) rest.erase(pos, f.size());
      }
      std::smatch m;
      if (std::regex_search(rest, m, target_re)) {
        t.target = m[1].str();
        while (!t.target.empty() && t.target.back() == '.') t.target.pop_back();
        rest.erase(static_cast<std::size_t>(m.position(0)), static_cast<std::size_t>(m.length(0)));
      }
      // The column as the file spells it, when the text differs only in case.
      for (const auto& c : files.at(file)) {
        if (c != t.target && edit_distance(c, t.target) == 0 && c.size() == t.target.size()) t.target = c;
      }
      auto r = keep_requirements(rest);
      r.insert(r.begin(), shared.begin(), shared.end());
      t.requirements = join(r, "; ");
      t.name = dataset_name_from_path(file);
      tasks.push_back(t);
    }
    std::set<std::string> seen;
    for (auto& t : tasks) {
      std::string base = t.name.empty() ? "task" : t.name;
      for (int k = 2; !seen.insert(t.name).second; ++k) t.name = fmt::format("{}-{}", base, k);
    }
    return tasks;
  }

  std::map<std::string, std::vector<PreprocessingStep>> design_preprocessing(
      const DataCard& card, const std::vector<ModelAssignment>& families) override {
    std::map<std::string, std::vector<PreprocessingStep>> out;
    for (const auto& a : families) out[a.family] = preprocessing_for(card, model_registry().get(a.family));
    return out;
  }

  // One refinement, once the search has a best boosted model: the same setting at
  // half the learning rate, which usually ends a little better with twice the
  // rounds, when that fits comfortably in the time left.
  std::vector<Proposal> refine(const DataCard& card, const std::vector<ModelAssignment>& families,
                               const std::vector<TrialResult>& history, double seconds_left) override {
    (void)families;
    if (refined_) return {};
    const TrialResult* best = nullptr;
    for (const auto& t : history) {
      if (t.usable() && (!best || metric_better(card.metric, t.score, best->score))) best = &t;
    }
    if (!best || best->family != "xgboost") return {};
    double lr = best->params.value("learning_rate", 0.1);
    if (lr < 0.03 || best->seconds * 2.5 > seconds_left * 0.4) return {};
    refined_ = true;
    nlohmann::json params = best->params;
    params["learning_rate"] = lr / 2;
    return {{"xgboost", params, fmt::format("trial {} at half the learning rate ({:.3g}): a slower, finer fit of the best "
                                            "setting so far", best->id, lr / 2)}};
  }

  std::vector<Proposal> propose(const DataCard& card, const std::vector<ModelAssignment>& families) override {
    std::vector<std::string> names;
    for (const auto& a : families) names.push_back(a.family);
    const auto rows = static_cast<std::size_t>(card.meta_features.count("n_rows") ? card.meta_features.at("n_rows") : 0);
    auto portfolio = default_portfolio(card.task, rows, names);
    if (!kb_ || std::find(names.begin(), names.end(), "xgboost") == names.end()) return portfolio;
    // Warm start: the best boosted settings of the nearest known datasets go right
    // after the cheap opening (baseline, linear models, XGBoost's defaults).
    nearest_ = nearest_datasets(*kb_, card, 3);
    std::vector<Proposal> warm;
    std::set<std::string> seen;
    for (const auto& p : portfolio) seen.insert(p.family + p.params.dump());
    for (const auto& n : nearest_) {
      const KnownDataset& d = *n.dataset;
      std::vector<const KnownTrial*> xgb;
      for (const auto* t : d.best_trials(d.trials.size(), "xgboost")) {
        if (!t->capped) xgb.push_back(t);  // a capped trial's setting was never run to its end
      }
      int taken = 0;
      for (const auto* t : xgb) {
        if (taken == (warm.empty() ? 2 : 1)) break;
        nlohmann::json params = t->params;
        try {
          validate_params("xgboost", model_registry().get("xgboost").params, params);
        } catch (const Error&) {
          continue;  // a setting from an older registry
        }
        if (!seen.insert("xgboost" + params.dump()).second) continue;
        warm.push_back({"xgboost", params, fmt::format("warm start: the best setting on {} (distance {:.2f}, {} {:.4f})",
                                                       d.name, n.distance, d.metric, t->score)});
        ++taken;
      }
    }
    std::vector<Proposal> out;
    std::size_t i = 0;
    for (; i < portfolio.size(); ++i) {
      out.push_back(portfolio[i]);
      if (portfolio[i].family == "xgboost") {
        ++i;
        break;
      }
    }
    out.insert(out.end(), warm.begin(), warm.end());
    out.insert(out.end(), portfolio.begin() + static_cast<std::ptrdiff_t>(i), portfolio.end());
    return out;
  }

  PredictedLog predict_log(const DataCard& card, const std::string& family, const nlohmann::json& params,
                           int resource, const std::vector<TrialResult>& history) override {
    if (const LogPredictor* brain = predictor()) return learned_log(*brain, card, family, params, resource, history);
    return running_estimate(card, family, params, history);
  }

 private:
  // The learned model's guess, put on this run's scale by the trials so far: the
  // relative score (0 = baseline, 1 = best known) becomes a score through the
  // baseline trial and a slope fitted to the finished trials; the family's mean
  // residual and an earlier run of the same setting (a successive-halving parent,
  // whose real log is this trial's partial curve) correct it.
  PredictedLog learned_log(const LogPredictor& brain, const DataCard& card, const std::string& family,
                           const nlohmann::json& params, int resource, const std::vector<TrialResult>& history) {
    const auto& info = metric_info(card.metric);
    const LogPredictor::Guess g = brain.guess(card, family, params, resource);
    double s0 = std::nan("");
    std::vector<double> r, y, speed;
    std::vector<const TrialResult*> pts;
    for (const auto& t : history) {
      if (!t.usable()) continue;
      if (t.family == "constant") {
        s0 = t.score;
        continue;
      }
      auto it = rel_cache_.find(t.id);
      if (it == rel_cache_.end()) {
        auto gt = brain.guess(card, t.family, t.params, t.resource);
        it = rel_cache_.emplace(t.id, std::make_pair(gt.relative, gt.log_seconds)).first;
      }
      r.push_back(it->second.first);
      y.push_back(t.score);
      pts.push_back(&t);
      speed.push_back(t.seconds / std::exp(it->second.second));
    }
    const bool bounded = info.name == "roc_auc" || info.name == "accuracy" || info.name == "macro_f1";
    double a = !std::isnan(s0) ? s0 : info.name == "roc_auc" ? 0.5 : info.name == "r2" ? 0.0 : y.empty() ? 0.5 : y[0];
    double prior_b = bounded ? 0.8 * (1.0 - a) : info.name == "r2" ? 0.7 : -0.5 * std::abs(a);
    // The slope through the baseline, shrunk towards the prior while points are few.
    double num = 0.5 * prior_b, den = 0.5;
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
      double sxy = 0, sxx = 0.05 * 0.05 * static_cast<double>(r.size());  // a little ridge on the slope
      for (std::size_t i = 0; i < r.size(); ++i) {
        sxy += (r[i] - mr) * (y[i] - my);
        sxx += (r[i] - mr) * (r[i] - mr);
      }
      b = sxy / sxx;
      a = my - b * mr;
    }
    // What this run has taught so far: the residuals of finished trials of the same
    // family, weighted by how close their settings are (a kernel over the declared
    // tuning ranges), shrunk towards zero while the evidence is thin.
    double resid_all = 0, resid_near = 0, weight_near = 0;
    const auto here = unit_params(family, params, resource);
    for (std::size_t i = 0; i < r.size(); ++i) {
      double e = y[i] - (a + b * r[i]);
      resid_all += e * e;
      if (pts[i]->family != family) continue;
      const auto there = unit_params(family, pts[i]->params, pts[i]->resource);
      double d2 = 0;
      for (std::size_t j = 0; j < here.size(); ++j) d2 += (here[j] - there[j]) * (here[j] - there[j]);
      double w = std::exp(-d2 / (2 * 0.3 * 0.3));
      resid_near += w * e;
      weight_near += w;
    }
    PredictedLog p;
    p.final_score = a + b * g.relative + resid_near / (weight_near + 1.0);
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
        p.final_score = t.score + b * (g.relative - rel_cache_.at(t.id).first);
        p.uncertainty = std::max(resid_sd * 0.5, std::abs(p.final_score - t.score));
        p.basis = fmt::format("trial {}'s curve at {} rounds, extended by the learned gain of more rounds", t.id, t.resource);
      }
      break;
    }
    if (bounded) p.final_score = std::clamp(p.final_score, 0.0, 1.0);
    std::sort(speed.begin(), speed.end());
    const double ratio = speed.empty() ? 3.0 : speed[speed.size() / 2];
    p.seconds = std::exp(g.log_seconds) * ratio;
    if (family == "xgboost") {
      const double lr = with_defaults(model_registry().get("xgboost").params, params).value("learning_rate", 0.3);
      double n = std::exp(g.log_iterations) + 20;
      if (resource > 0) n = std::min(n, static_cast<double>(resource));
      n = std::max(n, 5.0);
      const double start = a + brain.curve_start() * (p.final_score - a);
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

  // A setting as a point in the unit cube of its family's tuning ranges (log where
  // declared), with the round cap as one more axis.
  static std::vector<double> unit_params(const std::string& family, const nlohmann::json& params, int resource) {
    const ModelEntry& e = model_registry().get(family);
    const nlohmann::json full = with_defaults(e.params, params);
    std::vector<double> out;
    for (const auto& s : e.params) {
      if (!s.tuned || (s.type != ParamType::kInt && s.type != ParamType::kReal)) continue;
      double v = full.value(s.name, 0.0), lo = s.tune_lo, hi = s.tune_hi;
      if (s.log_scale) {
        v = std::log(std::max(v, 1e-12));
        lo = std::log(std::max(lo, 1e-12));
        hi = std::log(std::max(hi, 1e-12));
      }
      out.push_back(hi > lo ? (v - lo) / (hi - lo) : 0.0);
    }
    out.push_back(resource > 0 ? std::log(static_cast<double>(resource)) / std::log(2000.0) : 1.0);
    return out;
  }

  // Lazily, since learning takes a moment and a planner may never be asked.
  const LogPredictor* predictor() {
    if (!kb_ || predictor_failed_) return nullptr;
    if (!predictor_) {
      try {
        predictor_ = std::make_unique<LogPredictor>(*kb_);
      } catch (const Error&) {
        predictor_failed_ = true;  // an empty knowledge base: the running estimate answers
        return nullptr;
      }
    }
    return predictor_.get();
  }


  static std::vector<PreprocessingStep> preprocessing_for(const DataCard& card, const ModelEntry& family) {
    auto nums = columns_of(card, ColumnType::kNumeric);
    auto cats = columns_of(card, ColumnType::kCategorical);
    auto texts = columns_of(card, ColumnType::kText);
    std::vector<PreprocessingStep> out;
    if (family.encoding == Encoding::kNative) {
      if (!nums.empty()) out.push_back({"keep_numeric", nums});
      if (!cats.empty()) out.push_back({"category_codes", cats});
    } else {
      std::vector<std::string> with_missing;
      for (const auto& c : card.columns) {
        if (c.type == ColumnType::kNumeric && c.missing_share > 0) with_missing.push_back(c.name);
      }
      if (!nums.empty()) out.push_back({"impute_median", nums});
      if (!with_missing.empty()) out.push_back({"missing_indicator", with_missing});
      if (!nums.empty()) out.push_back({"standardize", nums});
      if (!cats.empty()) out.push_back({"one_hot", cats});
    }
    if (!texts.empty()) out.push_back({"drop_text", texts});
    return out;
  }

  bool refined_ = false;
  std::shared_ptr<const KnowledgeBase> kb_;
  std::unique_ptr<LogPredictor> predictor_;
  bool predictor_failed_ = false;
  std::vector<Neighbour> nearest_;
  std::map<int, std::pair<double, double>> rel_cache_;  // trial id -> (relative, log seconds) guesses

  // Without knowledge: the trials of the same family seen so far (their mean and
  // spread), else every finished trial, else the metric's neutral value.
  PredictedLog running_estimate(const DataCard& card, const std::string& family, const nlohmann::json& params,
                                const std::vector<TrialResult>& history) {
    PredictedLog p;
    std::vector<double> same, all, secs, iters;
    double baseline = std::nan("");
    for (const auto& t : history) {
      if (!t.usable()) continue;
      if (t.family == "constant") baseline = t.score;
      if (t.family == "constant") continue;
      all.push_back(t.score);
      if (t.family == family) {
        same.push_back(t.score);
        secs.push_back(t.seconds);
        if (t.iterations > 0) iters.push_back(t.iterations * t.params.value("learning_rate", 0.1));
      }
    }
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
    };
    auto spread = [&](const std::vector<double>& v) {
      double m = mean(v), s = 0;
      for (double x : v) s += (x - m) * (x - m);
      return v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : std::nan("");
    };
    const auto& info = metric_info(card.metric);
    if (same.size() >= 2) {
      p.final_score = mean(same);
      p.uncertainty = spread(same);
      p.basis = fmt::format("mean of {} finished {} trials", same.size(), family);
    } else if (!all.empty()) {
      p.final_score = mean(all);
      p.uncertainty = all.size() > 1 ? spread(all) * 1.5 : std::abs(p.final_score) * 0.1;
      p.basis = fmt::format("mean of {} finished trials of any family", all.size());
    } else if (!std::isnan(baseline)) {
      p.final_score = baseline;
      p.uncertainty = std::abs(baseline) * 0.2 + 0.05;
      p.basis = "the constant baseline (nothing else finished yet)";
    } else {
      p.final_score = info.name == "roc_auc" ? 0.5 : info.higher_is_better ? 0.5 : 1.0;
      p.uncertainty = 0.5;
      p.basis = "no trial finished yet: a neutral prior";
    }
    p.seconds = secs.empty() ? 0.0 : mean(secs);
    if (family == "xgboost") {
      // Rounds needed scale with 1 / learning rate; the curve rises from the baseline
      // towards the final score, fast at first.
      double lr = params.value("learning_rate", 0.1);
      double budget_rounds = iters.empty() ? 20.0 : mean(iters);
      int n = std::max(5, static_cast<int>(std::lround(budget_rounds / std::max(lr, 1e-4))));
      double start = std::isnan(baseline) ? p.final_score : baseline;
      for (double frac : {0.1, 0.25, 0.5, 1.0}) {
        int it = std::max(1, static_cast<int>(std::lround(frac * n)));
        p.checkpoints.push_back(it);
        p.metric.push_back(start + (p.final_score - start) * (1.0 - std::exp(-4.0 * frac)) / (1.0 - std::exp(-4.0)));
      }
    }
    return p;
  }
};

}  // namespace

std::unique_ptr<Planner> make_builtin_planner(std::shared_ptr<const KnowledgeBase> knowledge) {
  return std::make_unique<BuiltinPlanner>(std::move(knowledge));
}

}  // namespace automl
