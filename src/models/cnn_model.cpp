// A convolutional network for images (Encoding::kImage: pixels channel-major in
// [0, 1]), trained with AdamW on the CPU through libtorch. The planner chooses the
// architecture (stages of convolution, normalisation and pooling; the head) and the
// processing (random shifts, optional flips) from the declared ranges; the network
// is described in include/automl/nn.h, which also counts its cost.
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/nn.h"
#include "torch_model.h"
#include "family_plans.h"

namespace automl {
namespace {

struct CnnNet : torch::nn::Module {
  CnnNet(const CnnArchitecture& a, const ImageShape& in, int outputs) : arch(a) {
    int c = in.channels, h = in.height, w = in.width;
    for (int s = 0; s < a.stages; ++s) {
      const int out = a.stage_channels(s);
      convs.push_back(register_module(
          fmt::format("conv{}", s),
          torch::nn::Conv2d(torch::nn::Conv2dOptions(c, out, a.kernel_size).padding(a.kernel_size / 2).bias(!a.batch_norm))));
      if (a.batch_norm) norms.push_back(register_module(fmt::format("norm{}", s), torch::nn::BatchNorm2d(out)));
      // Pooling halves each side while it is at least 2 pixels.
      pools.push_back({h >= 2 ? 2 : 1, w >= 2 ? 2 : 1});
      if (h >= 2) h /= 2;
      if (w >= 2) w /= 2;
      c = out;
    }
    if (a.head == "dense") {
      dense = register_module("dense", torch::nn::Linear(c * h * w, a.dense_width));
      out = register_module("out", torch::nn::Linear(a.dense_width, outputs));
    } else {
      out = register_module("out", torch::nn::Linear(c, outputs));
    }
  }

  void init(torch::Generator& gen) {
    for (auto& conv : convs) nn::init_linear_or_conv(conv->weight, conv->bias, false, gen);
    if (dense) nn::init_linear_or_conv(dense->weight, dense->bias, false, gen);
    nn::init_linear_or_conv(out->weight, out->bias, false, gen);
  }

  torch::Tensor forward(torch::Tensor x, bool training, torch::Generator& gen) {
    for (std::size_t s = 0; s < convs.size(); ++s) {
      x = convs[s](x);
      if (!norms.empty()) x = norms[s](x);
      x = torch::relu(x);
      const auto& k = pools[s];
      if (k[0] > 1 || k[1] > 1) x = arch.pooling == "avg" ? torch::avg_pool2d(x, k) : torch::max_pool2d(x, k);
    }
    if (dense) {
      x = nn::dropout(x.flatten(1), arch.dropout, training, gen);
      x = nn::dropout(torch::relu(dense(x)), arch.dropout, training, gen);
    } else {
      x = nn::dropout(x.mean({2, 3}), arch.dropout, training, gen);
    }
    return out(x);
  }

  CnnArchitecture arch;
  std::vector<torch::nn::Conv2d> convs;
  std::vector<torch::nn::BatchNorm2d> norms;
  std::vector<std::vector<int64_t>> pools;
  torch::nn::Linear dense{nullptr}, out{nullptr};
};

class CnnModel final : public nn::TorchModel {
 public:
  using TorchModel::TorchModel;

 protected:
  std::string file_stem() const override { return "cnn"; }

  void check_input(const FeatureMatrix& x) const override {
    if (x.image_channels <= 0 || x.image_height <= 0 || x.image_width <= 0) {
      throw_invalid("cnn needs image features: pixel columns named pixel_ROW_COL (or pixel_CHANNEL_ROW_COL), or an "
                    "image folder; this data has none (use a tabular family)");
    }
    const ImageShape s{x.image_channels, x.image_height, x.image_width};
    if (static_cast<std::size_t>(s.pixels()) != x.cols) {
      throw_internal(fmt::format("image of {}x{}x{} in {} columns", s.channels, s.height, s.width, x.cols));
    }
    if (net_ && !(s == shape_)) {
      throw_invalid(fmt::format("cnn was trained on {}x{}x{} images, got {}x{}x{}", shape_.channels, shape_.height,
                                shape_.width, s.channels, s.height, s.width));
    }
  }

  void build(const FeatureMatrix& x, int outputs, torch::Generator& gen) override {
    shape_ = {x.image_channels, x.image_height, x.image_width};
    arch_ = CnnArchitecture::from_params(params_);
    shift_ = static_cast<int>(param_int(params_, "shift"));
    flip_ = params_.at("flip").get<bool>();
    net_ = std::make_shared<CnnNet>(arch_, shape_, outputs);
    net_->init(gen);
  }

  void rebuild(const nlohmann::json& a, int outputs) override {
    const std::string name = saved_json_name();
    arch_ = CnnArchitecture::from_json(a.at("network"), name);
    shape_ = {static_cast<int>(saved_int(a.at("channels"), 1, 3, name + " \"channels\"")),
              static_cast<int>(saved_int(a.at("height"), 1, kMaxImageValues, name + " \"height\"")),
              static_cast<int>(saved_int(a.at("width"), 1, kMaxImageValues, name + " \"width\""))};
    if (shape_.channels * shape_.height > kMaxImageValues / shape_.width) {
      throw_invalid(fmt::format("{} is damaged: a {}x{}x{} image", name, shape_.channels, shape_.height, shape_.width));
    }
    check_saved_parameters(cnn_cost(arch_, shape_, outputs).parameters);
    net_ = std::make_shared<CnnNet>(arch_, shape_, outputs);
  }

  nlohmann::json architecture() const override {
    return {{"network", arch_.to_json()}, {"channels", shape_.channels}, {"height", shape_.height},
            {"width", shape_.width}, {"augmentation", {{"shift", shift_}, {"flip", flip_}}}};
  }

  torch::nn::Module& net() override { return *net_; }

  torch::Tensor forward(const FeatureMatrix& x, const std::vector<int64_t>& rows, bool training,
                        std::mt19937_64& rng) override {
    const int64_t n = static_cast<int64_t>(rows.size());
    torch::Tensor in;
    if (training && (shift_ > 0 || flip_)) {
      in = augmented(x, rows, rng);
    } else {
      in = nn::gather_rows(x, rows);
    }
    return net_->forward(in.view({n, shape_.channels, shape_.height, shape_.width}), training, generator());
  }

 private:
  // Each image moved by up to `shift_` pixels each way (the uncovered border is 0)
  // and, with `flip_`, mirrored left-right half of the time.
  torch::Tensor augmented(const FeatureMatrix& x, const std::vector<int64_t>& rows, std::mt19937_64& rng) const {
    const int c = shape_.channels, h = shape_.height, w = shape_.width;
    auto out = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(x.cols)}, torch::kFloat32);
    float* dst = out.data_ptr<float>();
    std::uniform_int_distribution<int> move(-shift_, shift_);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const float* src = x.values.data() + static_cast<std::size_t>(rows[i]) * x.cols;
      float* d = dst + i * x.cols;
      const int dy = shift_ > 0 ? move(rng) : 0, dx = shift_ > 0 ? move(rng) : 0;
      const bool mirror = flip_ && (rng() & 1);
      for (int ch = 0; ch < c; ++ch) {
        for (int yy = 0; yy < h; ++yy) {
          const int sy = yy - dy;
          if (sy < 0 || sy >= h) continue;
          for (int xx = 0; xx < w; ++xx) {
            int sx = xx - dx;
            if (sx < 0 || sx >= w) continue;
            if (mirror) sx = w - 1 - sx;
            d[(ch * h + yy) * w + xx] = src[(ch * h + sy) * w + sx];
          }
        }
      }
    }
    return out;
  }

  std::shared_ptr<CnnNet> net_;
  CnnArchitecture arch_;
  ImageShape shape_;
  int shift_ = 0;
  bool flip_ = false;
};

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
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<CnnModel>(p, task); };
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
