// The learned training-log predictor, put on one run's scale. The predictor guesses
// a setting's relative score (0 = baseline, 1 = the best known) from the knowledge
// base; the calibration turns that into a score on this run's metric through the
// trials finished so far: a line through the baseline fitted to them, each family's
// own offset and slope on it, a Gaussian process over the residuals of nearby
// settings, and an earlier run of the same setting. The built-in planner asks it for
// every family the knowledge base knows.
//
//   LogCalibration calib(knowledge);
//   if (calib.predictor() && calib.known("some_family")) {
//     LearnedLog l = calib.predict(card, "some_family", params, resource, history);
//   }
#pragma once

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/knowledge.h"
#include "automl/trial.h"

namespace automl {

// A predicted training log: the score at each checkpoint (iterations; empty where
// the family draws no curve), the final score, its uncertainty (one standard
// deviation), the seconds and what the guess rests on.
struct LearnedLog {
  std::vector<int> checkpoints;
  std::vector<double> metric;
  double final_score = 0, uncertainty = 0, seconds = 0;
  std::string basis;
};

// Learning started by learn_predictor_in_background. Its owner keeps it while the run
// lasts; destroying it waits for the learning to end (a thread must not run on into the
// program's exit) and forgets a predictor nobody took.
class BackgroundLearning {
 public:
  BackgroundLearning() = default;
  ~BackgroundLearning();
  BackgroundLearning(BackgroundLearning&& other) noexcept
      : learning_(std::move(other.learning_)), key_(std::exchange(other.key_, nullptr)) {}
  BackgroundLearning& operator=(BackgroundLearning&& other) noexcept;
  BackgroundLearning(const BackgroundLearning&) = delete;
  BackgroundLearning& operator=(const BackgroundLearning&) = delete;

 private:
  friend BackgroundLearning learn_predictor_in_background(const std::shared_ptr<const KnowledgeBase>&);
  void finish() noexcept;
  std::shared_ptr<std::shared_future<std::shared_ptr<const LogPredictor>>> learning_;
  const KnowledgeBase* key_ = nullptr;
};

// Starts learning the predictor for `knowledge` on a thread of its own, so that a run
// reads its data meanwhile (learning takes about a second on two busy cores, which a
// short budget cannot spare before its first model). A LogCalibration over the same
// knowledge base object then waits for that predictor instead of learning its own.
// Learning errors surface where the predictor is first asked for, as without it.
[[nodiscard]] BackgroundLearning learn_predictor_in_background(const std::shared_ptr<const KnowledgeBase>& knowledge);

class LogCalibration {
 public:
  explicit LogCalibration(std::shared_ptr<const KnowledgeBase> knowledge);
  ~LogCalibration();
  LogCalibration(const LogCalibration&) = delete;
  LogCalibration& operator=(const LogCalibration&) = delete;

  // The learned predictor, built on first use since learning takes a moment (or the
  // one learn_predictor_in_background started for this knowledge base); null
  // without a knowledge base, or when it holds nothing to learn from.
  const LogPredictor* predictor();
  // False while the predictor learn_predictor_in_background started for this knowledge
  // base is still learning (predictor() would wait for it); true otherwise.
  bool predictor_ready();
  // The score the constant model will get, from the Data Card alone (the class shares,
  // the target's spread): what the baseline is before it has run.
  static double baseline_guess(const DataCard& card);
  // Whether the knowledge base holds trials of `family` (a baseline always counts):
  // only then can the learned predictor tell it apart.
  bool known(const std::string& family);
  // Examples the predictor learned from (0 until it is built, or without one).
  std::size_t n_examples() const;
  // The calibrated guess; needs predictor() and known(family). The history is the
  // run's trials so far; fits are cached between calls until a trial finishes.
  LearnedLog predict(const DataCard& card, const std::string& family, const nlohmann::json& params, int resource,
                     const std::vector<TrialResult>& history);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace automl
