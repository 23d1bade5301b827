// A multilayer perceptron on one-hot, standardised features, trained with AdamW on
// the CPU through libtorch: `depth` hidden layers of `width` ReLU units with
// dropout, then a linear layer (softmax for classes). A per-epoch log, early
// stopping that keeps the best epoch, and epochs as the successive-halving resource.
// The Model Card; the network is trained in src/networks/mlp_network.cpp.
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/networks.h"
#include "automl/nn.h"
#include "family_plans.h"

namespace automl {
namespace {

// The built-in planner's first network for a table: two hidden layers, made
// narrower, then shallower, until it fits the limits.
bool shrink_to_limits(const ModelEntry& e, nlohmann::json* p, int inputs, int outputs, const ModelLimits& limits,
                      std::string* why) {
  bool shrunk = false;
  for (int guard = 0; guard < 40; ++guard) {
    auto full = with_defaults(e.params, *p);
    const int depth = static_cast<int>(param_int(full, "depth")), width = static_cast<int>(param_int(full, "width"));
    const NetworkCost c = mlp_cost(inputs, depth, width, outputs);
    if (within_limits(c, limits)) {
      if (shrunk) *why += fmt::format("; shrunk to {} parameters to meet the limits", c.parameters);
      return true;
    }
    shrunk = true;
    if (width > 8) (*p)["width"] = width / 2;
    else if (depth > 1) (*p)["depth"] = depth - 1;
    else return false;
  }
  return false;
}

std::vector<PortfolioSetting> sized_networks(const ModelEntry& e, const DataCard& card, const ModelLimits& limits) {
  const double rows = card_meta(card, "n_rows");
  const int inputs = card.modality == "image" ? card_image(card).pixels() : one_hot_width(card);
  const int outputs = card_outputs(card);
  const bool small = rows < 2000;
  std::vector<PortfolioSetting> out;
  auto add = [&](nlohmann::json p, std::string why) {
    if (shrink_to_limits(e, &p, inputs, outputs, limits, &why)) out.push_back({100, p, why});
  };
  add({{"depth", 2}, {"width", small ? 64 : 128}, {"dropout", small ? 0.2 : 0.1}, {"learning_rate", 1e-3},
       {"batch_size", rows > 20000 ? 256 : 64}, {"weight_decay", 1e-4}},
      fmt::format("two hidden layers of {} units with dropout: a neural reference for smooth interactions",
                  small ? 64 : 128));
  return out;
}

ModelEntry mlp_entry() {
  ModelEntry e;
  e.name = "mlp";
  e.structure = "multilayer perceptron: dense ReLU layers with dropout, AdamW, early stopping on the best epoch";
  e.description =
      "A neural network for tables, on one-hot categories and standardised numbers; can model smooth "
      "interactions that trees approximate in steps; slower to train and usually behind boosted trees on tables.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kOneHot;
  // The matrix as a tensor, a batch's activations and the tensor library's own pools.
  // Estimated from the library's data structures: runs measured on 2026-11-30 on a busy
  // machine ended before a first trial finished, so they bound nothing (see
  // bench/results/memory-2026-11-30.md for the peaks against this estimate).
  e.memory_bytes = [](const DataShape& s) { return 8.0 * s.rows * s.columns + 160.0 * (1 << 20); };
  e.resource_param = "epochs";
  e.params = {
      ParamSpec::integer("depth", 2).range(1, 8).tune(1, 4).describe("hidden layers"),
      ParamSpec::integer("width", 128).range(4, 4096).tune(32, 512).log().describe("units per hidden layer"),
      ParamSpec::real("dropout", 0.1).range(0.0, 0.9).tune(0.0, 0.5)
          .describe("share of hidden units dropped at random in each training step"),
      ParamSpec::real("learning_rate", 1e-3).range(1e-6, 1.0).tune(1e-4, 1e-2).log().describe("AdamW step size"),
      ParamSpec::integer("batch_size", 64).range(8, 4096).tune(32, 256).log().describe("rows per gradient step"),
      ParamSpec::real("weight_decay", 1e-4).range(0.0, 1.0).tune(1e-6, 1e-2).log()
          .describe("AdamW's decoupled weight decay"),
      ParamSpec::integer("epochs", 60).range(1, 10000).fixed()
          .describe("most passes over the training rows; early stopping usually ends sooner (the successive-halving "
                    "resource)"),
      ParamSpec::integer("early_stopping_epochs", 8).range(1, 1000).fixed()
          .describe("stop after this many epochs without a better validation score; the best epoch is kept"),
  };
  e.create = [](const nlohmann::json& p, Task task) { return create_network("mlp", p, task); };
  e.network = true;
  // Proposed on tables, after the tabular opening; assigned elsewhere too, behind.
  e.modalities = {"tabular"};
  e.rank = [](const DataCard& card) {
    return PlannerRank{card.modality == "tabular" ? 1 : 2,
                       "a neural network: smooth interactions between standardised features"};
  };
  e.portfolio = [](const PortfolioContext& ctx) -> std::vector<PortfolioSetting> {
    if (!ctx.card || ctx.card->modality != "tabular") return {};
    return sized_networks(model_registry().get("mlp"), *ctx.card, ctx.limits);
  };
  e.resource_unit = ResourceUnit::kEpochs;
  e.flops_per_row = [](const DataCard& card, const nlohmann::json& full) {
    return mlp_cost(one_hot_width(card), static_cast<int>(param_int(full, "depth")),
                    static_cast<int>(param_int(full, "width")), card_outputs(card)).flops_per_row;
  };
  return e;
}

const ModelEntry& kRegistered = model_registry().add(mlp_entry());

}  // namespace
}  // namespace automl
