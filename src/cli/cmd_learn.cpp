#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/run.h"
#include "automl/session.h"
#include "automl/store.h"
#include "commands.h"

namespace automl::cli {

// Builds the knowledge base: a real run on each dataset folder, with the plain
// search (no knowledge, so the experience is not biased by an earlier brain), each
// run's trials and logs read back from the run store into one JSON file.
Command add_learn(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "learn", "build a knowledge base from runs on dataset folders (train.csv + card.json) and/or a run store");
  struct Flags {
    std::vector<std::string> dirs;
    std::string budget = "30s", out, store, from_store;
    uint64_t seed = 0;
    int threads = 0;
    bool append = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("datasets", f->dirs, "dataset folders, each with train.csv and card.json (naming the target)");
  cmd->add_option("-b,--budget", f->budget, "budget of each dataset's run (default 30s)");
  cmd->add_option("-o,--out", f->out, "the knowledge base to write (default: share/knowledge/knowledge-base.json)");
  cmd->add_option("--store", f->store, "run store for the learning runs: a SQLite file or a postgresql:// URI (default runs/learn.sqlite)");
  cmd->add_option("--from-store", f->from_store, "also learn from every finished run in this run store (a SQLite file or a postgresql:// URI)");
  cmd->add_flag("--append", f->append, "add to the knowledge base at --out instead of starting a new one");
  cmd->add_option("--seed", f->seed, "random seed of the runs (default 0)");
  cmd->add_option("--threads", f->threads, "threads (default: all cores)");
  return {cmd, [f] {
            namespace fs = std::filesystem;
            if (f->dirs.empty() && f->from_store.empty()) throw_invalid("give dataset folders and/or --from-store STORE");
            // A shell glob such as datasets/* also matches files beside the folders (a README):
            // those are passed over, with a word; a folder without its files is an error.
            std::vector<std::string> dirs;
            for (const auto& d : f->dirs) {
              if (fs::is_regular_file(d)) {
                std::cerr << "learn: passing over " << d << ": a file, not a dataset folder\n";
              } else {
                dirs.push_back(d);
              }
            }
            f->dirs = dirs;
            if (f->dirs.empty() && f->from_store.empty()) throw_invalid("no dataset folders among the paths given");
            for (const auto& d : f->dirs) dataset_folder_request(d, /*need_test=*/false);  // all there before any run
            const fs::path out = f->out.empty() ? default_knowledge_path() : fs::path(f->out);
            KnowledgeBase kb;
            if (f->append && fs::exists(out)) kb = KnowledgeBase::load(out);
            const double budget = parse_duration(f->budget);
            kb.built = {{"command", "automl-gpt learn"}, {"budget_s", budget}, {"seed", f->seed},
                        {"datasets", f->dirs.size()}};
            const std::string store_path = f->store.empty() ? (fs::path("runs") / "learn.sqlite").string() : f->store;
            const std::string batch = new_run_id(f->seed);
            for (std::size_t i = 0; i < f->dirs.size(); ++i) {
              fs::path dir(f->dirs[i]);
              RunRequest req = dataset_folder_request(dir, /*need_test=*/false);
              req.budget_s = budget;
              req.seed = f->seed;
              req.threads = threads_or_all(f->threads);
              req.store_path = store_path;
              req.knowledge = "none";
              req.ensemble = false;  // only trials become experience: the whole budget goes to them
              req.quiet = true;
              req.out_dir = (fs::path("runs") / ("learn-" + batch) / req.name).string();
              std::cerr << fmt::format("[{}/{}] {} ({:.0f}s) ... ", i + 1, f->dirs.size(), req.name, budget) << std::flush;
              try {
                req.start = Clock::now();
                auto summary = Session(req, std::cerr).run();
                auto store = open_run_store(store_path);
                KnownDataset d = experience_from_store(*store, summary["run_id"]);
                std::cerr << fmt::format("{} trials, best {} {:.4f}\n", d.trials.size(), d.metric, d.best);
                kb.add(std::move(d));
                kb.save(out);  // after each dataset: an interrupted learn keeps what it has
              } catch (const Error& e) {
                std::cerr << "skipped: " << e.what() << "\n";
              }
            }
            if (!f->from_store.empty()) {
              if (!is_postgres_location(f->from_store) && !fs::exists(f->from_store)) {
                throw_not_found("no run store at " + f->from_store);
              }
              auto store = open_run_store(f->from_store);
              for (const auto& id : store->finished_runs()) {
                try {
                  kb.add(experience_from_store(*store, id));
                } catch (const Error& e) {
                  std::cerr << "run " << id << " skipped: " << e.what() << "\n";
                }
              }
            }
            kb.save(out);
            std::cout << fmt::format("{}: {} datasets, {} trials\n", out.string(), kb.datasets.size(), kb.n_trials());
            return 0;
          }};
}

}  // namespace automl::cli
