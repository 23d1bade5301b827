// The built-in planner's expectations of the neural-network families (those whose
// resource is epochs): the per-epoch training curve and, before any of their trials
// has finished, the seconds from the network's declared cost per row. Their first
// architectures, sized to the Data Card and the limits, are declared in their own
// registrations (ModelEntry::portfolio). Private to src/planner/builtin/.
#pragma once

#include <string>
#include <vector>

#include "automl/data_card.h"
#include "automl/planner.h"
#include "automl/trial.h"

namespace automl {

// True for families whose resource is epochs (the networks).
bool is_network_family(const std::string& family);

// Turns a final-score guess into a per-epoch curve (checkpoints 1..N epochs) and
// fills in a first guess of the seconds from the network's cost when no trial of
// the family has finished. `baseline` is the constant model's score (NaN if none).
void add_epoch_curve(const DataCard& card, const std::string& family, const nlohmann::json& params, int resource,
                     const std::vector<TrialResult>& history, PredictedLog* p);

}  // namespace automl
