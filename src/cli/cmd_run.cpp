#include <iostream>
#include <thread>

#include "automl/error.h"
#include "automl/llm.h"
#include "automl/memory.h"
#include "automl/request.h"
#include "automl/process.h"
#include "automl/run.h"
#include "automl/session.h"
#include "commands.h"

namespace automl::cli {

Command add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "search for the best model of a CSV file within a time budget and save it");
  struct Flags {
    RunRequest req;
    std::string budget = "60s";
    std::string memory;
    std::string models;
    bool json = false;
    bool resume = false;
    std::string request;
    std::string workers = "0";
    std::string llm = "builtin";
    std::string llm_model;
    int llm_max_calls = 30;
    long llm_max_tokens = 150000;
    double llm_timeout = 0;  // 0 = AUTOML_GPT_LLM_TIMEOUT, else 60
    ReadFlags read;
  };
  auto f = std::make_shared<Flags>();
  f->req.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cmd->add_option("train", f->req.train_path, "training data: a CSV or TSV file with a header row (or use --request)");
  cmd->add_option("--request", f->request,
                  "a request file (YAML) with several tasks, as fields and/or in words; each task gets its own run "
                  "folder under tasks/ (see README, \"Several tasks in one request\")");
  cmd->add_option("--knowledge", f->req.knowledge,
                  "knowledge base for warm starts and learned log predictions: a file from `automl-gpt learn`, or "
                  "none (default: the shipped one, or $AUTOML_GPT_KNOWLEDGE)");
  cmd->add_option("--knowledge-exclude", f->req.knowledge_exclude,
                  "leave this dataset's experience out of the knowledge base (for honest benchmarks)");
  cmd->add_option("--llm", f->llm,
                  "the planner: builtin (default, offline), openai:MODEL, ollama:MODEL, or the base URL of any "
                  "OpenAI-compatible server (with --llm-model). The key comes from AUTOML_GPT_API_KEY or OPENAI_API_KEY");
  cmd->add_option("--llm-model", f->llm_model, "the model name to ask for at an --llm URL (overrides a shorthand's)");
  cmd->add_option("--llm-max-calls", f->llm_max_calls,
                  "most HTTP calls to the LLM for the whole command; stages after the cap get the built-in answer "
                  "(default 30)");
  cmd->add_option("--llm-max-tokens", f->llm_max_tokens,
                  "most prompt + completion tokens for the whole command (default 150000)");
  cmd->add_option("--llm-timeout", f->llm_timeout,
                  "seconds to wait for one LLM reply before retrying (default: $AUTOML_GPT_LLM_TIMEOUT, else 60; "
                  "retries back off on 429 and 5xx, honouring Retry-After)");
  cmd->add_option("-t,--target", f->req.target, "the column to predict (or give it in --card)");
  cmd->add_option("--test", f->req.test_path, "a held-out file with the same columns: the final model is scored on it");
  cmd->add_option("--card", f->req.card_path,
                  "a Data Card file (JSON or YAML) whose fields override what is inferred: name, description, task, "
                  "metric, positive_class, feature_types");
  cmd->add_option("-m,--metric", f->req.metric,
                  "what to optimise: roc_auc, accuracy, log_loss, macro_f1, rmse, mae or r2 (default: roc_auc for "
                  "binary, accuracy for multiclass, rmse for regression)");
  cmd->add_option("-b,--budget", f->budget,
                  "wall-clock budget for the whole command, refit included: 60s, 5m, 1h (default 60s, or a request "
                  "file's budget)");
  cmd->add_option("--memory", f->memory,
                  "the most memory the run may use: 4GB, 512MB, 1.5G (K, M, G count in 1024s). Families that would not "
                  "fit are left out and rows subsampled, each with its reason in the Data Card and the log; a file too "
                  "large to read fails at once (default: 75% of the memory available when the run starts, or of what "
                  "the cgroup's memory.max leaves)");
  cmd->add_option("-o,--out", f->req.out_dir, "run folder to create (default runs/<run id>); must not exist or be empty");
  cmd->add_option("--store", f->req.store_path, "run store to record into: a SQLite file, or a postgresql://user@host:port/db URI (password from PGPASSWORD or ~/.pgpass; never saved) (default runs/store.sqlite)");
  cmd->add_option("--workers", f->workers,
                  "who trains the trials: 0 this process (default); N also starts N local worker processes (on the "
                  "SQLite store, in WAL mode); remote: `automl-gpt worker --store URI` processes started anywhere");
  cmd->add_option("--seed", f->req.seed, "random seed: the same seed gives the same sequence of trials (default 0)");
  cmd->add_option("--threads", f->req.threads, "threads for training (default: all cores)");
  cmd->add_option("--max-trials", f->req.max_trials, "stop after this many trials even if budget remains");
  cmd->add_option("--folds", f->req.folds,
                  "validation folds: 1 = a 20% holdout, k > 1 = k-fold (default: by size; repeated 5-fold for small "
                  "data, holdout above 10,000 rows unless a binary target's rarer class has under 1,000 of them)");
  cmd->add_option("--models", f->models,
                  "comma-separated model families to consider (default: all; see `automl-gpt models`)");
  cmd->add_option("--require", f->req.requirements,
                  "requirements in words, separated by ';': a metric (\"ROC AUC\"), \"train within 2 minutes\" (caps "
                  "the budget), \"model under 5 MB\", \"predict under 1 ms per row\" (trials that break them fail), "
                  "\"must be explainable\" (linear models only)");
  cmd->add_option("--name", f->req.name, "dataset name for the Data Card (default: from the file or its folder)");
  cmd->add_flag("--fixed-preprocessing", f->req.fixed_preprocessing,
                "apply each family's fixed encoding only (native categories for trees, one-hot and standardised numbers "
                "for the others): the planner's data-processing design is recorded in plan.json but not applied or "
                "searched");
  cmd->add_flag("--no-ensemble{false}", f->req.ensemble,
                "keep the best single trial only: build no ensembles of the top trials (by default greedy ensemble "
                "selection and stacking are built from the trials' out-of-fold predictions, and one that beats the "
                "best single trial on a cross-fitted estimate is refit and saved)");
  cmd->add_flag("--no-report{false}", f->req.report,
                "write no report.html at the end (by default the run folder gets one: plots of the search, the "
                "predicted against the real training logs and the test set, in one file that opens offline; "
                "`automl-gpt report RUN` writes it later)");
  cmd->add_flag("--resume", f->resume,
                "with --out: continue the run in that folder if it was interrupted (its finished trials are kept and "
                "the rest of its budget used, or --budget if given); start it there if the folder is empty or absent");
  cmd->add_flag("-q,--quiet", f->req.quiet, "no progress lines on stderr");
  cmd->add_flag("--json", f->json, "print summary.json to stdout when done");
  f->read.add_to(cmd);
  return {cmd, [f, cmd] {
            f->req.budget_s = parse_duration(f->budget);
            if (f->workers == "remote") {
              f->req.remote_workers = true;
            } else {
              try {
                std::size_t used = 0;
                f->req.workers = std::stoi(f->workers, &used);
                if (used != f->workers.size() || f->req.workers < 0) throw std::invalid_argument(f->workers);
              } catch (const std::exception&) {
                throw_invalid("--workers takes a number of local workers (0 or more) or \"remote\", not \"" +
                              f->workers + "\"");
              }
            }
            if (!f->memory.empty()) f->req.memory_bytes = parse_memory_size(f->memory);
            f->req.csv = f->read.options();
            std::stringstream ss(f->models);
            std::string m;
            while (std::getline(ss, m, ',')) {
              if (!m.empty()) {
                model_registry().get(m);  // an unknown name fails now, naming the close ones
                f->req.families.push_back(m);
              }
            }
            // A missing key or model fails here, before any data is read.
            f->req.llm = resolve_llm(f->llm, f->llm_model);
            if (f->llm_max_calls < 0 || f->llm_max_tokens < 0 || f->llm_timeout < 0) {
              throw_invalid("--llm-max-calls, --llm-max-tokens and --llm-timeout must be 0 or more");
            }
            f->req.llm.max_calls = f->llm_max_calls;
            f->req.llm.max_tokens = f->llm_max_tokens;
            if (f->llm_timeout > 0) f->req.llm.timeout_s = f->llm_timeout;
            nlohmann::json summary;
            if (!f->request.empty()) {
              if (!f->req.train_path.empty()) throw_invalid("give either a training file or --request, not both");
              // The request file's budget holds unless --budget is given.
              if (cmd->count("--budget") == 0) f->req.budget_s = 0;
              summary = run_request(f->request, f->req, std::cerr);
            } else if (f->resume && !f->req.out_dir.empty() &&
                       std::filesystem::exists(std::filesystem::path(f->req.out_dir) / "request.json")) {
              handle_interrupts();
              summary = Session::resume(f->req.out_dir, std::cerr, cmd->count("--budget") ? f->req.budget_s : 0,
                                        f->req.quiet)
                            ->run();
            } else {
              if (f->resume && f->req.out_dir.empty()) throw_invalid("--resume needs --out: the folder to continue");
              if (f->req.train_path.empty()) throw_invalid("no training data: give a CSV file or --request FILE");
              handle_interrupts();
              f->req.start = process_start();  // the budget counts the program's own start-up
              summary = Session(f->req, std::cerr).run();
            }
            return finish_command(summary, f->json);
          }};
}

}  // namespace automl::cli
