// A multilayer perceptron on one-hot, standardised features, trained with AdamW on
// the CPU through libtorch: `depth` hidden layers of `width` ReLU units with
// dropout, then a linear layer (softmax for classes). A per-epoch log, early
// stopping that keeps the best epoch, and epochs as the successive-halving resource.
// The network itself; the family's Model Card is src/models/mlp_model.cpp.
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/networks.h"
#include "automl/nn.h"
#include "torch_model.h"

namespace automl {
namespace {

struct MlpNet : torch::nn::Module {
  MlpNet(int inputs, int depth, int width, int outputs, double p) : dropout(p) {
    int in = inputs;
    for (int d = 0; d < depth; ++d) {
      hidden.push_back(register_module(fmt::format("hidden{}", d), torch::nn::Linear(in, width)));
      in = width;
    }
    out = register_module("out", torch::nn::Linear(in, outputs));
  }

  void init(torch::Generator& gen) {
    for (auto& h : hidden) nn::init_linear_or_conv(h->weight, h->bias, true, gen);
    nn::init_linear_or_conv(out->weight, out->bias, false, gen);
  }

  torch::Tensor forward(torch::Tensor x, bool training, torch::Generator& gen) {
    for (auto& h : hidden) x = nn::dropout(torch::relu(h(x)), dropout, training, gen);
    return out(x);
  }

  std::vector<torch::nn::Linear> hidden;
  torch::nn::Linear out{nullptr};
  double dropout;
};

class MlpModel final : public nn::TorchModel {
 public:
  using TorchModel::TorchModel;

 protected:
  std::string file_stem() const override { return "mlp"; }

  void check_input(const FeatureMatrix& x) const override {
    if (net_ && x.cols != static_cast<std::size_t>(inputs_)) {
      throw_invalid(fmt::format("mlp expects {} features, got {}", inputs_, x.cols));
    }
  }

  void build(const FeatureMatrix& x, int outputs, torch::Generator& gen) override {
    inputs_ = static_cast<int>(x.cols);
    depth_ = static_cast<int>(param_int(params_, "depth"));
    width_ = static_cast<int>(param_int(params_, "width"));
    dropout_ = param_real(params_, "dropout");
    net_ = std::make_shared<MlpNet>(inputs_, depth_, width_, outputs, dropout_);
    net_->init(gen);
  }

  void rebuild(const nlohmann::json& a, int outputs) override {
    const std::string name = saved_json_name();
    inputs_ = static_cast<int>(saved_int(a.at("inputs"), 1, 1 << 24, name + " \"inputs\""));
    depth_ = static_cast<int>(saved_int(a.at("depth"), 0, 64, name + " \"depth\""));
    width_ = static_cast<int>(saved_int(a.at("width"), 1, 1 << 16, name + " \"width\""));
    dropout_ = a.at("dropout").get<double>();
    if (!(dropout_ >= 0 && dropout_ < 1)) throw_invalid(fmt::format("{} is damaged: dropout {}", name, dropout_));
    check_saved_parameters(mlp_cost(inputs_, depth_, width_, outputs).parameters);
    net_ = std::make_shared<MlpNet>(inputs_, depth_, width_, outputs, dropout_);
  }

  nlohmann::json architecture() const override {
    return {{"inputs", inputs_}, {"depth", depth_}, {"width", width_}, {"dropout", dropout_}};
  }

  torch::nn::Module& net() override { return *net_; }

  torch::Tensor forward(const FeatureMatrix& x, const std::vector<int64_t>& rows, bool training,
                        std::mt19937_64&) override {
    auto in = nn::gather_rows(x, rows);
    in = torch::nan_to_num(in, 0.0);
    return net_->forward(in, training, generator());
  }

 private:
  std::shared_ptr<MlpNet> net_;
  int inputs_ = 0, depth_ = 0, width_ = 0;
  double dropout_ = 0;
};

const bool kRegistered = register_network(
    "mlp", [](const nlohmann::json& p, Task task) -> std::unique_ptr<Model> { return std::make_unique<MlpModel>(p, task); });

}  // namespace
}  // namespace automl
