// What the neural-network families (mlp_network.cpp, cnn_network.cpp, fasttext_network.cpp)
// share: one training loop (AdamW on mini-batches, a per-epoch log of the run's
// metric on the training batches and the validation set, early stopping that keeps
// the best epoch, the deadline checked after every batch), prediction in chunks,
// and save/load as torch parameters + a JSON of the architecture. Private to
// src/networks/: only these files include torch.
//
// All randomness (initial weights, shuffling, dropout, augmentation) comes from the
// model's own generator seeded by FitContext::seed, so folds trained side by side
// on two threads do not share a random stream and the same seed gives the same model.
#pragma once

#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "automl/model.h"
#include "automl/saved_json.h"

namespace automl::nn {

// Sets the intra-op threads of the calling thread (libtorch initialises each
// thread lazily from a global count, so that happens first).
void use_threads(int threads);

// With relu_follows, He-uniform weights and zero biases (the MLP's hidden layers,
// which have no normalisation); otherwise weights and biases uniform in
// +-1/sqrt(fan_in), the scale of libtorch's own layer defaults (the CNN, whose
// batch norm makes the scale of its convolutions moot, and every output layer).
// Always from `gen`, never torch's global generator.
void init_linear_or_conv(torch::Tensor weight, torch::Tensor bias, bool relu_follows, torch::Generator& gen);

// Inverted dropout drawn from `gen` (identity when not training or p == 0).
torch::Tensor dropout(const torch::Tensor& x, double p, bool training, torch::Generator& gen);

// Rows `rows` of a row-major matrix as a float tensor (a copy).
torch::Tensor gather_rows(const FeatureMatrix& x, const std::vector<int64_t>& rows);

class TorchModel : public Model {
 public:
  TorchModel(nlohmann::json params, Task task) : params_(std::move(params)), task_(task) {}

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix* valid_x,
           const std::vector<double>* valid_y, const FitContext& ctx) final;
  std::vector<double> predict(const FeatureMatrix& x) const final;
  void save(const std::filesystem::path& dir) const final;
  void load(const std::filesystem::path& dir) final;
  int iterations() const override { return iterations_; }
  FitStop stop_reason() const override { return stop_reason_; }
  std::string log_metric() const override { return log_metric_; }

 protected:
  // The family's file prefix ("cnn" -> cnn.pt, cnn.json).
  virtual std::string file_stem() const = 0;
  // Builds the network for these inputs (fit) with initial weights from `gen`;
  // records whatever architecture() needs.
  virtual void build(const FeatureMatrix& x, int outputs, torch::Generator& gen) = 0;
  // Rebuilds the same network from architecture() (load); weights come next. Reads
  // its numbers with saved_int and, before building, passes the network's parameter
  // count to check_saved_parameters.
  virtual void rebuild(const nlohmann::json& architecture, int outputs) = 0;
  // A saved architecture asking for more parameters than its .pt file holds (4 bytes
  // each) is damaged: refused before any memory is taken for it.
  void check_saved_parameters(int64_t parameters) const;
  // "<family>.json" being loaded, for error messages.
  std::string saved_json_name() const { return file_stem() + ".json"; }
  virtual nlohmann::json architecture() const = 0;
  virtual torch::nn::Module& net() = 0;
  // Outputs (rows x outputs) for rows `rows` of `x`. `training`: dropout and
  // augmentation on, batch norm on batch statistics.
  virtual torch::Tensor forward(const FeatureMatrix& x, const std::vector<int64_t>& rows, bool training,
                                std::mt19937_64& rng) = 0;
  // Checks before training that `x` is what the family reads (throws kInvalidInput).
  virtual void check_input(const FeatureMatrix& x) const = 0;
  // The optimiser: AdamW (learning_rate, weight_decay) unless the family needs another.
  virtual std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& m);
  // After training, before fit returns (drop caches of the training rows).
  virtual void after_fit() {}

  torch::Generator& generator() { return gen_; }
  const nlohmann::json& params() const { return params_; }

  nlohmann::json params_;
  Task task_;

 private:
  // Class probabilities (double, rows sum to 1) or values in the target's units.
  std::vector<double> outputs_to_predictions(const torch::Tensor& out) const;
  std::vector<double> predict_rows(const FeatureMatrix& x) const;
  // The predictions for the listed rows of `x` only, in that order.
  std::vector<double> predict_rows(const FeatureMatrix& x, const std::vector<int64_t>& rows) const;

  torch::Generator gen_;
  std::uintmax_t saved_pt_bytes_ = 0;  // while loading: the size of <family>.pt
  int outputs_ = 0;
  int threads_ = 2;
  double y_mean_ = 0, y_scale_ = 1;  // regression targets are standardised for training
  int iterations_ = 0;
  FitStop stop_reason_ = FitStop::kCompleted;
  std::string log_metric_;
};

}  // namespace automl::nn
