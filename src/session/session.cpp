#include "automl/session.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <future>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <openssl/evp.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "automl/calibration.h"
#include "automl/data_card.h"
#include "automl/ensemble.h"
#include "automl/error.h"
#include "automl/explain.h"
#include "automl/image.h"
#include "automl/knowledge.h"
#include "automl/llm.h"
#include "automl/memory.h"
#include "automl/metrics.h"
#include "automl/networks.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "automl/prompt.h"
#include "automl/read_memory.h"
#include "automl/report.h"
#include "automl/requirements.h"
#include "automl/search.h"
#include "automl/store.h"
#include "automl/worker.h"
#include "automl/strings.h"

namespace automl {
namespace fs = std::filesystem;

// The phases of a run, in order.
enum class Phase { kNone, kRead, kPlan, kSearch, kRefit, kEnsemble, kSave, kTail, kImportance, kSummary };

namespace {

// Importance asks for 5 shuffles of each column and takes up to this many when the end
// of a run leaves the time: the end keeps back what a busy machine could need, and on a
// small table 30 repeats took a tenth of what was left (diabetes at 10 s: 30 repeats in
// 0.06 s, the run done at 9.5 s). More repeats make each column's mean and spread exact.
constexpr int kImportanceMostRepeats = 500;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Fault injection for the resume tests (docs/architecture.md): with AUTOML_GPT_KILL_AT
// set to "trial:N" the process kills itself with SIGKILL once trial N is recorded; set
// to "refit", "ensemble" or "summary", as that phase starts; set to "save", right after
// the model is written and before the test file is scored.
bool fault_due(const char* where, int n = -1) {
  static const char* spec = std::getenv("AUTOML_GPT_KILL_AT");
  return spec && std::string(spec) == (n >= 0 ? fmt::format("{}:{}", where, n) : std::string(where));
}
void fault_point(const char* where, int n = -1) {
  if (fault_due(where, n)) std::raise(SIGKILL);
}

// Features the models use: every column but the target, minus identifier-like columns
// (one distinct value per row). Free text stays: text families read it, the others
// leave it out (their preprocessing skips text columns).
std::vector<std::string> choose_features(const Table& table, DataCard* card) {
  std::vector<std::string> out;
  for (const auto& col : table.columns) {
    if (col.name == card->target) continue;
    if (col.type == ColumnType::kText) {
      card->notes.push_back(fmt::format("column \"{}\" is free text: read by the text families, left out by the others",
                                        col.name));
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

// "" when the family's estimated footprint on these rows meets the size and speed
// requirements, else what it breaks (families without an estimate always pass;
// the trials themselves are still checked).
// The model a run saves when no trial finished: the first registered baseline.
std::string first_baseline() {
  for (const auto* e : model_registry().entries()) {
    if (e->baseline) return e->name;
  }
  throw_internal("no baseline family is registered");
}

std::string footprint_breaks(const ModelEntry& e, const Table& table, const std::vector<std::string>& features,
                             std::size_t rows, const Requirements& wants) {
  if (!e.footprint || !wants.any_limit()) return "";
  double width = 0;  // columns after one-hot encoding (at most 100 levels a column)
  for (const auto& col : table.columns) {
    if (std::find(features.begin(), features.end(), col.name) == features.end()) continue;
    width += col.type == ColumnType::kCategorical ? std::min<double>(100.0, static_cast<double>(col.levels.size())) : 2.0;
  }
  const Footprint f = e.footprint(static_cast<double>(rows), width);
  if (wants.max_model_mb > 0 && f.model_mb > wants.max_model_mb) {
    return fmt::format("its model would be about {:.1f} MB, the limit is {} MB", f.model_mb, wants.max_model_mb);
  }
  if (wants.max_predict_ms_per_row > 0 && f.predict_ms_per_row > wants.max_predict_ms_per_row) {
    return fmt::format("it would predict in about {:.3f} ms per row, the limit is {} ms", f.predict_ms_per_row,
                       wants.max_predict_ms_per_row);
  }
  return "";
}

// A file's bytes, whole. Throws kIo naming it.
std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_io("cannot read " + path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw_io("cannot read " + path.string());
  return bytes;
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_sha256(), nullptr) != 1) {
    throw_internal("SHA-256 failed (OpenSSL)");
  }
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Everything one run holds, phase by phase. The phases' code reads as one story from
// reading the data to the summary; each phase_*() runs once, in order (Session's
// methods see to that).
struct Session::Impl {
  Impl(RunRequest request, std::ostream& out) : req(std::move(request)), progress(out) {
    start = req.start;
    // The user's requirements become constraints: a metric, a time cap, limits on the
    // model's size and speed, explainable families only.
    wants = parse_requirements(req.requirements);
    budget = wants.max_train_s > 0 ? std::min(req.budget_s, wants.max_train_s) : req.budget_s;
    hard_end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget * 0.995));
  }
  ~Impl() {
    // The LLM sink points into this run: it must not outlive it.
    if (sink) sink->target = nullptr;
    stop_local_workers();
  }

  // ---- Trials trained by workers (RunRequest::workers, remote_workers) ----
  bool distributed() const { return req.workers > 0 || req.remote_workers; }
  std::vector<pid_t> local_workers;

  // The study's training data for workers: its SHA-256, size and path (and, up to
  // kDataInStoreBytes, the bytes themselves in the store).
  void record_data() {
    if (req.train_table) {
      throw Error(ErrorKind::kUnsupported, "workers read the training data from a file: a run on rows in memory cannot "
                                           "use --workers");
    }
    if (fs::is_directory(req.train_path)) {
      throw Error(ErrorKind::kUnsupported, "workers take a training file, not an image folder: " + req.train_path);
    }
    const std::string bytes = read_bytes(req.train_path);
    const std::string sha = sha256_hex(bytes);
    const bool in_store = bytes.size() <= kDataInStoreBytes;
    if (in_store) store->put_dataset(sha, bytes);
    // The card's fields travel with the data: a worker may not read the card file.
    store->save_state(run_id, "data", {{"sha256", sha}, {"bytes", bytes.size()},
                                       {"path", fs::absolute(req.train_path).lexically_normal().string()},
                                       {"in_store", in_store}, {"card_fields", overrides}});
    say(fmt::format("trials go to workers: the training data's SHA-256 is {}{}", sha.substr(0, 12),
                    in_store ? " (a copy is in the store)" : ""));
  }

  // Starts req.workers local worker processes on this run, each with its share of the threads.
  void start_local_workers() {
    if (req.workers <= 0 || !local_workers.empty()) return;
    std::string program = req.worker_program;
    if (program.empty()) program = fs::read_symlink("/proc/self/exe").string();
    const int threads = std::max(1, req.threads / req.workers);
    // A command line is anyone's to read (`ps`, /proc/<pid>/cmdline): the workers get the
    // store's URI without its password, and the password in PGPASSWORD, which libpq reads
    // and only their user can see (/proc/<pid>/environ).
    const std::string location = store_path_for(req.store_path);
    const std::string password = store_location_password(location);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      if (password.empty() || std::strncmp(*e, "PGPASSWORD=", 11) != 0) env_s.emplace_back(*e);
    }
    if (!password.empty()) env_s.push_back("PGPASSWORD=" + password);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    for (int i = 0; i < req.workers; ++i) {
      std::vector<std::string> args = {program, "worker", "--store", redact_store_location(location), "--run", run_id,
                                       "--threads", std::to_string(threads)};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      // Each worker's lines go to a log of its own in the run folder.
      const std::string log = (dir / fmt::format("worker-{}.log", i)).string();
      posix_spawn_file_actions_t files;
      posix_spawn_file_actions_init(&files);
      posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
      posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      posix_spawn_file_actions_adddup2(&files, 1, 2);
      pid_t pid = 0;
      const int rc = posix_spawn(&pid, program.c_str(), &files, nullptr, argv.data(), envp.data());
      posix_spawn_file_actions_destroy(&files);
      if (rc != 0) throw_io("cannot start a worker process " + program + ": " + std::strerror(rc));
      local_workers.push_back(pid);
    }
    say(fmt::format("started {} local worker{} ({} thread{} each)", req.workers, req.workers == 1 ? "" : "s", threads,
                    threads == 1 ? "" : "s"));
  }

  void stop_local_workers() {
    for (pid_t pid : local_workers) kill(pid, SIGKILL);  // the run is over: what they hold no longer matters
    for (pid_t pid : local_workers) waitpid(pid, nullptr, 0);
    local_workers.clear();
  }

  // The search's batch, trained by workers: queued in the store with the deadline and
  // each trial's time box, then waited for. Trials whose worker stopped heartbeating go
  // back in the queue (failed when lost twice); what no worker took by the deadline is
  // stopped. Results come back from the store (out-of-fold predictions included).
  std::vector<TrialResult> evaluate_remote(const std::vector<TrialResult>& proposed, const std::vector<double>& boxes,
                                           Clock::time_point deadline) {
    writer->flush();
    start_local_workers();
    const double deadline_unix = unix_now() + std::chrono::duration<double>(deadline - Clock::now()).count();
    store->batch([&] {
      for (std::size_t k = 0; k < proposed.size(); ++k) {
        store->enqueue_trial(run_id, proposed[k], {{"deadline_unix", deadline_unix}, {"time_box_s", boxes[k]}});
      }
    });
    auto ended = [](TrialStatus s) { return s != TrialStatus::kProposed && s != TrialStatus::kRunning; };
    bool cancelled = false;
    for (int poll = 0;; ++poll) {
      // Statuses ten times a second; silent workers' trials back in the queue once a second.
      if (poll % 10 == 0) {
        for (const auto& line : store->requeue_lost(run_id, kWorkerStaleS, kWorkerAttempts)) say(line);
      }
      const auto statuses = store->trial_statuses(run_id);
      bool all = true;
      for (const auto& p : proposed) {
        auto it = statuses.find(p.id);
        all = all && it != statuses.end() && ended(it->second);
      }
      if (all) break;
      if (!cancelled && Clock::now() > deadline) {
        // A trial no worker took by the deadline will not run; one a worker holds ends
        // at the deadline too (its worker stops it), or its heartbeats stop.
        const int n = store->cancel_queued(run_id, "budget ran out before a worker took it");
        if (n > 0) say(fmt::format("{} trial{} no worker took before the deadline", n, n == 1 ? "" : "s"));
        cancelled = true;
      }
      if (Session::stop_flag().load()) cancelled = cancelled || store->cancel_queued(run_id, "stopped (Ctrl-C)") >= 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::map<int, TrialResult> back;
    for (TrialResult& t : store->trials(run_id)) back[t.id] = std::move(t);
    std::vector<TrialResult> out;
    for (const auto& p : proposed) {
      out.push_back(std::move(back.at(p.id)));
      evaluator->note_predict_pace(out.back().family, out.back().predict_s_per_row);  // the search plans by it
    }
    return out;
  }

  void say(const std::string& line) const { ProgressPrinter(progress, req.quiet, start, budget)(line); }

  // The request and its clock.
  RunRequest req;
  std::ostream& progress;
  Clock::time_point start, hard_end;
  Requirements wants;
  double budget = 0;
  // Phase 1: the data and its card.
  nlohmann::json overrides;
  std::string target, name;
  CsvOptions csv;
  Table table;
  DataCard card;
  Target y;
  std::vector<std::size_t> rows;  // rows with a target
  std::vector<std::string> features;
  double read_s = 0;
  std::vector<const ModelEntry*> candidates;
  std::shared_ptr<const KnowledgeBase> knowledge;
  BackgroundLearning predictor_learning;  // its end waits for the predictor's learning thread
  // The memory promise: the limit, and what fitting the run in it decided (families left
  // out, rows subsampled), for plan.json and the summary.
  MemoryLimit memory_limit;
  nlohmann::json memory_plan = nlohmann::json::object();
  // Phase 2: the run folder, the store and the planner.
  std::string run_id;
  fs::path dir;
  std::unique_ptr<RunFolder> folder;
  std::unique_ptr<RunStore> store;
  std::unique_ptr<StoreWriter> writer;  // the trials' records, written off the search's threads
  nlohmann::json request;
  std::string prompt_text;
  std::shared_ptr<LlmCallSink> sink;
  std::unique_ptr<LlmClient> own_client;
  LlmClient* client = nullptr;
  nlohmann::json llm_use;
  std::unique_ptr<Planner> planner;
  // Phase 3: the plan.
  std::vector<ModelAssignment> assignment;
  std::vector<Proposal> proposals;
  std::map<std::string, std::vector<PreprocessingStep>> design;  // family -> the planner's steps
  std::map<std::string, ColumnDesign> designs;  // family -> its design
  std::vector<std::string> open_codes;          // integer columns whose reading the card left open
  std::vector<std::string> variants;            // the data-processing variants trials try (kPrepParam)
  ValidationPlan plan;
  nlohmann::json pj;  // plan.json
  RunPlan run_plan;
  // Phase 4: the search, and what it keeps back for the end.
  std::unique_ptr<Evaluator> evaluator;
  const TrialResult* current_best = nullptr;  // the search's best so far, for pruning
  double n_fit_rows = 0, growth = 1;
  double refit_reserve = 0, ensemble_reserve = 0, finish_reserve = 0;
  // (score, seconds to refit as a member and predict the test rows) of usable trials
  std::vector<std::pair<double, double>> fit_costs;
  bool side_by_side = false;
  double test_rows_guess = 0;
  double test_read_guess = 0;  // seconds to read the test file
  // Bytes of the feature columns' category levels: each saved model's preprocessing
  // writes them (escaped as JSON), which is what saving costs on a table of long levels.
  double level_bytes = 0;
  SearchOptions opt;
  // Once measured at the search's deadline, the ensemble's reserve is what the chosen
  // ensemble's members need, not the guess from the top trials' costs.
  bool ensemble_reserve_measured = false;
  double choose_guess = 0;    // seconds to choose the ensemble, guessed from the rows and trials
  double first_choose_s = 0;  // seconds the choice at the first deadline took (in the search's time)
  // That choice, and the trials it saw: when the search ended there, it is the final choice.
  std::optional<EnsembleChoice> choice_at_deadline;
  std::size_t choice_trials = 0;
  TrialCallback on_trial;
  double plan_s = 0, search_s = 0;
  nlohmann::json kept_back;
  SearchResult result;
  // Phase 5: the refit of the best trial.
  const TrialResult* best = nullptr;
  std::vector<double> y_all;
  // Each encoding's preprocessing, fitted on all training rows once for every refit (by design_key).
  std::map<std::pair<Encoding, std::string>, std::pair<Preprocessor, FeatureMatrix>> encoded;
  // A trial's setting fitted on all training rows. A family that refuses up front a
  // fit it cannot end before the deadline (libsvm) leaves the pipeline without a
  // model and says why in `refusal`; the callers then keep the trial's first-fold
  // model, as for a refit the deadline stopped.
  std::string refusal;
  Clock::time_point refit_end;  // refits end in time to predict the test rows and save
  const ModelEntry* entry = nullptr;  // the best trial's family
  int refit_rounds = 0;
  std::string final_model = "refit on all training rows";
  bool best_refit = true;
  Pipeline pipe;
  double best_refit_s = 0;
  // Phase 6: the ensemble.
  double ensemble_s = 0, members_refit_s = 0;
  EnsembleChoice ens;
  // Members already built (refit or from their fold), by trial id, for the tail's ensemble.
  std::map<int, std::shared_ptr<const Pipeline>> member_pipes;
  double pace = 1.0;
  Pipeline ens_pipe;
  std::string ensemble_outcome;
  // Phase 7: saving and the test file.
  std::optional<Table> test;
  nlohmann::json test_part;  // what the summary says of the test file
  double finish_s = 0, refinish_s = 0;
  std::size_t trials_noted = 0;  // trials the search has reported so far (the report's size)
  std::size_t finish_members = 1;
  // Phase 8: the tail.
  Clock::time_point tail_end;
  double tail_s = 0;
  int tail_trials = 0;
  std::string tail_outcome;
  // Phase 9: permutation importance of the input columns (feature_importance.csv).
  FeatureImportance importance;

  ColumnDesign design_for(const std::string& family, const std::string& variant) const {
    if (variant == "plain" || !designs.count(family)) return ColumnDesign{};
    ColumnDesign d = designs.at(family);
    const ModelEntry& e = model_registry().get(family);
    for (const auto& c : open_codes) {
      if (variant == "codes") {
        ColumnOps& o = d[c];
        o.codes = true;
        // A one-hot family keeps 100 levels as columns: more become one number each.
        const ColumnProfile* p = nullptr;
        for (const auto& cp : card.columns) p = cp.name == c ? &cp : p;
        if (e.encoding != Encoding::kNative && o.categories.empty() && p && p->cardinality > 30) {
          o.categories = card.task == Task::kMulticlass ? "frequency" : "target";
        }
      } else if (variant == "numbers" && d.count(c)) {
        d[c].codes = false;
        d[c].categories.clear();
        if (d[c].is_default()) d.erase(c);
      }
    }
    return d;
  };
  void add_report(nlohmann::json& j) const {
    nlohmann::json rep = planner->report();
    if (rep.contains("knowledge")) j["knowledge"] = rep["knowledge"];
    rep.erase("knowledge");
    if (client) j["llm"] = rep;
  };
  // One fold fit's own seconds: the trial's share per fold, doubled when two shared the cores.
  double fit_seconds(const TrialResult& t) const {
    return t.seconds * (side_by_side ? 2.0 : 1.0) / static_cast<double>(plan.splits.size());
  }

  // The seconds kept back to refit a trial on all rows (its fit's time, scaled by the
  // rows it gains, with a margin), and whether that is more than the refit is worth:
  // over 15% of the budget, when the trial kept a fold model to use instead.
  // (A refit trains a fixed number of rounds with nothing to score along the way; on small
  // data, where folds ran side by side on one thread each, it has one thread too.)
  // An iterative trial's own log gives its seconds per round (or epoch), so the refit's
  // rounds (those its folds kept, a few more for the rows gained) can be priced directly.
  // A trial trained on a sample of its fold's rows is refit on all rows: its pace scales
  // by all rows over the sample (a CNN member on 4,000 of 15,000 images was priced at
  // 6.4 s by the fold's growth alone and took 19.3 s).
  double one_fit_s(const TrialResult& t) const {
    const double rows_factor =
        t.sample_rows > 0 ? std::max(growth, static_cast<double>(rows.size()) / t.sample_rows) : growth;
    if (t.iterations > 0 && !t.logs.empty() && !t.logs[0].seconds.empty()) {
      const FoldLog& log = t.logs[0];
      const double per_round = log.seconds.back() / static_cast<double>(log.seconds.size());
      const double rounds = std::ceil(t.iterations * (1.0 + (growth - 1.0) / 2.0));
      return per_round * rounds * rows_factor;
    }
    return fit_seconds(t) * rows_factor;
  }

  double refit_need(const TrialResult& t) const { return one_fit_s(t) * 1.2 + 0.3; }

  // The seconds feature importance gets at the end: 3% of the budget, at least 0.2 s and
  // at most a minute. Kept back with saving (finish_cost), so the search leaves it.
  double importance_box() const { return std::clamp(0.03 * budget, 0.2, 60.0); }

  // What importance is expected to need with `models` (the best, or an ensemble's
  // members): every column shuffled `repeats` times on up to max_rows validation rows,
  // each shuffled block predicted by every model at its measured pace, three times over
  // for encoding the rows and the tree SHAP pass, and about 2 ms a model a prediction
  // call however few the rows. The blocks go in batches of about 4M cells (all of them in
  // one batch on a small table), after the calls that time the pace, score the rows and
  // time a first block. At most its box, and the box while a pace is unknown. Counting
  // the fixed cost per block instead of per batch kept ~3% of the budget back on small
  // tables with ensembles (sonar at 60 s: 1.8 s kept, 0.3 s used, and no tail).
  double importance_need(const std::vector<const TrialResult*>& models, bool with_margin = true) const {
    if (models.empty() || plan.splits.empty()) return importance_box();
    const ImportanceOptions io;
    const double n = static_cast<double>(std::min(plan.splits[0].valid.size(), io.max_rows));
    const double d = static_cast<double>(std::max<std::size_t>(1, features.size()));
    const double blocks = io.repeats * d;
    const double per_batch = static_cast<double>(
        importance_blocks_per_call(static_cast<std::size_t>(n), static_cast<std::size_t>(d)));
    const double calls = 5.0 + std::ceil(blocks / per_batch);
    double s = 0;
    for (const auto* t : models) {
      if (!t || !(t->predict_s_per_row > 0)) return importance_box();
      s += 0.002 * calls + 3.0 * n * (1.0 + blocks) * t->predict_s_per_row;
    }
    // At least 1% of the budget: the margin that absorbs a refit or a save slowed by a
    // busy machine (importance then spends what the margin was not needed for). The
    // tail, after the refits and the first save, keeps its own margins instead.
    return std::min(importance_box(), std::max(with_margin ? 0.01 * budget : 0.0, 0.03 + s));
  }

  // Seconds the summary and the report take after importance: about 1.3 ms a trial (the
  // report reads back and draws every trial's curves; 876 trials of iris at 60 s: 0.99 s,
  // 229 at 15 s: 0.20 s). Importance's deadline leaves it, and spends what it did not need.
  double report_need() const {
    const double n = static_cast<double>(std::max(result.trials.size(), trials_noted));
    return std::max(0.03 + 0.001 * budget, 0.03 + 0.0013 * n);
  }

  double finish_cost(const std::vector<const TrialResult*>& models) const {
    double s = 0.05 + 0.001 * budget + report_need() + importance_need(models);
    // Saving: about 15 ns a level byte per model (a 10 MB cell in 8 members: 0.85 s here).
    s += 1.5e-8 * level_bytes * static_cast<double>(std::max<std::size_t>(1, models.size()));
    if (test_rows_guess > 0) s += test_read_guess;
    for (const auto* t : models) s += t ? model_finish_s(*t) : 0.0;
    return s;
  }

  // A model's own share of the finish: predicting the test rows at its measured pace and
  // saving it, 10 ns a byte when it says its size (an XGBoost model of 40 MB, most of it
  // category sets on id columns, saved in 0.19 s here: twice that on a busy machine).
  double model_finish_s(const TrialResult& t) const {
    return 1.2 * t.predict_s_per_row * test_rows_guess + 1e-8 * t.saved_bytes;
  }

  // The latest time by which the models' finish (scoring the test rows, importance,
  // saving) must start.
  Clock::time_point finish_deadline(const std::vector<const TrialResult*>& models) const {
    return hard_end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(finish_cost(models)));
  }

  bool refit_too_dear(const TrialResult& t) const {
    return t.fold_model && t.fold_preprocessor && refit_need(t) > 0.15 * budget;
  }

  // An ensemble member other than the best is refit only when that is cheap (at most
  // 5% of the budget) and its trial ran to its end; otherwise it keeps its fold model,
  // which is the model the out-of-fold estimate judged, and the time goes to the search.
  double member_refit_s(const TrialResult& t) const {
    const double s = one_fit_s(t) * 1.2;
    return t.deadline_stopped || s > 0.05 * budget ? 0.0 : s;
  }

  Clock::time_point search_deadline() const {
    // Stopped (Ctrl-C, request_stop): no trial starts now, and the running one stops at its next round.
    if (Session::stop_flag().load()) return Clock::now();
    return hard_end -
           std::chrono::duration_cast<Clock::duration>(
               std::chrono::duration<double>(refit_reserve + ensemble_reserve + finish_reserve));
  }

  // Each encoding's preprocessing, fitted on all training rows once for every refit.
  const std::pair<Preprocessor, FeatureMatrix>& encode_all(Encoding enc, const ColumnDesign& design) {
    const auto key = std::make_pair(enc, design_key(design));
    auto it = encoded.find(key);
    if (it != encoded.end()) return it->second;
    Preprocessor pre(enc);
    pre.set_design(design);
    pre.fit(table, features, rows, evaluator->encoding_target());
    FeatureMatrix x = pre.transform(table, &rows);
    return encoded.emplace(key, std::make_pair(std::move(pre), std::move(x))).first->second;
  }

  // The boosting rounds a refit on all rows gets: what the trial's folds needed, and
  // a few more, since more rows support more rounds than early stopping found (0 =
  // not iterative).
  int rounds_for(const TrialResult* t, const ModelEntry& e) const {
    if (!t || e.resource_param.empty()) return 0;
    return std::max(1, static_cast<int>(std::ceil(t->iterations * (1.0 + (growth - 1.0) / 2.0))));
  }

  Pipeline skeleton(const std::string& family, const nlohmann::json& params) const {
    Pipeline p;
    p.family = family;
    p.params = params;
    p.target = y;
    p.target.y.clear();
    p.schema = card.feature_types();
    p.features = features;
    return p;
  }

  Pipeline refit_setting(const std::string& family, const nlohmann::json& params, const TrialResult* t, int* rounds,
                         int threads) {
    Pipeline p = skeleton(family, params);
    const ModelEntry& e = model_registry().get(family);
    const auto& [pre, x_all] = encode_all(e.encoding, evaluator->design_for(family, params));
    p.preprocessor = pre;
    FitContext ctx;
    ctx.task = y.task;
    ctx.n_classes = y.n_classes();
    ctx.metric = card.metric;
    ctx.threads = threads;
    ctx.seed = req.seed;
    ctx.deadline = refit_end;
    *rounds = rounds_for(t, e);
    if (*rounds > 0) ctx.fixed_iterations = *rounds;
    p.model = e.create(with_defaults(e.params, params), y.task);
    try {
      p.model->fit(x_all, y_all, nullptr, nullptr, ctx);
    } catch (const Error& err) {
      if (err.kind() != ErrorKind::kBudget) throw;
      refusal = err.what();
      p.model = nullptr;
    }
    return p;
  }

  // 5. Ensembles of the top trials, from their out-of-fold predictions: each gets a
  // leaderboard row; one is kept only when its cross-fitted score beats picking the
  // best single trial judged the same way (ensemble.h). Built after the best trial's
  // refit, so that refit never waits for them.
  // The ensembles' leaderboard rows, written after the tail's trials (their ids follow).
  void ensemble_rows(double seconds) {
    int next_id = static_cast<int>(result.trials.size());
    for (const EnsembleCandidate* e : {&ens.caruana, &ens.stacking}) {
      if (e->note.empty()) continue;  // nothing to build from
      TrialResult row;
      row.id = next_id++;
      row.family = e == &ens.caruana ? "ensemble" : "stacking";
      row.params = e->to_json();
      row.score = e->honest_score;
      row.fold_scores = e->part_scores;
      row.status = TrialStatus::kFinished;
      row.stop = ens.kept == row.family ? StopReason::kFitted : StopReason::kNotKept;
      row.reason = e->note;
      row.seconds = seconds;
      folder->add_trial(row, seconds_since(start));
    }
  }

  // The pipeline of an ensemble choice made from `trials`; `outcome` says how its members
  // were trained, or starts "not built" (the pipeline then has no members). A member is
  // refit on all rows when that is cheap and fits in the time left (member_refit_s).
  Pipeline build_ensemble(const EnsembleChoice& choice, const std::vector<TrialResult>& trials, std::string* outcome) {
    const EnsembleCandidate& win = choice.winner();
    Pipeline ep;
    ep.family = choice.kept;
    ep.params = win.to_json();
    ep.target = pipe.target;
    ep.schema = pipe.schema;
    ep.features = features;
    ep.blend = win.blend;
    int refitted = 0, from_fold = 0, reused = 0;
    std::vector<const TrialResult*> all_members;
    for (int id : win.members) all_members.push_back(&trials[static_cast<std::size_t>(id)]);
    const double members_finish = finish_cost(all_members);
    refit_end = hard_end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(members_finish));
    // An ensemble that could not even predict the test rows in the time left is not built.
    const double finish_left = std::chrono::duration<double>(hard_end - Clock::now()).count();
    if (members_finish > finish_left + 0.01 * budget && members_finish > 1.5 * finish_cost({best})) {
      *outcome = fmt::format("not built: predicting the test rows with its {} members would take about {:.1f}s "
                             "and {:.1f}s are left",
                             all_members.size(), members_finish, std::max(0.0, finish_left));
    }
    for (int id : win.members) {
      if (!outcome->empty()) break;
      const TrialResult& t = trials[static_cast<std::size_t>(id)];
      if (auto it = member_pipes.find(id); it != member_pipes.end()) {
        ep.members.push_back(it->second);
        ++reused;
        continue;
      }
      // A member that cannot be refit in time keeps its model of the first fold,
      // which is what the out-of-fold estimate judged.
      auto fold_member = [&](const std::string& why) {
        if (!t.fold_model || !t.fold_preprocessor) {
          *outcome = fmt::format("not built: trial {} {}, and its fold model was not kept", id, why);
          return false;
        }
        Pipeline m = pipe;
        m.family = t.family;
        m.params = t.params;
        m.model = t.fold_model;
        m.preprocessor = *t.fold_preprocessor;
        ep.members.push_back(member_pipes[id] = std::make_shared<const Pipeline>(std::move(m)));
        ++from_fold;
        say(fmt::format("member: trial {} {} keeps its first-fold model ({})", id, t.family, why));
        return true;
      };
      // A trial its time box cut would need as long again (its folds stopped at the box,
      // not where training ended), and a dear refit is not worth its time: such members
      // keep their fold model.
      if (member_refit_s(t) <= 0) {
        if (!fold_member(t.deadline_stopped ? "its trial was cut by its time box"
                                            : fmt::format("a refit would take about {:.1f}s, over 5% of the budget",
                                                          one_fit_s(t) * 1.2)))
          break;
        continue;
      }
      const double need = one_fit_s(t) * pace;
      const double left = std::chrono::duration<double>(refit_end - Clock::now()).count();
      if (need * 1.2 + 0.01 * budget > left) {  // leave time to predict and save
        if (!fold_member(fmt::format("needs about {:.1f}s to refit and {:.1f}s are left", need, std::max(0.0, left)))) break;
        continue;
      }
      int rounds = 0;
      const auto member_start = Clock::now();
      // Small data: one thread, as its folds were trained (threads only contend there).
      Pipeline m = refit_setting(t.family, t.params, &t, &rounds, side_by_side ? 1 : req.threads);
      if (!m.model || m.model->stop_reason() == FitStop::kDeadline) {
        if (!fold_member(m.model ? "the budget ran out refitting it" : refusal)) break;
        continue;
      }
      say(fmt::format("refit member: trial {} {} in {:.2f}s{}", id, t.family, seconds_since(member_start),
                      rounds ? fmt::format(" with {} rounds", rounds) : std::string()));
      ep.members.push_back(member_pipes[id] = std::make_shared<const Pipeline>(std::move(m)));
      ++refitted;
    }
    if (outcome->empty()) {
      const int n = refitted + from_fold + reused;
      if (from_fold + reused == 0) {
        *outcome = fmt::format("{} members, each refit on all training rows", n);
      } else {
        *outcome = fmt::format("{} members: {} refit on all training rows, {} kept from their first fold", n, refitted,
                               from_fold);
        if (reused) *outcome += fmt::format(", {} as built for the best model or the first ensemble", reused);
      }
      say(fmt::format("{}: {}", choice.kept, *outcome));
    } else {
      ep.members.clear();
      say(fmt::format("{} {}; keeping the best single model", choice.kept, *outcome));
    }
    return ep;
  }

  // 6. Save the model and score it on the test file; after the tail again, if the tail
  // changed the model (the first save is never lost to a tail that runs out of time).
  void finish(const Pipeline& final_pipe) {
    final_pipe.save(dir / "model");
    fault_point("save");
    if (req.test_path.empty()) return;
    if (!test) {
      CsvOptions test_csv = final_pipe.read_options(csv);
      // An image folder is read at the training images' size.
      test = read_table(req.test_path, test_csv, fs::is_directory(req.test_path) ? image_shape(features) : ImageShape{});
    }
    test_part = nlohmann::json::object();
    auto pred = final_pipe.predict(*test);
    {
      std::ofstream out(dir / "test_predictions.csv");
      write_predictions(out, y, pred, test->n_rows);
    }
    test_part["test_predictions"] = (dir / "test_predictions.csv").string();
    if (test->find(target) >= 0) {
      // A class the training rows never showed cannot be predicted: such rows are
      // left out of the score and counted.
      Target ty = encode_target(*test, card, true);
      write_test_labels(ty);
      std::vector<double> yv, pv;
      const int k = y.n_outputs();
      std::size_t unscored = 0;
      for (std::size_t i = 0; i < test->n_rows; ++i) {
        if (std::isnan(ty.y[i])) {
          unscored += !test->column(target).is_missing(i);
          continue;
        }
        yv.push_back(ty.y[i]);
        pv.insert(pv.end(), pred.begin() + i * k, pred.begin() + (i + 1) * k);
      }
      if (unscored) test_part["test_rows_with_unknown_class"] = unscored;
      test_part["test_score"] = yv.empty() ? nlohmann::json(nullptr) : nlohmann::json(compute_metric(card.metric, y, yv, pv));
      nlohmann::json all = nlohmann::json::object();
      for (const auto& [m, v] : compute_all_metrics(y, yv, pv)) all[m] = v;
      test_part["test_scores"] = all;
    }
  }

  // test_labels.csv: the test rows' true values beside test_predictions.csv, row for
  // row (the report's confusion matrix, curves and residuals): a class as the training
  // rows name it (so it matches the proba_ columns), a number for regression, the cell
  // as written for a class the training rows never showed, empty when missing.
  void write_test_labels(const Target& ty) const {
    std::ofstream out(dir / "test_labels.csv");
    out << "actual\n";
    const Column& col = test->column(target);
    for (std::size_t i = 0; i < test->n_rows; ++i) {
      std::string v;
      if (!std::isnan(ty.y[i])) {
        v = is_classification(card.task) ? y.classes[static_cast<std::size_t>(ty.y[i])] : fmt::format("{:.17g}", ty.y[i]);
      } else if (!col.is_missing(i)) {
        v = col.cell_string(i);
      }
      if (v.find_first_of(",\"\r\n") != std::string::npos) {
        std::string q = "\"";
        for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        v = q + "\"";
      }
      out << v << "\n";
    }
    if (!out) throw_io("cannot write " + (dir / "test_labels.csv").string());
  }

  // The knowledge base (missing default = none; a file the user named must exist),
  // with its predictor learning on a thread of its own, while the data is read.
  struct LoadedKnowledge {
    std::shared_ptr<const KnowledgeBase> knowledge;
    BackgroundLearning learning;
  };
  LoadedKnowledge load_knowledge() const {
    LoadedKnowledge out;
    if (req.knowledge == "none") return out;
    const fs::path kb_path = req.knowledge.empty() ? default_knowledge_path() : fs::path(req.knowledge);
    if (req.knowledge.empty() && !fs::exists(kb_path)) return out;
    KnowledgeBase kb = KnowledgeBase::load(kb_path);
    if (!req.knowledge_exclude.empty()) kb = kb.without(req.knowledge_exclude);
    if (kb.datasets.empty()) return out;
    out.knowledge = std::make_shared<const KnowledgeBase>(std::move(kb));
    out.learning = learn_predictor_in_background(out.knowledge);
    return out;
  }

  static constexpr double kMB = 1024.0 * 1024.0;

  // The run's memory limit: --memory, or a share of the machine's free memory.
  void choose_memory_limit() {
    memory_limit = req.memory_bytes > 0 ? MemoryLimit{req.memory_bytes, "--memory"} : default_memory_limit();
    memory_plan["limit_mb"] = memory_limit.bytes / kMB;
    memory_plan["limit_source"] = memory_limit.source;
  }

  // A file too large to read within the limit fails before reading, naming both.
  void check_read_fits(const std::string& path) {
    const double need = estimate_read_bytes(path);
    if (need <= 0) return;  // not estimated (an image folder)
    const double now = current_rss_bytes();
    memory_plan["read_estimate_mb"] = need / kMB;
    if (now + need > memory_limit.bytes) {
      throw Error(ErrorKind::kBudget,
                  fmt::format("reading {} would need about {} of memory ({} for the file and its columns beside the {} "
                              "the program holds), more than the memory limit of {} ({}): give a larger --memory, or "
                              "train on a sample of the rows",
                              path, format_memory(now + need), format_memory(need), format_memory(now),
                              format_memory(memory_limit.bytes), memory_limit.source));
    }
  }

  // Feature columns a family's encoding makes of the chosen features: a column a
  // feature for native codes and pixels, one-hot a column a level (at most 100 a
  // column, as the encoder keeps) and two a number (its value and a missing flag).
  double encoded_columns(Encoding enc) const {
    double width = 0;
    for (const auto& col : table.columns) {
      if (std::find(features.begin(), features.end(), col.name) == features.end()) continue;
      if (col.type == ColumnType::kText) continue;
      if (enc == Encoding::kOneHot) {
        width += col.type == ColumnType::kCategorical ? std::min<double>(100.0, static_cast<double>(col.levels.size())) : 2.0;
      } else {
        width += 1;
      }
    }
    return width;
  }
  // Bytes of free text per training row (what a text family reads).
  double text_bytes_per_row() const {
    double bytes = 0;
    for (const auto& col : table.columns) {
      if (col.type != ColumnType::kText || std::find(features.begin(), features.end(), col.name) == features.end()) continue;
      for (const auto& t : col.text) bytes += static_cast<double>(t.size()) + 32.0;
    }
    return table.n_rows ? bytes / static_cast<double>(table.n_rows) : 0;
  }
  // Bytes of one encoding's matrices the run holds on `n` rows: the search's cached fold
  // matrices (each row once, training or validation part) for up to two data-processing
  // variants, and the refit's matrix on all rows: three floats a cell (text: three
  // copies of the documents).
  double matrix_bytes(Encoding enc, double n) const {
    if (enc == Encoding::kText) return 3.0 * n * text_bytes_per_row();
    return 3.0 * 4.0 * n * encoded_columns(enc);
  }
  double family_bytes(const ModelEntry& e, double n) const {
    DataShape shape{n, encoded_columns(e.encoding), n * text_bytes_per_row()};
    return e.memory_bytes ? e.memory_bytes(shape) : default_memory_bytes(shape);
  }
  // What searching and refitting `families` on `n` rows adds to the table as read: each
  // encoding's matrices once, and the hungriest family's own fit (fits of different
  // families do not overlap). Plus the trials' out-of-fold predictions: a double a row
  // and output for the ~25 trials the search keeps them for (SearchOptions::
  // keep_predictions and each family's best), on every row under k-fold validation and
  // a fifth of them under the holdout of tables above 10,000 rows.
  double need_for(const std::vector<const ModelEntry*>& families, double n) const {
    std::set<Encoding> encodings;
    double matrices = 0, fit = 0;
    for (const auto* e : families) {
      if (encodings.insert(e->encoding).second) matrices += matrix_bytes(e->encoding, n);
      fit = std::max(fit, family_bytes(*e, n));
    }
    const double outputs = static_cast<double>(std::max(1, y.n_outputs()));
    const double oof_rows = (n > 10000 ? 0.2 : 1.0) * n;
    return matrices + fit + (req.ensemble ? 25.0 : 2.0) * 8.0 * outputs * oof_rows;
  }

  // The memory promise, once the table is read: the families that would not fit in the
  // limit beside it are left out, and when the planner's first family cannot be trained
  // on all rows, the rows are subsampled (seeded) to what it can; each with its reason
  // in the Data Card's notes and the log.
  void fit_to_memory() {
    const double held = current_rss_bytes();
    const double left = memory_limit.bytes - held;
    memory_plan["after_read_mb"] = held / kMB;
    const std::string limit_words = fmt::format("the memory limit of {} ({})", format_memory(memory_limit.bytes),
                                                memory_limit.source);
    if (left <= 0) {
      throw Error(ErrorKind::kBudget,
                  fmt::format("the table as read takes {} of memory, which leaves nothing under {} to train in: give a "
                              "larger --memory, or train on a sample of the rows",
                              format_memory(held), limit_words));
    }
    // The planner's order: the family it would assign first decides the rows.
    std::vector<const ModelEntry*> order = candidates;
    auto rank_of = [&](const ModelEntry* e) { return e->baseline ? 1000 : e->rank ? e->rank(card).rank : 2; };
    std::stable_sort(order.begin(), order.end(), [&](auto* a, auto* b) { return rank_of(a) < rank_of(b); });
    const double n_all = static_cast<double>(rows.size());
    double n = n_all;
    if (!order.empty() && !order.front()->baseline && need_for({order.front()}, n_all) > left) {
      // The need grows with the rows: the most rows the first family fits on, with a 10% margin.
      double lo = 0, hi = n_all;
      for (int i = 0; i < 50; ++i) {
        const double mid = (lo + hi) / 2;
        (need_for({order.front()}, mid) <= 0.9 * left ? lo : hi) = mid;
      }
      const double fit_rows = std::floor(lo);
      if (fit_rows >= std::min(n_all, 1000.0)) {
        n = fit_rows;
        const std::string note = fmt::format(
            "training rows subsampled to {} of {} (seeded): {} leaves {} after reading the table, and training {} on "
            "all rows would need about {}",
            static_cast<std::size_t>(n), rows.size(), limit_words, format_memory(left), order.front()->name,
            format_memory(need_for({order.front()}, n_all)));
        card.notes.push_back(note);
        say(note);
        std::mt19937_64 rng(req.seed * 0x9E3779B97F4A7C15ULL + 101);
        std::shuffle(rows.begin(), rows.end(), rng);
        rows.resize(static_cast<std::size_t>(n));
        std::sort(rows.begin(), rows.end());
        memory_plan["subsampled_rows"] = {{"kept", rows.size()}, {"of", static_cast<std::size_t>(n_all)},
                                          {"reason", note}};
      }
    }
    // Then each family in the planner's order joins while the run still fits.
    std::vector<const ModelEntry*> kept;
    nlohmann::json left_out = nlohmann::json::array();
    for (const auto* e : order) {
      auto with = kept;
      with.push_back(e);
      const double need = need_for(with, n);
      if (need <= left) {
        kept = std::move(with);
        continue;
      }
      const std::string why = fmt::format(
          "model family {} left out: training it{} on {} rows would need about {}, and {} leaves {} after reading the "
          "table",
          e->name, kept.empty() ? "" : " beside the families before it", static_cast<std::size_t>(n),
          format_memory(need), limit_words, format_memory(left));
      card.notes.push_back(why);
      say(why);
      left_out.push_back({{"family", e->name}, {"need_mb", need / kMB}, {"reason", why}});
    }
    if (kept.empty()) {
      throw Error(ErrorKind::kBudget,
                  fmt::format("no model family can be trained within {}: the table as read takes {}, and the cheapest "
                              "family would need about {} more: give a larger --memory, or train on a sample of the rows",
                              limit_words, format_memory(held), format_memory(need_for({order.back()}, n))));
    }
    std::vector<const ModelEntry*> in_registry_order;
    for (const auto* e : candidates) {
      if (std::find(kept.begin(), kept.end(), e) != kept.end()) in_registry_order.push_back(e);
    }
    candidates = std::move(in_registry_order);
    memory_plan["estimate_mb"] = (held + need_for(candidates, n)) / kMB;
    if (!left_out.empty()) memory_plan["families_left_out"] = left_out;
  }

  void phase_read() {
    choose_memory_limit();
    // The networks' module loads while the data is read when the run may train a network
    // (no families named and no explainable requirement, or a network named): reading an
    // image set takes seconds, and its first trials are networks'. Otherwise once the
    // candidates are known (below).
    const bool any_network = std::any_of(req.families.begin(), req.families.end(), [](const std::string& f) {
      return model_registry().has(f) && model_registry().get(f).network;
    });
    if (any_network || (req.families.empty() && !wants.explainable)) start_loading_networks();
    // 1. Data and its card. The knowledge base loads meanwhile (when reading fails, the
    // future's end waits for it, and its learning's handle for the learning).
    std::future<LoadedKnowledge> knowledge_loading = std::async(std::launch::async, [this] { return load_knowledge(); });
    overrides = req.card_path.empty() ? nlohmann::json::object() : load_card_file(req.card_path);
    if (!req.card_fields.is_object()) throw_invalid("card fields must be a mapping (task, metric, ...)");
    for (const auto& [field, value] : req.card_fields.items()) overrides[field] = value;
    target = req.target.empty() ? overrides.value("target", std::string()) : req.target;
    if (target.empty() && !req.train_table && is_image_folder(req.train_path)) target = "label";  // the class sub-folders' names
    if (target.empty()) throw_invalid("no target: pass --target COLUMN (or a card file with \"target\")");
    if (!req.metric.empty()) overrides["metric"] = req.metric;
    else if (!wants.metric.empty()) overrides["metric"] = wants.metric;
    csv = req.csv;
    for (const auto& [name, type] : declared_feature_types(overrides)) csv.declared_types.emplace(name, type);
    if (req.train_table) {
      table = *req.train_table;  // rows in memory: a data frame's
      name = !req.name.empty() ? req.name : "dataframe";
    } else {
      if (req.train_path.empty()) throw_invalid("no training data: give a training file");
      check_read_fits(req.train_path);
      table = read_table(req.train_path, csv);  // a CSV file or an image folder
      name = !req.name.empty() ? req.name : dataset_name_from_path(req.train_path);
    }
    card = infer_data_card(table, target, name, overrides);
    y = encode_target(table, card);
    for (std::size_t i = 0; i < table.n_rows; ++i) {
      if (!std::isnan(y.y[i])) rows.push_back(i);
    }
    if (rows.size() < table.n_rows) {
      card.notes.push_back(fmt::format("{} rows have no target value and are left out of training", table.n_rows - rows.size()));
    }
    features = choose_features(table, &card);
    if (features.empty()) card.notes.push_back("no usable feature columns: only the constant baseline can be fitted");
    read_s = seconds_since(start);
    say(fmt::format("read {}: {} rows, {} columns", req.train_table ? name : req.train_path, table.n_rows,
                    table.columns.size()));
    say(fmt::format("task {} with metric {}; {} features", task_name(card.task), card.metric, features.size()));

    for (const auto* e : model_registry().entries()) {
      bool wanted = req.families.empty() || std::find(req.families.begin(), req.families.end(), e->name) != req.families.end();
      if (!e->supports(card.task) || !wanted || (wants.explainable && !e->explainable)) continue;
      if (std::string why = family_unusable_reason(*e, card); !why.empty()) {  // text families need text, and so on
        if (e->encoding != Encoding::kText) card.notes.push_back(fmt::format("model family {} left out: {}", e->name, why));
        continue;
      }
      if (std::string why = footprint_breaks(*e, table, features, rows.size(), wants); !why.empty()) {
        card.notes.push_back(fmt::format("model family {} left out: {}", e->name, why));
        continue;
      }
      candidates.push_back(e);
    }
    if (candidates.empty()) throw_invalid("no model family meets the request (--models and --require leave none)");
    // A network among the families: its module loads meanwhile (automl/networks.h).
    if (std::any_of(candidates.begin(), candidates.end(), [](const ModelEntry* e) { return e->network; })) {
      start_loading_networks();
    }
    fit_to_memory();

    // The knowledge base: experience from earlier runs, for warm starts and learned
    // predictions.
    LoadedKnowledge loaded = knowledge_loading.get();
    knowledge = std::move(loaded.knowledge);
    predictor_learning = std::move(loaded.learning);
  }

  void phase_open() {
    // 2. The run folder and the store.
    if (!resuming) {
      run_id = new_run_id(req.seed);
      dir = prepare_run_folder(req.out_dir, run_id);
    }
    // A resumed run writes its folder's logs afresh: the trials read back first.
    folder = std::make_unique<RunFolder>(dir);
    const std::string store_path = store_path_for(req.store_path);
    store = open_run_store(store_path);
    writer = std::make_unique<StoreWriter>(store_path);
    request = {{"train", req.train_path}, {"test", req.test_path}, {"target", target},
                              {"requirements", req.requirements},
                              {"metric", card.metric}, {"budget_s", budget}, {"seed", req.seed},
                              {"threads", req.threads}, {"card", req.card_path}, {"families", req.families},
                              {"ensemble", req.ensemble},
                              {"planner", planner_json(req.llm)},
                              {"run_id", run_id}, {"store", store_location_record(store_path)}};
    if (resuming) {
      store->reopen_run(run_id);
    } else {
      store->begin_run(run_id, dir.string(), request, card.to_json());
      // What `resume` needs to ask for the same run again.
      store->save_state(run_id, "request", req.to_json());
      if (distributed()) {
        record_data();
        // Started now, they load while the coordinator plans: a worker process takes
        // seconds to start on a busy machine, and the first batch should not wait for it.
        start_local_workers();
      }
    }
    checkpoint();
    folder->write_json("data_card.json", card.to_json());
    folder->write_json("request.json", request);
    fs::create_directories(dir / "model_cards");
    for (const auto* e : candidates) folder->write_json("model_cards/" + e->name + ".json", e->card());
    prompt_text = compose_prompt(card, candidates, {card.metric, budget, req.requirements});
    {
      std::ofstream prompt(dir / "prompt.md");
      prompt << prompt_text;
    }

    // The planner: the LLM when one is configured (its calls recorded in this run's
    // folder and store, its replies cached in the store), else the built-in one.
    sink = req.llm_sink;
    client = req.llm_client;
    if (!client && req.llm.enabled()) {
      sink = std::make_shared<LlmCallSink>();
      own_client = std::make_unique<LlmClient>(req.llm, store.get(), [s = sink](const LlmCall& c) {
        if (s->target) s->target(c);
      });
      client = own_client.get();
    }
    llm_use = {{"calls", 0}, {"cached", 0}, {"failed", 0}, {"prompt_tokens", 0}, {"completion_tokens", 0}};
    if (sink) {
      sink->target = [this](const LlmCall& c) {
        nlohmann::json j = c.to_json();
        folder->add_llm_call(j);
        store->add_llm_call(run_id, j);
        llm_use[c.cached ? "cached" : "calls"] = llm_use[c.cached ? "cached" : "calls"].get<int>() + 1;
        if (!c.error.empty()) llm_use["failed"] = llm_use["failed"].get<int>() + 1;
        llm_use["prompt_tokens"] = llm_use["prompt_tokens"].get<long>() + c.prompt_tokens;
        llm_use["completion_tokens"] = llm_use["completion_tokens"].get<long>() + c.completion_tokens;
        say(fmt::format("llm {}: {}", c.stage, c.summary()));
      };
    }
    planner = client ? make_llm_planner(*client, knowledge) : make_builtin_planner(knowledge);
    // LLM calls stop once 70% of the budget is spent: the rest is for training.
    planner->begin_task(prompt_text, start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(0.7 * budget)));
    planner->set_limits(wants.max_model_mb, wants.max_predict_ms_per_row);
    if (client) say(fmt::format("planner: {} at {}", planner->name(), req.llm.base_url));
  }

  // Whether a design can change what a model learns: leaving out columns that hold one
  // value in the training data cannot (a linear model's weight on one is zero, a tree never
  // splits on one), so a design of only those is no reason to try the family's plain
  // encoding as well (on images it was the same linear trial twice: 5 s of 15).
  bool changes_the_fit(const ColumnDesign& d) const {
    return std::any_of(d.begin(), d.end(), [&](const auto& c) {
      const auto col = std::find_if(card.columns.begin(), card.columns.end(),
                                    [&](const ColumnProfile& p) { return p.name == c.first; });
      const bool constant = col != card.columns.end() &&
                            (col->cardinality == 0 || (col->cardinality == 1 && col->missing_share == 0));
      return !(c.second.drop && constant);
    });
  }

  // From the planner's design: each family's column design, the open integer columns and
  // the data-processing variants trials try. The same for a worker reading the plan back.
  void derive_designs() {
    if (!req.fixed_preprocessing) {
      for (const auto& [family, steps] : design) {
        ColumnDesign d = column_design(steps);
        const bool native = model_registry().has(family) && model_registry().get(family).encoding == Encoding::kNative;
        for (auto it = d.begin(); it != d.end();) {
          // What a one-hot family's encoding does anyway (median, an indicator where values
          // are missing) is not a design of its own.
          if (!native && it->second.impute == "median") it->second.impute.clear();
          if (!native && it->second.missing_indicator == 1) it->second.missing_indicator = -1;
          // Only the feature columns (drop_identifier already left some out).
          const bool feature = std::find(features.begin(), features.end(), it->first) != features.end();
          it = !feature || it->second.is_default() ? d.erase(it) : std::next(it);
        }
        designs[family] = std::move(d);
      }
    }
    for (const auto& c : card.columns) {
      if (!req.fixed_preprocessing && c.open_kind == "codes" &&
          std::find(features.begin(), features.end(), c.name) != features.end())
        open_codes.push_back(c.name);
    }

    variants = {"design"};
    if (!open_codes.empty()) variants.insert(variants.end(), {"codes", "numbers"});
    bool beyond_plain = false;
    for (const auto& [family, d] : designs) beyond_plain = beyond_plain || changes_the_fit(d);
    if (beyond_plain) variants.push_back("plain");
  }

  void phase_plan() {
    // The plan: the planner's answers for each stage, saved before any training. A
    // resumed run reads them back and asks the planner nothing again.
    const auto saved = resuming ? store->load_state(run_id, "plan") : std::nullopt;
    if (saved) {
      run_plan = RunPlan::from_json(*saved);
      assignment = run_plan.assignment;
      proposals = run_plan.proposals;
      design = run_plan.design;
      say(fmt::format("resumed: the plan read back ({} proposals)", proposals.size()));
    } else {
      assignment = planner->assign_models(card, candidates);
      proposals = planner->propose(card, assignment);
    }
    // The data-processing design: what each family's pipeline does to the columns, applied
    // by its Preprocessor (column_design). Where the Data Card left the reading of integer
    // columns open, trials also try them all as numbers and all as categories; and where
    // the design goes beyond a family's fixed encoding, trials also try that ("plain").
    // The variant is a trial setting (kPrepParam), so the search and the knowledge base see it.
    if (!saved) design = planner->design_preprocessing(card, assignment);
    derive_designs();
    if (variants.size() > 1 && !saved) {
      // The first proposal of the first family that reads categories natively (boosted trees)
      // is tried again in each reading of the open integer columns that differs from the
      // design, right after it; the first of a one-hot family (linear models) is tried again
      // with its fixed encoding when the design changes it.
      const bool beyond_plain = std::find(variants.begin(), variants.end(), "plain") != variants.end();
      bool native_done = open_codes.empty(), one_hot_done = !beyond_plain;
      for (std::size_t i = 0; i < proposals.size() && !(native_done && one_hot_done); ++i) {
        const ModelEntry& e = model_registry().get(proposals[i].family);
        if (e.baseline || proposals[i].params.contains(kPrepParam)) continue;
        std::vector<Proposal> extra;
        if (e.encoding == Encoding::kNative && !native_done) {
          native_done = true;
          for (const std::string variant : {"codes", "numbers"}) {
            if (design_for(e.name, variant) == design_for(e.name, "design")) continue;
            Proposal p = proposals[i];
            p.params[kPrepParam] = variant;
            p.why = fmt::format("the same setting with the open integer columns ({}) read as {}", join(open_codes, ", "),
                                variant == "codes" ? "categories" : "numbers");
            extra.push_back(p);
          }
        } else if (e.encoding == Encoding::kOneHot && !one_hot_done) {
          one_hot_done = true;
          if (changes_the_fit(design_for(e.name, "design"))) {
            Proposal p = proposals[i];
            p.params[kPrepParam] = "plain";
            p.why = "the same setting with the family's fixed encoding instead of the design";
            extra.push_back(p);
          }
        }
        proposals.insert(proposals.begin() + static_cast<std::ptrdiff_t>(i) + 1, extra.begin(), extra.end());
        i += extra.size();
      }
    }

    // 3. Search within the budget, keeping back what the refit will need.
    plan = saved ? run_plan.validation : make_validation_plan(y, rows, req.folds, req.seed);
    say(fmt::format("validation: {} ({} fits per trial)", plan.method, plan.splits.size()));
    // What the planner reports beyond its answers: the knowledge it used, and with an
    // LLM each stage's outcome.

    {
      pj["planner"] = planner->name();
      pj["requirements"] = wants.to_json();
      // What the memory limit decided (the measured sizes and the limit, which depend on
      // the moment and the machine, are in summary.json; the plan stays the same when
      // the same request is run again).
      nlohmann::json memory_decisions = nlohmann::json::object();
      for (const char* key : {"families_left_out", "subsampled_rows"}) {
        if (memory_plan.contains(key)) memory_decisions[key] = memory_plan[key];
      }
      if (!memory_decisions.empty()) pj["memory"] = memory_decisions;
      pj["tasks"] = nlohmann::json::array({{{"dataset", card.name}, {"target", card.target},
                                            {"task", task_name(card.task)}, {"metric", card.metric},
                                            {"budget_s", budget}}});
      pj["model_assignment"] = nlohmann::json::array();
      pj["preprocessing"] = nlohmann::json::object();
      for (const auto& a : assignment) {
        pj["model_assignment"].push_back({{"family", a.family}, {"reason", a.reason}});
      }
      for (const auto& [family, family_steps] : design) {
        nlohmann::json steps = nlohmann::json::array();
        for (const auto& st : family_steps) steps.push_back({{"op", st.op}, {"columns", st.columns}});
        pj["preprocessing"][family] = steps;
      }
      pj["preprocessing_note"] =
          req.fixed_preprocessing
              ? "not applied (--fixed-preprocessing): each family's fixed encoding (native categories for trees, one-hot "
                "and standardised numbers for the others)"
              : "applied column by column (prep_variants: what each family's trials do to each column, per variant of "
                "the \"prep\" setting; columns not named keep the family's fixed encoding)";
      if (std::any_of(card.columns.begin(), card.columns.end(), [](const auto& c) { return !c.open_choice.empty(); })) {
        pj["open_choices"] = nlohmann::json::array();
        for (const auto& c : card.columns) {
          if (!c.open_choice.empty()) {
            pj["open_choices"].push_back({{"column", c.name}, {"kind", c.open_kind}, {"why", c.open_choice}});
          }
        }
      }
      if (!req.fixed_preprocessing) {
        pj["prep_variants"] = nlohmann::json::object();
        for (const auto& a : assignment) {
          nlohmann::json v = nlohmann::json::object();
          for (const auto& variant : variants) {
            nlohmann::json cols = nlohmann::json::object();
            for (const auto& [name, ops] : design_for(a.family, variant)) cols[name] = ops.to_json();
            v[variant] = cols;
          }
          pj["prep_variants"][a.family] = v;
        }
      }
      pj["hyperparameter_proposals"] = nlohmann::json::array();
      for (const auto& p : proposals) {
        pj["hyperparameter_proposals"].push_back({{"family", p.family}, {"hyperparameters", p.params}, {"why", p.why}});
      }
      pj["search"] = {{"after_proposals", "refinement by the planner from the real logs, then random settings from the "
                                          "declared spaces with successive halving on boosting rounds, in turns"},
                      {"validation", plan.method}, {"fits_per_trial", plan.splits.size()}};
      pj["refinements"] = nlohmann::json::array();
      add_report(pj);
      folder->write_json("plan.json", pj);
    }
    run_plan = {assignment, design, proposals, plan};
    if (!saved) store->save_state(run_id, "plan", run_plan.to_json());
  }

  void phase_setup_search() {
    evaluator = std::make_unique<Evaluator>(table, y, features, plan, card.metric, req.threads, req.seed);
    evaluator->set_design([this](const std::string& family, const std::string& variant) { return design_for(family, variant); });
    evaluator->set_stop(&Session::stop_flag());
    evaluator->set_limits(wants.max_model_mb, wants.max_predict_ms_per_row);
    for (const auto& u : wants.unrecognised) say("requirement not understood, ignored: \"" + u + "\"");
    n_fit_rows = static_cast<double>(plan.splits[0].train.size());
    growth = static_cast<double>(rows.size()) / n_fit_rows;
    refit_reserve = std::max(0.3, 0.02 * budget);
    // An ensemble that wins refits its other members too: their time is kept back as
    // well (the next trials by score), capped at a fifth of the budget.
    // Small data trains folds side by side (Evaluator::evaluate): a fit's own time is
    // then about twice its share of the trial's.
    side_by_side =
        fold_workers(req.threads, plan.splits.size(), n_fit_rows * static_cast<double>(features.size())) > 1;


    // The time to read and predict the test rows and save the model at the end, kept back
    // as well: the test file's rows are guessed from its size beside the training file's,
    // each model's prediction time per row was measured on its validation fold.
    if (!req.test_path.empty()) {
      auto bytes = [](const fs::path& p) {
        std::error_code ec;
        double n = 0;
        if (fs::is_directory(p, ec)) {
          for (const auto& f : fs::recursive_directory_iterator(p, ec)) n += f.is_regular_file(ec) ? 1.0 : 0.0;
        } else {
          n = static_cast<double>(fs::file_size(p, ec));
          if (ec) n = 0;
        }
        return n;
      };
      const double train_bytes = bytes(req.train_path), test_bytes = bytes(req.test_path);
      if (train_bytes > 0) {
        test_rows_guess = test_bytes / train_bytes * static_cast<double>(table.n_rows);
        // Read at the training file's pace; but read_s also holds the program's start-up
        // and the Data Card, which a small training file's pace would scale up (125 rows
        // and a test file six times larger: 3.4 s guessed for 0.02 s), so a file is
        // read at 20 MB/s at the slowest. Image folders keep the pace in files.
        const double pace = train_bytes / std::max(read_s, 1e-3);
        test_read_guess = fs::is_directory(req.test_path) ? read_s * test_bytes / train_bytes
                                                          : test_bytes / std::max(pace, 20e6);
      }
    }

    for (const auto& c : table.columns) {
      if (c.name == card.target) continue;
      for (const auto& level : c.levels) level_bytes += static_cast<double>(level.size());
    }
    finish_reserve = finish_cost({});


    opt.seed = req.seed;
    opt.keep_predictions = req.ensemble ? 20 : 0;
    opt.max_trials = req.max_trials;
    for (const auto& a : assignment) opt.families.push_back(a.family);
    opt.initial = proposals;
    if (variants.size() > 1) opt.prep_variants = variants;
    opt.predict = [this](const std::string& family, const nlohmann::json& params, int resource,
                      const std::vector<TrialResult>& history) {
      return planner->predict_log(card, family, params, resource, history).to_json();
    };
    if (knowledge) {
      // Candidates ranked by expected improvement over the best so far per predicted
      // second (improvement in the metric's better direction).
      const bool higher = metric_info(card.metric).higher_is_better;
      opt.rank = [this, higher](const std::vector<Proposal>& pool, int resource, const std::vector<TrialResult>& history) {
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
      if (plan.splits[0].valid.size() >= 1000) evaluator->set_pruner([this](int fold, const std::string& log_metric, const std::vector<double>& valid) -> std::string {
        const TrialResult* leader = current_best;
        if (!leader || static_cast<int>(leader->logs.size()) <= fold || valid.size() < 50) return "";
        const FoldLog& ref = leader->logs[static_cast<std::size_t>(fold)];
        if (ref.metric != log_metric || ref.valid.empty()) return "";
        // XGBoost logs its own names (auc, logloss, ...); the networks log the run's metric.
        const bool up = log_metric == "auc" || (log_metric == card.metric && metric_info(card.metric).higher_is_better);
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
    opt.refine = [this](const std::vector<TrialResult>& history, double seconds_left) {
      auto next = planner->refine(card, assignment, history, seconds_left);
      nlohmann::json r = {{"after_trials", history.size()}, {"proposals", nlohmann::json::array()}};
      for (const auto& p : next) r["proposals"].push_back({{"family", p.family}, {"hyperparameters", p.params}, {"why", p.why}});
      pj["refinements"].push_back(r);
      if (!next.empty()) say(fmt::format("planner refines: {} new setting{}", next.size(), next.size() == 1 ? "" : "s"));
      return next;
    };
    if (features.empty()) {  // nothing to learn from: the baselines alone
      opt.families.clear();
      for (const auto* e : model_registry().entries()) {
        if (e->baseline) opt.families.push_back(e->name);
      }
    }
    // Anytime: trials run in time boxes (a slow first family cannot hold the budget
    // before some model beats the constant), and folds cut by a box keep their best.
    opt.start = start;
    opt.budget_s = budget;
    // Once measured at the search's deadline, the ensemble's reserve is what the chosen
    // ensemble's members need, not the guess from the top trials' costs.
    // That choice, and the trials it saw: when the search ended there, it is the final choice.
    if (req.ensemble) {
      // Once, at the first deadline: choosing the ensemble now tells whether one is kept
      // and which members it needs, and how long choosing takes (it is chosen again at the end).
      opt.at_deadline = [this](const std::vector<TrialResult>& history) {
        if (ensemble_reserve_measured) return false;
        ensemble_reserve_measured = true;
        // Choosing costs time too: only worth it when it could free much more than it takes.
        if (ensemble_reserve < 3.0 * choose_guess + 0.05 * budget) return false;
        const auto choose_start = Clock::now();
        // Bounded (a slower machine than the guess assumed must not eat the search's tail).
        const EnsembleOptions eo = ensemble_options(
            history.size(), choose_start + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(std::max(0.25, 2.0 * choose_guess))));
        choice_at_deadline =
            choose_ensemble(collect_candidates(history, y, evaluator->oof_rows(), card.metric, 20), card.metric, eo);
        choice_trials = history.size();
        const EnsembleChoice& trial_choice = *choice_at_deadline;
        const double choose_s = seconds_since(choose_start);
        first_choose_s = choose_s;
        double need = 1.2 * choose_s + 0.2;
        if (!trial_choice.kept.empty()) {
          for (int id : trial_choice.winner().members) {
            const TrialResult& m = history[static_cast<std::size_t>(id)];
            if (current_best && id == current_best->id) continue;
            need += member_refit_s(m) + model_finish_s(m);
          }
          need = std::min(need, 0.2 * budget);
        }
        const double old = ensemble_reserve - choose_s;  // choosing spent part of what was kept back
        if (need >= old - std::max(0.2, 0.005 * budget)) {
          ensemble_reserve = std::max(0.0, old);
          return false;
        }
        say(fmt::format("the ensemble needs about {:.1f}s of the {:.1f}s kept back: searching on", need, old));
        ensemble_reserve = need;
        return true;
      };
    }

    opt.deadline_fn = [this] { return search_deadline(); };
    if (distributed()) {
      // Workers train the trials and write their records; this process plans, promotes
      // and waits (evaluate_remote).
      opt.evaluate_batch = [this](const std::vector<TrialResult>& proposed, const std::vector<double>& boxes,
                                  Clock::time_point deadline) { return evaluate_remote(proposed, boxes, deadline); };
    }
    // Each trial is a record in the store: proposed and running before it trains, each
    // fold as it is scored, its end in on_trial.
    // The writer's thread does the writing, so trials never wait for the disk.
    opt.on_start = [this](const TrialResult& proposed) {
      writer->post([id = run_id, t = proposed](RunStore& s) {
        s.propose_trial(id, t);
        s.start_trial(id, t.id);
      });
    };
    opt.on_fold = [this](int trial_id, int fold, double score, const FoldLog& log) {
      writer->post([id = run_id, trial_id, fold, score, log](RunStore& s) { s.add_fold(id, trial_id, fold, score, log); });
    };
    on_trial = [this](const TrialResult& t, const TrialResult* best) {
      folder->add_trial(t, seconds_since(start));
      // A worker's trial is in the store already, as its worker wrote it.
      if (!distributed()) writer->post([id = run_id, t](RunStore& s) { s.finish_trial(id, t); });
      note_trial(t, best);
      checkpoint();
      if (fault_due("trial", t.id)) {
        writer->flush();
        std::raise(SIGKILL);
      }
    };
  }

  // What a finished trial changes in what the end keeps back, and its progress line
  // (also for the trials a resumed run reads back).
  void note_trial(const TrialResult& t, const TrialResult* best) {
      current_best = best;
      ++trials_noted;
      if (best) {
        // A refit that would take a large share of the budget is not worth its time: the
        // best trial's fold model is kept, and the search goes on instead.
        const double need = refit_need(*best);
        refit_reserve = refit_too_dear(*best) ? 0.0 : std::max(0.2 + 0.01 * budget, need);
        finish_reserve = finish_cost({best});
      }
      if (req.ensemble && t.usable() && !ensemble_reserve_measured) {
        fit_costs.emplace_back(t.score, member_refit_s(t) + model_finish_s(t));
        std::stable_sort(fit_costs.begin(), fit_costs.end(),
                         [&](const auto& a, const auto& b) { return metric_better(card.metric, a.first, b.first); });
        double members = 0;
        for (std::size_t i = 1; i < std::min<std::size_t>(7, fit_costs.size()); ++i) members += fit_costs[i].second;
        // Choosing the ensemble scores blends of up to 20 trials on every out-of-fold row
        // (ranking metrics sort them each time); measured at the first deadline.
        const std::size_t cands = std::min<std::size_t>(20, fit_costs.size());
        choose_guess = static_cast<double>(std::min(evaluator->oof_rows().size(), ensemble_options(cands).max_rows)) *
                       static_cast<double>(cands) * choose_cost_per_row();
        ensemble_reserve = std::min(0.2 * budget, 0.1 + 0.003 * budget + choose_guess + members);
      }
      std::string score = t.usable() ? fmt::format("{}={:.5f}", card.metric, t.score) : std::string("-");
      std::string best_s = best ? fmt::format("best={:.5f} (#{} {})", best->score, best->id, best->family) : "";
      say(fmt::format("trial {:3d} {:9s} {:18s} {:8.2f}s  {:14s} {}", t.id, t.family, score, t.seconds, to_string(t.status), best_s));
  }

  void phase_search() {
    const auto search_start = Clock::now();
    plan_s = seconds_since(start) - read_s;
    if (resuming) {
      // The trials the first process finished are read back, not trained again; one that
      // was running when it stopped runs again (under its id).
      SearchResult so_far;
      for (TrialResult& t : store->trials(run_id)) {
        if (t.id != static_cast<int>(so_far.trials.size()) || t.status == TrialStatus::kProposed ||
            t.status == TrialStatus::kRunning)
          break;
        so_far.trials.push_back(std::move(t));
      }
      for (std::size_t i = 0; i < so_far.trials.size(); ++i) {
        const TrialResult& t = so_far.trials[i];
        if (t.usable() && (so_far.best < 0 || ranks_above(t, so_far.trials[static_cast<std::size_t>(so_far.best)], card.metric)))
          so_far.best = static_cast<int>(i);
        folder->add_trial(t);
        evaluator->note_predict_pace(t.family, t.predict_s_per_row);
        note_trial(t, so_far.best >= 0 ? &so_far.trials[static_cast<std::size_t>(so_far.best)] : nullptr);
      }
      say(fmt::format("resumed: {} finished trials read back", so_far.trials.size()));
      const auto done = store->load_state(run_id, "search_done");
      if (done && done->get<bool>()) {
        result = std::move(so_far);
      } else {
        opt.resumed = true;
        result = continue_search(*evaluator, opt, on_trial, std::move(so_far));
      }
    } else {
      result = run_search(*evaluator, opt, on_trial);
    }
    search_s = seconds_since(search_start);
    checkpoint();
    writer->flush();  // every trial is in the store before the search counts as done
    store->save_state(run_id, "search_done", true);
    // What the search left for the end, to compare with what the end took (summary.json).
    kept_back = {{"refit", refit_reserve}, {"ensemble", ensemble_reserve}, {"finish", finish_reserve}};
    if (result.deferred > 0) {
      say(fmt::format("{} setting{} waited behind cheaper ones: predicted not to finish in the time left",
                      result.deferred, result.deferred == 1 ? "" : "s"));
    }
    for (const auto& family : result.left_out) {
      std::string why;
      for (const auto& t : result.trials) {
        if (t.family == family && t.status == TrialStatus::kFailed) why = t.reason;
      }
      say(fmt::format("model family {} left out of the search: two of its trials failed alike ({})", family, why));
    }
    add_report(pj);
    folder->write_json("plan.json", pj);
  }

  void phase_refit() {
    fault_point("refit");
    // 4. Refit the best on all training rows.
    best = result.best >= 0 ? &result.trials[result.best] : nullptr;
    for (auto r : rows) y_all.push_back(y.y[r]);


    // A trial's setting fitted on all training rows. A family that refuses up front a
    // fit it cannot end before the deadline (libsvm) leaves the pipeline without a
    // model and says why in `refusal`; the callers then keep the trial's first-fold
    // model, as for a refit the deadline stopped.
    // Refits end in time to predict the test rows and save (members: see below).
    refit_end = finish_deadline({best});


    const std::string best_family = best ? best->family : first_baseline();
    entry = &model_registry().get(best_family);
    const auto refit_start = Clock::now();
    const bool has_fold_model = best && best->fold_model && best->fold_preprocessor;
    if (best && refit_too_dear(*best)) {
      final_model = fmt::format("the best trial's first-fold model (a refit on all rows would take about {:.0f}s, more "
                                "than 15% of the budget, which went to the search instead)",
                                refit_need(*best));
      say(fmt::format("no refit: {} would need about {:.0f}s; keeping the best trial's validation-fold model",
                      best_family, refit_need(*best)));
      pipe = skeleton(best_family, best->params);
      pipe.model = best->fold_model;
      pipe.preprocessor = *best->fold_preprocessor;
      best_refit = false;
    } else {
      say(fmt::format("refit {} on {} rows{}", best_family, rows.size(),
                      rounds_for(best, *entry) ? fmt::format(" with {} {}", rounds_for(best, *entry),
                                                                  entry->resource_param == "epochs" ? "epochs" : "rounds")
                                              : std::string()));
      // Small data: one thread, as its folds were trained. Threads gain nothing there and
      // lose much when the machine is busy (glass's xgboost refit, 160 rows and 388
      // rounds, ran 2.8 s against the budget beside another process and was cut; its
      // trial's single-threaded folds took 0.2 s each).
      pipe = refit_setting(best_family, best ? best->params : nlohmann::json::object(), best, &refit_rounds,
                           side_by_side ? 1 : req.threads);
      if (!pipe.model && !has_fold_model) throw Error(ErrorKind::kBudget, refusal);
    }
    best_refit_s = seconds_since(refit_start);
    if (best_refit && (!pipe.model || (pipe.model->stop_reason() == FitStop::kDeadline && has_fold_model &&
                        pipe.model->iterations() < 0.9 * refit_rounds))) {
      // The family refused the refit, or the budget ran out mid-refit: the best trial's
      // own fold model is the better choice.
      final_model = pipe.model ? "the best trial's first-fold model (the budget ran out during the refit)"
                               : fmt::format("the best trial's first-fold model (the refit was refused: {})", refusal);
      say(pipe.model ? std::string("refit ran out of budget: keeping the best trial's validation-fold model")
                     : fmt::format("refit refused ({}): keeping the best trial's validation-fold model", refusal));
      pipe.model = best->fold_model;
      pipe.preprocessor = *best->fold_preprocessor;
      best_refit = false;
    }
  }

  // Seconds per out-of-fold row and candidate that choosing an ensemble takes (ranking
  // metrics sort the rows for every blend they score).
  double choose_cost_per_row() const { return card.metric == "roc_auc" ? 8e-6 : 2e-6; }

  // The ensemble's options for a choice among `n_trials` trials: on a large table the
  // choice is made on a sample of the out-of-fold rows small enough to take about 6% of
  // the budget (never fewer than 10,000 rows), so it cannot overrun what was kept back.
  // `deadline`: when the choice must be made by (it then keeps what it has reached).
  EnsembleOptions ensemble_options(std::size_t n_trials, Clock::time_point deadline = Clock::time_point::max()) const {
    EnsembleOptions eo;
    eo.deadline = deadline;
    eo.seed = req.seed;
    const double cands = static_cast<double>(std::clamp<std::size_t>(n_trials, 2, 20));
    const double allowed_s = std::max(0.25, 0.06 * budget);
    eo.max_rows = static_cast<std::size_t>(std::max(10000.0, allowed_s / (cands * choose_cost_per_row())));
    return eo;
  }

  void phase_ensemble() {
    fault_point("ensemble");

    if (req.ensemble && result.best >= 0) {
      const auto ens_start = Clock::now();
      // Chosen in time to save and score the best model: a choice that outlasts its guess
      // keeps what it reached.
      const EnsembleOptions eo = ensemble_options(result.trials.size(), finish_deadline({best}));
      // The same trials give the same choice (it is seeded): one made at the deadline stands.
      ens = choice_at_deadline && choice_trials == result.trials.size()
                ? std::move(*choice_at_deadline)
                : choose_ensemble(collect_candidates(result.trials, y, evaluator->oof_rows(), card.metric, 20),
                                  card.metric, eo);
      if (ens.rows_used) {
        say(fmt::format("ensembles chosen on a sample of {} of the {} out-of-fold rows", ens.rows_used,
                        evaluator->oof_rows().size()));
      }
      for (const EnsembleCandidate* e : {&ens.caruana, &ens.stacking}) {
        if (!e->empty()) {
          say(fmt::format("{:9s} of {} trials: honest {}={:.5f} ({})", e == &ens.caruana ? "ensemble" : "stacking",
                          e->members.size(), card.metric, e->honest_score, e->note));
        }
      }
      ensemble_s = seconds_since(ens_start);
    }

    // The kept ensemble: every member refit on all training rows within what is left
    // of the budget; if the time runs out, the best single model stays. Members already
    // built (refit or from their fold) are kept by trial id, for the tail's ensemble.
    if (best) member_pipes[best->id] = std::make_shared<const Pipeline>(pipe);  // refit, or its fold model
    // A member's refit time: one_fit_s, scaled by how the best trial's refit compared
    // with the same guess (folds trained side by side shared the cores).
    pace = 1.0;
    if (best && best_refit && one_fit_s(*best) > 0.5) pace = std::clamp(best_refit_s / one_fit_s(*best), 0.25, 4.0);

    const auto members_start = Clock::now();
    if (!ens.kept.empty()) ens_pipe = build_ensemble(ens, result.trials, &ensemble_outcome);
    members_refit_s = seconds_since(members_start);
  }

  void phase_save() {

    const auto finish_start = Clock::now();
    finish(ens_pipe.is_ensemble() ? ens_pipe : pipe);
    finish_s = seconds_since(finish_start);
    finish_members = ens_pipe.is_ensemble() ? ens_pipe.members.size() : 1;
  }

  // The least time worth a tail: 1% of the budget (at least 0.2 s), or less when this
  // run's recent trials are quick, three times their median so several fit (a small table
  // at 10 s whose trials take 0.05 s used 0.15 s of the 0.45 s its end left).
  double tail_least() const {
    std::vector<double> recent;
    for (auto it = result.trials.rbegin(); it != result.trials.rend() && recent.size() < 10; ++it) {
      if (!is_baseline_family(it->family) && it->seconds > 0) recent.push_back(it->seconds);
    }
    const double least = std::max(0.2, 0.01 * budget);
    if (recent.size() < 3) return least;
    std::nth_element(recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(recent.size() / 2), recent.end());
    return std::clamp(3.0 * recent[recent.size() / 2], 0.05, least);
  }

  void phase_tail() {
    // 7. The tail: what the end kept back and did not need goes to more trials, when there
    // is enough of it. The ensemble is then chosen again from all trials (the new members
    // are refit when cheap, as the first ensemble's were), and replaces the first when its
    // honest score is better.
    // The single best model stays the refit one. Without ensembles the tail could not
    // change the model, so there is none.
    const bool trials_left = req.max_trials < 0 || static_cast<int>(result.trials.size()) < req.max_trials;
    if (req.ensemble && best && result.best >= 0 && trials_left && !Session::stop_flag().load()) {
      const int best_id = best->id;
      // Choosing again takes about as long as the first choice did, and an ensemble chosen
      // again is saved and scored again: as long as the first time, or longer with more
      // members (the margins).
      std::vector<const TrialResult*> kept;
      if (ens_pipe.is_ensemble()) {
        for (int id : ens.winner().members) kept.push_back(&result.trials[static_cast<std::size_t>(id)]);
      } else {
        kept.push_back(best);
      }
      const double end_need = 1.2 * std::max(ensemble_s, first_choose_s) + 1.3 * finish_s + importance_need(kept, false) +
                              report_need() + 0.05;
      tail_end =
          hard_end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(end_need));
      const double left = std::chrono::duration<double>(tail_end - Clock::now()).count();
      if (left > tail_least()) {
        const auto tail_start = Clock::now();
        say(fmt::format("tail: {:.1f}s left after the refits; searching on", left));
        const std::size_t before = result.trials.size();
        opt.deadline_fn = [this] { return tail_end; };
        opt.at_deadline = nullptr;
        // The kept ensemble's members keep their fold models while the tail's trials push
        // them out of the candidates: importance is measured on them.
        std::set<int> members;
        if (ens_pipe.is_ensemble()) members.insert(ens.winner().members.begin(), ens.winner().members.end());
        opt.keep_fold_model = [members](int id) { return members.count(id) > 0; };
        result = continue_search(*evaluator, opt, on_trial, std::move(result));
        best = &result.trials[static_cast<std::size_t>(best_id)];
        tail_trials = static_cast<int>(result.trials.size() - before);
        bool improved = false;
        for (std::size_t i = before; i < result.trials.size(); ++i) improved = improved || result.trials[i].oof != nullptr;
        if (improved) {
          const EnsembleOptions eo = ensemble_options(result.trials.size(), finish_deadline({best}));
          EnsembleChoice again =
              choose_ensemble(collect_candidates(result.trials, y, evaluator->oof_rows(), card.metric, 20), card.metric, eo);
          const double now_honest = ens_pipe.is_ensemble() ? ens.winner().honest_score : ens.best_single_honest;
          if (!again.kept.empty() && metric_better(card.metric, again.winner().honest_score, now_honest)) {
            std::string outcome;
            // Members refit on all rows when that is cheap (small tables: a fold model saw
            // only part of the few rows there are), in the time the finish leaves.
            Pipeline candidate = build_ensemble(again, result.trials, &outcome);
            // Saved and scored again, in the time left (more members take longer).
            const double need = finish_s * static_cast<double>(candidate.members.size()) /
                                static_cast<double>(finish_members);
            const double time_left = std::chrono::duration<double>(hard_end - Clock::now()).count();
            if (candidate.is_ensemble() && need <= time_left) {
              tail_outcome = fmt::format("{} of {} trials chosen again after {} more: honest {}={:.5f} against {:.5f}",
                                         again.kept, again.winner().members.size(), tail_trials, card.metric,
                                         again.winner().honest_score, now_honest);
              ens = std::move(again);
              ens_pipe = std::move(candidate);
              ensemble_outcome = outcome;
              const auto again_start = Clock::now();
              finish(ens_pipe);
              refinish_s = seconds_since(again_start);
            } else if (candidate.is_ensemble()) {
              tail_outcome = fmt::format("a better ensemble was found ({} {:.5f}), but saving and scoring it would take "
                                         "about {:.1f}s and {:.1f}s are left; the model chosen before stays",
                                         card.metric, again.winner().honest_score, need, std::max(0.0, time_left));
            }
          }
        }
        if (tail_outcome.empty()) tail_outcome = fmt::format("{} more trials; the model chosen before stays", tail_trials);
        say("tail: " + tail_outcome);
        tail_s = seconds_since(tail_start) - refinish_s;
      }
    }
    if (req.ensemble && result.best >= 0) ensemble_rows(ensemble_s);
  }

  // The pipeline whose importance is measured, and in words what that measures. Out of
  // fold where the trials kept their models of the first validation fold: the best
  // trial's fold model, or the saved ensemble's blend over its members' fold models,
  // scored on that fold's held-out rows. Otherwise (a resumed run reads back no model)
  // the saved pipeline on the same rows, which it was trained on.
  Pipeline importance_pipeline(std::string* measured_on) const {
    const bool use_ensemble = ens_pipe.is_ensemble();
    const std::size_t n_valid = plan.splits.empty() ? 0 : plan.splits[0].valid.size();
    if (use_ensemble) {
      Pipeline ep = ens_pipe;
      ep.members.clear();
      for (int id : ens.winner().members) {
        const TrialResult& t = result.trials[static_cast<std::size_t>(id)];
        if (!t.fold_model || !t.fold_preprocessor) {
          ep.members.clear();
          break;
        }
        Pipeline m = skeleton(t.family, t.params);
        m.model = t.fold_model;
        m.preprocessor = *t.fold_preprocessor;
        ep.members.push_back(std::make_shared<const Pipeline>(std::move(m)));
      }
      if (ep.members.size() == ens_pipe.members.size()) {
        *measured_on = fmt::format("out of fold: the saved {}'s blend over its {} members' models trained on the "
                                   "first validation fold's training rows, scored on that fold's {} held-out rows",
                                   ens_pipe.family, ep.members.size(), n_valid);
        return ep;
      }
    } else if (best && best->fold_model && best->fold_preprocessor) {
      Pipeline fp = skeleton(best->family, best->params);
      fp.model = best->fold_model;
      fp.preprocessor = *best->fold_preprocessor;
      *measured_on = fmt::format("out of fold: the best trial's {} model trained on the first validation fold's "
                                 "training rows, scored on that fold's {} held-out rows ({})",
                                 best->family, n_valid,
                                 best_refit ? "the saved model is the same setting refit on all rows"
                                            : "it is the saved model");
      return fp;
    }
    *measured_on = fmt::format("in sample: the saved {} scored on the first validation fold's {} rows, which it was "
                               "trained on ({}), so the drops may be larger than on new rows",
                               best ? "model" : "baseline", n_valid,
                               best ? "its fold model was not kept: a resumed run reads none back"
                                    : "no trial finished");
    return use_ensemble ? ens_pipe : pipe;
  }

  // Permutation importance within importance_box(), ending before the budget does.
  void phase_importance() {
    // Its box, or what the end kept back and did not need when that is more (a tail too
    // short for more trials and a second ensemble): measured on more rows and repeats.
    // When the phases before it overran (a loaded machine), it still gets 1% of the budget
    // (at least 0.1 s), so a run always says which columns mattered.
    const auto deadline = std::max(
        hard_end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(report_need())),
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(0.1 + 0.01 * budget)));
    std::string measured_on;
    const Pipeline ip = importance_pipeline(&measured_on);
    std::vector<std::size_t> valid = plan.splits.empty() ? rows : plan.splits[0].valid;
    std::vector<double> yv;
    for (auto r : valid) yv.push_back(y.y[r]);
    ImportanceOptions io;
    io.seed = req.seed;
    io.deadline = deadline;
    // The time left before the report is the end's margin, not needed: more repeats.
    io.max_repeats = kImportanceMostRepeats;
    importance = permutation_importance(ip, table, valid, yv, card.metric, io);
    importance.measured_on = measured_on;
    write_feature_importance(dir / "feature_importance.csv", importance);
    say(fmt::format("feature importance: {} of {} columns, {} repeats{} on {} rows in {:.2f}s{}",
                    importance.columns_measured, importance.columns.size(), importance.repeats,
                    importance.repeats > importance.repeats_asked
                        ? fmt::format(" ({} asked, more in the time the end did not need)", importance.repeats_asked)
                        : std::string(),
                    importance.rows,
                    importance.seconds, importance.cut.empty() ? std::string() : " (" + importance.cut + ")"));
  }

  nlohmann::json phase_summary() {
    fault_point("summary");
    writer->flush();  // the tail's trials are in the store before the run is finished
    const bool use_ensemble = ens_pipe.is_ensemble();
    const Pipeline& final_pipe = use_ensemble ? ens_pipe : pipe;

    // 8. The summary.
    nlohmann::json summary;
    summary["run_id"] = run_id;
    summary["run_folder"] = dir.string();
    summary["dataset"] = card.name;
    summary["task"] = task_name(card.task);
    summary["metric"] = card.metric;
    summary["higher_is_better"] = metric_info(card.metric).higher_is_better;
    summary["validation"] = {{"method", plan.method}, {"folds", plan.folds}, {"repeats", plan.repeats}};
    summary["model"] = {{"family", pipe.family}, {"hyperparameters", with_defaults(entry->params, pipe.params)},
                        {"trial_id", best ? best->id : -1}, {"refit_iterations", pipe.model->iterations()},
                        {"refit_stop", to_string(pipe.model->stop_reason())}, {"trained_as", final_model}};
    summary["validation_score"] = best ? nlohmann::json(best->score) : nlohmann::json(nullptr);
    if (req.ensemble) {
      nlohmann::json ej = {{"kept", ens.kept.empty() ? nlohmann::json(nullptr) : nlohmann::json(ens.kept)},
                           {"used", use_ensemble},
                           {"rule", ens.rule},
                           {"best_single_trial", ens.best_trial},
                           {"best_single_oof_score", ens.best_single_score},
                           {"best_single_honest_score", ens.best_single_honest}};
      if (!ensemble_outcome.empty()) ej["refit"] = ensemble_outcome;
      for (const EnsembleCandidate* e : {&ens.caruana, &ens.stacking}) {
        if (e->empty()) continue;
        nlohmann::json c = e->to_json();
        c["note"] = e->note;
        ej[e == &ens.caruana ? "selection" : "stacking"] = c;
      }
      summary["ensemble"] = ej;
    }
    if (use_ensemble) {
      // The saved model is the ensemble; the best single model is kept for reference.
      summary["best_single_model"] = summary["model"];
      nlohmann::json members = ens.winner().to_json()["members"];
      summary["model"] = {{"family", ens.kept}, {"members", members}, {"trained_as", ensemble_outcome}};
      summary["validation_score"] = ens.winner().honest_score;
      summary["validation_score_note"] = "the ensemble's cross-fitted (honest) out-of-fold score";
    }
    summary["n_trials"] = result.trials.size();
    int failed = 0;
    for (const auto& t : result.trials) failed += t.status == TrialStatus::kFailed;
    summary["n_trials_failed"] = failed;
    int cut = 0;
    for (const auto& t : result.trials) cut += t.deadline_stopped;
    summary["n_trials_cut_by_deadline"] = cut;
    // Seconds from the run's start to the start of its last trial that scored a fold
    // (null when none did): the search starts no fold past its deadline, which falls
    // within the budget. (A resumed run's trials read back have no start time.)
    std::optional<Clock::time_point> last_start;
    for (const auto& t : result.trials) {
      if (!t.fold_scores.empty() && t.started != Clock::time_point{} && (!last_start || t.started > *last_start))
        last_start = t.started;
    }
    summary["last_trial_start_s"] =
        last_start ? nlohmann::json(std::chrono::duration<double>(*last_start - start).count()) : nlohmann::json(nullptr);
    summary["n_settings_deferred"] = result.deferred;
    summary["families_left_out_by_search"] = result.left_out;
    summary["n_tail_trials"] = tail_trials;
    // Ctrl-C (or request_stop) ended the search before its deadline.
    summary["interrupted"] = Session::stop_flag().load();
    if (!tail_outcome.empty()) summary["tail"] = tail_outcome;
    summary["planner"] = planner->name();
    if (sink) summary["llm"] = llm_use;
    for (const auto& [k, v] : test_part.items()) summary[k] = v;
    if (test_part.contains("test_score") && test_part["test_score"].is_number())
      say(fmt::format("test {} = {:.5f}", card.metric, test_part["test_score"].get<double>()));
    summary["seconds"] = seconds_since(start);
    summary["budget_s"] = budget;
    // Where the time went, in seconds: reading the data and its card, planning (with an
    // LLM, its first calls), the search, choosing the ensemble, refitting (the best and
    // the ensemble's members), the tail (more trials with the time the end did not need,
    // and choosing the ensemble again), then saving, testing and writing the summary.
    summary["time"] = {{"reading", read_s},
                       {"planning", plan_s},
                       {"search", search_s},
                       {"ensemble", ensemble_s},
                       {"ensemble_at_first_deadline", first_choose_s},
                       {"refit", best_refit_s + members_refit_s},
                       {"tail", tail_s},
                       {"saving_and_test", finish_s + refinish_s},
                       {"feature_importance", importance.seconds},
                       {"kept_back", kept_back}};
    summary["feature_importance"] = importance.to_json();
    summary["time_used_share"] = summary["seconds"].get<double>() / budget;
    summary["peak_memory_mb"] = peak_memory_mb();
    summary["memory"] = memory_plan;
    summary["memory"]["peak_mb"] = peak_memory_mb();
    if (peak_memory_mb() * kMB > memory_limit.bytes) {
      say(fmt::format("peak memory {} went above {} ({}): the estimate was short", format_memory(peak_memory_mb() * kMB),
                      format_memory(memory_limit.bytes), memory_limit.source));
    }
    if (req.report) {
      // The report reads the folder and this summary; its seconds join the breakdown. A
      // report that cannot be written costs the run nothing else: the error is kept.
      const auto report_start = Clock::now();
      try {
        const auto page = write_report(dir, &summary);
        summary["report"] = page.string();
      } catch (const Error& e) {
        summary["report_error"] = e.what();
        say(fmt::format("report not written: {}", e.what()));
      }
      summary["time"]["report"] = seconds_since(report_start);
      summary["seconds"] = seconds_since(start);
      summary["time_used_share"] = summary["seconds"].get<double>() / budget;
    }
    folder->write_json("summary.json", summary);
    store->finish_run(run_id, "finished", summary);
    say(fmt::format("done: {} {} validation {}={:.5f}; saved to {}", final_pipe.family,
                    best ? "" : "(no trial finished)", card.metric,
                    summary["validation_score"].is_number() ? summary["validation_score"].get<double>() : NAN,
                    dir.string()));
    // What a study's coordinator cost the server (bench/store_trips.py reads it).
    if (distributed() && is_postgres_location(store_path_for(req.store_path))) {
      say(describe_round_trips(postgres_round_trips()));
    }
    return summary;
  }

  Phase phase = Phase::kNone;
  bool resuming = false;  // opened by Session::resume: the store holds what the first process did

  // The seconds used so far, kept in the store: a resumed run gets what is left.
  void checkpoint() {
    if (writer) writer->post([id = run_id, s = seconds_since(start)](RunStore& st) { st.save_state(id, "elapsed_s", s); });
  }

  // Runs `f` as phase `p` unless it has run; a phase that throws marks the run failed
  // in the store with its error (once the store is open), and rethrows.
  template <typename F>
  void step(Phase p, F&& f) {
    if (phase >= p) return;
    try {
      f();
    } catch (const std::exception& e) {
      if (store && !run_id.empty()) {
        try {
          if (writer) writer->flush();  // the records first, then the verdict
        } catch (const std::exception&) {
          // a write failed: the run's own error is the one to report
        }
        try {
          store->fail_run(run_id, e.what());
        } catch (const std::exception&) {
          // the store itself failed: the original error is the one to report
        }
      }
      throw;
    }
    phase = p;
  }
};

struct StudyEvaluator::State {
  std::ostringstream quiet;  // the session's progress lines, unread (declared first: it outlives impl)
  std::unique_ptr<Session::Impl> impl;
};

StudyEvaluator::StudyEvaluator(std::unique_ptr<State> s) : s_(std::move(s)) {}
StudyEvaluator::~StudyEvaluator() = default;

std::unique_ptr<StudyEvaluator> StudyEvaluator::open(RunStore& store, const std::string& run_id, int threads) {
  const auto saved = store.load_state(run_id, "request");
  if (!saved) throw_not_found(fmt::format("run store {} has no run {} to work on", store.location(), run_id));
  const auto data = store.load_state(run_id, "data");
  if (!data) {
    throw_not_found(fmt::format("run {} in {} keeps no training data for workers: start it with --workers", run_id,
                                store.location()));
  }
  const std::string sha = data->at("sha256"), path = data->at("path");
  std::string file = path;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    const std::string here = sha256_hex(read_bytes(path));
    if (here != sha) {
      throw_invalid(fmt::format("the training data at {} is not run {}'s: its SHA-256 is {}, the run's data has {} (the "
                                "file changed since the run started, or this machine holds another file at that path)",
                                path, run_id, here, sha));
    }
  } else {
    std::optional<std::string> bytes = store.get_dataset(sha);
    if (!bytes) {
      throw_not_found(fmt::format("run {}'s training data {} cannot be read on this machine, and the store keeps no copy "
                                  "(data over {} MiB is not kept): make the file readable at that path",
                                  run_id, path, kDataInStoreBytes >> 20));
    }
    if (sha256_hex(*bytes) != sha) {
      throw_invalid(fmt::format("the store's copy of run {}'s training data does not match its SHA-256 {}", run_id, sha));
    }
    const fs::path dir = fs::temp_directory_path() / ("automl-gpt-data-" + sha.substr(0, 16));
    fs::create_directories(dir);
    file = (dir / fs::path(path).filename()).string();
    if (!fs::exists(file)) {
      const fs::path part = file + fmt::format(".part{}", getpid());
      {
        std::ofstream out(part, std::ios::binary);
        out << *bytes;
        if (!out) throw_io("cannot write " + part.string());
      }
      fs::rename(part, file);
    }
  }
  RunRequest r = RunRequest::from_json(*saved);
  r.train_path = file;
  r.card_path.clear();
  r.card_fields = data->value("card_fields", nlohmann::json::object());
  r.test_path.clear();
  r.knowledge = "none";  // the coordinator's planner uses it; a worker only trains
  r.quiet = true;
  r.threads = std::max(1, threads);
  r.workers = 0;
  r.remote_workers = false;
  r.start = Clock::now();
  auto state = std::make_unique<State>();
  state->impl = std::make_unique<Session::Impl>(std::move(r), state->quiet);
  Session::Impl& im = *state->impl;
  im.run_id = run_id;
  im.phase_read();
  const auto plan = store.load_state(run_id, "plan");
  if (!plan) throw_not_found(fmt::format("run {} in {} has no plan yet", run_id, store.location()));
  im.run_plan = RunPlan::from_json(*plan);
  im.assignment = im.run_plan.assignment;
  im.proposals = im.run_plan.proposals;
  im.design = im.run_plan.design;
  im.derive_designs();
  im.plan = im.run_plan.validation;
  im.evaluator = std::make_unique<Evaluator>(im.table, im.y, im.features, im.plan, im.card.metric, im.req.threads,
                                             im.req.seed);
  Session::Impl* raw = &im;
  im.evaluator->set_design([raw](const std::string& family, const std::string& variant) {
    return raw->design_for(family, variant);
  });
  im.evaluator->set_limits(im.wants.max_model_mb, im.wants.max_predict_ms_per_row);
  return std::unique_ptr<StudyEvaluator>(new StudyEvaluator(std::move(state)));
}

TrialResult StudyEvaluator::evaluate(const TrialResult& p, Clock::time_point deadline, double time_box_s,
                                     const Evaluator::FoldCallback& on_fold, const std::atomic<bool>* stop) {
  Evaluator& ev = *s_->impl->evaluator;
  ev.set_stop(stop);
  TrialResult t = ev.evaluate(p.family, p.params, p.resource, deadline, time_box_s, p.sample_rows, on_fold);
  t.id = p.id;
  t.rung = p.rung;
  t.parent = p.parent;
  t.predicted = p.predicted;
  return t;
}

nlohmann::json RunPlan::to_json() const {
  nlohmann::json j = {{"model_assignment", nlohmann::json::array()},
                      {"preprocessing", nlohmann::json::object()},
                      {"hyperparameter_proposals", nlohmann::json::array()}};
  for (const auto& a : assignment) j["model_assignment"].push_back({{"family", a.family}, {"reason", a.reason}});
  for (const auto& [family, steps] : design) {
    nlohmann::json s = nlohmann::json::array();
    for (const auto& st : steps) s.push_back({{"op", st.op}, {"columns", st.columns}});
    j["preprocessing"][family] = s;
  }
  for (const auto& p : proposals) {
    j["hyperparameter_proposals"].push_back({{"family", p.family}, {"hyperparameters", p.params}, {"why", p.why}});
  }
  nlohmann::json splits = nlohmann::json::array();
  for (const auto& s : validation.splits) splits.push_back({{"train", s.train}, {"valid", s.valid}});
  j["validation"] = {{"method", validation.method}, {"folds", validation.folds}, {"repeats", validation.repeats},
                     {"holdout_share", validation.holdout_share}, {"splits", splits}};
  return j;
}

RunPlan RunPlan::from_json(const nlohmann::json& j) {
  RunPlan p;
  try {
    for (const auto& a : j.at("model_assignment")) p.assignment.push_back({a.at("family"), a.at("reason")});
    for (const auto& [family, steps] : j.at("preprocessing").items()) {
      auto& out = p.design[family];
      for (const auto& st : steps) out.push_back({st.at("op"), st.at("columns").get<std::vector<std::string>>()});
    }
    for (const auto& h : j.at("hyperparameter_proposals")) {
      p.proposals.push_back({h.at("family"), h.at("hyperparameters"), h.value("why", std::string())});
    }
    const auto& v = j.at("validation");
    p.validation.method = v.at("method");
    p.validation.folds = v.at("folds");
    p.validation.repeats = v.at("repeats");
    p.validation.holdout_share = v.at("holdout_share");
    for (const auto& s : v.at("splits")) {
      p.validation.splits.push_back({s.at("train").get<std::vector<std::size_t>>(), s.at("valid").get<std::vector<std::size_t>>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(std::string("a saved run plan is damaged: ") + e.what());
  }
  return p;
}

Session::Session(RunRequest request, std::ostream& progress)
    : impl_(std::make_unique<Impl>(std::move(request), progress)) {}
Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

const DataCard& Session::read() {
  impl_->step(Phase::kRead, [&] { impl_->phase_read(); });
  return impl_->card;
}

const RunPlan& Session::plan() {
  read();
  impl_->step(Phase::kPlan, [&] {
    impl_->phase_open();
    impl_->phase_plan();
  });
  return impl_->run_plan;
}

const SearchResult& Session::search() {
  plan();
  impl_->step(Phase::kSearch, [&] {
    impl_->phase_setup_search();
    impl_->phase_search();
  });
  return impl_->result;
}

RefitResult Session::refit() {
  search();
  impl_->step(Phase::kRefit, [&] { impl_->phase_refit(); });
  return {&impl_->pipe, impl_->final_model, impl_->best_refit_s};
}

EnsembleResult Session::ensemble() {
  refit();
  impl_->step(Phase::kEnsemble, [&] { impl_->phase_ensemble(); });
  return {&impl_->ens, impl_->ens_pipe.is_ensemble(), impl_->ensemble_outcome,
          impl_->ensemble_s + impl_->members_refit_s};
}

SaveResult Session::save() {
  ensemble();
  impl_->step(Phase::kSave, [&] { impl_->phase_save(); });
  return {impl_->dir / "model", impl_->test_part, impl_->finish_s + impl_->refinish_s};
}

int Session::tail() {
  save();
  impl_->step(Phase::kTail, [&] { impl_->phase_tail(); });
  return impl_->tail_trials;
}

const FeatureImportance& Session::importance() {
  tail();
  impl_->step(Phase::kImportance, [&] { impl_->phase_importance(); });
  return impl_->importance;
}

nlohmann::json Session::summarize() {
  importance();
  nlohmann::json summary;
  impl_->step(Phase::kSummary, [&] { summary = impl_->phase_summary(); });
  return summary;
}

nlohmann::json Session::run() { return summarize(); }

std::unique_ptr<Session> Session::resume(const fs::path& run_dir, std::ostream& progress, double budget_s, bool quiet) {
  const fs::path request_file = run_dir / "request.json";
  if (!fs::exists(request_file)) {
    throw_not_found("cannot resume " + run_dir.string() + ": it has no request.json (is it a run folder?)");
  }
  nlohmann::json folder_request;
  try {
    folder_request = nlohmann::json::parse(std::ifstream(request_file));
  } catch (const nlohmann::json::exception& e) {
    throw_invalid("cannot resume " + run_dir.string() + ": request.json is damaged: " + e.what());
  }
  if (!folder_request.contains("run_id") || !folder_request.contains("store")) {
    throw_invalid("cannot resume " + run_dir.string() + ": its request.json names no run id and store (a run made "
                  "before runs could be resumed)");
  }
  const std::string run_id = folder_request["run_id"];
  const std::string store_path = folder_request["store"];
  if (!is_postgres_location(store_path) && !fs::exists(store_path)) {
    throw_not_found("cannot resume " + run_dir.string() + ": its store " + store_path + " is gone");
  }
  auto opened = open_run_store(store_path);
  RunStore& store = *opened;
  const std::string status = store.run_status(run_id);
  if (status == "finished") {
    throw_invalid("run " + run_id + " in " + run_dir.string() + " finished already: nothing to resume");
  }
  const auto saved = store.load_state(run_id, "request");
  if (!saved) throw_invalid("cannot resume " + run_dir.string() + ": the store kept no request for run " + run_id);
  if (saved->value("train_in_memory", false)) {
    throw Error(ErrorKind::kUnsupported, "cannot resume " + run_dir.string() + ": run " + run_id +
                                             " was fitted on rows in memory (a data frame), which no file keeps");
  }
  RunRequest r = RunRequest::from_json(*saved);
  r.quiet = quiet;
  r.out_dir = run_dir.string();
  r.store_path = store_path;
  const auto elapsed = store.load_state(run_id, "elapsed_s");
  const double used = elapsed ? elapsed->get<double>() : 0.0;
  if (budget_s > 0) {
    r.budget_s = budget_s;
    r.start = Clock::now();
  } else {
    // The clock goes on from where the first process stopped.
    if (r.budget_s - used < 1.0) {
      throw_invalid(fmt::format("run {} used {:.0f}s of its {:.0f}s budget: give a new one with --budget", run_id, used,
                                r.budget_s));
    }
    r.start = Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(used));
  }
  auto impl = std::make_unique<Impl>(std::move(r), progress);
  impl->resuming = true;
  impl->run_id = run_id;
  impl->dir = run_dir;
  impl->say(fmt::format("resuming run {} ({}, {:.1f}s used before)", run_id, status, used));
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

void Session::request_stop() { stop_flag().store(true); }

std::atomic<bool>& Session::stop_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

const std::string& Session::run_id() const { return impl_->run_id; }
const fs::path& Session::dir() const { return impl_->dir; }

void ProgressPrinter::operator()(const std::string& line) const {
  if (quiet_) return;
  out_ << fmt::format("[{:6.1f}s/{:.0f}s] ", seconds_since(start_), budget_s_) << line << "\n" << std::flush;
}

fs::path prepare_run_folder(const std::string& out_dir, const std::string& run_id) {
  fs::path dir = out_dir.empty() ? fs::path("runs") / run_id : fs::path(out_dir);
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    throw_invalid("run folder " + dir.string() + " already exists and is not empty; choose another --out or remove it");
  }
  return dir;
}

std::string store_path_for(const std::string& store_path) {
  return store_path.empty() ? (fs::path("runs") / "store.sqlite").string() : store_path;
}

nlohmann::json planner_json(const LlmConfig& llm) {
  return llm.enabled() ? nlohmann::json{{"llm", llm.spec}, {"base_url", llm.base_url}, {"model", llm.model}}
                       : nlohmann::json("builtin");
}

}  // namespace automl
