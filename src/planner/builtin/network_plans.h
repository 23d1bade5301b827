// The built-in planner's knowledge of the neural-network families (mlp, cnn,
// fasttext): which architectures to try first for a Data Card, kept within the
// user's limits on model size and prediction time, and the per-epoch training
// curve it expects of them. Private to src/planner/builtin/.
#pragma once

#include <string>
#include <vector>

#include "automl/data_card.h"
#include "automl/planner.h"
#include "automl/trial.h"

namespace automl {

struct ModelLimits {
  double max_model_mb = -1;            // <= 0: none
  double max_predict_ms_per_row = -1;  // <= 0: none
};

// True for families whose resource is epochs (the networks).
bool is_network_family(const std::string& family);

// First settings of the network families among `families`, best first, each one
// shrunk until it fits `limits` (an architecture that cannot fit is left out).
std::vector<Proposal> network_proposals(const DataCard& card, const std::vector<std::string>& families,
                                        const ModelLimits& limits);

// The opening portfolio for image data: the baseline, a linear model on the pixels
// (cheap, so a model beats the constant early), the CNN's proposals, then XGBoost.
std::vector<Proposal> image_portfolio(const DataCard& card, const std::vector<std::string>& families,
                                      const ModelLimits& limits);

// Turns a final-score guess into a per-epoch curve (checkpoints 1..N epochs) and
// fills in a first guess of the seconds from the network's cost when no trial of
// the family has finished. `baseline` is the constant model's score (NaN if none).
void add_epoch_curve(const DataCard& card, const std::string& family, const nlohmann::json& params, int resource,
                     const std::vector<TrialResult>& history, PredictedLog* p);

}  // namespace automl
