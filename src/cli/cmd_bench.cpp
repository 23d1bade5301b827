#include <filesystem>
#include <iostream>
#include <thread>

#include "automl/process.h"
#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/run.h"
#include "automl/session.h"
#include "commands.h"

namespace automl::cli {

// Runs on one benchmark folder (train.csv, test.csv, card.json) and prints one JSON
// line in the format of the reference peers, so the two can be joined.
Command add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "bench", "run on a benchmark folder (train.csv, test.csv, card.json) and print one JSON line like the peers");
  struct Flags {
    std::string dir, budget = "60s", out, store;
    uint64_t seed = 0;
    int threads = 0;
    std::string knowledge;
    bool keep_own = false;
    bool ensemble = true;
    bool fixed_preprocessing = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("dataset", f->dir, "the dataset folder")->required();
  cmd->add_option("-b,--budget", f->budget, "wall-clock budget, refit and test scoring included (default 60s)");
  cmd->add_option("--seed", f->seed, "random seed (default 0)");
  cmd->add_option("--threads", f->threads, "threads (default: all cores)");
  cmd->add_option("-o,--out", f->out, "run folder (default runs/<run id>)");
  cmd->add_option("--store", f->store, "run store: a SQLite file or a postgresql:// URI (default runs/store.sqlite)");
  cmd->add_option("--knowledge", f->knowledge, "knowledge base file or none (default: the shipped one)");
  cmd->add_flag("--keep-own-experience", f->keep_own,
                "keep this dataset's own experience in the knowledge base (by default it is left out, so the score "
                "is that of an unseen dataset)");
  cmd->add_flag("--fixed-preprocessing", f->fixed_preprocessing,
                "apply each family's fixed encoding only (native categories for trees, one-hot and standardised numbers "
                "for the others): the planner's data-processing design is recorded in plan.json but not applied or "
                "searched");
  cmd->add_flag("--no-ensemble{false}", f->ensemble,
                "keep the best single trial only (no ensembles of the top trials), as `run --no-ensemble`");
  return {cmd, [f] {
            RunRequest req = dataset_folder_request(f->dir, /*need_test=*/true);
            req.budget_s = parse_duration(f->budget);
            req.start = process_start();  // as `run` does: the budget counts the program's start-up
            req.seed = f->seed;
            req.threads = threads_or_all(f->threads);
            req.out_dir = f->out;
            req.store_path = f->store;
            req.knowledge = f->knowledge;
            req.ensemble = f->ensemble;
            req.fixed_preprocessing = f->fixed_preprocessing;
            if (!f->keep_own) req.knowledge_exclude = req.name;
            auto s = Session(req, std::cerr).run();
            nlohmann::json line = {{"dataset", req.name},
                                   {"peer", "automl-gpt"},
                                   {"metric", s["metric"]},
                                   {"score", s.value("test_score", nlohmann::json(nullptr))},
                                   {"scores", s.value("test_scores", nlohmann::json::object())},
                                   {"fit_s", s["seconds"]},
                                   {"trials", s["n_trials"]},
                                   {"budget_s", req.budget_s},
                                   {"threads", req.threads},
                                   {"seed", req.seed},
                                   {"model", s["model"]["family"]},
                                   {"ensemble", f->ensemble},
                                   {"fixed_preprocessing", f->fixed_preprocessing},
                                   {"validation_score", s["validation_score"]},
                                   {"run_folder", s["run_folder"]},
                                   {"peak_rss_mb", s["peak_memory_mb"]}};
            std::cout << line.dump() << "\n";
            return 0;
          }};
}

}  // namespace automl::cli
