// The planner answers the stages of the article: which tasks a request holds (input
// decomposition), which model families suit each task (in-context task-model
// assignment), how to prepare the data for each, which settings to try first, what
// training log each setting will produce before it is trained, and, once real logs
// exist, which settings to try next (refinement). The built-in planner answers
// offline; the LLM planner asks a chat-completions server the same questions,
// checks every answer against the registry and the Model Cards, and falls back to
// the built-in answer for any stage it cannot get right.
//
//   auto planner = make_builtin_planner();
//   auto families = planner->assign_models(card, candidates);
//   PredictedLog p = planner->predict_log(card, family, params, resource, history_so_far);
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/model.h"
#include "automl/preprocess.h"
#include "automl/trial.h"

namespace automl {

class LlmClient;
class KnowledgeBase;

// One task of a request: a dataset, its target, how to judge and limit it.
struct TaskSpec {
  std::string name;          // unique within the request; names the task's run folder
  std::string train;         // CSV path (relative paths are relative to the request file)
  std::string test;          // optional
  std::string target;
  std::string card;          // optional Data Card file
  std::string metric;        // "" = from the requirements or the task's default
  std::string requirements;  // free text, as for --require
  double budget_s = 0;       // 0 = an equal share of what is left

  nlohmann::json to_json() const;
};

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
// What a family's steps do to each column, as the Preprocessor applies it: the
// vocabulary's column operators (imputation, transforms, category encodings, codes,
// rare levels, dropping); steps that are the encoding's own (keep_numeric, standardize,
// category_codes, one_hot, drop_text, tfidf) change nothing. Unknown operators throw.
ColumnDesign column_design(const std::vector<PreprocessingStep>& steps);

// Whether `family` reads any column of the data: a text family (Encoding::kText) needs
// a text column, the others a column that is not text (the constant baseline needs
// none). Both planners assign only such families; "" when it does, else why not.
std::string family_unusable_reason(const ModelEntry& family, const DataCard& card);

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string name() const = 0;
  // Input decomposition: the tasks a request written in words asks for. `files`
  // maps each data file the text names and that exists (path as written) to its
  // column names; every task's train file and target must come from it.
  virtual std::vector<TaskSpec> decompose(const std::string& text,
                                          const std::map<std::string, std::vector<std::string>>& files) = 0;
  // Before a task's stages: the prompt paragraph (Data Card, Model Cards, request)
  // the answers are to rest on, and when the planner must stop spending time.
  virtual void begin_task(const std::string& prompt_paragraph, Clock::time_point deadline) {
    (void)prompt_paragraph;
    (void)deadline;
  }
  // The user's limits on the final model (<= 0: none): its saved size and its
  // prediction time per row. Proposals keep to them (networks are shrunk to fit).
  virtual void set_limits(double max_model_mb, double max_predict_ms_per_row) {
    (void)max_model_mb;
    (void)max_predict_ms_per_row;
  }
  // Ranked families with reasons, chosen only among `candidates`.
  virtual std::vector<ModelAssignment> assign_models(const DataCard& card,
                                                     const std::vector<const ModelEntry*>& candidates) = 0;
  // The preprocessing each assigned family gets, from the vocabulary.
  virtual std::map<std::string, std::vector<PreprocessingStep>> design_preprocessing(
      const DataCard& card, const std::vector<ModelAssignment>& families) = 0;
  // Settings to try first, cheap first.
  virtual std::vector<Proposal> propose(const DataCard& card, const std::vector<ModelAssignment>& families) = 0;
  // The training log a setting will produce, from the trials finished so far.
  // `resource` is the trial's cap on boosting rounds (-1 = early stopping only).
  virtual PredictedLog predict_log(const DataCard& card, const std::string& family, const nlohmann::json& params,
                                   int resource, const std::vector<TrialResult>& history) = 0;
  // Refinement: given the real logs so far and the seconds left, the settings to
  // try next (empty = nothing worth adding; the search goes on by itself).
  virtual std::vector<Proposal> refine(const DataCard& card, const std::vector<ModelAssignment>& families,
                                       const std::vector<TrialResult>& history, double seconds_left) = 0;
  // What the planner did beyond its answers (calls, repairs, fallbacks), for plan.json.
  virtual nlohmann::json report() const { return nlohmann::json::object(); }
};

// The built-in planner. With a knowledge base it warm-starts from the nearest known
// datasets and predicts training logs with a model learned from the experience;
// without one it uses its fixed portfolio and a running estimate.
std::unique_ptr<Planner> make_builtin_planner(std::shared_ptr<const KnowledgeBase> knowledge = nullptr);

// The LLM planner: every stage asked of `client` (shared, not owned), each answer
// validated; one repair round quoting the error, then the built-in answer (which
// uses `knowledge` as the built-in planner does; its nearest datasets also become
// in-context examples in the questions).
std::unique_ptr<Planner> make_llm_planner(LlmClient& client, std::shared_ptr<const KnowledgeBase> knowledge = nullptr);

// Data files (.csv, .tsv, .txt) a request in words mentions, in order, as written.
std::vector<std::string> files_mentioned(const std::string& text);

// The built-in planner's opening: every family's declared opening settings
// (ModelEntry::portfolio) among `families` (empty = all), merged by their order,
// cheap first. A family is left out where the card's modality is not one it serves
// or the rows exceed its row limit.
std::vector<Proposal> family_portfolio(const PortfolioContext& ctx, const std::vector<std::string>& families);
// The same without a Data Card: settings that work across many datasets.
std::vector<Proposal> default_portfolio(Task task, std::size_t n_rows, const std::vector<std::string>& families);


}  // namespace automl
