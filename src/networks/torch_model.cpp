// The training loop, prediction and persistence the neural-network families share
// (src/networks/torch_model.h).
#include "torch_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/saved_json.h"
#include "automl/metrics.h"

namespace automl::nn {

void use_threads(int threads) {
  at::get_num_threads();  // the lazy per-thread initialisation, which would undo the next line
  at::set_num_threads(std::max(1, threads));
}

void init_linear_or_conv(torch::Tensor weight, torch::Tensor bias, bool relu_follows, torch::Generator& gen) {
  torch::NoGradGuard no_grad;
  double fan_in = 1;
  for (int64_t d = 1; d < weight.dim(); ++d) fan_in *= static_cast<double>(weight.size(d));
  const double bound = relu_follows ? std::sqrt(6.0 / fan_in) : 1.0 / std::sqrt(fan_in);
  weight.uniform_(-bound, bound, gen);
  if (!bias.defined()) return;
  if (relu_follows) {
    bias.zero_();
  } else {
    bias.uniform_(-bound, bound, gen);
  }
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool training, torch::Generator& gen) {
  if (!training || p <= 0) return x;
  auto keep = torch::empty_like(x).bernoulli_(1.0 - p, gen);
  return x * keep / (1.0 - p);
}

torch::Tensor gather_rows(const FeatureMatrix& x, const std::vector<int64_t>& rows) {
  auto out = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(x.cols)}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const float* src = x.values.data() + static_cast<std::size_t>(rows[i]) * x.cols;
    std::copy(src, src + x.cols, dst + i * x.cols);
  }
  return out;
}

namespace {

constexpr int64_t kPredictChunk = 512;
// The most validation rows early stopping watches each epoch (see fit): at most this
// many, and at most half the training rows when that is more than the floor.
constexpr std::size_t kEpochValidRows = 20000;
constexpr std::size_t kEpochValidRowsFloor = 1000;

// A stand-in target for compute_metric: the metric needs only the task and the
// number of classes (class 1 is the positive one for ROC AUC, which is symmetric).
Target metric_target(Task task, int n_classes) {
  Target t;
  t.task = task;
  for (int c = 0; c < n_classes; ++c) t.classes.push_back(std::to_string(c));
  return t;
}

// Parameters and buffers (batch-norm statistics), copied: the best epoch's state.
std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.detach().clone());
  for (auto& b : m.buffers()) out.push_back(b.detach().clone());
  return out;
}

void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  std::size_t i = 0;
  for (auto& p : m.parameters()) p.copy_(state[i++]);
  for (auto& b : m.buffers()) b.copy_(state[i++]);
}

}  // namespace

void TorchModel::fit(const FeatureMatrix& x, const std::vector<double>& y, const FeatureMatrix* valid_x,
                     const std::vector<double>* valid_y, const FitContext& ctx) {
  const auto start = Clock::now();
  check_input(x);
  if (x.rows == 0) throw_invalid(file_stem() + " cannot train on zero rows");
  use_threads(ctx.threads);
  threads_ = ctx.threads;
  outputs_ = is_classification(task_) ? std::max(2, ctx.n_classes) : 1;
  log_metric_ = ctx.metric.empty() ? default_metric(task_) : ctx.metric;
  gen_ = at::make_generator<at::CPUGeneratorImpl>(ctx.seed);
  std::mt19937_64 rng(ctx.seed * 0x9e3779b97f4a7c15ULL + 1);

  // Targets as the loss wants them: class indices, or standardised values.
  torch::Tensor targets;
  if (is_classification(task_)) {
    std::vector<int64_t> labels(y.begin(), y.end());
    targets = torch::tensor(labels, torch::kInt64);
  } else {
    double s = 0, s2 = 0;
    for (double v : y) {
      s += v;
      s2 += v * v;
    }
    const double n = static_cast<double>(y.size());
    y_mean_ = s / n;
    const double var = s2 / n - y_mean_ * y_mean_;
    y_scale_ = var > 1e-24 ? std::sqrt(var) : 1.0;
    std::vector<float> z;
    for (double v : y) z.push_back(static_cast<float>((v - y_mean_) / y_scale_));
    targets = torch::tensor(z, torch::kFloat32);
  }

  build(x, outputs_, gen_);
  torch::nn::Module& m = net();
  std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(m);
  torch::optim::Optimizer& opt = *optimizer;

  int epochs = static_cast<int>(param_int(params_, "epochs"));
  if (ctx.max_iterations > 0) epochs = std::min(epochs, ctx.max_iterations);
  if (ctx.fixed_iterations > 0) epochs = ctx.fixed_iterations;
  const bool validate = valid_x && valid_y && !valid_y->empty() && ctx.fixed_iterations < 0;
  const int patience = static_cast<int>(param_int(params_, "early_stopping_epochs"));
  const auto batch = static_cast<std::size_t>(param_int(params_, "batch_size"));
  const Target mt = metric_target(task_, outputs_);
  if (validate) check_input(*valid_x);
  // Early stopping watches at most kEpochValidRows validation rows, and at most half as
  // many as it trains on (not under kEpochValidRowsFloor), a fixed seeded sample: an
  // epoch's check on every validation row can cost more than the epoch itself (a trial on
  // a 2,000-row sample of a 1,000,000-row table spent 2 s of its 4 validating 200,000
  // rows; a cnn on 2,000 of 12,000 images spent 0.7 s of each 2 s epoch on 3,000). The
  // trial is still scored on every row.
  std::vector<int64_t> watch;
  std::vector<double> watch_y;
  if (validate) {
    watch.resize(valid_x->rows);
    std::iota(watch.begin(), watch.end(), int64_t{0});
    const std::size_t most = std::min(kEpochValidRows, std::max(kEpochValidRowsFloor, x.rows / 2));
    if (watch.size() > most) {
      std::mt19937_64 pick(ctx.seed + 7919);
      std::shuffle(watch.begin(), watch.end(), pick);
      watch.resize(most);
      std::sort(watch.begin(), watch.end());
    }
    for (auto r : watch) watch_y.push_back((*valid_y)[static_cast<std::size_t>(r)]);
    // A rare class the sample missed would leave the metric undefined: then every row.
    auto classes_in = [&](const std::vector<double>& labels) {
      std::vector<char> seen(static_cast<std::size_t>(outputs_), 0);
      for (double v : labels) seen[static_cast<std::size_t>(v)] = 1;
      return std::count(seen.begin(), seen.end(), 1);
    };
    if (is_classification(task_) && watch.size() < valid_x->rows && classes_in(watch_y) < classes_in(*valid_y)) {
      watch.resize(valid_x->rows);
      std::iota(watch.begin(), watch.end(), int64_t{0});
      watch_y = *valid_y;
    }
  }

  // Training ends by `train_end`: the deadline, less the time predicting every validation
  // row will take when the caller has not kept that back (predict_valid_after), timed
  // on a chunk of them with the untrained network (its pace does not change with training).
  Clock::time_point train_end = ctx.deadline;
  if (ctx.predict_valid_after && validate && ctx.deadline != Clock::time_point::max() && valid_x->rows > 0) {
    std::vector<int64_t> probe(std::min<std::size_t>(valid_x->rows, static_cast<std::size_t>(kPredictChunk)));
    std::iota(probe.begin(), probe.end(), int64_t{0});
    const auto probe_start = Clock::now();
    predict_rows(*valid_x, probe);
    const double per_row = std::chrono::duration<double>(Clock::now() - probe_start).count() / static_cast<double>(probe.size());
    train_end -= std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(per_row * static_cast<double>(valid_x->rows)));
  }

  std::vector<int64_t> order(x.rows);
  std::iota(order.begin(), order.end(), 0);
  std::vector<torch::Tensor> best_state;
  double best_metric = std::numeric_limits<double>::quiet_NaN(), best_loss = std::numeric_limits<double>::infinity();
  int best_epoch = -1, done = 0;
  stop_reason_ = FitStop::kCompleted;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    m.train(true);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<double> seen_y, seen_pred;  // the training metric, from the batches as trained
    bool out_of_time = false;
    for (std::size_t b = 0; b < order.size(); b += batch) {
      std::vector<int64_t> rows(order.begin() + static_cast<std::ptrdiff_t>(b),
                                order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), b + batch)));
      // A last batch of one row would break batch norm: it joins the previous epoch's end.
      if (rows.size() < 2 && order.size() > 1) break;
      auto out = forward(x, rows, true, rng);
      auto idx = torch::tensor(rows, torch::kInt64);
      auto t = targets.index_select(0, idx);
      auto loss = is_classification(task_) ? torch::nn::functional::cross_entropy(out, t)
                                           : torch::mse_loss(out.squeeze(1), t);
      opt.zero_grad();
      loss.backward();
      opt.step();
      auto pred = outputs_to_predictions(out.detach());
      seen_pred.insert(seen_pred.end(), pred.begin(), pred.end());
      for (auto r : rows) seen_y.push_back(y[static_cast<std::size_t>(r)]);
      if (Clock::now() >= train_end) {
        out_of_time = true;
        break;
      }
    }
    if (out_of_time) {  // a part-trained epoch is neither logged nor kept
      stop_reason_ = FitStop::kDeadline;
      break;
    }
    ++done;
    IterationLog log;
    log.iteration = epoch;
    log.train_metric = compute_metric(log_metric_, mt, seen_y, seen_pred);
    log.valid_metric = std::numeric_limits<double>::quiet_NaN();
    if (validate) {
      auto pv = predict_rows(*valid_x, watch);
      log.valid_metric = compute_metric(log_metric_, mt, watch_y, pv);
      // Ties in the metric (accuracy moves in steps) go to the lower validation loss.
      double vloss = 0;
      for (std::size_t i = 0; i < watch_y.size(); ++i) {
        if (is_classification(task_)) {
          vloss -= std::log(std::max(pv[i * outputs_ + static_cast<std::size_t>(watch_y[i])], 1e-15));
        } else {
          vloss += (pv[i] - watch_y[i]) * (pv[i] - watch_y[i]);
        }
      }
      const bool better = best_epoch < 0 || metric_better(log_metric_, log.valid_metric, best_metric) ||
                          (log.valid_metric == best_metric && vloss < best_loss);
      if (better) {
        best_metric = log.valid_metric;
        best_loss = vloss;
        best_epoch = epoch;
        best_state = snapshot(m);
      }
    } else {
      best_epoch = epoch;
    }
    log.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (ctx.on_iteration && !ctx.on_iteration(log)) {
      stop_reason_ = FitStop::kCaller;
      break;
    }
    if (validate && epoch - best_epoch >= patience) {
      stop_reason_ = FitStop::kEarlyStopping;
      break;
    }
    // An epoch that cannot end by train_end would be thrown away part-trained: the time
    // goes back to the caller instead (the last epoch, checks included, is the guide; its
    // pace barely changes from one epoch to the next).
    const auto now = Clock::now();
    const auto last_epoch = now - epoch_start;
    if ((now >= train_end || (train_end != Clock::time_point::max() && now + last_epoch * 9 / 10 > train_end)) &&
        epoch + 1 < epochs) {
      stop_reason_ = FitStop::kDeadline;
      break;
    }
  }
  if (validate && !best_state.empty()) restore(m, best_state);
  iterations_ = validate ? best_epoch + 1 : done;
  m.train(false);
  after_fit();
}

std::unique_ptr<torch::optim::Optimizer> TorchModel::make_optimizer(torch::nn::Module& m) {
  return std::make_unique<torch::optim::AdamW>(
      m.parameters(),
      torch::optim::AdamWOptions(param_real(params_, "learning_rate")).weight_decay(param_real(params_, "weight_decay")));
}

std::vector<double> TorchModel::outputs_to_predictions(const torch::Tensor& out) const {
  std::vector<double> pred(static_cast<std::size_t>(out.numel()));
  if (is_classification(task_)) {
    auto p = torch::softmax(out.to(torch::kFloat64), 1).contiguous();
    std::copy(p.data_ptr<double>(), p.data_ptr<double>() + p.numel(), pred.begin());
  } else {
    auto v = out.to(torch::kFloat64).contiguous();
    const double* d = v.data_ptr<double>();
    for (std::size_t i = 0; i < pred.size(); ++i) pred[i] = d[i] * y_scale_ + y_mean_;
  }
  return pred;
}

std::vector<double> TorchModel::predict_rows(const FeatureMatrix& x) const {
  std::vector<int64_t> all(x.rows);
  std::iota(all.begin(), all.end(), int64_t{0});
  return predict_rows(x, all);
}

std::vector<double> TorchModel::predict_rows(const FeatureMatrix& x, const std::vector<int64_t>& rows) const {
  auto* self = const_cast<TorchModel*>(this);  // forward() is not const in torch; nothing observable changes
  torch::NoGradGuard no_grad;
  torch::nn::Module& m = self->net();
  const bool was_training = m.is_training();
  m.train(false);
  std::mt19937_64 unused(0);
  std::vector<double> out;
  out.reserve(rows.size() * static_cast<std::size_t>(outputs_));
  for (std::size_t b = 0; b < rows.size(); b += kPredictChunk) {
    const std::vector<int64_t> chunk(rows.begin() + static_cast<std::ptrdiff_t>(b),
                                     rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), b + kPredictChunk)));
    auto pred = outputs_to_predictions(self->forward(x, chunk, false, unused));
    out.insert(out.end(), pred.begin(), pred.end());
  }
  m.train(was_training);
  return out;
}

std::vector<double> TorchModel::predict(const FeatureMatrix& x) const {
  if (outputs_ == 0) throw_internal(file_stem() + " model used before fit or load");
  check_input(x);
  use_threads(threads_);
  return predict_rows(x);
}

void TorchModel::save(const std::filesystem::path& dir) const {
  nlohmann::json j = {{"architecture", architecture()}, {"outputs", outputs_}, {"task", task_name(task_)},
                      {"y_mean", y_mean_}, {"y_scale", y_scale_}, {"iterations", iterations_},
                      {"stop_reason", to_string(stop_reason_)}, {"log_metric", log_metric_},
                      // Reductions split by thread count: the same threads give the same predictions.
                      {"threads", threads_}};
  const auto json_path = dir / (file_stem() + ".json");
  std::ofstream out(json_path);
  out << j.dump(2) << "\n";
  if (!out) throw_io("cannot write " + json_path.string());
  const auto pt_path = dir / (file_stem() + ".pt");
  try {
    torch::serialize::OutputArchive archive;
    const_cast<TorchModel*>(this)->net().save(archive);
    archive.save_to(pt_path.string());
  } catch (const c10::Error& e) {
    throw_io("cannot write " + pt_path.string() + ": " + e.what_without_backtrace());
  }
}

void TorchModel::check_saved_parameters(int64_t parameters) const {
  if (parameters <= 0 || static_cast<std::uintmax_t>(parameters) > saved_pt_bytes_ / 4) {
    throw_invalid(fmt::format("{} is damaged: its network has {} parameters, but {}.pt holds {} bytes",
                              saved_json_name(), parameters, file_stem(), saved_pt_bytes_));
  }
}

void TorchModel::load(const std::filesystem::path& dir) {
  const auto json_path = dir / (file_stem() + ".json");
  std::ifstream in(json_path);
  if (!in) throw_io("cannot read " + json_path.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(json_path.string() + " is damaged: " + e.what());
  }
  const std::string name = json_path.string();
  outputs_ = static_cast<int>(saved_int(j.at("outputs"), 1, 1 << 20, name + " \"outputs\""));
  y_mean_ = j.at("y_mean").get<double>();
  y_scale_ = j.at("y_scale").get<double>();
  iterations_ = static_cast<int>(saved_int(j.at("iterations"), 0, INT32_MAX, name + " \"iterations\""));
  stop_reason_ = parse_fit_stop(j.at("stop_reason").get<std::string>());
  log_metric_ = j.at("log_metric").get<std::string>();
  const auto pt_path = dir / (file_stem() + ".pt");
  std::error_code ec;
  saved_pt_bytes_ = std::filesystem::file_size(pt_path, ec);
  if (ec) throw_io("cannot read " + pt_path.string() + ": " + ec.message());
  try {
    rebuild(j.at("architecture"), outputs_);
    // The weights must have the shapes the architecture gives them: the archive would
    // otherwise replace them with whatever it holds, and predict would fail inside torch.
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& t : net().parameters()) shapes.push_back(t.sizes().vec());
    for (const auto& t : net().buffers()) shapes.push_back(t.sizes().vec());
    torch::serialize::InputArchive archive;
    archive.load_from(pt_path.string());
    net().load(archive);
    std::size_t i = 0;
    bool same = true;
    for (const auto& t : net().parameters()) same = same && i < shapes.size() && t.sizes().vec() == shapes[i++];
    for (const auto& t : net().buffers()) same = same && i < shapes.size() && t.sizes().vec() == shapes[i++];
    if (!same || i != shapes.size()) {
      throw_invalid(fmt::format("{} is damaged: its weights do not have the shapes {} describes", pt_path.string(),
                                json_path.string()));
    }
  } catch (const c10::Error& e) {
    throw_io("cannot read " + pt_path.string() + ": " + e.what_without_backtrace());
  }
  net().train(false);
  threads_ = j.value("threads", 2);
}

}  // namespace automl::nn
