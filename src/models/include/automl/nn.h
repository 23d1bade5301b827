// The neural-network families' architectures as plain data (no torch here, so the
// planner and the tests can reason about them cheaply): how a setting of `mlp`,
// `cnn` or `fasttext` spells a network, and what that network costs in parameters
// (its saved size: 4 bytes each) and in floating-point operations per row (its
// prediction time). The networks themselves are built in src/networks/*_network.cpp.
//
//   CnnArchitecture a = CnnArchitecture::from_params(params);     // validated, defaulted params
//   NetworkCost c = cnn_cost(a, {1, 20, 20}, 10);
//   if (c.model_mb() > 5) ...                                     // "model under 5 MB"
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "automl/image.h"

namespace automl {

struct NetworkCost {
  int64_t parameters = 0;
  double flops_per_row = 0;  // multiply-adds x 2 of one forward pass

  double model_mb() const { return static_cast<double>(parameters) * 4.0 / (1024.0 * 1024.0); }
  // A conservative prediction time: 1 GFLOP/s on one core, plus a per-row overhead.
  double predict_ms_per_row() const { return flops_per_row / 1e6 + 0.002; }
};

// The `cnn` family: `stages` blocks of convolution (+ batch norm) + ReLU + 2x2 pooling,
// the first with `channels` filters and each next one with twice as many; pooling
// stops once the feature map is 1 pixel wide. The head is global average pooling
// + dropout + linear, or flatten + dropout + dense(`dense_width`) + ReLU + dropout + linear.
struct CnnArchitecture {
  int stages = 2;
  int channels = 32;
  int kernel_size = 3;
  bool batch_norm = true;
  std::string pooling = "max";  // max, avg
  std::string head = "dense";   // dense, global_avg
  int dense_width = 128;
  double dropout = 0.25;

  static CnnArchitecture from_params(const nlohmann::json& params);
  nlohmann::json to_json() const;
  // Throws kInvalidInput naming `source` (the file) when a number or choice is out of range.
  static CnnArchitecture from_json(const nlohmann::json& j, const std::string& source);
  // Channels of stage s (0-based).
  int stage_channels(int s) const { return channels << s; }
};

// The feature map's side after `stages` poolings of a side of `side` pixels.
int pooled_side(int side, int stages);

NetworkCost cnn_cost(const CnnArchitecture& a, const ImageShape& input, int outputs);

// The `mlp` family: `depth` hidden layers of `width` units (ReLU, dropout), then linear.
NetworkCost mlp_cost(int inputs, int depth, int width, int outputs);

// The `fasttext` family: a table of `buckets` hashed word and n-gram embeddings of
// `dim` numbers, averaged per document, then linear.
NetworkCost fasttext_cost(int buckets, int dim, int outputs, double tokens_per_row);

}  // namespace automl
