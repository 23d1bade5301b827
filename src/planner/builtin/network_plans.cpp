// The built-in planner's rules for the neural-network families
// (src/planner/builtin/network_plans.h).
#include "builtin/network_plans.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "automl/metrics.h"
#include "automl/nn.h"

namespace automl {
namespace {

// Floating-point operations per second one training run sustains on this kind of
// machine (forward + backward are about 3 forward passes), and steps of AdamW at
// lr 1e-3 that take a network most of the way from chance to its final score.
constexpr double kTrainFlops = 4e9;
constexpr double kStepsToLearn = 30;

bool has(const std::vector<std::string>& families, const std::string& f) {
  return families.empty() || std::find(families.begin(), families.end(), f) != families.end();
}

double meta(const DataCard& card, const std::string& key, double fallback = 0.0) {
  auto it = card.meta_features.find(key);
  return it == card.meta_features.end() ? fallback : it->second;
}

int n_outputs(const DataCard& card) {
  return is_classification(card.task) ? std::max<int>(2, static_cast<int>(card.classes.size())) : 1;
}

// Fits the validation plan make_validation_plan chooses by size.
double fits_per_trial(double rows) { return rows <= 1000 ? 10 : rows <= 3000 ? 5 : rows <= 10000 ? 3 : 1; }

// Columns the one-hot encoding gives the MLP.
int one_hot_width(const DataCard& card) {
  double d = 0;
  for (const auto& c : card.columns) {
    if (c.type == ColumnType::kNumeric) d += c.missing_share > 0 ? 2 : 1;
    if (c.type == ColumnType::kCategorical) d += std::min<double>(100.0, static_cast<double>(c.cardinality));
  }
  return std::max(1, static_cast<int>(d));
}

ImageShape card_image(const DataCard& card) {
  return {card.image_channels, card.image_height, card.image_width};
}

bool fits(const NetworkCost& c, const ModelLimits& limits) {
  if (limits.max_model_mb > 0 && c.model_mb() > limits.max_model_mb) return false;
  if (limits.max_predict_ms_per_row > 0 && c.predict_ms_per_row() > limits.max_predict_ms_per_row) return false;
  return true;
}

// The CNN setting as parameters, made smaller until it fits: fewer channels (and a
// narrower dense layer), then the global-average head, then fewer stages.
bool fit_cnn(nlohmann::json* p, const ImageShape& shape, int outputs, const ModelLimits& limits, std::string* why) {
  const auto& e = model_registry().get("cnn");
  bool shrunk = false;
  for (int guard = 0; guard < 40; ++guard) {
    auto full = with_defaults(e.params, *p);
    const CnnArchitecture a = CnnArchitecture::from_params(full);
    const NetworkCost c = cnn_cost(a, shape, outputs);
    if (fits(c, limits)) {
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

bool fit_mlp(nlohmann::json* p, int inputs, int outputs, const ModelLimits& limits, std::string* why) {
  const auto& e = model_registry().get("mlp");
  bool shrunk = false;
  for (int guard = 0; guard < 40; ++guard) {
    auto full = with_defaults(e.params, *p);
    const int depth = static_cast<int>(param_int(full, "depth")), width = static_cast<int>(param_int(full, "width"));
    const NetworkCost c = mlp_cost(inputs, depth, width, outputs);
    if (fits(c, limits)) {
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

bool fit_fasttext(nlohmann::json* p, double tokens, int outputs, const ModelLimits& limits, std::string* why) {
  const auto& e = model_registry().get("fasttext");
  bool shrunk = false;
  for (int guard = 0; guard < 40; ++guard) {
    auto full = with_defaults(e.params, *p);
    const int dim = static_cast<int>(param_int(full, "dim")), buckets = static_cast<int>(param_int(full, "buckets"));
    // The word vocabulary adds rows too; the buckets dominate.
    const NetworkCost c = fasttext_cost(buckets + 20000, dim, outputs, tokens);
    if (fits(c, limits)) {
      if (shrunk) *why += fmt::format("; shrunk to {} buckets of {} numbers to meet the limits", buckets, dim);
      return true;
    }
    shrunk = true;
    if (buckets > 4096) (*p)["buckets"] = buckets / 2;
    else if (dim > 8) (*p)["dim"] = dim / 2;
    else return false;
  }
  return false;
}

std::vector<Proposal> cnn_proposals(const DataCard& card, const ModelLimits& limits) {
  const ImageShape shape = card_image(card);
  if (shape.empty()) return {};
  const int side = std::min(shape.height, shape.width);
  const int outputs = n_outputs(card);
  // Stages while the map stays at least 2 pixels wide after pooling (8x8: 2, 20x20: 2-3, 32x32: 3).
  int max_stages = 1;
  while (max_stages < 4 && (side >> (max_stages + 1)) >= 2) ++max_stages;
  const int stages = std::min(side >= 32 ? 3 : 2, max_stages);
  const int shift = side >= 16 ? 2 : 1;
  std::vector<Proposal> out;
  auto add = [&](nlohmann::json p, std::string why) {
    if (fit_cnn(&p, shape, outputs, limits, &why)) out.push_back({"cnn", p, why});
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

std::vector<Proposal> mlp_proposals(const DataCard& card, const ModelLimits& limits) {
  const double rows = meta(card, "n_rows");
  const int inputs = card.modality == "image" ? card_image(card).pixels() : one_hot_width(card);
  const int outputs = n_outputs(card);
  const bool small = rows < 2000;
  std::vector<Proposal> out;
  auto add = [&](nlohmann::json p, std::string why) {
    if (fit_mlp(&p, inputs, outputs, limits, &why)) out.push_back({"mlp", p, why});
  };
  add({{"depth", 2}, {"width", small ? 64 : 128}, {"dropout", small ? 0.2 : 0.1}, {"learning_rate", 1e-3},
       {"batch_size", rows > 20000 ? 256 : 64}, {"weight_decay", 1e-4}},
      fmt::format("two hidden layers of {} units with dropout: a neural reference for smooth interactions",
                  small ? 64 : 128));
  return out;
}

std::vector<Proposal> fasttext_proposals(const DataCard& card, const ModelLimits& limits) {
  const double tokens = std::max(10.0, 2.0 * meta(card, "text_mean_words", 50.0));
  const int outputs = n_outputs(card);
  std::vector<Proposal> out;
  auto add = [&](nlohmann::json p, std::string why) {
    if (fit_fasttext(&p, tokens, outputs, limits, &why)) out.push_back({"fasttext", p, why});
  };
  add({{"dim", 64}, {"ngram_max", 2}, {"learning_rate", 0.1}},
      "averaged word and word-pair embeddings, then linear: fast, strong on short texts");
  return out;
}

}  // namespace

bool is_network_family(const std::string& family) {
  if (!model_registry().has(family)) return false;
  return model_registry().get(family).resource_param == "epochs";
}

std::vector<Proposal> network_proposals(const DataCard& card, const std::vector<std::string>& families,
                                        const ModelLimits& limits) {
  std::vector<Proposal> out;
  auto take = [&](std::vector<Proposal> v) { out.insert(out.end(), v.begin(), v.end()); };
  if (has(families, "cnn") && model_registry().has("cnn") && card.modality == "image") take(cnn_proposals(card, limits));
  if (has(families, "fasttext") && model_registry().has("fasttext") && card.modality == "text") {
    take(fasttext_proposals(card, limits));
  }
  if (has(families, "mlp") && model_registry().has("mlp") && card.modality == "tabular") take(mlp_proposals(card, limits));
  return out;
}

std::vector<Proposal> image_portfolio(const DataCard& card, const std::vector<std::string>& families,
                                      const ModelLimits& limits) {
  std::vector<Proposal> cnn = network_proposals(card, families, limits);
  std::vector<Proposal> out;
  if (has(families, "constant")) out.push_back({"constant", nlohmann::json::object(), "baseline every model must beat"});
  // The cheap model first: a network's cost on these images is unknown until it has
  // run, and a run must hold a model better than the constant early, at any budget.
  if (has(families, "linear")) {
    out.push_back({"linear", {{"C", 0.1}}, "a regularised linear model on the pixels: a cheap, fast reference"});
  }
  for (const auto& p : cnn) out.push_back(p);
  if (has(families, "xgboost")) {
    out.push_back({"xgboost", {{"learning_rate", 0.1}, {"max_depth", 6}, {"colsample_bytree", 0.5}},
                   "boosted trees on the pixels: the tabular alternative"});
  }
  return out;
}

void add_epoch_curve(const DataCard& card, const std::string& family, const nlohmann::json& params, int resource,
                     const std::vector<TrialResult>& history, PredictedLog* p) {
  const ModelEntry& e = model_registry().get(family);
  const nlohmann::json full = with_defaults(e.params, params);
  const auto& info = metric_info(card.metric);
  const bool bounded = info.name == "roc_auc" || info.name == "accuracy" || info.name == "macro_f1";
  int epochs = static_cast<int>(param_int(full, "epochs"));
  if (resource > 0) epochs = std::min(epochs, resource);
  const int patience = static_cast<int>(param_int(full, "early_stopping_epochs"));

  double baseline = std::nan(""), best = std::nan("");
  std::vector<double> same, same_iters, same_seconds;
  for (const auto& t : history) {
    if (!t.usable() || t.sample_rows > 0) continue;
    if (t.family == "constant") baseline = t.score;
    else if (std::isnan(best) || metric_better(card.metric, t.score, best)) best = t.score;
    if (t.family == family) {
      same.push_back(t.score);
      same_seconds.push_back(t.seconds);
      if (!t.capped && t.iterations > 0) same_iters.push_back(t.iterations);
    }
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
  };
  // The final score. With one finished trial of the family, that trial; with none, on
  // images a convolutional network is expected to close most of the gap the tabular
  // models leave to a perfect score.
  if (same.size() == 1) {
    p->final_score = same[0];
    p->uncertainty = std::max(0.01, 0.1 * std::abs(same[0] - (std::isnan(baseline) ? same[0] : baseline)));
    p->basis = fmt::format("the one finished {} trial so far", family);
  } else if (same.empty() && family == "cnn" && bounded && info.higher_is_better && !std::isnan(best)) {
    p->final_score = best + 0.6 * (1.0 - best);
    p->uncertainty = 0.5 * (1.0 - best) + 0.01;
    p->basis = "no cnn trial yet: convolutions usually close most of the gap tabular models leave on images";
  } else if (same.empty() && family == "cnn" && bounded && info.higher_is_better && !std::isnan(baseline)) {
    p->final_score = baseline + 0.9 * (1.0 - baseline);
    p->uncertainty = 0.3 * (1.0 - baseline);
    p->basis = "only the baseline so far: a convolutional network usually gets most images right";
  }

  // How many epochs it will log: early stopping after the best epoch, as the family's
  // finished trials did, else a share of the cap.
  const double best_epoch = same_iters.empty() ? std::max(3.0, 0.4 * epochs) : mean(same_iters);
  const int n = std::max(1, std::min(epochs, static_cast<int>(std::lround(best_epoch)) + patience));

  // The curve: most of the gain within the first steps (fast at lr 1e-3 and many steps
  // per epoch), the rest slowly until the best epoch.
  const double rows = meta(card, "n_rows");
  const double train_rows = rows * (fits_per_trial(rows) > 1 ? 1.0 - 1.0 / std::min(5.0, fits_per_trial(rows)) : 0.8);
  const double batch = static_cast<double>(param_int(full, "batch_size"));
  const double lr = param_real(full, "learning_rate");
  const double steps_per_epoch = std::max(1.0, train_rows / batch);
  const double fast = std::max(0.05, kStepsToLearn * (1e-3 / std::max(lr, 1e-6)) / steps_per_epoch);
  const double slow = std::max(1.0, std::min(static_cast<double>(n), best_epoch) / 3.0);
  double start = !std::isnan(baseline) ? baseline : info.name == "roc_auc" ? 0.5 : p->final_score;
  if (!bounded && std::isnan(baseline)) start = p->final_score;
  p->checkpoints.clear();
  p->metric.clear();
  const int step = std::max(1, n / 40);  // at most about 40 points
  for (int k = 1; k <= n; k += step) {
    const double progress = 0.85 * (1.0 - std::exp(-k / fast)) + 0.15 * (1.0 - std::exp(-k / slow));
    const double norm = 0.85 * (1.0 - std::exp(-best_epoch / fast)) + 0.15 * (1.0 - std::exp(-best_epoch / slow));
    double v = start + (p->final_score - start) * std::min(1.0, progress / std::max(norm, 1e-9));
    if (bounded) v = std::clamp(v, 0.0, 1.0);
    p->checkpoints.push_back(k);
    p->metric.push_back(v);
  }

  // Seconds: the family's finished trials, else the network's cost per row.
  if (!same_seconds.empty()) {
    p->seconds = mean(same_seconds);
  } else {
    const int outputs = n_outputs(card);
    double flops = 0;
    if (family == "cnn" && !card_image(card).empty()) {
      flops = cnn_cost(CnnArchitecture::from_params(full), card_image(card), outputs).flops_per_row;
    } else if (family == "mlp") {
      flops = mlp_cost(one_hot_width(card), static_cast<int>(param_int(full, "depth")),
                       static_cast<int>(param_int(full, "width")), outputs).flops_per_row;
    } else if (family == "fasttext") {
      // Sparse updates: the document's tokens, forward and back.
      flops = std::max(10.0, 2.0 * meta(card, "text_mean_words", 50.0)) * static_cast<double>(param_int(full, "dim")) * 4;
    }
    const double per_epoch = 3.0 * flops * (train_rows + rows * 0.2) / kTrainFlops;
    p->seconds = 0.05 + per_epoch * n * fits_per_trial(rows) / 2.0;  // two fits side by side
  }
}

}  // namespace automl
