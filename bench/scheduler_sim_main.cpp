// The study's scheduler with simulated workers: the real search (run_search with
// SearchOptions::evaluate_batch: the coordinator's proposals, the built-in planner's
// predicted logs, successive-halving promotion, time boxes and the deadline) hands its
// batches to W simulated workers whose trials take the seconds and reach the scores that
// trials of the same family took and reached on a dataset of the knowledge base. Time
// is virtual: the search sees a deadline that moves with the simulated clock, so a
// 10-minute study simulates in the coordinator's own CPU time, which is reported per
// trial (the process's CPU seconds, so a busy machine does not inflate it).
//
//   scheduler_sim --dataset adult --budget 600 --workers 1,2,4,8,16,32,64,128,256 [--max-trials 2000]
//
// Each W stops at --max-trials (the planner's predicted log reads the whole history,
// so a study of thousands of tiny batches costs minutes of CPU); its "study s" column
// then says how much simulated time it covered, and utilisation is over that time.
//
// For each W: trials, utilisation (busy worker-seconds over W x study seconds),
// time-to-score (simulated seconds until the best score came within 0.001 of the
// study's final best), the coordinator's CPU milliseconds per trial, and the batches.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "automl/data_card.h"
#include "automl/knowledge.h"
#include "automl/metrics.h"
#include "automl/planner.h"
#include "automl/search.h"
#include "automl/table.h"

using namespace automl;

namespace {

struct Sample {
  double seconds, score;
};

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) out.push_back(std::stoi(x));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dataset = "pima", kb_path = "share/knowledge/knowledge-base.json", workers_list = "1,2,4,8,16,32,64,128,256";
  double budget = 600;
  bool predict = true;
  int folds = 5;
  int max_trials = 2000;  // per W: the planner's prediction reads the whole history, so cost grows with trials
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--dataset") dataset = v;
    else if (k == "--knowledge") kb_path = v;
    else if (k == "--workers") workers_list = v;
    else if (k == "--budget") budget = std::stod(v);
    else if (k == "--predict") predict = v != "0";
    else if (k == "--folds") folds = std::stoi(v);
    else if (k == "--max-trials") max_trials = std::stoi(v);
  }
  auto kb_ptr = std::make_shared<const KnowledgeBase>(KnowledgeBase::load(kb_path));
  const KnowledgeBase& kb = *kb_ptr;
  const KnownDataset* known = nullptr;
  for (const auto& d : kb.datasets) known = d.name == dataset ? &d : known;
  if (!known) {
    std::cerr << "no dataset " << dataset << " in " << kb_path << "\n";
    return 2;
  }
  std::map<std::string, std::vector<Sample>> by_family;
  for (const auto& t : known->trials) {
    if (t.status == TrialStatus::kFinished || t.status == TrialStatus::kStopped) {
      by_family[t.family].push_back({std::max(0.01, t.seconds_per_fit * folds), t.score});
    }
  }
  // A table of the right task for the search to plan on (its rows are never trained).
  const std::filesystem::path csv = std::filesystem::temp_directory_path() / "scheduler_sim.csv";
  {
    std::ofstream out(csv);
    std::mt19937_64 rng(1);
    std::normal_distribution<double> n01;
    out << "x1,x2,y\n";
    for (int i = 0; i < 2000; ++i) {
      const double a = n01(rng), b = n01(rng);
      out << a << "," << b << "," << (a + b + 0.5 * n01(rng) > 0 ? "yes" : "no") << "\n";
    }
  }
  Table table = read_csv(csv.string(), {});
  DataCard card = infer_data_card(table, "y", dataset, nlohmann::json{{"metric", known->metric}});
  Target y = encode_target(table, card);
  std::vector<std::size_t> rows(table.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  ValidationPlan plan = make_validation_plan(y, rows, folds, 0);
  Evaluator ev(table, y, {"x1", "x2"}, plan, card.metric, 1, 0);

  // The coordinator's planner predicts each trial's log, as in a real study (its knowledge
  // base without the simulated dataset, so it does not know the answers).
  auto planner = make_builtin_planner(std::make_shared<const KnowledgeBase>(kb.without(dataset)));
  std::cout << fmt::format("dataset {} ({}, {} trials known, families: {}), budget {:.0f} s simulated, predicted "
                           "logs {}\n\n",
                           dataset, known->metric, known->trials.size(), by_family.size(), budget, predict ? "on" : "off");
  std::cout << "| workers | trials | study s | utilisation | time to final best (s) | final best | coordinator CPU ms "
               "per trial | batches | largest batch |\n|---|---|---|---|---|---|---|---|---|\n";
  for (int w : parse_list(workers_list)) {
    std::mt19937_64 rng(42);
    double sim_now = 0;  // simulated seconds since the start
    double busy = 0;     // worker-seconds spent training
    double best = std::nan(""), best_at = 0;
    std::vector<std::pair<double, double>> improvements;  // (time, best so far)
    int batches = 0;
    std::size_t largest = 0;
    SearchOptions opt;
    opt.seed = 7;
    opt.start = Clock::now();
    opt.budget_s = budget;
    // The deadline the search sees moves with the simulated clock.
    opt.deadline_fn = [&] {
      return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget - sim_now));
    };
    if (predict) {
      opt.predict = [&](const std::string& family, const nlohmann::json& params, int resource,
                        const std::vector<TrialResult>& history) {
        return planner->predict_log(card, family, params, resource, history).to_json();
      };
    }
    opt.min_sample_rows = 0;
    opt.max_trials = max_trials;  // a study that reaches it ends there: "study s" says when
    for (const auto& [f, s] : by_family) {
      if (model_registry().has(f)) opt.families.push_back(f);
    }
    opt.evaluate_batch = [&](const std::vector<TrialResult>& proposed, const std::vector<double>& boxes,
                             Clock::time_point deadline) {
      ++batches;
      largest = std::max(largest, proposed.size());
      // List scheduling: each trial to the worker free first.
      std::vector<double> free_at(static_cast<std::size_t>(w), sim_now);
      std::vector<TrialResult> out;
      const double deadline_sim = sim_now + std::chrono::duration<double>(deadline - Clock::now()).count();
      double end = sim_now;
      for (std::size_t k = 0; k < proposed.size(); ++k) {
        const TrialResult& p = proposed[k];
        TrialResult t = p;
        auto it = std::min_element(free_at.begin(), free_at.end());
        const auto& pool = by_family.count(p.family) ? by_family[p.family] : by_family.begin()->second;
        const Sample s = pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
        const double box = boxes[k] > 0 ? boxes[k] : 1e300;
        const double startt = *it, finish = std::min({startt + s.seconds, startt + box, std::max(deadline_sim, startt)});
        *it = finish;
        busy += finish - startt;
        t.seconds = finish - startt;
        if (finish - startt < s.seconds) {
          t.status = TrialStatus::kStopped;
          t.stop = StopReason::kDeadline;
          t.partial = true;
        } else {
          t.status = TrialStatus::kFinished;
          t.stop = StopReason::kConverged;
        }
        t.score = s.score;
        t.fold_scores.assign(static_cast<std::size_t>(folds), s.score);
        if (t.status == TrialStatus::kFinished && (std::isnan(best) || metric_better(card.metric, s.score, best))) {
          best = s.score;
          improvements.push_back({finish, best});
        }
        end = std::max(end, finish);
        out.push_back(std::move(t));
      }
      // The batch ends when its last trial does: the coordinator waits for all of it.
      sim_now = end;
      return out;
    };
    const std::clock_t cpu0 = std::clock();
    SearchResult r = run_search(ev, opt, [](const TrialResult&, const TrialResult*) {});
    const double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    for (const auto& [at, b] : improvements) {
      if (std::abs(b - best) <= 0.001) {
        best_at = at;
        break;
      }
    }
    const double study = std::max(sim_now, 1e-9);
    const double coordinator_ms = 1000.0 * cpu_s / std::max<std::size_t>(1, r.trials.size());
    std::cout << fmt::format("| {} | {} | {:.0f} | {:.0f}% | {:.0f} | {:.4f} | {:.2f} | {} | {} |\n", w, r.trials.size(),
                             study, 100.0 * busy / (w * study), best_at, best, coordinator_ms, batches, largest)
              << std::flush;
  }
  std::filesystem::remove(csv);
  return 0;
}
