// Replays finished runs through the built-in planner's log prediction: for every
// trial of each run folder, in the order the run made them, it asks for the
// prediction the planner would have made from the trials before it, with the
// dataset itself left out of the knowledge base. It prints, per run, the Spearman
// rank correlation between the replayed predictions and the real validation
// scores (and that of the predictions the run recorded), then the medians.
//
//   brain_replay runs/brain/*-30s-automl-gpt [--knowledge FILE] [--skip N] [--show N]
//
// --skip N leaves each run's first N trials out of the correlation (how much the
// uncalibrated start costs); --show N prints them with their replayed predictions;
// --dump FILE writes every scored trial's real and replayed score as JSON lines (run,
// trial, family, resource, sample_rows, rung, real, replayed), for a look by family or rung.
//
// It lets a change to the predictor be measured on real trials in seconds, without
// re-running the searches; bench/brain.py remains the end-to-end measurement.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/model.h"
#include "automl/planner.h"
#include "automl/search.h"
#include "automl/table.h"
#include "automl/stats.h"

namespace {

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw automl::Error(automl::ErrorKind::kNotFound, "cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double number(const std::string& s) { return s.empty() ? std::nan("") : std::stod(s); }

struct Replayed {
  double replayed = 0, recorded = 0;
  double error = 0;  // median absolute error of the replayed predictions, as a share of the run's spread of scores
  std::size_t trials = 0;
  // The replayed seconds' median factor off (exp of the median |log(predicted / real)|)
  // over the trials that ran to their end and took at least 0.1 s.
  double seconds_off = 0;
};

struct Options {
  int skip = 0;  // leave the first trials of each run out of the correlation
  int show = 0;  // print the first trials of each run with their replayed prediction
  std::ofstream* dump = nullptr;  // every scored trial as a JSON line
};

Replayed replay(const std::filesystem::path& folder, const automl::KnowledgeBase& kb, const Options& opt) {
  using namespace automl;
  const DataCard card = DataCard::from_json(nlohmann::json::parse(slurp(folder / "data_card.json")));
  auto known = std::make_shared<const KnowledgeBase>(kb.without(card.name));
  auto planner = make_builtin_planner(known);
  const auto records = parse_csv_records(slurp(folder / "leaderboard.csv"));
  if (records.empty()) throw Error(ErrorKind::kInvalidInput, (folder / "leaderboard.csv").string() + " is empty");
  const auto& head = records[0];
  auto col = [&](const char* name) {
    auto it = std::find(head.begin(), head.end(), name);
    if (it == head.end()) throw Error(ErrorKind::kInvalidInput, (folder / "leaderboard.csv").string() + " has no column " + name);
    return static_cast<std::size_t>(it - head.begin());
  };
  const std::size_t c_id = col("trial_id"), c_family = col("family"), c_params = col("hyperparameters"),
                    c_rung = col("rung"), c_parent = col("parent"), c_resource = col("resource"),
                    c_score = col("validation_score"), c_pred = col("predicted_score"), c_seconds = col("seconds"),
                    c_iter = col("iterations"), c_status = col("status"), c_reason = col("reason");
  std::vector<TrialResult> history;
  std::vector<double> real, replayed, recorded, seconds_log_errors;
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto& r = records[i];
    if (!model_registry().has(r[c_family])) continue;  // ensemble rows: built from trials, never predicted
    TrialResult t;
    t.id = std::stoi(r[c_id]);
    t.family = r[c_family];
    t.params = nlohmann::json::parse(r[c_params]);
    t.rung = r[c_rung].empty() ? 0 : std::stoi(r[c_rung]);
    t.parent = r[c_parent].empty() ? -1 : std::stoi(r[c_parent]);
    t.resource = r[c_resource].empty() ? -1 : std::stoi(r[c_resource]);
    t.status = parse_trial_status(r[c_status]);  // older leaderboards: "stopped early"
    t.reason = r[c_reason];
    t.score = number(r[c_score]);
    t.seconds = number(r[c_seconds]);
    t.iterations = r[c_iter].empty() ? 0 : number(r[c_iter]);
    // Leaderboards before the stop column kept how a trial stopped only in its reason.
    const auto stop_col = std::find(head.begin(), head.end(), "stop");
    if (stop_col != head.end()) t.stop = parse_stop_reason(r[static_cast<std::size_t>(stop_col - head.begin())]);
    else if (t.reason.rfind("pruned", 0) == 0) t.stop = StopReason::kPruned;
    else if (t.reason.find("capped at") != std::string::npos) t.stop = StopReason::kRoundCap;
    t.capped = t.stop == StopReason::kRoundCap || t.stop == StopReason::kCompleted;
    // The leaderboard keeps a trial's sample and its deadline stop in its reason.
    if (const auto at = t.reason.find("trained on a sample of "); at != std::string::npos)
      t.sample_rows = std::atoi(t.reason.c_str() + at + 23);
    t.deadline_stopped = t.reason.rfind("budget ran out", 0) == 0 &&
                         t.reason.rfind("budget ran out before a fold started", 0) != 0;
    if (!std::isnan(t.score)) t.fold_scores = {t.score};
    PredictedLog p = planner->predict_log(card, t.family, t.params, t.resource, history);
    // A trial on a sample of its fold's rows was predicted for that sample, as the search
    // does (expect_on_sample_rows); the fold's rows are in its reason.
    t.predicted = p.to_json();
    if (const auto at = t.reason.find(" of the fold's "); t.sample_rows > 0 && at != std::string::npos) {
      expect_on_sample_rows(&t.predicted, t.sample_rows, std::atof(t.reason.c_str() + at + 15), history);
      p.final_score = t.predicted["final_score"].get<double>();
    }
    if (static_cast<int>(i) <= opt.show)
      std::printf("  %3d %-8s %5d real %9.4f pred %9.4f  %s\n", t.id, t.family.c_str(), t.resource, t.score, p.final_score,
                  t.params.dump().substr(0, 90).c_str());
    if (static_cast<int>(i) > opt.skip && !std::isnan(t.score) && !r[c_pred].empty() && t.stop != StopReason::kPruned) {
      real.push_back(t.score);
      replayed.push_back(p.final_score);
      recorded.push_back(number(r[c_pred]));
      if (opt.dump)
        *opt.dump << nlohmann::json{{"run", folder.filename().string()}, {"trial", t.id}, {"family", t.family},
                                    {"resource", t.resource}, {"sample_rows", t.sample_rows}, {"rung", t.rung},
                                    {"real", t.score}, {"replayed", p.final_score}}
                         .dump()
                  << "\n";
    }
    if (t.status == TrialStatus::kFinished && t.seconds >= 0.1 && p.seconds > 0) {
      seconds_log_errors.push_back(std::abs(std::log(p.seconds / t.seconds)));
    }
    history.push_back(std::move(t));
  }
  const double seconds_off = std::exp(median(seconds_log_errors));
  if (real.size() < 3) return {std::nan(""), std::nan(""), std::nan(""), real.size(), seconds_off};
  std::vector<double> errors, sorted = real;
  for (std::size_t i = 0; i < real.size(); ++i) errors.push_back(std::abs(replayed[i] - real[i]));
  std::sort(sorted.begin(), sorted.end());
  const double spread = sorted[sorted.size() * 9 / 10] - sorted[sorted.size() / 10];  // the middle 80%
  return {automl::spearman(replayed, real), automl::spearman(recorded, real),
          spread > 0 ? median(errors) / spread : std::nan(""), real.size(), seconds_off};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> folders;
  std::string kb_path = automl::default_knowledge_path().string();
  Options opt;
  std::ofstream dump;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--knowledge" && i + 1 < argc) {
      kb_path = argv[++i];
    } else if (a == "--skip" && i + 1 < argc) {
      opt.skip = std::atoi(argv[++i]);
    } else if (a == "--show" && i + 1 < argc) {
      opt.show = std::atoi(argv[++i]);
    } else if (a == "--dump" && i + 1 < argc) {
      dump.open(argv[++i]);
      if (!dump) {
        std::cerr << "error: cannot write " << argv[i] << "\n";
        return 1;
      }
      opt.dump = &dump;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "usage: brain_replay RUN_FOLDER... [--knowledge FILE] [--skip N] [--show N] [--dump FILE]\n";
      return 2;
    } else {
      folders.push_back(a);
    }
  }
  if (folders.empty()) {
    std::cerr << "usage: brain_replay RUN_FOLDER... [--knowledge FILE] [--skip N] [--show N] [--dump FILE]\n";
    return 2;
  }
  try {
    const auto kb = automl::KnowledgeBase::load(kb_path);
    std::vector<double> a, b, e, so;
    for (const auto& f : folders) {
      const Replayed r = replay(f, kb, opt);
      std::printf("%-48s trials %4zu  replayed %6.3f  recorded %6.3f  error %6.3f  seconds x%.2f\n", f.c_str(), r.trials,
                  r.replayed, r.recorded, r.error, r.seconds_off);
      a.push_back(r.replayed);
      b.push_back(r.recorded);
      e.push_back(r.error);
      so.push_back(r.seconds_off);
    }
    std::printf("median Spearman over %zu runs: replayed %.3f, recorded %.3f; median error %.3f of the spread; "
                "seconds off by a median factor of %.2f\n",
                folders.size(), median(a), median(b), median(e), median(so));
  } catch (const automl::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
