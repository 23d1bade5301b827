// The shared vocabulary of every layer above the data: features as a model sees them,
// how a family wants them encoded, the clock, and one line of a training log.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace automl {

// Dense row-major features as a model sees them: NaN is missing; a column with
// n_categories[j] > 0 holds category codes 0..n-1.
struct FeatureMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<float> values;
  std::vector<std::string> names;
  std::vector<int> n_categories;
  // Encoding::kText: one document per row (the row's text columns joined by a newline).
  std::vector<std::string> texts;
  // Encoding::kImage: `values` holds each row's pixels, channel-major (c, y, x), scaled to [0, 1].
  int image_channels = 0, image_height = 0, image_width = 0;

  float at(std::size_t r, std::size_t c) const { return values[r * cols + c]; }
};

// How a family wants its features prepared (src/data/preprocess.cpp).
enum class Encoding {
  kNative,    // numbers as they are (NaN kept), categories as codes: trees
  kOneHot,    // imputed, standardised numbers and one-hot categories: linear models
  kText,      // the raw documents in FeatureMatrix::texts: text models tokenise them themselves
  kImage,     // pixel columns as an image tensor (FeatureMatrix::image_*): convolutional networks
};

using Clock = std::chrono::steady_clock;

// Why a model's fit ended (Model::stop_reason). A fit the deadline ended keeps its
// best round or epoch so far.
enum class FitStop {
  kCompleted,       // every round or epoch it was given, or a fit that is not iterative
  kEarlyStopping,   // its validation score stopped improving
  kConverged,       // the optimiser converged
  kIterationLimit,  // the optimiser's own iteration limit
  kDeadline,        // the deadline came first
  kCaller,          // FitContext::on_iteration asked it to stop (pruning)
};
const char* to_string(FitStop s);
FitStop parse_fit_stop(const std::string& text);  // throws kInvalidInput naming the value

// One line of a real training log.
struct IterationLog {
  int iteration = 0;
  double train_metric = 0;
  double valid_metric = 0;  // NaN when there is no validation set
  double seconds = 0;       // since fit started
};

}  // namespace automl
