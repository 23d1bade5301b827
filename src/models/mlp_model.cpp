// A multilayer perceptron on one-hot, standardised features, trained with AdamW on
// the CPU through libtorch: `depth` hidden layers of `width` ReLU units with
// dropout, then a linear layer (softmax for classes). A per-epoch log, early
// stopping that keeps the best epoch, and epochs as the successive-halving resource.
#include <fmt/format.h>

#include "automl/error.h"
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
    inputs_ = a.at("inputs").get<int>();
    depth_ = a.at("depth").get<int>();
    width_ = a.at("width").get<int>();
    dropout_ = a.at("dropout").get<double>();
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

ModelEntry mlp_entry() {
  ModelEntry e;
  e.name = "mlp";
  e.structure = "multilayer perceptron: dense ReLU layers with dropout, AdamW, early stopping on the best epoch";
  e.description =
      "A neural network for tables, on one-hot categories and standardised numbers; can model smooth "
      "interactions that trees approximate in steps; slower to train and usually behind boosted trees on tables.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kOneHot;
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
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<MlpModel>(p, task); };
  return e;
}

const ModelEntry& kRegistered = model_registry().add(mlp_entry());

}  // namespace
}  // namespace automl
