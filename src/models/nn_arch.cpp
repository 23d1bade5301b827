// Architectures and costs of the neural-network families (include/automl/nn.h).
// Pure arithmetic: the counts must match the modules the families build, which
// tests/models/nn_test.cpp checks against torch's own parameter count.
#include "automl/nn.h"

#include <algorithm>

#include "automl/error.h"
#include <fmt/format.h>

#include "automl/params.h"
#include "automl/saved_json.h"

namespace automl {

CnnArchitecture CnnArchitecture::from_params(const nlohmann::json& params) {
  CnnArchitecture a;
  a.stages = static_cast<int>(param_int(params, "stages"));
  a.channels = static_cast<int>(param_int(params, "channels"));
  a.kernel_size = std::stoi(param_str(params, "kernel_size"));
  a.batch_norm = param_str(params, "normalization") == "batch";
  a.pooling = param_str(params, "pooling");
  a.head = param_str(params, "head");
  a.dense_width = static_cast<int>(param_int(params, "dense_width"));
  a.dropout = param_real(params, "dropout");
  return a;
}

nlohmann::json CnnArchitecture::to_json() const {
  return {{"stages", stages}, {"channels", channels}, {"kernel_size", kernel_size}, {"batch_norm", batch_norm},
          {"pooling", pooling}, {"head", head}, {"dense_width", dense_width}, {"dropout", dropout}};
}

CnnArchitecture CnnArchitecture::from_json(const nlohmann::json& j, const std::string& source) {
  CnnArchitecture a;
  a.stages = static_cast<int>(saved_int(j.at("stages"), 1, 8, source + " \"stages\""));
  a.channels = static_cast<int>(saved_int(j.at("channels"), 1, 1 << 12, source + " \"channels\""));
  a.kernel_size = static_cast<int>(saved_int(j.at("kernel_size"), 1, 15, source + " \"kernel_size\""));
  a.batch_norm = j.at("batch_norm").get<bool>();
  a.pooling = j.at("pooling").get<std::string>();
  a.head = j.at("head").get<std::string>();
  a.dense_width = static_cast<int>(saved_int(j.at("dense_width"), 1, 1 << 16, source + " \"dense_width\""));
  a.dropout = j.at("dropout").get<double>();
  if (!(a.dropout >= 0 && a.dropout < 1) || (a.pooling != "max" && a.pooling != "avg") ||
      (a.head != "dense" && a.head != "global_avg")) {
    throw_invalid(fmt::format("{} is damaged: dropout {}, pooling \"{}\", head \"{}\"", source, a.dropout, a.pooling,
                              a.head));
  }
  return a;
}

int pooled_side(int side, int stages) {
  for (int s = 0; s < stages; ++s) {
    if (side >= 2) side /= 2;
  }
  return side;
}

NetworkCost cnn_cost(const CnnArchitecture& a, const ImageShape& input, int outputs) {
  NetworkCost c;
  int in = input.channels, h = input.height, w = input.width;
  const int k2 = a.kernel_size * a.kernel_size;
  for (int s = 0; s < a.stages; ++s) {
    const int out = a.stage_channels(s);
    c.parameters += static_cast<int64_t>(in) * out * k2 + out;  // weights + bias (batch norm: its shift)
    if (a.batch_norm) c.parameters += out;                      // batch norm's scale
    c.flops_per_row += 2.0 * h * w * in * out * k2;
    if (h >= 2) h /= 2;
    if (w >= 2) w /= 2;
    in = out;
  }
  if (a.head == "dense") {
    const int64_t flat = static_cast<int64_t>(in) * h * w;
    c.parameters += flat * a.dense_width + a.dense_width + static_cast<int64_t>(a.dense_width) * outputs + outputs;
    c.flops_per_row += 2.0 * (static_cast<double>(flat) * a.dense_width + a.dense_width * outputs);
  } else {
    c.parameters += static_cast<int64_t>(in) * outputs + outputs;
    c.flops_per_row += 2.0 * in * outputs;
  }
  return c;
}

NetworkCost mlp_cost(int inputs, int depth, int width, int outputs) {
  NetworkCost c;
  int in = inputs;
  for (int d = 0; d < depth; ++d) {
    c.parameters += static_cast<int64_t>(in) * width + width;
    c.flops_per_row += 2.0 * in * width;
    in = width;
  }
  c.parameters += static_cast<int64_t>(in) * outputs + outputs;
  c.flops_per_row += 2.0 * in * outputs;
  return c;
}

NetworkCost fasttext_cost(int buckets, int dim, int outputs, double tokens_per_row) {
  NetworkCost c;
  c.parameters = static_cast<int64_t>(buckets) * dim + static_cast<int64_t>(dim) * outputs + outputs;
  c.flops_per_row = tokens_per_row * dim + 2.0 * dim * outputs;
  return c;
}

}  // namespace automl
