// A convolutional network for images (Encoding::kImage: pixels channel-major in
// [0, 1]), trained with AdamW on the CPU through libtorch. The planner chooses the
// architecture (stages of convolution, normalisation and pooling; the head) and the
// processing (random shifts, optional flips) from the declared ranges; the network
// is described in include/automl/nn.h, which also counts its cost.
// The network itself; the family's Model Card is src/models/cnn_model.cpp.
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/networks.h"
#include "automl/nn.h"
#include "torch_model.h"

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

const bool kRegistered = register_network(
    "cnn", [](const nlohmann::json& p, Task task) -> std::unique_ptr<Model> { return std::make_unique<CnnModel>(p, task); });

}  // namespace
}  // namespace automl
