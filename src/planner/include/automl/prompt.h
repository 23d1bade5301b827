// The prompt paragraph: the Data Card, the Model Cards of the candidate families
// and the user's metric and requirements, composed into one text that a planner
// (the built-in one today, a large language model later) reads. Saved in each run
// folder as prompt.md; `automl-gpt prompt RUN` shows it.
//
// Everything that comes from the data (column names, levels, the card's free text)
// enters as quoted JSON strings inside a data block, never as instructions.
#pragma once

#include <string>
#include <vector>

#include "automl/data_card.h"
#include "automl/model.h"

namespace automl {

struct PromptRequest {
  std::string metric;
  double budget_s = 60;
  std::string requirements;  // free text from the user ("" = none)
};

std::string compose_prompt(const DataCard& card, const std::vector<const ModelEntry*>& families,
                           const PromptRequest& request);

}  // namespace automl
