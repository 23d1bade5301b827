#include <iostream>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/store.h"
#include "automl/worker.h"
#include "commands.h"

namespace automl::cli {

// What a store's studies are doing: trials by state, the best so far, workers alive, time left.
Command add_status(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "show a run store's studies: trials by state, best so far, workers alive, "
                                           "time left");
  struct Flags {
    std::string store = "runs/store.sqlite", run;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--store", f->store,
                  "the run store: a SQLite file or a postgresql:// URI (default runs/store.sqlite)");
  cmd->add_option("run", f->run, "one run's id (default: the runs still running, or the latest)");
  cmd->add_flag("--json", f->json, "print JSON instead of text");
  return {cmd, [f] {
            if (!is_postgres_location(f->store) && !std::filesystem::exists(f->store)) {
              throw_not_found("no run store at " + f->store);
            }
            auto store = open_run_store(f->store);
            std::vector<std::string> ids;
            if (!f->run.empty()) {
              ids.push_back(f->run);
            } else {
              const auto runs = store->runs();
              for (const auto& r : runs) {
                if (r.value("status", "") == "running") ids.push_back(r.value("run_id", ""));
              }
              if (ids.empty() && !runs.empty()) ids.push_back(runs.front().value("run_id", ""));
            }
            nlohmann::json all = nlohmann::json::array();
            for (const auto& id : ids) all.push_back(study_status(*store, id));
            if (f->json) {
              std::cout << all.dump(2) << "\n";
              return 0;
            }
            if (all.empty()) std::cout << store->location() << ": no runs\n";
            for (const auto& s : all) {
              std::string states;
              for (const auto& [state, n] : s["by_state"].items()) {
                states += fmt::format("{}{} {}", states.empty() ? "" : ", ", n.get<int>(), state);
              }
              std::cout << fmt::format("run {} ({}): {} trials{}\n", s["run_id"].get<std::string>(),
                                       s["status"].get<std::string>(), s["trials"].get<int>(),
                                       states.empty() ? "" : " (" + states + ")");
              if (s.contains("best")) {
                std::cout << fmt::format("  best so far: trial {} {} {:.4f}\n", s["best"]["trial"].get<int>(),
                                         s["best"]["family"].get<std::string>(), s["best"]["score"].get<double>());
              }
              std::cout << fmt::format("  workers alive: {}\n", s["workers_alive"].size());
              for (const auto& w : s["workers_alive"]) {
                std::cout << fmt::format("    {} {}\n", w["worker"].get<std::string>(),
                                         w["trial_id"].get<int>() >= 0
                                             ? fmt::format("on trial {}", w["trial_id"].get<int>())
                                             : std::string("waiting"));
              }
              if (s.contains("time_left_s")) {
                std::cout << fmt::format("  time left: {:.0f}s of {:.0f}s\n", s["time_left_s"].get<double>(),
                                         s["budget_s"].get<double>());
              }
            }
            return 0;
          }};
}

}  // namespace automl::cli
