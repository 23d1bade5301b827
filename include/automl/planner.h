// The planner answers the stages of the article: which model families suit the
// task (in-context task-model assignment), how to prepare the data for each,
// which settings to try first, and what training log each setting will produce
// before it is trained. The built-in planner answers offline; an LLM planner is to
// answer the same questions with the same types.
//
//   auto planner = make_builtin_planner();
//   auto families = planner->assign_models(card, candidates);
//   PredictedLog p = planner->predict_log(card, proposal, history_so_far);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/model.h"
#include "automl/search.h"

namespace automl {

struct ModelAssignment {
  std::string family;
  std::string reason;
};

// One data-processing operator from the fixed vocabulary (see preprocessing_vocabulary()).
struct PreprocessingStep {
  std::string op;
  std::vector<std::string> columns;
};

// What a planner expects a trial to log, before it runs.
struct PredictedLog {
  std::vector<int> checkpoints;     // iterations (empty for non-iterative families)
  std::vector<double> metric;       // the run's metric at each checkpoint
  double final_score = 0;           // the validation score the trial will end with
  double uncertainty = 0;           // one standard deviation of that guess
  double seconds = 0;               // expected training time
  std::string basis;                // what the guess rests on, for people

  nlohmann::json to_json() const;
};

// name -> one-line meaning of every operator a plan may use.
const std::vector<std::pair<std::string, std::string>>& preprocessing_vocabulary();

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string name() const = 0;
  // Ranked families with reasons, chosen only among `candidates`.
  virtual std::vector<ModelAssignment> assign_models(const DataCard& card,
                                                     const std::vector<const ModelEntry*>& candidates) = 0;
  // The preprocessing a family gets, from the vocabulary.
  virtual std::vector<PreprocessingStep> design_preprocessing(const DataCard& card, const ModelEntry& family) = 0;
  // Settings to try first, cheap first.
  virtual std::vector<Proposal> propose(const DataCard& card, const std::vector<ModelAssignment>& families) = 0;
  // The training log a setting will produce, from the trials finished so far.
  virtual PredictedLog predict_log(const DataCard& card, const std::string& family, const nlohmann::json& params,
                                   const std::vector<TrialResult>& history) = 0;
};

std::unique_ptr<Planner> make_builtin_planner();

}  // namespace automl
