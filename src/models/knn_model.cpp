// k-nearest neighbours on one-hot, standardised features: the model is the
// training rows themselves, and a prediction looks at the k closest of them
// (brute force, query rows split across threads). For small tables only: the
// saved model holds every training row, and predicting one row reads them all.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/model.h"
#include "automl/parallel.h"
#include "family_plans.h"

namespace automl {
namespace {

constexpr char kMagic[8] = {'A', 'M', 'L', 'K', 'N', 'N', '0', '1'};
constexpr const char* kFile = "knn.bin";

class KnnModel final : public Model {
 public:
  KnnModel(const nlohmann::json& params, Task task)
      : task_(task),
        k_(static_cast<std::size_t>(param_int(params, "k"))),
        by_distance_(param_str(params, "weights") == "distance"),
        manhattan_(param_str(params, "metric") == "manhattan") {}

  void fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix*, const std::vector<double>*,
           const FitContext& ctx) override {
    if (x.rows == 0) throw_invalid("k-nearest neighbours needs at least one training row");
    if (y.size() != x.rows) throw_internal(fmt::format("knn: {} rows but {} targets", x.rows, y.size()));
    rows_ = x.rows;
    cols_ = x.cols;
    x_.resize(x.values.size());
    // One-hot encoding imputes every gap; a NaN that still arrives sits at the mean.
    for (std::size_t i = 0; i < x.values.size(); ++i) x_[i] = std::isnan(x.values[i]) ? 0.0f : x.values[i];
    y_ = y;
    n_outputs_ = is_classification(task_) ? static_cast<std::size_t>(std::max(ctx.n_classes, 2)) : 1;
    threads_ = std::max(1, ctx.threads);
  }

  std::vector<double> predict(const FeatureMatrix& x) const override {
    if (rows_ == 0) throw_internal("knn model used before fit or load");
    if (x.cols != cols_) throw_internal(fmt::format("knn model expects {} features, got {}", cols_, x.cols));
    std::vector<double> out(x.rows * n_outputs_, 0.0);
    // Rows are independent, so the answer does not depend on how they are split.
    const double work = static_cast<double>(x.rows) * static_cast<double>(rows_) * static_cast<double>(cols_ + 1);
    const std::size_t n_threads = work < 2e5 ? 1 : std::min<std::size_t>(static_cast<std::size_t>(threads_), x.rows);
    auto run = [&](std::size_t begin, std::size_t end) {
      std::vector<std::pair<double, std::uint32_t>> d(rows_);
      std::vector<float> query(cols_);
      for (std::size_t i = begin; i < end; ++i) {
        for (std::size_t j = 0; j < cols_; ++j) {
          float v = x.at(i, j);
          query[j] = std::isnan(v) ? 0.0f : v;
        }
        predict_row(query.data(), &d, &out[i * n_outputs_]);
      }
    };
    const std::size_t chunk = (x.rows + n_threads - 1) / n_threads;
    parallel_for(n_threads, static_cast<int>(n_threads), [&](std::size_t t) {
      const std::size_t begin = std::min(x.rows, t * chunk), end = std::min(x.rows, (t + 1) * chunk);
      if (begin < end) run(begin, end);
    });
    return out;
  }

  // knn.bin: magic, then task, outputs, rows, cols (uint64 each), the features as
  // float32 row by row and the targets as float64, all in the machine's byte order.
  void save(const std::filesystem::path& dir) const override {
    const auto path = dir / kFile;
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t header[4] = {static_cast<std::uint64_t>(task_), n_outputs_, rows_, cols_};
    out.write(kMagic, sizeof kMagic);
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    out.write(reinterpret_cast<const char*>(x_.data()), static_cast<std::streamsize>(x_.size() * sizeof(float)));
    out.write(reinterpret_cast<const char*>(y_.data()), static_cast<std::streamsize>(y_.size() * sizeof(double)));
    if (!out) throw_io("cannot write " + path.string());
  }

  void load(const std::filesystem::path& dir) override {
    const auto path = dir / kFile;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_io("cannot read " + path.string());
    char magic[sizeof kMagic];
    std::uint64_t header[4];
    in.read(magic, sizeof magic);
    in.read(reinterpret_cast<char*>(header), sizeof header);
    if (!in || std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
      throw_io(path.string() + " is not a saved k-nearest-neighbours model (bad header); save the pipeline again");
    }
    if (header[0] != static_cast<std::uint64_t>(task_)) {
      throw_io(fmt::format("{} was saved for task {}, not {}", path.string(), header[0], task_name(task_)));
    }
    n_outputs_ = header[1];
    rows_ = header[2];
    cols_ = header[3];
    const auto size = std::filesystem::file_size(path);
    // Counts no larger than the file, so that the product below cannot wrap around.
    const bool fits = rows_ <= size && cols_ <= size && (cols_ == 0 || rows_ <= size / cols_);
    const auto expected = sizeof kMagic + sizeof header + rows_ * cols_ * sizeof(float) + rows_ * sizeof(double);
    if (rows_ == 0 || !fits || size != expected) {
      throw_io(fmt::format("{} is truncated or damaged: expected {} bytes for {} rows x {} features", path.string(),
                           expected, rows_, cols_));
    }
    x_.resize(rows_ * cols_);
    y_.resize(rows_);
    in.read(reinterpret_cast<char*>(x_.data()), static_cast<std::streamsize>(x_.size() * sizeof(float)));
    in.read(reinterpret_cast<char*>(y_.data()), static_cast<std::streamsize>(y_.size() * sizeof(double)));
    if (!in) throw_io("cannot read " + path.string());
    // Each class index must name one of the outputs a prediction has.
    const bool classes = is_classification(task_);
    if (classes ? n_outputs_ < 2 || n_outputs_ > (1u << 20) : n_outputs_ != 1) {
      throw_io(fmt::format("{} is damaged: {} outputs", path.string(), n_outputs_));
    }
    for (double v : y_) {
      if (classes && !(v >= 0 && v < static_cast<double>(n_outputs_) && v == std::floor(v))) {
        throw_io(fmt::format("{} is damaged: class index {} of {} classes", path.string(), v, n_outputs_));
      }
    }
    threads_ = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

 private:
  // The k closest training rows of `query` (ties broken by row order), then their
  // vote or mean into `out`.
  void predict_row(const float* query, std::vector<std::pair<double, std::uint32_t>>* buf, double* out) const {
    auto& d = *buf;
    for (std::size_t r = 0; r < rows_; ++r) {
      const float* row = &x_[r * cols_];
      double s = 0;
      if (manhattan_) {
        for (std::size_t j = 0; j < cols_; ++j) s += std::abs(static_cast<double>(row[j]) - query[j]);
      } else {
        for (std::size_t j = 0; j < cols_; ++j) {
          double diff = static_cast<double>(row[j]) - query[j];
          s += diff * diff;
        }
      }
      d[r] = {s, static_cast<std::uint32_t>(r)};
    }
    const std::size_t k = std::min(k_, rows_);
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(k - 1), d.end());
    std::sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(k));
    // Weights: 1 each, or 1 / distance; rows at distance zero take all the weight.
    std::vector<double> w(k, 1.0);
    if (by_distance_) {
      const bool exact = d[0].first <= 1e-24;
      for (std::size_t i = 0; i < k; ++i) {
        double dist = manhattan_ ? d[i].first : std::sqrt(d[i].first);
        w[i] = exact ? (d[i].first <= 1e-24 ? 1.0 : 0.0) : 1.0 / dist;
      }
    }
    double total = 0;
    for (double v : w) total += v;
    if (!is_classification(task_)) {
      double s = 0;
      for (std::size_t i = 0; i < k; ++i) s += w[i] * y_[d[i].second];
      out[0] = s / total;
      return;
    }
    // The weighted share of each class among the neighbours, blended with one
    // pseudo-neighbour spread evenly over the classes (weight 1 of k + 1): no class
    // gets probability zero, and the order of the classes within a row, and of the
    // rows for each class, stays as the plain vote has it.
    const double kk = static_cast<double>(k), even = 1.0 / static_cast<double>(n_outputs_);
    for (std::size_t c = 0; c < n_outputs_; ++c) out[c] = 0;
    for (std::size_t i = 0; i < k; ++i) {
      auto c = static_cast<std::size_t>(y_[d[i].second]);
      if (c < n_outputs_) out[c] += w[i] / total;
    }
    for (std::size_t c = 0; c < n_outputs_; ++c) out[c] = (kk * out[c] + even) / (kk + 1.0);
  }

  Task task_;
  std::size_t k_;
  bool by_distance_, manhattan_;
  std::size_t rows_ = 0, cols_ = 0, n_outputs_ = 0;
  std::vector<float> x_;   // training rows, row-major
  std::vector<double> y_;  // class index or value
  int threads_ = 1;
};

ModelEntry knn_entry() {
  ModelEntry e;
  e.name = "knn";
  e.structure = "k-nearest neighbours (brute-force search over the stored training rows)";
  e.description =
      "Predicts from the k most similar training rows (one-hot categories, standardised numbers): their "
      "(distance-weighted) class shares or mean. No training, but the model stores every training row and each "
      "prediction reads them all, so it is meant for small tables (the built-in planner assigns it up to "
      "3,000 rows); a local, non-linear reference that needs no tuning beyond k.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kOneHot;
  // Its copy of the training rows (searched at predict time). Estimated from the data
  // structures, not measured: it is assigned to small tables only (kSmallTableRows).
  e.memory_bytes = [](const DataShape& s) { return 8.0 * s.rows * s.columns + 16.0 * (1 << 20); };
  e.params = {
      ParamSpec::integer("k", 10).range(1, 1000).tune(1, 50).log()
          .describe("neighbours consulted per prediction; small k follows the data closely, large k smooths"),
      ParamSpec::choice("weights", {"uniform", "distance"}, "distance")
          .describe("each neighbour counts once (uniform) or by 1 / its distance (distance)"),
      ParamSpec::choice("metric", {"euclidean", "manhattan"}, "euclidean")
          .describe("distance between rows: straight-line (euclidean) or sum of absolute differences (manhattan)"),
  };
  e.footprint = [](double rows, double features) {
    // float32 features + float64 target per row; about a nanosecond per cell per query.
    return Footprint{rows * (features * 4.0 + 8.0) / (1024.0 * 1024.0), rows * features * 1.5e-6};
  };
  e.create = [](const nlohmann::json& p, Task task) { return std::make_unique<KnnModel>(p, task); };
  // Small tables only: it keeps and scans every training row.
  e.max_rows = kSmallTableRows;
  e.rank = [](const DataCard& card) {
    return PlannerRank{1, fmt::format("{:.0f} rows (up to {}): a local, non-linear reference that is cheap here",
                                      card_meta(card, "n_rows"), kSmallTableRows)};
  };
  e.portfolio = [](const PortfolioContext& ctx) -> std::vector<PortfolioSetting> {
    if (ctx.images) return {};
    return {{40, {{"k", 10}, {"weights", "distance"}, {"metric", "euclidean"}},
             "10 nearest neighbours, distance-weighted: a local, non-linear reference on a small table"}};
  };
  // Per fit, every validation row is compared with every training row (folds as
  // make_validation_plan chooses them, two side by side).
  e.cost_prior_seconds = [](const DataCard& card, const nlohmann::json&) {
    const double n = card_meta(card, "n_rows");
    double d = 1;
    for (const auto& c : card.columns) {
      if (c.type == ColumnType::kNumeric) d += 1;
      if (c.type == ColumnType::kCategorical) d += std::min<double>(100.0, static_cast<double>(c.cardinality));
    }
    const double train = n * 0.8, valid = n * 0.2;
    return 0.01 + train * valid * d * 1.5e-9 * planned_fits_per_trial(n) / 2.0;
  };
  return e;
}

const ModelEntry& kRegistered = model_registry().add(knn_entry());

}  // namespace
}  // namespace automl
