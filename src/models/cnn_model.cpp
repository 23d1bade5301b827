// A convolutional network for images (Encoding::kImage: pixels channel-major in
// [0, 1]), trained with AdamW on the CPU through libtorch. The planner chooses the
// architecture (stages of convolution, normalisation and pooling; the head) and the
// processing (random shifts, optional flips) from the declared ranges; the network
// is described in include/automl/nn.h, which also counts its cost.
// The Model Card; the network is trained in src/networks/cnn_network.cpp.
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/networks.h"
#include "automl/nn.h"
#include "family_plans.h"

namespace automl {
namespace {

// The built-in planner's first architectures for an image Data Card, each made
// smaller until it fits the limits: fewer channels (and a narrower dense layer), then
// the global-average head, then fewer stages. An architecture that cannot fit is left out.
bool shrink_to_limits(const ModelEntry& e, nlohmann::json* p, const ImageShape& shape, int outputs,
                      const ModelLimits& limits, std::string* why) {
  bool shrunk = false;
  for (int guard = 0; guard < 40; ++guard) {
    auto full = with_defaults(e.params, *p);
    const CnnArchitecture a = CnnArchitecture::from_params(full);
    const NetworkCost c = cnn_cost(a, shape, outputs);
    if (within_limits(c, limits)) {
      if (shrunk) *why += fmt::format("; shrunk to {} parameters ({:.2f} MB) to meet the limits", c.parameters, c.model_mb());
      return true;
    }
    shrunk = true;
    if (a.channels > 4) {
      (*p)["channels"] = std::max(4, a.channels / 2);
      if (a.head == "dense") (*p)["dense_width"] = std::max(8, a.dense_width / 2);
    } else if (a.head == "dense") {
      (*p)["head"] = "global_avg";
    } else if (a.stages > 1) {
      (*p)["stages"] = a.stages - 1;
    } else {
      return false;
    }
  }
  return false;
}

std::vector<PortfolioSetting> sized_architectures(const ModelEntry& e, const DataCard& card, const ModelLimits& limits) {
  const ImageShape shape = card_image(card);
  if (shape.empty()) return {};
  const int side = std::min(shape.height, shape.width);
  const int outputs = card_outputs(card);
  // Stages while the map stays at least 2 pixels wide after pooling (8x8: 2, 20x20: 2-3, 32x32: 3).
  int max_stages = 1;
  while (max_stages < 4 && (side >> (max_stages + 1)) >= 2) ++max_stages;
  const int stages = std::min(side >= 32 ? 3 : 2, max_stages);
  const int shift = side >= 16 ? 2 : 1;
  std::vector<PortfolioSetting> out;
  auto add = [&](nlohmann::json p, std::string why) {
    if (shrink_to_limits(e, &p, shape, outputs, limits, &why)) out.push_back({45, p, why});
  };
  // The first network is narrow on small grey images (16, 32 channels: a third of the
  // work of 32, 64 at nearly the same accuracy on digits); the wider one comes next.
  const int width = shape.channels == 1 && side <= 32 ? 16 : 32;
  auto first = [&](int channels, const std::string& why) {
    add({{"stages", stages}, {"channels", channels}, {"kernel_size", "3"}, {"normalization", "batch"},
         {"pooling", "max"}, {"head", "dense"}, {"dense_width", 128}, {"dropout", 0.25}, {"learning_rate", 2e-3},
         {"batch_size", 32}, {"shift", shift}, {"flip", false}},
        fmt::format("{}x{} images: {} stages of 3x3 convolutions ({}, {} channels), batch norm, max pooling, a dense "
                    "head; random shifts of up to {} pixel{} (no flips: mirrored digits and letters change meaning){}",
                    shape.height, shape.width, stages, channels, channels * 2, shift, shift == 1 ? "" : "s", why));
  };
  first(width, "");
  if (width < 32) first(32, "; twice as wide");
  const int deep = std::min(stages + 1, max_stages);
  add({{"stages", deep}, {"channels", 32}, {"kernel_size", "3"}, {"normalization", "batch"}, {"pooling", "max"},
       {"head", "global_avg"}, {"dropout", 0.1}, {"learning_rate", 2e-3}, {"batch_size", 64}, {"shift", shift},
       {"flip", false}},
      fmt::format("one stage deeper ({}) with a global-average head: fewer parameters, more position-invariant", deep));
  add({{"stages", stages}, {"channels", 16}, {"kernel_size", "5"}, {"normalization", "batch"}, {"pooling", "avg"},
       {"head", "dense"}, {"dense_width", 64}, {"dropout", 0.2}, {"learning_rate", 2e-3}, {"batch_size", 32},
       {"shift", 0}, {"flip", false}},
      "a narrow network with 5x5 kernels and average pooling, without augmentation: cheap and different");
  return out;
}

ModelEntry cnn_entry() {
  ModelEntry e;
  e.name = "cnn";
  e.structure = "convolutional network: stages of convolution, batch norm, ReLU and 2x2 pooling (channels doubling), "
                "then a global-average or dense head; AdamW, early stopping on the best epoch";
  e.description =
      "A convolutional neural network for images (pixel columns pixel_ROW_COL or an image folder): learns local "
      "strokes and shapes wherever they sit, usually far ahead of tabular models on pictures.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kImage;
  // The images as a tensor, a batch's activations and the tensor library's pools.
  // Estimated from the data structures, not measured.
  e.memory_bytes = [](const DataShape& s) { return 8.0 * s.rows * s.columns + 256.0 * (1 << 20); };
  e.resource_param = "epochs";
  e.params = {
      ParamSpec::integer("stages", 2).range(1, 4).tune(1, 3)
          .describe("convolution stages, each followed by 2x2 pooling while the map is at least 2 pixels wide"),
      ParamSpec::integer("channels", 32).range(4, 256).tune(8, 48).log()
          .describe("filters of the first stage; each next stage doubles them"),
      ParamSpec::choice("kernel_size", {"3", "5"}, "3").describe("side of the convolution kernels"),
      ParamSpec::choice("normalization", {"none", "batch"}, "batch").describe("batch normalisation after each convolution"),
      ParamSpec::choice("pooling", {"max", "avg"}, "max").describe("how each stage halves the feature map"),
      ParamSpec::choice("head", {"global_avg", "dense"}, "dense")
          .describe("global_avg: average each channel, then linear; dense: flatten, a dense ReLU layer, then linear"),
      ParamSpec::integer("dense_width", 128).range(8, 4096).tune(32, 256).log()
          .describe("units of the dense head's hidden layer (head = dense)"),
      ParamSpec::real("dropout", 0.25).range(0.0, 0.9).tune(0.0, 0.5).describe("dropout before the head's layers"),
      ParamSpec::real("learning_rate", 1e-3).range(1e-6, 1.0).tune(3e-4, 3e-3).log().describe("AdamW step size"),
      ParamSpec::integer("batch_size", 64).range(8, 4096).tune(32, 128).log().describe("images per gradient step"),
      ParamSpec::real("weight_decay", 1e-4).range(0.0, 1.0).tune(1e-6, 1e-2).log()
          .describe("AdamW's decoupled weight decay"),
      ParamSpec::integer("shift", 0).range(0, 8).tune(0, 2)
          .describe("augmentation: each training image moves by up to this many pixels each way (0 = off)"),
      ParamSpec::boolean("flip", false).fixed()
          .describe("augmentation: mirror training images left-right half of the time (off: wrong for digits and text)"),
      ParamSpec::integer("epochs", 30).range(1, 10000).fixed()
          .describe("most passes over the training images; early stopping usually ends sooner (the "
                    "successive-halving resource)"),
      ParamSpec::integer("early_stopping_epochs", 5).range(1, 1000).fixed()
          .describe("stop after this many epochs without a better validation score; the best epoch is kept"),
  };
  e.create = [](const nlohmann::json& p, Task task) { return create_network("cnn", p, task); };
  e.network = true;
  // Images only: first in the built-in planner's ranking, its sized architectures
  // after the cheap opening.
  e.modalities = {"image"};
  e.rank = [](const DataCard& card) {
    return PlannerRank{-1, fmt::format("{}x{} images with {} channel{}: a convolutional network learns strokes and "
                                       "shapes wherever they sit",
                                       card.image_height, card.image_width, card.image_channels,
                                       card.image_channels == 1 ? "" : "s")};
  };
  e.portfolio = [](const PortfolioContext& ctx) -> std::vector<PortfolioSetting> {
    if (!ctx.card || ctx.card->modality != "image") return {};
    return sized_architectures(model_registry().get("cnn"), *ctx.card, ctx.limits);
  };
  e.resource_unit = ResourceUnit::kEpochs;
  e.flops_per_row = [](const DataCard& card, const nlohmann::json& full) {
    if (card_image(card).empty()) return 0.0;
    return cnn_cost(CnnArchitecture::from_params(full), card_image(card), card_outputs(card)).flops_per_row;
  };
  e.gap_prior = GapPrior{0.6, 0.5, "no cnn trial yet: convolutions usually close most of the gap tabular models leave on images",
                         0.9, 0.3, "only the baseline so far: a convolutional network usually gets most images right"};
  return e;
}

const ModelEntry& kRegistered = model_registry().add(cnn_entry());

}  // namespace
}  // namespace automl
