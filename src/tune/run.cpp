#include "automl/run.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/llm.h"
#include "automl/metrics.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "automl/prompt.h"
#include "automl/requirements.h"
#include "automl/search.h"
#include "automl/store.h"

namespace automl {
namespace fs = std::filesystem;

double peak_memory_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double parse_duration(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw_invalid("cannot read duration \"" + text + "\"; write it like 60s, 2m or 1h");
  }
  std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  if (scale == 0 || !(v > 0)) throw_invalid("cannot read duration \"" + text + "\"; write it like 60s, 2m or 1h");
  return v * scale;
}

std::string new_run_id(uint64_t seed) {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  return fmt::format("{}-{:04x}", buf, (rd() ^ seed) & 0xffff);
}

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Features the models use: every column but the target, minus free text (no text
// family yet) and identifier-like columns (one distinct value per row).
std::vector<std::string> choose_features(const Table& table, DataCard* card) {
  std::vector<std::string> out;
  for (const auto& col : table.columns) {
    if (col.name == card->target) continue;
    if (col.type == ColumnType::kText) {
      card->notes.push_back(fmt::format("column \"{}\" is free text: not used by the tabular families", col.name));
      continue;
    }
    if (col.type == ColumnType::kCategorical && table.n_rows > 50 && col.levels.size() >= table.n_rows * 95 / 100) {
      card->notes.push_back(fmt::format("column \"{}\" has a distinct value in almost every row (an identifier): not used",
                                        col.name));
      continue;
    }
    out.push_back(col.name);
  }
  return out;
}

}  // namespace

nlohmann::json run_automl(const RunRequest& req, std::ostream& progress) {
  const auto start = req.start;
  // The user's requirements become constraints: a metric, a time cap, limits on the
  // model's size and speed, explainable families only.
  const Requirements wants = parse_requirements(req.requirements);
  const double budget = wants.max_train_s > 0 ? std::min(req.budget_s, wants.max_train_s) : req.budget_s;
  const auto hard_end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget * 0.985));
  auto say = [&](const std::string& line) {
    if (!req.quiet) progress << fmt::format("[{:6.1f}s/{:.0f}s] ", seconds_since(start), budget) << line << "\n" << std::flush;
  };

  // 1. Data and its card.
  nlohmann::json overrides = req.card_path.empty() ? nlohmann::json::object() : load_card_file(req.card_path);
  std::string target = req.target.empty() ? overrides.value("target", std::string()) : req.target;
  if (target.empty()) throw_invalid("no target: pass --target COLUMN (or a card file with \"target\")");
  if (!req.metric.empty()) overrides["metric"] = req.metric;
  else if (!wants.metric.empty()) overrides["metric"] = wants.metric;
  CsvOptions csv = req.csv;
  for (const auto& [name, type] : declared_feature_types(overrides)) csv.declared_types.emplace(name, type);
  Table table = read_csv(req.train_path, csv);
  std::string name = !req.name.empty() ? req.name : dataset_name_from_path(req.train_path);
  DataCard card = infer_data_card(table, target, name, overrides);
  Target y = encode_target(table, card);
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < table.n_rows; ++i) {
    if (!std::isnan(y.y[i])) rows.push_back(i);
  }
  if (rows.size() < table.n_rows) {
    card.notes.push_back(fmt::format("{} rows have no target value and are left out of training", table.n_rows - rows.size()));
  }
  std::vector<std::string> features = choose_features(table, &card);
  if (features.empty()) card.notes.push_back("no usable feature columns: only the constant baseline can be fitted");
  say(fmt::format("read {}: {} rows, {} columns", req.train_path, table.n_rows, table.columns.size()));
  say(fmt::format("task {} with metric {}; {} features", task_name(card.task), card.metric, features.size()));

  std::vector<const ModelEntry*> candidates;
  for (const auto* e : model_registry().entries()) {
    bool wanted = req.families.empty() || std::find(req.families.begin(), req.families.end(), e->name) != req.families.end();
    if (e->supports(card.task) && wanted && (!wants.explainable || e->explainable)) candidates.push_back(e);
  }
  if (candidates.empty()) throw_invalid("no model family meets the request (--models and --require leave none)");

  // The knowledge base: experience from earlier runs, for warm starts and learned
  // predictions (missing default = none; a file the user named must exist).
  std::shared_ptr<const KnowledgeBase> knowledge;
  if (req.knowledge != "none") {
    const fs::path kb_path = req.knowledge.empty() ? default_knowledge_path() : fs::path(req.knowledge);
    if (!req.knowledge.empty() || fs::exists(kb_path)) {
      KnowledgeBase kb = KnowledgeBase::load(kb_path);
      if (!req.knowledge_exclude.empty()) kb = kb.without(req.knowledge_exclude);
      if (!kb.datasets.empty()) knowledge = std::make_shared<const KnowledgeBase>(std::move(kb));
    }
  }
  // 2. The run folder and the store.
  const std::string run_id = new_run_id(req.seed);
  fs::path dir = req.out_dir.empty() ? fs::path("runs") / run_id : fs::path(req.out_dir);
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    throw_invalid("run folder " + dir.string() + " already exists and is not empty; choose another --out or remove it");
  }
  RunFolder folder(dir);
  RunStore store(req.store_path.empty() ? fs::path("runs") / "store.sqlite" : fs::path(req.store_path));
  nlohmann::json request = {{"train", req.train_path}, {"test", req.test_path}, {"target", target},
                            {"requirements", req.requirements},
                            {"metric", card.metric}, {"budget_s", budget}, {"seed", req.seed},
                            {"threads", req.threads}, {"card", req.card_path}, {"families", req.families},
                            {"planner", req.llm.enabled() ? nlohmann::json{{"llm", req.llm.spec},
                                                                            {"base_url", req.llm.base_url},
                                                                            {"model", req.llm.model}}
                                                          : nlohmann::json("builtin")}};
  store.begin_run(run_id, dir.string(), request, card.to_json());
  folder.write_json("data_card.json", card.to_json());
  folder.write_json("request.json", request);
  fs::create_directories(dir / "model_cards");
  for (const auto* e : candidates) folder.write_json("model_cards/" + e->name + ".json", e->card());
  const std::string prompt_text = compose_prompt(card, candidates, {card.metric, budget, req.requirements});
  {
    std::ofstream prompt(dir / "prompt.md");
    prompt << prompt_text;
  }

  // The planner: the LLM when one is configured (its calls recorded in this run's
  // folder and store, its replies cached in the store), else the built-in one.
  std::shared_ptr<LlmCallSink> sink = req.llm_sink;
  std::unique_ptr<LlmClient> own_client;
  LlmClient* client = req.llm_client;
  if (!client && req.llm.enabled()) {
    sink = std::make_shared<LlmCallSink>();
    own_client = std::make_unique<LlmClient>(req.llm, &store, [sink](const LlmCall& c) {
      if (sink->target) sink->target(c);
    });
    client = own_client.get();
  }
  nlohmann::json llm_use = {{"calls", 0}, {"cached", 0}, {"failed", 0}, {"prompt_tokens", 0}, {"completion_tokens", 0}};
  if (sink) {
    sink->target = [&](const LlmCall& c) {
      nlohmann::json j = c.to_json();
      folder.add_llm_call(j);
      store.add_llm_call(run_id, j);
      llm_use[c.cached ? "cached" : "calls"] = llm_use[c.cached ? "cached" : "calls"].get<int>() + 1;
      if (!c.error.empty()) llm_use["failed"] = llm_use["failed"].get<int>() + 1;
      llm_use["prompt_tokens"] = llm_use["prompt_tokens"].get<long>() + c.prompt_tokens;
      llm_use["completion_tokens"] = llm_use["completion_tokens"].get<long>() + c.completion_tokens;
      say(fmt::format("llm {}: {}", c.stage, c.summary()));
    };
  }
  // The sink points into this function's locals: it must not outlive them.
  struct SinkReset {
    std::shared_ptr<LlmCallSink> s;
    ~SinkReset() {
      if (s) s->target = nullptr;
    }
  } sink_reset{sink};
  auto planner = client ? make_llm_planner(*client, knowledge) : make_builtin_planner(knowledge);
  // LLM calls stop once 70% of the budget is spent: the rest is for training.
  planner->begin_task(prompt_text, start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(0.7 * budget)));
  if (client) say(fmt::format("planner: {} at {}", planner->name(), req.llm.base_url));

  // The plan: the planner's answers for each stage, saved before any training.
  auto assignment = planner->assign_models(card, candidates);
  auto proposals = planner->propose(card, assignment);

  // 3. Search within the budget, keeping back what the refit will need.
  ValidationPlan plan = make_validation_plan(y, rows, req.folds, req.seed);
  say(fmt::format("validation: {} ({} fits per trial)", plan.method, plan.splits.size()));
  nlohmann::json pj;
  // What the planner reports beyond its answers: the knowledge it used, and with an
  // LLM each stage's outcome.
  auto add_report = [&](nlohmann::json& j) {
    nlohmann::json rep = planner->report();
    if (rep.contains("knowledge")) j["knowledge"] = rep["knowledge"];
    rep.erase("knowledge");
    if (client) j["llm"] = rep;
  };
  {
    pj["planner"] = planner->name();
    pj["requirements"] = wants.to_json();
    pj["tasks"] = nlohmann::json::array({{{"dataset", card.name}, {"target", card.target},
                                          {"task", task_name(card.task)}, {"metric", card.metric},
                                          {"budget_s", budget}}});
    pj["model_assignment"] = nlohmann::json::array();
    pj["preprocessing"] = nlohmann::json::object();
    for (const auto& a : assignment) {
      pj["model_assignment"].push_back({{"family", a.family}, {"reason", a.reason}});
    }
    for (const auto& [family, family_steps] : planner->design_preprocessing(card, assignment)) {
      nlohmann::json steps = nlohmann::json::array();
      for (const auto& st : family_steps) steps.push_back({{"op", st.op}, {"columns", st.columns}});
      pj["preprocessing"][family] = steps;
    }
    pj["preprocessing_note"] = "each family's executor applies its own encoding (native categories for trees, one-hot "
                               "and standardised numbers for linear models); these steps record the design";
    pj["hyperparameter_proposals"] = nlohmann::json::array();
    for (const auto& p : proposals) {
      pj["hyperparameter_proposals"].push_back({{"family", p.family}, {"hyperparameters", p.params}, {"why", p.why}});
    }
    pj["search"] = {{"after_proposals", "refinement by the planner from the real logs, then random settings from the "
                                        "declared spaces with successive halving on boosting rounds, in turns"},
                    {"validation", plan.method}, {"fits_per_trial", plan.splits.size()}};
    pj["refinements"] = nlohmann::json::array();
    add_report(pj);
    folder.write_json("plan.json", pj);
  }
  Evaluator evaluator(table, y, features, plan, card.metric, req.threads, req.seed);
  const TrialResult* current_best = nullptr;  // the search's best so far, for pruning
  evaluator.set_limits(wants.max_model_mb, wants.max_predict_ms_per_row);
  for (const auto& u : wants.unrecognised) say("requirement not understood, ignored: \"" + u + "\"");
  const double n_fit_rows = static_cast<double>(plan.splits[0].train.size());
  const double growth = static_cast<double>(rows.size()) / n_fit_rows;
  double refit_reserve = std::max(0.5, 0.03 * budget);
  SearchOptions opt;
  opt.seed = req.seed;
  opt.max_trials = req.max_trials;
  for (const auto& a : assignment) opt.families.push_back(a.family);
  opt.initial = proposals;
  opt.predict = [&](const std::string& family, const nlohmann::json& params, int resource,
                    const std::vector<TrialResult>& history) {
    return planner->predict_log(card, family, params, resource, history).to_json();
  };
  if (knowledge) {
    // Candidates ranked by expected improvement over the best so far per predicted
    // second (improvement in the metric's better direction).
    const bool higher = metric_info(card.metric).higher_is_better;
    opt.rank = [&, higher](const std::vector<Proposal>& pool, int resource, const std::vector<TrialResult>& history) {
      double best = std::nan("");
      for (const auto& t : history) {
        if (t.usable() && (std::isnan(best) || metric_better(card.metric, t.score, best))) best = t.score;
      }
      std::vector<double> utility;
      for (const auto& c : pool) {
        PredictedLog p = planner->predict_log(card, c.family, c.params, resource, history);
        double sd = std::max(p.uncertainty, 1e-6);
        double gain = std::isnan(best) ? 1.0 : (higher ? p.final_score - best : best - p.final_score);
        double z = gain / sd;
        double ei = sd * (z * 0.5 * std::erfc(-z / std::sqrt(2.0)) + std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI));
        utility.push_back(ei / std::max(p.seconds, 0.01));
      }
      return utility;
    };
    // A fit whose curve, even improving at its recent pace, cannot reach the best
    // trial's curve on the same fold is stopped and its time given to others. Only
    // with 1,000 validation rows or more: smaller folds give curves too noisy to
    // judge a trial by (and fits too quick for pruning to save much).
    if (plan.splits[0].valid.size() >= 1000) evaluator.set_pruner([&](int fold, const std::string& log_metric, const std::vector<double>& valid) -> std::string {
      const TrialResult* leader = current_best;
      if (!leader || static_cast<int>(leader->logs.size()) <= fold || valid.size() < 50) return "";
      const FoldLog& ref = leader->logs[static_cast<std::size_t>(fold)];
      if (ref.metric != log_metric || ref.valid.empty()) return "";
      const bool up = log_metric == "auc";
      auto best_of = [&](const std::vector<double>& v, std::size_t n) {
        double b = v[0];
        for (std::size_t i = 1; i < n; ++i) b = up ? std::max(b, v[i]) : std::min(b, v[i]);
        return b;
      };
      // Conservative on purpose: a fold's curve is noisy, so the gap must exceed a
      // third of the leader's own climb on this fold (and 1% of its level).
      const double target = best_of(ref.valid, ref.valid.size());
      const double now = best_of(valid, valid.size()), half = best_of(valid, valid.size() / 2);
      const double pace = std::abs(now - half);
      const double reachable = up ? now + 4 * pace : now - 4 * pace;
      const double tolerance = std::max(0.01 * std::abs(target), std::abs(target - ref.valid.front()) / 3.0);
      if (up ? reachable + tolerance < target : reachable - tolerance > target) {
        return fmt::format("at round {} its validation {} is {:.4f}; at its recent pace it cannot reach trial {}'s {:.4f}",
                           valid.size(), log_metric, now, leader->id, target);
      }
      return "";
    });
  }
  opt.refine = [&](const std::vector<TrialResult>& history, double seconds_left) {
    auto next = planner->refine(card, assignment, history, seconds_left);
    nlohmann::json r = {{"after_trials", history.size()}, {"proposals", nlohmann::json::array()}};
    for (const auto& p : next) r["proposals"].push_back({{"family", p.family}, {"hyperparameters", p.params}, {"why", p.why}});
    pj["refinements"].push_back(r);
    if (!next.empty()) say(fmt::format("planner refines: {} new setting{}", next.size(), next.size() == 1 ? "" : "s"));
    return next;
  };
  if (features.empty()) opt.families = {"constant"};
  auto search_deadline = [&] {
    return hard_end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(refit_reserve));
  };
  opt.deadline_fn = search_deadline;
  auto on_trial = [&](const TrialResult& t, const TrialResult* best) {
    current_best = best;
    folder.add_trial(t);
    store.add_trial(run_id, t);
    if (best) {
      double per_fit = best->seconds / static_cast<double>(plan.splits.size());
      refit_reserve = std::max(0.5 + 0.03 * budget, per_fit * growth * 1.5 + 1.0);
    }
    std::string score = t.usable() ? fmt::format("{}={:.5f}", card.metric, t.score) : std::string("-");
    std::string best_s = best ? fmt::format("best={:.5f} (#{} {})", best->score, best->id, best->family) : "";
    say(fmt::format("trial {:3d} {:9s} {:18s} {:8.2f}s  {:14s} {}", t.id, t.family, score, t.seconds, t.status, best_s));
  };
  SearchResult result = run_search(evaluator, opt, on_trial);
  add_report(pj);
  folder.write_json("plan.json", pj);

  // 4. Refit the best on all training rows.
  const TrialResult* best = result.best >= 0 ? &result.trials[result.best] : nullptr;
  Pipeline pipe;
  pipe.family = best ? best->family : "constant";
  pipe.params = best ? best->params : nlohmann::json::object();
  pipe.target = y;
  pipe.target.y.clear();
  pipe.schema = card.feature_types();
  pipe.features = features;
  const ModelEntry& entry = model_registry().get(pipe.family);
  pipe.preprocessor = Preprocessor(entry.encoding);
  pipe.preprocessor.fit(table, features, rows);
  FeatureMatrix x_all = pipe.preprocessor.transform(table, &rows);
  std::vector<double> y_all;
  for (auto r : rows) y_all.push_back(y.y[r]);
  FitContext ctx;
  ctx.task = y.task;
  ctx.n_classes = y.n_classes();
  ctx.metric = card.metric;
  ctx.threads = req.threads;
  ctx.seed = req.seed;
  ctx.deadline = hard_end;
  int refit_rounds = 0;
  if (best && !entry.resource_param.empty()) {
    // More rows support a few more rounds than the folds' early stopping found.
    double extra = 1.0 + (growth - 1.0) / 2.0;
    refit_rounds = std::max(1, static_cast<int>(std::ceil(best->iterations * extra)));
    ctx.fixed_iterations = refit_rounds;
  }
  say(fmt::format("refit {} on {} rows{}", pipe.family, rows.size(),
                  refit_rounds ? fmt::format(" with {} rounds", refit_rounds) : std::string()));
  pipe.model = entry.create(with_defaults(entry.params, pipe.params), y.task);
  pipe.model->fit(x_all, y_all, nullptr, nullptr, ctx);
  std::string final_model = "refit on all training rows";
  if (pipe.model->stop_reason() == "deadline" && best && best->fold_model &&
      pipe.model->iterations() < 0.9 * refit_rounds) {
    // The budget ran out mid-refit: the best trial's own fold model is the better choice.
    pipe.model = best->fold_model;
    pipe.preprocessor = *best->fold_preprocessor;
    final_model = "the best trial's first-fold model (the budget ran out during the refit)";
    say("refit ran out of budget: keeping the best trial's validation-fold model");
  }
  pipe.save(dir / "model");

  // 5. Score on the test file.
  nlohmann::json summary;
  summary["run_id"] = run_id;
  summary["run_folder"] = dir.string();
  summary["dataset"] = card.name;
  summary["task"] = task_name(card.task);
  summary["metric"] = card.metric;
  summary["higher_is_better"] = metric_info(card.metric).higher_is_better;
  summary["validation"] = {{"method", plan.method}, {"folds", plan.folds}, {"repeats", plan.repeats}};
  summary["model"] = {{"family", pipe.family}, {"hyperparameters", with_defaults(entry.params, pipe.params)},
                      {"trial_id", best ? best->id : -1}, {"refit_iterations", pipe.model->iterations()},
                      {"refit_stop", pipe.model->stop_reason()}, {"trained_as", final_model}};
  summary["validation_score"] = best ? nlohmann::json(best->score) : nlohmann::json(nullptr);
  summary["n_trials"] = result.trials.size();
  int failed = 0;
  for (const auto& t : result.trials) failed += t.status == "failed";
  summary["n_trials_failed"] = failed;
  summary["planner"] = planner->name();
  if (sink) summary["llm"] = llm_use;
  if (!req.test_path.empty()) {
    CsvOptions test_csv = pipe.read_options(csv);
    Table test = read_csv(req.test_path, test_csv);
    auto pred = pipe.predict(test);
    {
      std::ofstream out(dir / "test_predictions.csv");
      write_predictions(out, y, pred, test.n_rows);
    }
    summary["test_predictions"] = (dir / "test_predictions.csv").string();
    if (test.find(target) >= 0) {
      // A class the training rows never showed cannot be predicted: such rows are
      // left out of the score and counted.
      Target ty = encode_target(test, card, true);
      std::vector<double> yv, pv;
      const int k = y.n_outputs();
      std::size_t unscored = 0;
      for (std::size_t i = 0; i < test.n_rows; ++i) {
        if (std::isnan(ty.y[i])) {
          unscored += !test.column(target).is_missing(i);
          continue;
        }
        yv.push_back(ty.y[i]);
        pv.insert(pv.end(), pred.begin() + i * k, pred.begin() + (i + 1) * k);
      }
      if (unscored) summary["test_rows_with_unknown_class"] = unscored;
      summary["test_score"] = yv.empty() ? nlohmann::json(nullptr) : nlohmann::json(compute_metric(card.metric, y, yv, pv));
      nlohmann::json all = nlohmann::json::object();
      for (const auto& [m, v] : compute_all_metrics(y, yv, pv)) all[m] = v;
      summary["test_scores"] = all;
      if (!yv.empty()) say(fmt::format("test {} = {:.5f}", card.metric, summary["test_score"].get<double>()));
    }
  }
  summary["seconds"] = seconds_since(start);
  summary["budget_s"] = budget;
  summary["peak_memory_mb"] = peak_memory_mb();
  folder.write_json("summary.json", summary);
  store.finish_run(run_id, "finished", summary);
  say(fmt::format("done: {} {} validation {}={:.5f}; saved to {}", pipe.family, best ? "" : "(no trial finished)",
                  card.metric, best ? best->score : NAN, dir.string()));
  return summary;
}

}  // namespace automl
