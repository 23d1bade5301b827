// The offline brain's memory: experience from past runs (each dataset's Data Card
// meta-features and words, and every trial with its setting, real log, score and
// time), similarity between data cards, and a model learned from the experience
// that predicts a setting's training log before it runs.
//
//   KnowledgeBase kb = KnowledgeBase::load(default_knowledge_path());
//   auto near = nearest_datasets(kb, card, 3);                 // warm-start sources, with reasons
//   LogPredictor brain(kb.without(card.name));                  // leave-one-dataset-out when asked
//   LogPredictor::Guess g = brain.guess(card, family, params, 222);
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/model.h"
#include "automl/trial.h"

namespace automl {

class RunStore;

struct KnownTrial {
  std::string family;
  nlohmann::json params;
  int resource = -1;           // boosting-round cap (-1 = early stopping only)
  TrialStatus status = TrialStatus::kFinished;  // the file keeps to_string(status)
  double score = 0;            // validation score in the dataset's metric
  double seconds_per_fit = 0;
  double iterations = 0;       // rounds kept (boosting)
  bool capped = false;
  std::string curve_metric;    // the executor's log metric (auc, logloss, rmse, ...)
  std::vector<std::pair<int, double>> curve;  // (iteration, validation value), first fold, thinned
};

struct KnownDataset {
  std::string name, task, metric;
  std::map<std::string, double> meta;  // the Data Card's meta-features
  std::vector<std::string> words;      // from the name, description and column names
  double baseline = 0;                 // the constant model's score
  double best = 0;                     // the best trial's score
  std::vector<KnownTrial> trials;

  // Where a score sits between the baseline (0) and the best known (1).
  double relative(double score) const;
  // The share, in [0, 1], of what the baseline leaves to gain that `score` reaches: of the
  // way to a perfect 1 for a higher-is-better metric bounded there, else of the baseline's
  // size (an error removed). NaN when the baseline leaves nothing to gain.
  double gap_closed(double score, bool bounded = true) const;
  // Up to k trials, best first by the dataset's metric; of one family when given.
  std::vector<const KnownTrial*> best_trials(std::size_t k, const std::string& family = "") const;
  nlohmann::json to_json() const;
  static KnownDataset from_json(const nlohmann::json& j);
};

class KnowledgeBase {
 public:
  std::vector<KnownDataset> datasets;
  nlohmann::json built;  // how it was made (command, budget, date)

  // Missing or unreadable: kNotFound / kInvalidInput naming the file.
  static KnowledgeBase load(const std::filesystem::path& path);
  void save(const std::filesystem::path& path) const;
  // The same knowledge without one dataset (leave-one-dataset-out).
  KnowledgeBase without(const std::string& name) const;
  // Adds or replaces a dataset's experience (by name: several runs are merged).
  void add(KnownDataset d);
  std::size_t n_trials() const;
};

// $AUTOML_GPT_KNOWLEDGE, else the knowledge base shipped in share/knowledge/.
std::filesystem::path default_knowledge_path();

// Words of a Data Card: name, description and column names, lower-cased, split at
// anything that is not a letter or digit; short and numeric tokens dropped.
std::vector<std::string> card_words(const DataCard& card);

// A run's experience from the run store: its Data Card and every trial with its
// first fold's validation curve.
KnownDataset experience_from_store(RunStore& store, const std::string& run_id);

struct Neighbour {
  const KnownDataset* dataset = nullptr;
  double distance = 0;
  std::vector<std::string> why;  // the closest and farthest meta-features, shared words
};

// The k known datasets nearest to `card`: meta-features (scaled), task and words.
std::vector<Neighbour> nearest_datasets(const KnowledgeBase& kb, const DataCard& card, std::size_t k);

// Learned from the experience: for a dataset's meta-features, a family and a setting,
// the relative score (0 = baseline, 1 = the dataset's best), the seconds per fit and
// the boosting rounds early stopping will keep, each with an uncertainty (the spread
// of a small bagged ensemble of boosted trees), and the shape of the validation curve.
class LogPredictor {
 public:
  explicit LogPredictor(const KnowledgeBase& kb, uint64_t seed = 0);
  ~LogPredictor();
  LogPredictor(const LogPredictor&) = delete;
  LogPredictor& operator=(const LogPredictor&) = delete;

  struct Guess {
    double relative = 0, relative_sd = 0;
    double log_seconds = 0, log_seconds_sd = 0;  // natural log of seconds per fit
    double log_iterations = 0;                   // natural log of rounds kept (boosting)
  };
  Guess guess(const DataCard& card, const std::string& family, const nlohmann::json& params, int resource) const;
  // Share of a curve's total improvement reached after `iteration` rounds at `learning_rate`.
  double curve_progress(double iteration, double learning_rate) const;
  // Share of the improvement from the baseline that the first round already has.
  double curve_start() const { return curve_start_; }
  std::size_t n_examples() const { return n_examples_; }

 private:
  std::vector<float> features(const std::map<std::string, double>& meta, const std::string& task,
                              const std::string& family, const nlohmann::json& params, int resource) const;
  std::vector<std::string> feature_names_;
  std::vector<std::shared_ptr<Model>> relative_, seconds_, iterations_;
  std::vector<double> progress_;  // by bin of log(iteration * learning rate)
  double curve_start_ = 0.5;
  std::size_t n_examples_ = 0;
};

// log_on_metric_scale (automl/model.h) tells whether a trial's curve reads on the
// run metric's scale, from the metric names the families declare.

}  // namespace automl
