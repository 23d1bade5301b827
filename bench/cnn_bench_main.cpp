// Trains the project's `cnn` family on an image data set folder (train.csv, test.csv
// with pixel_ROW_COL columns and a label) and prints one JSON line:
//
//   cnn_bench DIR [--epochs N] [--threads N] [--batch N] [--seed N] [--target 0.97]
//   {"peer": "automl-gpt", "train_rows": 3750, "epochs": 10, "train_only_s": 21.3,
//    "images_per_s": 1760.5, "valid_accuracy": [...], "epoch_end_s": [...], "seconds_to_target": 6.1, ...}
//
// Two fits of the same network, as bench/torch_bench.py does them in python3-torch:
// (1) training only, `epochs` epochs (images per second), and (2) with the test
// rows scored after every epoch (accuracy per epoch, seconds to reach --target).
// The network: 2 stages of 3x3 convolutions with 32 and 64 channels, batch norm,
// ReLU, 2x2 max pooling, then dropout 0.25, dense 128, ReLU, dropout 0.25, linear;
// AdamW (lr 1e-3, weight decay 1e-4), no augmentation.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/metrics.h"
#include "automl/model.h"
#include "automl/pipeline.h"

namespace {

int usage() {
  std::cerr << "usage: cnn_bench DIR [--epochs N] [--threads N] [--batch N] [--seed N] [--target ACC]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace automl;
  std::string dir;
  int epochs = 10, threads = 2, batch = 64;
  uint64_t seed = 0;
  double target_acc = 0.97;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      std::string v = argv[++i];
      if (arg == "--epochs") epochs = std::atoi(v.c_str());
      else if (arg == "--threads") threads = std::atoi(v.c_str());
      else if (arg == "--batch") batch = std::atoi(v.c_str());
      else if (arg == "--seed") seed = std::strtoull(v.c_str(), nullptr, 10);
      else if (arg == "--target") target_acc = std::atof(v.c_str());
      else return usage();
    } else if (dir.empty() && arg[0] != '-') {
      dir = arg;
    } else {
      return usage();
    }
  }
  if (dir.empty()) return usage();
  try {
    Table train = read_csv(dir + "/train.csv");
    Table test = read_csv(dir + "/test.csv");
    DataCard card = infer_data_card(train, "label", "bench");
    Target y = encode_target(train, card);
    Target ty = encode_target(test, card, true);
    std::vector<std::string> features = train.column_names();
    features.erase(std::find(features.begin(), features.end(), "label"));
    std::vector<std::size_t> rows(train.n_rows);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    Preprocessor pre(Encoding::kImage);
    pre.fit(train, features, rows);
    const FeatureMatrix x = pre.transform(train), tx = pre.transform(test);

    const ModelEntry& e = model_registry().get("cnn");
    const nlohmann::json params = with_defaults(
        e.params, {{"stages", 2}, {"channels", 32}, {"kernel_size", "3"}, {"normalization", "batch"},
                   {"pooling", "max"}, {"head", "dense"}, {"dense_width", 128}, {"dropout", 0.25},
                   {"learning_rate", 1e-3}, {"weight_decay", 1e-4}, {"batch_size", batch}, {"shift", 0},
                   {"flip", false}, {"epochs", epochs}, {"early_stopping_epochs", epochs}});
    FitContext ctx;
    ctx.task = y.task;
    ctx.n_classes = y.n_classes();
    ctx.metric = "accuracy";
    ctx.threads = threads;
    ctx.seed = seed;

    // (1) Training only.
    FitContext only = ctx;
    only.fixed_iterations = epochs;
    auto a = e.create(params, y.task);
    const auto t0 = Clock::now();
    a->fit(x, y.y, nullptr, nullptr, only);
    const double train_only_s = std::chrono::duration<double>(Clock::now() - t0).count();

    // (2) The test rows scored after every epoch.
    std::vector<double> acc, at;
    FitContext scored = ctx;
    scored.on_iteration = [&](const IterationLog& it) {
      acc.push_back(it.valid_metric);
      at.push_back(it.seconds);
      return true;
    };
    auto b = e.create(params, y.task);
    b->fit(x, y.y, &tx, &ty.y, scored);
    double to_target = -1;
    for (std::size_t i = 0; i < acc.size(); ++i) {
      if (acc[i] >= target_acc) {
        to_target = at[i];
        break;
      }
    }
    const double final_acc = compute_metric("accuracy", y, ty.y, a->predict(tx));
    nlohmann::json out = {{"peer", "automl-gpt"},
                          {"dataset", card.name},
                          {"train_rows", x.rows},
                          {"image", {x.image_channels, x.image_height, x.image_width}},
                          {"epochs", epochs},
                          {"batch_size", batch},
                          {"threads", threads},
                          {"train_only_s", train_only_s},
                          {"images_per_s", static_cast<double>(x.rows) * epochs / train_only_s},
                          {"train_only_test_accuracy", final_acc},
                          {"valid_accuracy", acc},
                          {"epoch_end_s", at},
                          {"target_accuracy", target_acc},
                          {"seconds_to_target", to_target < 0 ? nlohmann::json(nullptr) : nlohmann::json(to_target)}};
    std::cout << out.dump() << "\n";
  } catch (const std::exception& ex) {
    std::cerr << "cnn_bench: " << ex.what() << "\n";
    return 1;
  }
  return 0;
}
