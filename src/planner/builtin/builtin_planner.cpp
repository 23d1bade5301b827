// The built-in planner: rules over the Data Card for assignment and preprocessing,
// the portfolio for first proposals, and a running estimate from the trials already
// finished for predicted training logs. It needs no network and no knowledge base.
#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>
#include <set>

#include <Eigen/Dense>
#include <fmt/format.h>

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
  if (family.encoding != Encoding::kText && family.name != "constant" && n_text == card.columns.size()) {
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
  explicit BuiltinPlanner(std::shared_ptr<const KnowledgeBase> knowledge) : kb_(std::move(knowledge)) {}

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
                           {"predictor_examples", predictor_ ? predictor_->n_examples() : 0},
                           {"nearest", near}}}};
  }

  // Whether a family other than the baseline and the small-table ones can run.
  static bool others_remain(const DataCard& card, const std::vector<const ModelEntry*>& candidates) {
    return std::any_of(candidates.begin(), candidates.end(), [&](const ModelEntry* e) {
      return e->supports(card.task) && e->name != "constant" && e->name != "knn" && e->name != "svm";
    });
  }

  std::vector<ModelAssignment> assign_models(const DataCard& card,
                                             const std::vector<const ModelEntry*>& candidates) override {
    const double rows = card.meta_features.count("n_rows") ? card.meta_features.at("n_rows") : 0.0;
    const double width = card.meta_features.count("features_per_row") ? card.meta_features.at("features_per_row") : 0.0;
    std::vector<std::pair<int, ModelAssignment>> ranked;
    for (const auto* e : candidates) {
      if (!e->supports(card.task) || !family_unusable_reason(*e, card).empty()) continue;
      if (e->encoding == Encoding::kText) {
        auto texts = columns_of(card, ColumnType::kText);
        // TF-IDF + a linear model first: fast, and the one to beat on text.
        bool main = card.modality == "text";
        int rank = (main ? 0 : 1) + (e->name == "tfidf_linear" ? 0 : 1);
        ranked.push_back({rank, {e->name, fmt::format("free text in {}: a text model reads it{}", join(texts, ", "),
                                                              main ? " (the main feature)" : " beside the other columns")}});
      } else if (e->name == "xgboost") {
        ranked.push_back({0, {e->name, "boosted trees handle mixed types, missing values and interactions; the usual "
                                       "best on tables"}});
      } else if (e->name == "linear") {
        bool small = rows < 2000 || width > 0.1;
        ranked.push_back({small ? 0 : 1, {e->name, small ? fmt::format("{:.0f} rows: a regularised linear model often "
                                                                       "wins on small or wide data", rows)
                                                         : "a fast, well-calibrated reference"}});
      } else if (e->name == "knn" || e->name == "svm") {
        // Small tables only: kNN keeps and scans every training row, an SVM trains in
        // time growing with rows^2 (unless nothing else is left to run).
        if (rows > kSmallTableRows && others_remain(card, candidates)) continue;
        ranked.push_back({1, {e->name, fmt::format("{:.0f} rows (up to {}): {}", rows, kSmallTableRows,
                                                   e->name == "knn" ? "a local, non-linear reference that is cheap here"
                                                                    : "kernel SVMs are often strong on small, dense tables")}});
      } else if (e->encoding == Encoding::kImage) {
        ranked.push_back({-1, {e->name, fmt::format("{}x{} images with {} channel{}: a convolutional network learns "
                                                    "strokes and shapes wherever they sit",
                                                    card.image_height, card.image_width, card.image_channels,
                                                    card.image_channels == 1 ? "" : "s")}});
      } else if (e->name == "mlp") {
        ranked.push_back({card.modality == "tabular" ? 1 : 2,
                          {e->name, "a neural network: smooth interactions between standardised features"}});
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
    // Images: the CNN's architectures first, a linear model and XGBoost as cheaper alternatives.
    if (card.modality == "image" && std::find(names.begin(), names.end(), "cnn") != names.end()) {
      return image_portfolio(card, names, limits_);
    }
    auto portfolio = default_portfolio(card.task, rows, names);
    {  // The networks' first architectures: early for text, after the tabular opening otherwise.
      auto nets = network_proposals(card, names, limits_);
      auto at = card.modality == "text" ? portfolio.begin() + std::min<std::ptrdiff_t>(2, std::ssize(portfolio))
                                        : portfolio.end();
      portfolio.insert(at, nets.begin(), nets.end());
    }
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
    if (is_network_family(family)) {  // the running estimate, as a per-epoch curve
      PredictedLog p = running_estimate(card, family, params, history);
      add_epoch_curve(card, family, params, resource, history, &p);
      return p;
    }
    const LogPredictor* brain = predictor();
    if (brain && known(family)) return learned_log(*brain, card, family, params, resource, history);
    PredictedLog p = running_estimate(card, family, params, history);
    if (p.seconds <= 0) {
      if (double s = cost_prior_seconds(card, family, params); s > 0) {
        p.seconds = s;
        p.basis += fmt::format("; seconds from a rows^2 x features cost rule for {}", family);
      }
    }
    return p;
  }

 private:
  // The learned model's guess, put on this run's scale by the trials so far: the
  // relative score (0 = baseline, 1 = best known) becomes a score through the
  // baseline trial and a line fitted to the finished trials; the family's own
  // offset and slope on that line (family_lines), the residuals of nearby settings
  // (residual_correction) and an earlier run of the same setting (a
  // successive-halving parent, whose real log is this trial's partial curve)
  // correct it.
  PredictedLog learned_log(const LogPredictor& brain, const DataCard& card, const std::string& family,
                           const nlohmann::json& params, int resource, const std::vector<TrialResult>& history) {
    const auto& info = metric_info(card.metric);
    const LogPredictor::Guess g = brain.guess(card, family, params, resource);
    double s0 = std::nan("");
    std::vector<double> r, r_sd, y, speed;
    std::vector<const TrialResult*> pts;
    for (const auto& t : history) {
      if (!t.usable() || t.sample_rows > 0) continue;  // the run's scale comes from trials on all rows
      if (t.family == "constant") {
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
      if (!t.deadline_stopped) speed.push_back(t.seconds / std::exp(it->second.log_seconds));
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
    auto line = [&](const std::string& f, double guess) {
      double v = a + b * guess;
      if (auto it = lines.find(f); it != lines.end()) v += it->second.offset + it->second.slope * (guess - it->second.mean_rel);
      return v;
    };
    double resid_all = 0;
    std::vector<double> resid(r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      resid[i] = y[i] - line(pts[i]->family, r[i]);
      resid_all += resid[i] * resid[i];
    }
    const double correction = residual_correction(family, params, resource, pts, clipped(resid));
    PredictedLog p;
    p.final_score = line(family, rel) + correction;
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
    const double ratio = speed.empty() ? 3.0 : speed[speed.size() / 2];
    p.seconds = std::exp(g.log_seconds) * ratio;
    if (family == "xgboost") {
      const double lr = with_defaults(model_registry().get("xgboost").params, params).value("learning_rate", 0.3);
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

  // The share of the way from the baseline to the final score that a boosted
  // model's first round already reaches: the knowledge base's average, worth two
  // curves, and the curves this run's finished boosted trials drew on its metric
  // (the first round of an easy dataset is already most of the way up).
  static double curve_start(const LogPredictor& brain, const DataCard& card, const std::vector<TrialResult>& history,
                            double baseline) {
    double sum = 2 * brain.curve_start(), n = 2;
    for (const auto& t : history) {
      if (t.family != "xgboost" || !t.usable() || t.sample_rows > 0 || std::abs(t.score - baseline) < 1e-12) continue;
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
      double h = info.higher_is_better ? (d.best - d.baseline) / (1.0 - d.baseline)
                                       : (d.baseline - d.best) / std::abs(d.baseline);
      if (!std::isfinite(h)) continue;
      sum += std::clamp(h, 0.0, 1.0);
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
  // deviations (1.4826 x the median absolute residual) of zero. A setting the
  // learned model badly misjudged (a huge minimum leaf weight it thinks fatal on a
  // table where it is not) leaves a residual many times the others; unclipped, the
  // process spreads it over its neighbours and lifts every nearby setting past the
  // real scores. The run's line and the family's line still see the full residuals.
  static std::vector<double> clipped(std::vector<double> resid) {
    if (resid.size() < 5) return resid;
    std::vector<double> size;
    for (double e : resid) size.push_back(std::abs(e));
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
  // The fit is cached until a trial finishes.
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
          for (Eigen::Index j = 0; j <= i; ++j) k(i, j) = k(j, i) = kernel(fit.x[i], fit.x[j], length);
        }
        k.diagonal().array() += noise;
        return k;
      };
      if (n >= 8 && (fit.selected_at == 0 || static_cast<double>(n) >= 1.2 * static_cast<double>(fit.selected_at))) {
        double best = std::numeric_limits<double>::infinity();
        for (double length : {0.1, 0.2, 0.35, 0.6}) {
          for (double noise : {0.1, 0.3, 1.0, 3.0}) {
            const Eigen::MatrixXd inv = gram(length, noise).ldlt().solve(Eigen::MatrixXd::Identity(n, n));
            const Eigen::VectorXd alpha = inv * ev;
            double err = 0;
            for (Eigen::Index i = 0; i < n; ++i) err += std::pow(alpha(i) / inv(i, i), 2);
            if (err < best) {
              best = err;
              fit.length = length;
              fit.noise = noise;
            }
          }
        }
        fit.selected_at = static_cast<std::size_t>(n);
      }
      if (n >= 3) fit.alpha = gram(fit.length, fit.noise).ldlt().solve(ev);
    }
    if (fit.alpha.size() == 0) return 0.0;
    const auto here = unit_params(family, params, resource);
    double m = 0;
    for (Eigen::Index i = 0; i < fit.alpha.size(); ++i) m += kernel(here, fit.x[i], fit.length) * fit.alpha(i);
    return m;
  }

  // Squared exponential; the length is per axis in units of the tuning range,
  // scaled by sqrt(axes) so it means the same for families of different sizes.
  static double kernel(const std::vector<double>& u, const std::vector<double>& v, double length) {
    double d2 = 0;
    for (std::size_t j = 0; j < u.size(); ++j) d2 += (u[j] - v[j]) * (u[j] - v[j]);
    return std::exp(-d2 / (2 * length * length * static_cast<double>(u.size())));
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

  // Whether the knowledge base holds trials of `family`: only then can the learned
  // predictor tell it apart (a family new since the last `learn` gets the running estimate).
  bool known(const std::string& family) {
    if (!kb_) return false;
    if (known_families_.empty()) {
      known_families_.insert("constant");
      for (const auto& d : kb_->datasets) {
        for (const auto& t : d.trials) known_families_.insert(t.family);
      }
    }
    return known_families_.count(family) > 0;
  }

  // Seconds a whole trial of a small-table family takes before any of its trials has
  // finished, from the Data Card (0 = no rule for this family). Per fit, kNN compares
  // every validation row with every training row; libsvm's SMO evaluates on the order
  // of rows^2 kernels (more with a larger C), six times over with class probabilities
  // (five internal folds for Platt scaling). Folds as make_validation_plan chooses
  // them, two side by side.
  static double cost_prior_seconds(const DataCard& card, const std::string& family, const nlohmann::json& params) {
    if (family != "knn" && family != "svm") return 0;
    const double n = card.meta_features.count("n_rows") ? card.meta_features.at("n_rows") : 0.0;
    double d = 1;
    for (const auto& c : card.columns) {
      if (c.type == ColumnType::kNumeric) d += 1;
      if (c.type == ColumnType::kCategorical) d += std::min<double>(100.0, static_cast<double>(c.cardinality));
    }
    const double fits = n <= 1000 ? 10 : n <= 3000 ? 5 : n <= 10000 ? 3 : 1;
    const double train = std::min(n * 0.8, family == "svm" ? 10000.0 : n * 0.8), valid = n * 0.2;
    double per_fit;
    if (family == "knn") {
      per_fit = train * valid * d * 1.5e-9;
    } else {
      const auto full = with_defaults(model_registry().get("svm").params, params);
      const double c = full.value("C", 1.0);
      per_fit = (is_classification(card.task) ? 6.0 : 1.0) * train * train * d * 4e-9 *
                (1.0 + 0.3 * std::log(std::max(c, 1.0)));
    }
    return 0.01 + per_fit * fits / 2.0;
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
  std::unique_ptr<LogPredictor> predictor_;
  bool predictor_failed_ = false;
  std::vector<Neighbour> nearest_;
  struct CachedGuess {
    double relative, relative_sd, log_seconds;
  };
  std::map<int, CachedGuess> rel_cache_;  // trial id -> the learned guesses for its setting
  std::set<std::string> known_families_;  // families with trials in the knowledge base
  struct ResidualFit {
    std::size_t n_points = static_cast<std::size_t>(-1);  // finished trials the fit saw
    std::size_t selected_at = 0;                           // points when length and noise were chosen
    double length = 0.3, noise = 0.3;                      // until enough points choose them
    std::vector<std::vector<double>> x;
    Eigen::VectorXd alpha;
  };
  std::map<std::string, ResidualFit> residual_fits_;  // by family
  double headroom_ = std::nan("");

  // Without knowledge: the trials of the same family seen so far (their mean and
  // spread), else every finished trial, else the metric's neutral value.
  PredictedLog running_estimate(const DataCard& card, const std::string& family, const nlohmann::json& params,
                                const std::vector<TrialResult>& history) {
    PredictedLog p;
    std::vector<double> same, all, secs, iters;
    double baseline = std::nan("");
    for (const auto& t : history) {
      if (!t.usable() || t.sample_rows > 0) continue;
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
