// The built-in planner: rules over the Data Card for assignment and preprocessing,
// the portfolio for first proposals, and a running estimate from the trials already
// finished for predicted training logs. It needs no network and no knowledge base.
#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "automl/calibration.h"
#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/params.h"
#include "automl/metrics.h"
#include "automl/planner.h"
#include "automl/requirements.h"
#include "builtin/network_plans.h"
#include "automl/strings.h"

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
      {"impute_mean", "missing numbers become the training mean"},
      {"impute_constant", "missing numbers become 0"},
      {"impute_most_frequent", "missing numbers become the training rows' most frequent value"},
      {"missing_indicator", "a 0/1 column marking where a number was missing"},
      {"standardize", "numbers scaled to mean 0 and standard deviation 1 on the training rows"},
      {"log_transform", "skewed numbers as log(1 + |x|) with the sign kept"},
      {"quantile_transform", "numbers replaced by their position among 101 training quantiles, in [0, 1]"},
      {"clip_outliers", "numbers clipped to the training rows' 1st and 99th percentiles"},
      {"category_codes", "categories as integer codes for native categorical splits; unseen levels are missing"},
      {"one_hot", "one 0/1 column per category (the 100 most frequent); unseen levels are all zeros"},
      {"ordinal_encoding", "categories as one number: the level's rank by name (codes: by value)"},
      {"frequency_encoding", "categories as one number: the level's share of the training rows"},
      {"target_encoding",
       "categories as one number: the mean target of the level's training rows, shrunk towards the overall mean "
       "(10 rows' worth), out-of-fold on the rows it is fitted on (regression and binary; multiclass: frequency)"},
      {"group_rare_levels", "levels with fewer than 10 training rows join one level, \"(rare)\", with unseen ones"},
      {"codes_as_categories",
       "integer columns that are codes (ids, types) read as categories: each value of the training rows a level, "
       "encoded as the family encodes categories; a value training never showed is missing. The search also tries "
       "the open integer columns (the Data Card's open_choice) all as numbers and all as categories"},
      {"drop_text", "free-text columns are left out (no text model in this family)"},
      {"tfidf", "free-text columns as TF-IDF word n-grams (tokenised, sublinear counts, unit-length rows)"},
      {"drop_identifier", "columns with a distinct value in almost every row are left out"},
      {"drop_constant", "columns with a single value in the training data are left out"},
      {"drop_column", "the columns are left out (a leak, or no use to the model)"},
      {"select_by_variance",
       "feature selection: a column is left out when one value (missing counts as one) holds more than 99.5% of the "
       "training rows"},
  };
  return v;
}

ColumnDesign column_design(const std::vector<PreprocessingStep>& steps) {
  ColumnDesign d;
  for (const auto& st : steps) {
    for (const auto& c : st.columns) {
      ColumnOps& o = d[c];
      const std::string& op = st.op;
      if (op.rfind("impute_", 0) == 0) {
        o.impute = op.substr(7);
      } else if (op == "missing_indicator") {
        o.missing_indicator = 1;
      } else if (op == "log_transform") {
        o.transform = "log";
      } else if (op == "quantile_transform") {
        o.transform = "quantile";
      } else if (op == "clip_outliers") {
        o.clip = true;
      } else if (op == "ordinal_encoding") {
        o.categories = "ordinal";
      } else if (op == "frequency_encoding") {
        o.categories = "frequency";
      } else if (op == "target_encoding") {
        o.categories = "target";
      } else if (op == "group_rare_levels") {
        o.rare_below = 10;
      } else if (op == "codes_as_categories") {
        o.codes = true;
      } else if (op == "select_by_variance") {
        o.drop_if_near_constant = true;
      } else if (op == "drop_identifier" || op == "drop_constant" || op == "drop_column") {
        o.drop = true;
        o.drop_reason = op;
      } else if (op != "keep_numeric" && op != "standardize" && op != "category_codes" && op != "one_hot" &&
                 op != "drop_text" && op != "tfidf") {
        throw_invalid("unknown data-processing operator \"" + op + "\"");
      }
    }
  }
  for (auto it = d.begin(); it != d.end();) it = it->second.is_default() ? d.erase(it) : std::next(it);
  return d;
}

std::string family_unusable_reason(const ModelEntry& family, const DataCard& card) {
  const auto n_text = static_cast<std::size_t>(std::count_if(
      card.columns.begin(), card.columns.end(), [](const ColumnProfile& c) { return c.type == ColumnType::kText; }));
  if (family.encoding == Encoding::kText && n_text == 0) return "reads free text, and the data has no text column";
  if (family.encoding == Encoding::kImage && card.image_channels == 0) {
    return "reads images (pixel_ROW_COL columns or an image folder), and the data is not one";
  }
  if (family.encoding != Encoding::kText && !family.baseline && n_text == card.columns.size()) {
    return "leaves free text out, and every feature column of the data is text";
  }
  return "";
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
  explicit BuiltinPlanner(std::shared_ptr<const KnowledgeBase> knowledge) : kb_(knowledge), calibration_(knowledge) {}

  std::string name() const override { return kb_ ? "builtin+knowledge" : "builtin"; }

  void set_limits(double max_model_mb, double max_predict_ms_per_row) override {
    limits_ = {max_model_mb, max_predict_ms_per_row};
  }

  nlohmann::json report() const override {
    if (!kb_) return nlohmann::json::object();
    nlohmann::json near = nlohmann::json::array();
    for (const auto& n : nearest_) {
      near.push_back({{"dataset", n.dataset->name}, {"distance", n.distance}, {"why", n.why}});
    }
    return {{"knowledge", {{"datasets", kb_->datasets.size()}, {"trials", kb_->n_trials()},
                           {"predictor_examples", calibration_.n_examples()},
                           {"nearest", near}}}};
  }

  // Whether a family other than the baseline and those with a row limit can run.
  static bool others_remain(const DataCard& card, const std::vector<const ModelEntry*>& candidates) {
    return std::any_of(candidates.begin(), candidates.end(), [&](const ModelEntry* e) {
      return e->supports(card.task) && !e->baseline && e->max_rows == 0;
    });
  }

  std::vector<ModelAssignment> assign_models(const DataCard& card,
                                             const std::vector<const ModelEntry*>& candidates) override {
    const double rows = card.meta_features.count("n_rows") ? card.meta_features.at("n_rows") : 0.0;
    std::vector<std::pair<int, ModelAssignment>> ranked;
    for (const auto* e : candidates) {
      if (!e->supports(card.task) || !family_unusable_reason(*e, card).empty()) continue;
      // A family with a row limit (its cost grows with rows^2) only up to it, unless
      // nothing else is left to run.
      if (e->max_rows > 0 && rows > static_cast<double>(e->max_rows) && others_remain(card, candidates)) continue;
      if (e->rank) {
        PlannerRank r = e->rank(card);
        ranked.push_back({r.rank, {e->name, r.why}});
      } else if (e->encoding == Encoding::kText) {
        auto texts = columns_of(card, ColumnType::kText);
        // The text families by their declared order, first where text is the main feature.
        bool main = card.modality == "text";
        ranked.push_back({(main ? 0 : 1) + e->text_rank,
                          {e->name, fmt::format("free text in {}: a text model reads it{}", join(texts, ", "),
                                                main ? " (the main feature)" : " beside the other columns")}});
      } else {
        PlannerRank r;
        ranked.push_back({r.rank, {e->name, r.why}});
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
    if (!best) return {};
    const std::string& step = model_registry().get(best->family).step_param;
    if (step.empty()) return {};
    double lr = best->params.value(step, 0.1);
    if (lr < 0.03 || best->seconds * 2.5 > seconds_left * 0.4) return {};
    refined_ = true;
    nlohmann::json params = best->params;
    params[step] = lr / 2;
    return {{best->family, params, fmt::format("trial {} at half the learning rate ({:.3g}): a slower, finer fit of the best "
                                            "setting so far", best->id, lr / 2)}};
  }

  std::vector<Proposal> propose(const DataCard& card, const std::vector<ModelAssignment>& families) override {
    std::vector<std::string> names;
    for (const auto& a : families) names.push_back(a.family);
    const auto rows = static_cast<std::size_t>(card.meta_features.count("n_rows") ? card.meta_features.at("n_rows") : 0);
    // Images, when a family that reads them is assigned: its architectures after the
    // cheap references, as the families' opening orders place them.
    const bool images = card.modality == "image" && std::any_of(families.begin(), families.end(), [](const auto& a) {
      return model_registry().get(a.family).encoding == Encoding::kImage;
    });
    PortfolioContext ctx;
    ctx.task = card.task;
    ctx.rows = rows;
    ctx.card = &card;
    ctx.images = images;
    ctx.limits = limits_;
    auto portfolio = family_portfolio(ctx, names);
    if (images) return portfolio;
    std::vector<std::string> warm_families;
    for (const auto& n : names) {
      if (model_registry().get(n).warm_start) warm_families.push_back(n);
    }
    if (!kb_ || warm_families.empty()) return portfolio;
    // Warm start: the best settings of the nearest known datasets, of the families
    // that declare it, go right after the first of their opening settings.
    nearest_ = nearest_datasets(*kb_, card, 3);
    std::vector<Proposal> warm;
    std::set<std::string> seen;
    for (const auto& p : portfolio) seen.insert(p.family + p.params.dump());
    for (const auto& n : nearest_) {
      const KnownDataset& d = *n.dataset;
      for (const auto& family : warm_families) {
        std::vector<const KnownTrial*> best;
        for (const auto* t : d.best_trials(d.trials.size(), family)) {
          if (!t->capped) best.push_back(t);  // a capped trial's setting was never run to its end
        }
        int taken = 0;
        for (const auto* t : best) {
          if (taken == (warm.empty() ? 2 : 1)) break;
          nlohmann::json params = t->params;
          try {
            validate_params(family, model_registry().get(family).params, params);
          } catch (const Error&) {
            continue;  // a setting from an older registry
          }
          if (!seen.insert(family + params.dump()).second) continue;
          warm.push_back({family, params, fmt::format("warm start: the best setting on {} (distance {:.2f}, {} {:.4f})",
                                                      d.name, n.distance, d.metric, t->score)});
          ++taken;
        }
      }
    }
    std::vector<Proposal> out;
    std::size_t i = 0;
    for (; i < portfolio.size(); ++i) {
      out.push_back(portfolio[i]);
      if (model_registry().get(portfolio[i].family).warm_start) {
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
    if (is_network_family(family)) {  // the running estimate, as a per-epoch curve
      PredictedLog p = running_estimate(card, family, params, history);
      add_epoch_curve(card, family, params, resource, history, &p);
      return p;
    }
    // The first trials (the constant, the first cheap models) do not wait for the learned
    // predictor while it learns in the background: on a 5 s budget that wait is the time
    // a first model needs. They get the running estimate, which the card sets on scale.
    const bool first_trials = history.size() < 3;
    if (first_trials && !calibration_.predictor_ready()) {
      PredictedLog p = running_estimate(card, family, params, history);
      p.basis += " (the learned predictor was still learning)";
      return p;
    }
    if (calibration_.predictor() && calibration_.known(family)) {
      LearnedLog l = calibration_.predict(card, family, params, resource, history);
      PredictedLog p;
      p.checkpoints = std::move(l.checkpoints);
      p.metric = std::move(l.metric);
      p.final_score = l.final_score;
      p.uncertainty = l.uncertainty;
      p.seconds = l.seconds;
      p.basis = std::move(l.basis);
      return p;
    }
    PredictedLog p = running_estimate(card, family, params, history);
    if (p.seconds <= 0) {
      const ModelEntry& e = model_registry().get(family);
      if (double s = e.cost_prior_seconds ? e.cost_prior_seconds(card, params) : 0.0; s > 0) {
        p.seconds = s;
        p.basis += fmt::format("; seconds from a rows^2 x features cost rule for {}", family);
      }
    }
    return p;
  }

 private:

  // Levels above which a one-hot family gets one number per category instead of one
  // column per level (the one-hot encoding keeps only 100).
  static constexpr std::size_t kOneHotMaxLevels = 30;

  static std::vector<PreprocessingStep> preprocessing_for(const DataCard& card, const ModelEntry& family) {
    auto nums = columns_of(card, ColumnType::kNumeric);
    auto cats = columns_of(card, ColumnType::kCategorical);
    auto texts = columns_of(card, ColumnType::kText);
    std::vector<PreprocessingStep> out;
    auto remove = [](std::vector<std::string>* from, const std::vector<std::string>& these) {
      from->erase(std::remove_if(from->begin(), from->end(),
                                 [&](const std::string& n) { return std::find(these.begin(), these.end(), n) != these.end(); }),
                  from->end());
    };
    const bool tabular = family.encoding == Encoding::kNative || family.encoding == Encoding::kOneHot;
    // Integer columns whose name reads like an identifier or a code start as categories
    // (the search tries the other way too); the rest of the open ones start as numbers.
    std::vector<std::string> codes;
    if (tabular) {
      for (const auto& c : card.columns) {
        if (c.open_kind == "codes" && c.id_like_name) codes.push_back(c.name);
      }
    }
    if (!codes.empty()) {
      out.push_back({"codes_as_categories", codes});
      remove(&nums, codes);
    }
    // A column with one value says nothing.
    std::vector<std::string> constant;
    for (const auto& c : card.columns) {
      if (c.type != ColumnType::kText && c.cardinality <= 1) constant.push_back(c.name);
    }
    if (!constant.empty()) {
      out.push_back({"drop_constant", constant});
      remove(&nums, constant);
      remove(&cats, constant);
    }
    if (family.encoding == Encoding::kNative) {
      if (!nums.empty()) out.push_back({"keep_numeric", nums});
      if (!cats.empty() || !codes.empty()) {
        std::vector<std::string> all = cats;
        all.insert(all.end(), codes.begin(), codes.end());
        out.push_back({"category_codes", all});
      }
    } else {
      std::vector<std::string> with_missing, skewed;
      for (const auto& c : card.columns) {
        if (std::find(nums.begin(), nums.end(), c.name) == nums.end()) continue;
        if (c.missing_share > 0) with_missing.push_back(c.name);
        // Counts and amounts with a long right tail (the Data Card's open choice "skewed"):
        // a linear model sees their logarithm; the search tries them as they are ("plain").
        if (c.open_kind == "skewed") skewed.push_back(c.name);
      }
      if (!nums.empty()) out.push_back({"impute_median", nums});
      if (!with_missing.empty()) out.push_back({"missing_indicator", with_missing});
      if (!skewed.empty()) out.push_back({"log_transform", skewed});
      if (!nums.empty()) out.push_back({"standardize", nums});
      // Many levels (codes included): one number per level instead of the 100 most frequent as columns.
      std::vector<std::string> few, many;
      for (const auto& c : card.columns) {
        const bool is_cat = std::find(cats.begin(), cats.end(), c.name) != cats.end();
        const bool is_code = std::find(codes.begin(), codes.end(), c.name) != codes.end();
        if (!is_cat && !is_code) continue;
        (c.cardinality > kOneHotMaxLevels ? many : few).push_back(c.name);
      }
      if (!few.empty()) out.push_back({"one_hot", few});
      if (!many.empty()) out.push_back({card.task == Task::kMulticlass ? "frequency_encoding" : "target_encoding", many});
    }
    if (!texts.empty()) out.push_back({family.encoding == Encoding::kText ? "tfidf" : "drop_text", texts});
    return out;
  }

  bool refined_ = false;
  ModelLimits limits_;
  std::shared_ptr<const KnowledgeBase> kb_;
  LogCalibration calibration_;
  std::vector<Neighbour> nearest_;

  // The share of the gap between the constant and a perfect score (for an error metric,
  // of the constant's error) that `family` closed on the nearest known datasets judged by
  // the same metric: the median over up to kNearest of them of the closest known setting
  // (the same setting when it ran there, else the family's median score). With the
  // number of datasets it comes from; 0 when the knowledge base has none.
  std::pair<double, int> known_gap_closed(const DataCard& card, const std::string& family, const nlohmann::json& params,
                                          bool bounded) const {
    constexpr std::size_t kNearest = 5;
    if (!kb_) return {0.0, 0};
    std::vector<double> shares;
    for (const auto& n : nearest_datasets(*kb_, card, kb_->datasets.size())) {
      const KnownDataset& d = *n.dataset;
      if (d.metric != card.metric) continue;
      std::vector<double> scores;
      double same = std::nan("");
      for (const auto& t : d.trials) {
        if (t.family != family || t.capped || t.status != TrialStatus::kFinished || !std::isfinite(t.score)) continue;
        scores.push_back(t.score);
        if (t.params == params) same = t.score;
      }
      if (scores.empty()) continue;
      std::sort(scores.begin(), scores.end());
      const double share = d.gap_closed(!std::isnan(same) ? same : scores[scores.size() / 2], bounded);
      if (std::isnan(share)) continue;
      shares.push_back(share);
      if (shares.size() == kNearest) break;
    }
    if (shares.empty()) return {0.0, 0};
    std::sort(shares.begin(), shares.end());
    const std::size_t m = shares.size();
    const double median = m % 2 ? shares[m / 2] : 0.5 * (shares[m / 2 - 1] + shares[m / 2]);
    return {median, static_cast<int>(m)};
  }

  // Without knowledge: the trials of the same family seen so far (their mean and
  // spread), else every finished trial, else the metric's neutral value.
  PredictedLog running_estimate(const DataCard& card, const std::string& family, const nlohmann::json& params,
                                const std::vector<TrialResult>& history) {
    PredictedLog p;
    std::vector<double> same, all, secs, iters;
    double baseline = std::nan("");
    for (const auto& t : history) {
      if (!t.usable() || t.sample_rows > 0) continue;
      if (is_baseline_family(t.family)) baseline = t.score;
      if (is_baseline_family(t.family)) continue;
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
    } else {
      // Nothing but the constant has finished: the constant scores its baseline (known, or
      // guessed from the card), and a model is expected to close about half of the gap to
      // a perfect score (or half of the baseline's error).
      const bool known_baseline = !std::isnan(baseline);
      const double b0 = known_baseline ? baseline : LogCalibration::baseline_guess(card);
      const bool bounded = info.name == "roc_auc" || info.name == "accuracy" || info.name == "macro_f1" || info.name == "r2";
      if (is_baseline_family(family)) {
        p.final_score = b0;
        p.uncertainty = std::abs(b0) * 0.1 + 0.01;
        p.basis = known_baseline ? "the constant's score" : "the constant's score, guessed from the Data Card";
      } else {
        const auto [closed, known_sets] = known_gap_closed(card, family, params, bounded);
        const double share = known_sets > 0 ? closed : 0.5;
        p.final_score = info.higher_is_better ? (bounded ? b0 + share * (1.0 - b0) : b0 + share * std::abs(b0))
                                              : (1.0 - share) * b0;
        p.uncertainty = 0.25 * std::abs(p.final_score - b0) + 0.01;
        p.basis = known_sets > 0
                      ? fmt::format("{:.2f} of the gap the constant leaves, as {} closed it on the {} nearest known "
                                    "datasets (nothing else finished yet)",
                                    share, family, known_sets)
                  : known_baseline ? "half of the gap the constant leaves (nothing else finished yet)"
                                   : "half of the gap the constant leaves, guessed from the Data Card";
      }
    }
    p.seconds = secs.empty() ? 0.0 : mean(secs);
    if (const ModelEntry& e = model_registry().get(family); e.resource_unit == ResourceUnit::kRounds) {
      // Rounds needed scale with 1 / the step size; the curve rises from the baseline
      // towards the final score, fast at first.
      double lr = params.value(e.step_param, 0.1);
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
